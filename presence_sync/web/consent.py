"""Consent and connection routes: where admins connect Microsoft and RingCentral.

    GET    /connect/microsoft/consent[?login_hint]            -> Entra admin consent (step 1)
    GET    /connect/microsoft/consent/callback                <- Entra; answers a small page
    POST   /connect/microsoft/check                           consent granted in the portal?
    GET    /connect/microsoft/sync-account[?login_hint]       -> Entra sign-in (step 2)
    POST   /connect/microsoft/sync-account/callback           <- Entra (form_post); a page
    GET    /connect/microsoft/sync-account/callback           <- Entra (query mode, errors)
    DELETE /connect/microsoft/sync-account/{upn}              forget a sync account
    POST   /connect/ringcentral                               JWT sign-in, tested by a real call
    GET    /connect/ringcentral/oauth                         -> RingCentral sign-in (OAuth)
    GET    /connect/ringcentral/oauth/callback                <- RingCentral; answers a page
    GET    /connect/ringcentral/identities                    the extra identities writes use
    POST   /connect/ringcentral/identities                    {"jwt"}: add one, tested first
    GET    /connect/ringcentral/identities/oauth              -> RingCentral sign-in: add one
    DELETE /connect/ringcentral/identities/{extension_id}     remove one
    GET    /api/connections                                   each connection's state as JSON

Who may use them: every route but the three callbacks needs a signed-in admin (Teams SSO
bearer, or the tab's session cookie with its CSRF token on changes); the three starters also
take a single-use `start` ticket from `POST /api/tab/steps`, because pop-ups carry no
credentials. A browser that opens a starter without any is sent to sign in first and comes
back. Entra itself guards the sign-ins too (only a Global Administrator can grant consent; a
sync account must sign in with its own password); the callbacks check their single-use state.

Each started state is bound twice: to the admin who started it (kept with the state; what
the callback records names them, never a hint) and to the browser it was started in (a
signed cookie only that browser holds, sent back to that callback only). A callback that
fails either changes nothing and answers a page naming the problem (its state is spent); one
whose admin has since signed out of the tab is refused too. An admin may start 10 steps a
minute; the 11th answers 429 with Retry-After.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import NoReturn
from urllib.parse import urlencode

from aiohttp import web

from presence_sync.connections import Connections, SignInOutcome
from presence_sync.connections.microsoft import FLOW_LIFETIME
from presence_sync.connections.records import RC_IDENTITY_PREFIX, rc_identity_kind, state_of
from presence_sync.connections.starts import CheckStarter, StartedBy, StepStart
from presence_sync.errors import UnauthenticatedError, ValidationError
from presence_sync.store import ConnectionStatus
from presence_sync.web.auth.guard import Caller
from presence_sync.web.auth.routes import LOGIN
from presence_sync.web.body import json_object
from presence_sync.web.callback import callback_params
from presence_sync.web.errors import json_error
from presence_sync.web.identities import identity_json
from presence_sync.web.keys import AUTH, CONNECTIONS
from presence_sync.web.pages import result_page

__all__ = ["add_routes"]

logger = logging.getLogger(__name__)

CONSENT_CALLBACK = "/connect/microsoft/consent/callback"
SYNC_ACCOUNT_CALLBACK = "/connect/microsoft/sync-account/callback"
RINGCENTRAL_CALLBACK = "/connect/ringcentral/oauth/callback"
# The cookie that binds a started step to its browser, one per step, sent to its callback only.
_BINDINGS = {
    "consent": ("presence_sync_consent", CONSENT_CALLBACK),
    "sync-account": ("presence_sync_sync_account", SYNC_ACCOUNT_CALLBACK),
    "ringcentral": ("presence_sync_ringcentral", RINGCENTRAL_CALLBACK),
}


def _page(outcome: SignInOutcome) -> web.Response:
    return result_page(
        outcome.title, outcome.message, ok=outcome.ok, status=outcome.status, notes=outcome.notes
    )


def _connections(request: web.Request) -> Connections:
    return request.app[CONNECTIONS]


def _require_microsoft(connections: Connections) -> None:
    if not connections.microsoft.configured:
        raise ValidationError(
            "Microsoft is not configured: set MICROSOFT_TENANT_ID, MICROSOFT_CLIENT_ID and "
            "MICROSOFT_CLIENT_SECRET"
        )


_RC_NOT_CONFIGURED = (
    "RingCentral is not configured: set RINGCENTRAL_CLIENT_ID and RINGCENTRAL_CLIENT_SECRET"
)


async def _starter(request: web.Request, step: str) -> tuple[Caller, StartedBy]:
    """The admin starting `step`, within their limit; a browser without credentials signs
    in first."""
    auth = request.app[AUTH]
    try:
        caller = await auth.admin_or_ticket(request, step)
    except UnauthenticatedError:
        navigating = "text/html" in request.headers.get("Accept", "")
        if not navigating or "start" in request.query or "Authorization" in request.headers:
            raise
        back = request.path + (f"?{request.query_string}" if request.query_string else "")
        raise web.HTTPFound(f"{LOGIN}?{urlencode({'return': back})}") from None
    await auth.starts.take(caller.key)
    session = caller.session.id_hash if caller.session is not None else None
    return caller, StartedBy(caller.email, caller.identity.oid, caller.via, session)


def _send(request: web.Request, step: str, start: StepStart) -> NoReturn:
    """Send the browser on to the provider, holding the cookie that binds `start` to it."""
    auth = request.app[AUTH]
    name, path = _BINDINGS[step]
    secure = auth.public_url.startswith("https://")
    response = web.HTTPFound(start.url)
    response.set_cookie(
        name,
        auth.sessions.login_binding(start.state, step),
        max_age=int(FLOW_LIFETIME),
        httponly=True,
        # A sync account's answer is Entra's cross-site form post, which drops Lax cookies.
        # Sending this one cross-site proves nothing to anyone: it only names this browser.
        samesite="None" if secure else "Lax",
        secure=secure,
        path=path,
    )
    raise response


def _check_starter(request: web.Request, step: str, params: Mapping[str, str]) -> CheckStarter:
    """Whether the admin who started a step still counts when its answer comes back: it came
    to the browser they started it in, and the tab session they started it from is live."""
    sessions = request.app[AUTH].sessions
    name, _path = _BINDINGS[step]
    here = sessions.bound(params.get("state", ""), request.cookies.get(name), step)

    async def check(by: StartedBy) -> SignInOutcome | None:
        if not here:
            return SignInOutcome.not_started_here()
        if by.session is not None and not await sessions.alive(by.session):
            return SignInOutcome.not_started_by_admin(
                f"{by.email} signed out of Presence Sync after starting it."
            )
        return None

    return check


async def _admin(request: web.Request) -> Caller:
    return await request.app[AUTH].admin(request)


def _login_hint(request: web.Request) -> str | None:
    hint = request.query.get("login_hint", "").strip()
    if len(hint) > 256 or (hint and "@" not in hint):
        raise ValidationError("login_hint must be an email address")
    return hint or None


async def _microsoft_starter(request: web.Request, step: str) -> tuple[str | None, StartedBy]:
    """The login hint of a Microsoft step and who starts it, once they may.

    Everything that can be refused is checked before a ticket is redeemed, so a refused
    request does not spend the admin's one-time link.
    """
    hint = _login_hint(request)
    connections = _connections(request)
    if "start" in request.query:
        _require_microsoft(connections)
    caller, by = await _starter(request, step)
    _require_microsoft(connections)
    if hint is None and caller.ticket is not None:
        hint = caller.ticket.login_hint
    # The hint only pre-fills the provider's sign-in: it is never recorded as anyone.
    return hint, by


async def start_consent(request: web.Request) -> web.Response:
    """Send the admin to Entra's admin consent page with a fresh single-use state."""
    hint, by = await _microsoft_starter(request, "consent")
    start = await _connections(request).microsoft.begin_admin_consent(CONSENT_CALLBACK, hint, by)
    _send(request, "consent", start)


