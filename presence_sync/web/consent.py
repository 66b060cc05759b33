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
    GET    /api/connections                                   each connection's state as JSON

Who may use them: Entra itself guards the two sign-ins (only a Global Administrator can grant
consent; a sync account must sign in with its own password). The JSON admin routes carry no
authentication of their own yet; the tab's Entra SSO check will guard them.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping

from aiohttp import web

from presence_sync.connections import Connections, SignInOutcome
from presence_sync.errors import ValidationError
from presence_sync.web.errors import json_error
from presence_sync.web.keys import CONNECTIONS

__all__ = ["add_routes"]

logger = logging.getLogger(__name__)

CONSENT_CALLBACK = "/connect/microsoft/consent/callback"
SYNC_ACCOUNT_CALLBACK = "/connect/microsoft/sync-account/callback"
RINGCENTRAL_CALLBACK = "/connect/ringcentral/oauth/callback"

_STYLE = (
    "body{font-family:'Segoe UI',system-ui,sans-serif;background:#f5f5f5;margin:0}"
    ".card{background:#fff;max-width:520px;margin:64px auto;padding:28px 36px;"
    "border-radius:8px;box-shadow:0 2px 8px rgba(0,0,0,.15)}"
    "h1{font-size:22px;margin:0 0 12px}.ok{color:#237b4b}.fail{color:#c4314b}"
)


def _page(outcome: SignInOutcome) -> web.Response:
    mark = "ok" if outcome.ok else "fail"
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in outcome.notes)
    body = (
        f"<h1 class='{mark}'>{html.escape(outcome.title)}</h1>"
        f"<p>{html.escape(outcome.message)}</p>"
        + (f"<ul>{notes}</ul>" if notes else "")
        + "<p>You can close this window and return to the Presence Sync tab in Teams.</p>"
    )
    text = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(outcome.title)}</title><style>{_STYLE}</style></head>"
        f"<body><main class='card'>{body}</main></body></html>"
    )
    return web.Response(text=text, status=outcome.status, content_type="text/html")


def _connections(request: web.Request) -> Connections:
    return request.app[CONNECTIONS]


def _require_microsoft(connections: Connections) -> None:
    if not connections.microsoft.configured:
        raise ValidationError(
            "Microsoft is not configured: set MICROSOFT_TENANT_ID, MICROSOFT_CLIENT_ID and "
            "MICROSOFT_CLIENT_SECRET"
        )


def _login_hint(request: web.Request) -> str | None:
    hint = request.query.get("login_hint", "").strip()
    if len(hint) > 256 or (hint and "@" not in hint):
        raise ValidationError("login_hint must be an email address")
    return hint or None


async def start_consent(request: web.Request) -> web.Response:
    """Send the admin to Entra's admin consent page with a fresh single-use state."""
    connections = _connections(request)
    _require_microsoft(connections)
    url = await connections.microsoft.begin_admin_consent(CONSENT_CALLBACK, _login_hint(request))
    raise web.HTTPFound(url)


async def consent_callback(request: web.Request) -> web.Response:
    """Entra's answer to admin consent: record it or show why it failed."""
    outcome = await _connections(request).microsoft.finish_admin_consent(request.query)
    return _page(outcome)


async def check_consent(request: web.Request) -> web.Response:
    """Detect consent granted outside the product (Azure portal) and name missing permissions."""
    connections = _connections(request)
    _require_microsoft(connections)
    result = await connections.microsoft.check()
    return web.json_response(
        {"state": str(result.status), "reason": result.reason, "notes": result.notes}
    )


async def start_sync_account(request: web.Request) -> web.Response:
    """Send a sync account to Entra's sign-in page (authorization code with PKCE)."""
    connections = _connections(request)
    _require_microsoft(connections)
    url = await connections.microsoft.begin_sync_account(
        SYNC_ACCOUNT_CALLBACK, _login_hint(request)
    )
    raise web.HTTPFound(url)


async def sync_account_callback(request: web.Request) -> web.Response:
    """Entra's answer to a sync-account sign-in, as a form post or a query."""
    params: Mapping[str, str]
    if request.method == "POST":
        params = {k: str(v) for k, v in (await request.post()).items()}
    else:
        params = dict(request.query)
    outcome = await _connections(request).microsoft.finish_sync_account(params)
    return _page(outcome)


async def remove_sync_account(request: web.Request) -> web.Response:
    """Forget a sync account and its tokens."""
    upn = request.match_info["upn"]
    if not await _connections(request).remove_sync_account(upn):
        return json_error(404, "not_found", f"{upn} is not a sync account")
    return web.Response(status=204)


async def connect_ringcentral(request: web.Request) -> web.Response:
    """Connect RingCentral with the JWT credential, tested by a real call first."""
    result = await _connections(request).rc.connect()
    body = {"state": str(result.status), "reason": result.reason, "details": result.details}
    if result.status.value == "connected":
        return web.json_response(body)
    if result.status.value == "missing":
        return json_error(400, "not_configured", result.reason or "")
    return json_error(502, "ringcentral_not_connected", result.reason or "")


async def start_ringcentral_oauth(request: web.Request) -> web.Response:
    """Send a RingCentral admin to RingCentral's sign-in page (authorization code, PKCE)."""
    connections = _connections(request)
    if not connections.settings.ringcentral_configured:
        raise ValidationError(
            "RingCentral is not configured: set RINGCENTRAL_CLIENT_ID and RINGCENTRAL_CLIENT_SECRET"
        )
    raise web.HTTPFound(await connections.rc.begin_oauth(RINGCENTRAL_CALLBACK))


async def ringcentral_oauth_callback(request: web.Request) -> web.Response:
    """RingCentral's answer to the sign-in: connect, or show why not."""
    outcome = await _connections(request).rc.finish_oauth(RINGCENTRAL_CALLBACK, request.query)
    return _page(outcome)


async def list_connections(request: web.Request) -> web.Response:
    """Each connection's state, reason, since-when and fix."""
    states = await _connections(request).status()
    return web.json_response({"connections": [s.to_json() for s in states]})


def add_routes(app: web.Application) -> None:
    """Add the consent and connection routes."""
    router = app.router
    router.add_get("/connect/microsoft/consent", start_consent)
    router.add_get(CONSENT_CALLBACK, consent_callback)
    router.add_post("/connect/microsoft/check", check_consent)
    router.add_get("/connect/microsoft/sync-account", start_sync_account)
    router.add_post(SYNC_ACCOUNT_CALLBACK, sync_account_callback)
    router.add_get(SYNC_ACCOUNT_CALLBACK, sync_account_callback)
    router.add_delete("/connect/microsoft/sync-account/{upn}", remove_sync_account)
    router.add_post("/connect/ringcentral", connect_ringcentral)
    router.add_get("/connect/ringcentral/oauth", start_ringcentral_oauth)
    router.add_get(RINGCENTRAL_CALLBACK, ringcentral_oauth_callback)
    router.add_get("/api/connections", list_connections)
