"""RingCentral extensions and call queues: list (paged), one extension, `~`, queue members."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from sandbox.model import RcExtension
from sandbox.ringcentral.api import API_PREFIX, invalid_parameter, not_found, query_int
from sandbox.ringcentral.auth import Session
from sandbox.ringcentral.state import RingCentralState, api

ACCOUNT = f"{API_PREFIX}/account/{{accountId}}"
EXTENSION_TYPES = (
    "User",
    "FaxUser",
    "FlexibleUser",
    "VirtualUser",
    "DigitalUser",
    "Department",
    "Announcement",
    "Voicemail",
    "SharedLinesGroup",
    "PagingOnly",
    "IvrMenu",
    "ApplicationExtension",
    "ParkLocation",
    "Limited",
    "Bot",
    "Site",
    "Room",
    "ProxyAdmin",
    "DelegatedLinesGroup",
    "GroupCallPickup",
)
EXTENSION_STATUSES = ("Enabled", "Disabled", "Frozen", "NotActivated", "Unassigned")
MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 100


def number_key(ext: RcExtension) -> tuple[int, str]:
    """Sort key ordering extensions by number, as RingCentral lists them."""
    digits = ext.extension_number
    return (int(digits), digits) if digits.isdigit() else (10**12, digits)


def page_of(items: list[Any], page: int, per_page: int) -> tuple[list[Any], dict[str, int]]:
    """One page of `items` and RingCentral's `paging` object for it."""
    total = len(items)
    pages = max(1, -(-total // per_page))
    start = (page - 1) * per_page
    chunk = items[start : start + per_page]
    paging = {"page": page, "perPage": per_page, "totalPages": pages, "totalElements": total}
    if chunk:
        paging["pageStart"] = start
        paging["pageEnd"] = start + len(chunk) - 1
    return chunk, paging


def navigation(url: str, query: list[tuple[str, str]], page: int, pages: int) -> dict[str, Any]:
    """RingCentral's `navigation` links for a paged list at `url`."""

    def link(n: int) -> dict[str, str]:
        return {"uri": f"{url}?{urlencode([*query, ('page', str(n))])}"}

    nav = {"firstPage": link(1), "lastPage": link(pages)}
    if page < pages:
        nav["nextPage"] = link(page + 1)
    if page > 1:
        nav["previousPage"] = link(page - 1)
    return nav


def extension_record(state: RingCentralState, ext: RcExtension, admin_id: str) -> dict[str, Any]:
    """An extension as the list and the single GET answer it."""
    first, _, last = ext.name.partition(" ")
    contact: dict[str, Any] = {"firstName": first}
    if ext.type == "User":
        contact["lastName"] = last
    if ext.email:
        contact["email"] = ext.email
    record: dict[str, Any] = {
        "id": int(ext.id),
        "uri": f"{state.base}/restapi/v1.0/account/{state.account_id}/extension/{ext.id}",
        "extensionNumber": ext.extension_number,
        "name": ext.name,
        "type": ext.type,
        "status": ext.status,
        "contact": contact,
        "hidden": False,
        "permissions": {
            # Whoever may edit others' presence holds an admin role (the product checks it).
            "admin": {"enabled": ext.id == admin_id or state.identities.may_edit_others(ext.id)},
            "internationalCalling": {"enabled": False},
        },
    }
    if ext.type == "User":
        record["account"] = {
            "id": state.account_id,
            "uri": f"{state.base}/restapi/v1.0/account/{state.account_id}",
        }
    return record


@api("Medium")
async def list_extensions(
    request: web.Request, state: RingCentralState, session: Session
) -> web.Response:
    """GET /account/~/extension with type (repeatable), status, page, perPage."""
    state.check_account(request.match_info["accountId"])
    types = request.query.getall("type", [])
    statuses = request.query.getall("status", [])
    for value in types:
        if value not in EXTENSION_TYPES:
            raise invalid_parameter("type", value)
    for value in statuses:
        if value not in EXTENSION_STATUSES:
            raise invalid_parameter("status", value)
    page = query_int(request, "page", 1, 1, 10**9)
    per_page = query_int(request, "perPage", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    chosen = [
        ext
        for ext in state.ctx.org.rc_extensions.values()
        if (not types or ext.type in types) and (not statuses or ext.status in statuses)
    ]
    chosen.sort(key=number_key)
    chunk, paging = page_of(chosen, page, per_page)
    url = f"{state.base}/restapi/v1.0/account/{state.account_id}/extension"
    query = [("type", t) for t in types] + [("status", s) for s in statuses]
    query.append(("perPage", str(per_page)))
    body = {
        "uri": f"{url}?{urlencode([*query, ('page', str(page))])}",
        "records": [extension_record(state, ext, state.admin_id) for ext in chunk],
        "paging": paging,
        "navigation": navigation(url, query, page, paging["totalPages"]),
    }
    return web.json_response(body)


@api("Light")
async def get_extension(
    request: web.Request, state: RingCentralState, session: Session
) -> web.Response:
    """GET /account/~/extension/{extensionId} (`~` = the token's owner)."""
    state.check_account(request.match_info["accountId"])
    ext = state.extension(request.match_info["extensionId"], session)
    return web.json_response(extension_record(state, ext, state.admin_id))


@api("Medium")
async def list_call_queues(
    request: web.Request, state: RingCentralState, session: Session
) -> web.Response:
    """GET /account/~/call-queues (paged; `memberExtensionId` keeps the queues it is in)."""
    state.check_account(request.match_info["accountId"])
    page = query_int(request, "page", 1, 1, 10**9)
    per_page = query_int(request, "perPage", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    member = request.query.get("memberExtensionId")
    queues = sorted(
        (q for q in state.ctx.org.call_queues.values() if member is None or member in q.member_ids),
        key=lambda q: q.extension_number,
    )
    chunk, paging = page_of(queues, page, per_page)
    url = f"{state.base}/restapi/v1.0/account/{state.account_id}/call-queues"
    records = [
        {
            "id": q.id,
            "uri": f"{url}/{q.id}",
            "extensionNumber": q.extension_number,
            "name": q.name,
        }
        for q in chunk
    ]
    query = [("perPage", str(per_page))]
    if member is not None:
        query.insert(0, ("memberExtensionId", member))
    return web.json_response(
        {
            "uri": url,
            "records": records,
            "paging": paging,
            "navigation": navigation(url, query, page, paging["totalPages"]),
        }
    )


@api("Light")
async def list_queue_members(
    request: web.Request, state: RingCentralState, session: Session
) -> web.Response:
    """GET /account/~/call-queues/{groupId}/members (paged)."""
    state.check_account(request.match_info["accountId"])
    queue = state.ctx.org.call_queues.get(request.match_info["groupId"])
    if queue is None:
        raise not_found("groupId", request.match_info["groupId"])
    page = query_int(request, "page", 1, 1, 10**9)
    per_page = query_int(request, "perPage", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    members = [
        state.ctx.org.rc_extensions[m] for m in queue.member_ids if m in state.ctx.org.rc_extensions
    ]
    chunk, paging = page_of(members, page, per_page)
    url = f"{state.base}/restapi/v1.0/account/{state.account_id}/call-queues/{queue.id}/members"
    records = [
        {
            "id": int(m.id),
            "uri": f"{state.base}/restapi/v1.0/account/{state.account_id}/extension/{m.id}",
            "extensionNumber": m.extension_number,
            "name": m.name,
        }
        for m in chunk
    ]
    query = [("perPage", str(per_page))]
    return web.json_response(
        {
            "uri": url,
            "records": records,
            "paging": paging,
            "navigation": navigation(url, query, page, paging["totalPages"]),
        }
    )


def add_routes(app: web.Application) -> None:
    """Mount the extension and call-queue routes."""
    app.router.add_get(f"{ACCOUNT}/extension", list_extensions)
    app.router.add_get(f"{ACCOUNT}/extension/{{extensionId:[^/,]+}}", get_extension)
    app.router.add_get(f"{ACCOUNT}/call-queues", list_call_queues)
    app.router.add_get(f"{ACCOUNT}/call-queues/{{groupId}}/members", list_queue_members)