async def consent_callback(request: web.Request) -> web.Response:
    """Entra's answer to admin consent: record it or show why it failed."""
    params = await callback_params(request)
    outcome = await _connections(request).microsoft.finish_admin_consent(
        params, _check_starter(request, "consent", params)
    )
    return _page(outcome)


async def check_consent(request: web.Request) -> web.Response:
    """Detect consent granted outside the product (Azure portal) and name missing permissions."""
    caller = await _admin(request)
    connections = _connections(request)
    _require_microsoft(connections)
    result = await connections.microsoft.check(actor=caller.email)
    return web.json_response(
        {"state": str(result.status), "reason": result.reason, "notes": result.notes}
    )


async def start_sync_account(request: web.Request) -> web.Response:
    """Send a sync account to Entra's sign-in page (authorization code with PKCE)."""
    hint, by = await _microsoft_starter(request, "sync-account")
    start = await _connections(request).microsoft.begin_sync_account(
        SYNC_ACCOUNT_CALLBACK, hint, by
    )
    _send(request, "sync-account", start)


async def sync_account_callback(request: web.Request) -> web.Response:
    """Entra's answer to a sync-account sign-in, as a form post or a query."""
    params = await callback_params(request)
    outcome = await _connections(request).microsoft.finish_sync_account(
        params, _check_starter(request, "sync-account", params)
    )
    return _page(outcome)


async def remove_sync_account(request: web.Request) -> web.Response:
    """Forget a sync account and its tokens."""
    caller = await _admin(request)
    upn = request.match_info["upn"]
    if not await _connections(request).remove_sync_account(upn, actor=caller.email):
        return json_error(404, "not_found", f"{upn} is not a sync account")
    return web.Response(status=204)


async def connect_ringcentral(request: web.Request) -> web.Response:
    """Connect RingCentral with the JWT credential, tested by a real call first."""
    caller = await _admin(request)
    result = await _connections(request).rc.connect(actor=caller.email)
    body = {"state": str(result.status), "reason": result.reason, "details": result.details}
    if result.status.value == "connected":
        return web.json_response(body)
    if result.status.value == "missing":
        return json_error(400, "not_configured", result.reason or "")
    return json_error(502, "ringcentral_not_connected", result.reason or "")


