"""Graph's user routes: list with $select/$filter/$top paging, get, delta, memberOf."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web
from yarl import URL

from sandbox.graph.auth import Caller, permission
from sandbox.graph.directory import SELECTABLE, decode_token, encode_token, role_json, user_json
from sandbox.graph.errors import GraphRequestError, bad_request, not_found
from sandbox.graph.state import PREFIX, GraphState
from sandbox.model import TeamsUser

DELTA_LIFETIME = 7 * 86400.0  # identity delta links last seven days
MAX_TOP = 999
DEFAULT_TOP = 100
READ_USERS = permission(
    app="User.Read.All User.ReadBasic.All Directory.Read.All User.ReadWrite.All",
    delegated="User.Read.All User.ReadBasic.All Directory.Read.All",
)
READ_ROLES = permission(
    app="Directory.Read.All RoleManagement.Read.Directory GroupMember.Read.All",
    delegated="Directory.Read.All User.Read User.Read.All",
)
READ_ORGANIZATION = permission(
    app="Organization.Read.All Directory.Read.All User.Read.All",
    delegated="User.Read Organization.Read.All Directory.Read.All",
)
_EQ = re.compile(r"^\s*(?P<field>\w+)\s+eq\s+(?P<value>true|false|'(?:[^']|'')*')\s*$", re.I)
_FILTERABLE = {"accountEnabled", "userPrincipalName", "mail", "id", "displayName"}

UserFilter = Callable[[TeamsUser], bool]


def parse_select(raw: str | None) -> tuple[str, ...] | None:
    """$select as a tuple of known property names; 400 naming an unknown one."""
    if not raw:
        return None
    names = tuple(part.strip() for part in raw.split(",") if part.strip())
    for name in names:
        if name not in SELECTABLE:
            raise bad_request(
                f"Could not find a property named '{name}' on type 'microsoft.graph.user'."
            )
    return names


def parse_filter(raw: str | None) -> UserFilter | None:
    """The supported $filter subset (`<property> eq <value>`); 400 for anything else."""
    if not raw:
        return None
    match = _EQ.match(raw)
    field = match.group("field") if match else ""
    if not match or field not in _FILTERABLE:
        raise GraphRequestError(
            400,
            "Request_UnsupportedQuery",
            f"Unsupported query: the sandbox supports '$filter=<property> eq <value>' on"
            f" {sorted(_FILTERABLE)}, not {raw!r}.",
        )
    literal = match.group("value")
    if field == "accountEnabled":
        if literal.lower() not in ("true", "false"):
            raise bad_request("accountEnabled compares with true or false")
        wanted_flag = literal.lower() == "true"
        return lambda user: user.account_enabled is wanted_flag
    if not literal.startswith("'"):
        raise bad_request(f"{field} compares with a quoted string")
    wanted = literal[1:-1].replace("''", "'").lower()
    getters: dict[str, Callable[[TeamsUser], str | None]] = {
        "userPrincipalName": lambda u: u.user_principal_name,
        "mail": lambda u: u.mail,
        "id": lambda u: u.id,
        "displayName": lambda u: u.display_name,
    }
    getter = getters[field]
    return lambda user: (getter(user) or "").lower() == wanted


def parse_top(raw: str | None) -> int:
    """$top between 1 and 999."""
    if raw is None:
        return DEFAULT_TOP
    try:
        top = int(raw)
    except ValueError as err:
        raise bad_request(f"Invalid value '{raw}' for $top") from err
    if not 1 <= top <= MAX_TOP:
        raise bad_request(
            f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."
        )
    return top


def _context(state: GraphState, request: web.Request, what: str) -> str:
    return f"{state.base(request)}{PREFIX}/$metadata#{what}"


def setup_users(app: web.Application, state: GraphState) -> None:
    """Mount the user routes."""

    async def list_users(request: web.Request, caller: Caller) -> web.StreamResponse:
        query = request.query
        select = parse_select(query.get("$select"))
        predicate = parse_filter(query.get("$filter"))
        top = parse_top(query.get("$top"))
        offset = 0
        if "$skiptoken" in query:
            try:
                offset = int(decode_token(query["$skiptoken"])["o"])
            except (ValueError, KeyError, TypeError) as err:
                raise bad_request("The $skiptoken is malformed or expired.") from err
        users = state.directory.ordered()
        if predicate is not None:
            users = [user for user in users if predicate(user)]
        page = users[offset : offset + top]
        body: dict[str, Any] = {
            "@odata.context": _context(state, request, "users"),
            "value": [user_json(user, select) for user in page],
        }
        if offset + top < len(users):
            params = {k: v for k, v in query.items() if k != "$skiptoken"}
            params["$skiptoken"] = encode_token({"o": offset + top})
            body["@odata.nextLink"] = str(
                URL(f"{state.base(request)}{PREFIX}/users").with_query(params)
            )
        return web.json_response(body)

    async def delta(request: web.Request, caller: Caller) -> web.StreamResponse:
        query = request.query
        page_size = _max_page_size(request)
        now = state.ctx.clock.now()
        if query.get("$deltatoken") == "latest":
            # "Sync from now": no resources, just a link that reports later changes.
            select = parse_select(query.get("$select"))
            since = until = state.directory.version
            offset = 0
        elif "$skiptoken" in query or "$deltatoken" in query:
            raw = query.get("$skiptoken") or query.get("$deltatoken") or ""
            try:
                token = decode_token(raw)
                since, until = int(token["since"]), int(token.get("until", -1))
                offset = int(token.get("o", 0))
                select = tuple(token["s"]) if token.get("s") else None
                issued, epoch = float(token["t"]), int(token["e"])
            except (ValueError, KeyError, TypeError) as err:
                raise bad_request("The delta token is malformed.") from err
            if epoch != state.directory.epoch or now - issued > DELTA_LIFETIME:
                raise GraphRequestError(
                    400,
                    "syncStateNotFound",
                    "The sync state generation is not found. The delta token is expired and"
                    " data must be synchronized again.",
                )
            if "$deltatoken" in query:
                offset, until = 0, state.directory.version
        else:
            select = parse_select(query.get("$select"))
            since, until, offset = -1, state.directory.version, 0
        entries = _delta_entries(state, since, until)
        page = entries[offset : offset + page_size]
        stamp = {"t": now, "e": state.directory.epoch, "s": list(select) if select else None}
        token_base = {"since": since, "until": until, **stamp}
        body: dict[str, Any] = {
            "@odata.context": _context(state, request, "users"),
            "value": [
                user_json(user, select) if user is not None else _removed(user_id)
                for user_id, user in page
            ],
        }
        link = URL(f"{state.base(request)}{PREFIX}/users/delta")
        if offset + page_size < len(entries):
            skip = encode_token({**token_base, "o": offset + page_size})
            body["@odata.nextLink"] = str(link.with_query({"$skiptoken": skip}))
        else:
            done = encode_token({"since": until, **stamp})
            body["@odata.deltaLink"] = str(link.with_query({"$deltatoken": done}))
        return web.json_response(body)

    async def get_user(request: web.Request, caller: Caller) -> web.StreamResponse:
        user = _user(state, request.match_info["id"])
        select = parse_select(request.query.get("$select"))
        body = {
            "@odata.context": _context(state, request, "users/$entity"),
            **user_json(user, select),
        }
        return web.json_response(body)

    async def me(request: web.Request, caller: Caller) -> web.StreamResponse:
        if caller.app_only:
            raise bad_request("/me request is only valid with delegated authentication flow.")
        user = _user(state, caller.object_id)
        select = parse_select(request.query.get("$select"))
        body = {
            "@odata.context": _context(state, request, "users/$entity"),
            **user_json(user, select),
        }
        return web.json_response(body)

    async def member_of(request: web.Request, caller: Caller) -> web.StreamResponse:
        user = _user(state, request.match_info["id"])
        roles = [role_json(state.ctx.org.tenant_id, name) for name in user.roles]
        body = {"@odata.context": _context(state, request, "directoryObjects"), "value": roles}
        return web.json_response(body)

    async def organization(request: web.Request, caller: Caller) -> web.StreamResponse:
        org = state.ctx.org
        name = org.tenant_domain.split(".")[0].capitalize()
        entry = {
            "id": org.tenant_id,
            "displayName": name,
            "tenantType": "AAD",
            "verifiedDomains": [
                {
                    "name": org.tenant_domain,
                    "isDefault": True,
                    "isInitial": False,
                    "type": "Managed",
                }
            ],
        }
        body = {"@odata.context": _context(state, request, "organization"), "value": [entry]}
        return web.json_response(body)

    state.add(app, "GET", "/organization", organization, READ_ORGANIZATION)
    state.add(app, "GET", "/users", list_users, READ_USERS)
    state.add(app, "GET", "/users/delta", delta, READ_USERS)
    state.add(app, "GET", "/users/delta()", delta, READ_USERS)
    state.add(app, "GET", "/me", me, permission(delegated="User.Read User.Read.All"))
    state.add(app, "GET", "/users/{id}", get_user, READ_USERS)
    state.add(app, "GET", "/users/{id}/memberOf", member_of, READ_ROLES)
    state.add(app, "GET", "/users/{id}/transitiveMemberOf", member_of, READ_ROLES)


def _delta_entries(state: GraphState, since: int, until: int) -> list[tuple[str, TeamsUser | None]]:
    if since < 0:
        return [(user.id, user) for user in state.directory.ordered()]
    return [
        entry
        for entry in state.directory.changes_since(since)
        if until < 0 or state.directory.version_of(entry[0]) <= until
    ]


def _removed(user_id: str) -> dict[str, Any]:
    return {"id": user_id, "@removed": {"reason": "changed"}}


def _max_page_size(request: web.Request) -> int:
    prefer = request.headers.get("Prefer", "")
    for part in prefer.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize" and value.strip().isdigit():
            return max(1, min(MAX_TOP, int(value)))
    return DEFAULT_TOP


def _user(state: GraphState, key: str) -> TeamsUser:
    user = state.directory.find(key)
    if user is None:
        raise not_found(
            f"Resource '{key}' does not exist or one of its queried reference-property objects"
            " are not present."
        )
    return user