async def _start_ringcentral(request: web.Request, step: str, *, identity: bool) -> NoReturn:
    """Send a RingCentral user to RingCentral's sign-in page (authorization code, PKCE).

    Both steps share the one callback (one redirect URI registered with RingCentral) and its
    browser binding; the stored state says whether the sign-in connects or adds an identity."""
    connections = _connections(request)
    configured = connections.settings.ringcentral_configured
    if "start" in request.query and not configured:
        raise ValidationError(_RC_NOT_CONFIGURED)
    _caller, by = await _starter(request, step)
    if not configured:
        raise ValidationError(_RC_NOT_CONFIGURED)
    start = await connections.rc.begin_oauth(RINGCENTRAL_CALLBACK, by, identity=identity)
    _send(request, "ringcentral", start)


async def start_ringcentral_oauth(request: web.Request) -> web.Response:
    """Send a RingCentral admin to sign in as the main connection."""
    await _start_ringcentral(request, "ringcentral", identity=False)


async def ringcentral_oauth_callback(request: web.Request) -> web.Response:
    """RingCentral's answer to the sign-in: connect, or show why not."""
    params = await callback_params(request)
    outcome = await _connections(request).rc.finish_oauth(
        RINGCENTRAL_CALLBACK, params, _check_starter(request, "ringcentral", params)
    )
    return _page(outcome)


async def list_identities(request: web.Request) -> web.Response:
    """The extra RingCentral identities presence writes are spread across."""
    await _admin(request)
    states = await _connections(request).status()
    rows = [identity_json(s) for s in states if s.kind.startswith(RC_IDENTITY_PREFIX)]
    return web.json_response({"identities": rows})


async def add_identity(request: web.Request) -> web.Response:
    """Add a RingCentral identity with its JWT credential, tested by real calls first."""
    caller = await _admin(request)
    body = await json_object(request)
    unknown = sorted(set(body) - {"jwt"})
    if unknown:
        raise ValidationError(f"unknown field {unknown[0]}: send only jwt")
    connections = _connections(request)
    result = await connections.identities.add_jwt(body.get("jwt"), actor=caller.email)
    if result.status is ConnectionStatus.CONNECTED:
        kind = rc_identity_kind(result.details["extension_id"])
        record = await connections.book.get(kind)
        return web.json_response(identity_json(state_of(kind, record, "")), status=201)
    if result.status is ConnectionStatus.MISSING:
        return json_error(400, "not_configured", result.reason or "")
    if result.unreachable:
        return json_error(502, "ringcentral_unreachable", result.reason or "")
    return json_error(422, "identity_refused", result.reason or "")


async def remove_identity(request: web.Request) -> web.Response:
    """Remove a RingCentral identity: its writes go to the others from the next one on."""
    caller = await _admin(request)
    extension_id = request.match_info["extension_id"]
    if not extension_id.isdigit() or len(extension_id) > 20:
        raise ValidationError("extension_id: a RingCentral extension id (digits)")
    removed = await _connections(request).identities.remove(extension_id, actor=caller.email)
    if not removed:
        return json_error(404, "not_found", f"{extension_id} is not a RingCentral identity")
    return web.Response(status=204)


async def start_identity_oauth(request: web.Request) -> web.Response:
    """Send a RingCentral user to sign in, to be added as one more identity."""
    await _start_ringcentral(request, "ringcentral-identity", identity=True)


async def list_connections(request: web.Request) -> web.Response:
    """Each connection's state, reason, since-when and fix."""
    await _admin(request)
    states = await _connections(request).status()
    return web.json_response({"connections": [s.to_json() for s in states]})


def add_routes(app: web.Application) -> None:
    """Add the consent and connection routes."""
    router = app.router
    # Starters spend a one-time ticket: a HEAD (a link preview) must not.
    router.add_get("/connect/microsoft/consent", start_consent, allow_head=False)
    router.add_get(CONSENT_CALLBACK, consent_callback)
    router.add_post("/connect/microsoft/check", check_consent)
    router.add_get("/connect/microsoft/sync-account", start_sync_account, allow_head=False)
    router.add_post(SYNC_ACCOUNT_CALLBACK, sync_account_callback)
    router.add_get(SYNC_ACCOUNT_CALLBACK, sync_account_callback)
    router.add_delete("/connect/microsoft/sync-account/{upn}", remove_sync_account)
    router.add_post("/connect/ringcentral", connect_ringcentral)
    router.add_get("/connect/ringcentral/oauth", start_ringcentral_oauth, allow_head=False)
    router.add_get(RINGCENTRAL_CALLBACK, ringcentral_oauth_callback)
    router.add_get("/connect/ringcentral/identities", list_identities)
    router.add_post("/connect/ringcentral/identities", add_identity)
    router.add_get("/connect/ringcentral/identities/oauth", start_identity_oauth, allow_head=False)
    router.add_delete("/connect/ringcentral/identities/{extension_id}", remove_identity)
    router.add_get("/api/connections", list_connections)
