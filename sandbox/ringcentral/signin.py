"""RingCentral's sign-in page: `GET /restapi/oauth/authorize` (authorization code, PKCE).

Query parameters as RingCentral documents them: `response_type=code`, `client_id`,
`redirect_uri`, `state`, `code_challenge`, `code_challenge_method` (`S256` or `plain`) and the
optional `login_hint`. The page lets a person pick a user extension and Authorize or Cancel;
it then redirects to `redirect_uri` with `code` and `state`, or with `error=access_denied`.

Headless use, as the Entra pages allow: `login_hint` (an extension's email) or the control
call `POST /_sandbox/ringcentral/oauth {"sign_in_as": email}` picks the user and approves
without a form; `sandbox_decision=deny` (or `{"decision": "deny"}`) cancels instead.

The sandbox registers no redirect URIs of its own: any http(s) URL is accepted here, and the
token call must repeat it exactly.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp import web

from sandbox.model import RcExtension
from sandbox.ringcentral.api import REST_PREFIX, control_error
from sandbox.ringcentral.state import RC_STATE, RingCentralState

__all__ = ["AUTHORIZE_PATH", "SignInChoice", "add_routes"]

logger = logging.getLogger(__name__)

AUTHORIZE_PATH = f"{REST_PREFIX}/oauth/authorize"
CONTROL_PATH = "/_sandbox/ringcentral/oauth"
PICKER_LIMIT = 60  # extensions listed on the page; anyone else can be typed in as login_hint
DECISIONS = ("approve", "deny")
CHALLENGE_METHODS = ("S256", "plain")

_STYLE = """
body{font-family:Arial,Helvetica,sans-serif;background:#f1f3f4;margin:0}
.card{background:#fff;max-width:440px;margin:60px auto;padding:32px 40px;border-radius:6px;
box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:22px;margin:0 0 16px}.brand{color:#ff8800;font-weight:bold;margin-bottom:20px}
select{width:100%;padding:8px;margin:6px 0 16px;font-size:15px}
button{padding:8px 24px;font-size:15px;border:0;border-radius:4px;margin-right:8px;cursor:pointer}
.primary{background:#066fac;color:#fff}.secondary{background:#ddd}.error{color:#c0392b}
"""


@dataclass
class SignInChoice:
    """Who signs in and what they answer when no one is at the page (control API)."""

    sign_in_as: str | None = None
    decision: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {"sign_in_as": self.sign_in_as, "decision": self.decision}


SIGN_IN = web.AppKey("ringcentral_sign_in", SignInChoice)


def _page(title: str, body: str, status: int = 200) -> web.Response:
    text = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<main class='card'><div class='brand'>RingCentral (sandbox)</div>{body}</main>"
        "</body></html>"
    )
    return web.Response(text=text, status=status, content_type="text/html")


def _error_page(code: str, message: str) -> web.Response:
    body = (
        f"<h1>Unable to sign in</h1><p class='error'>{html.escape(code)}: "
        f"{html.escape(message)}</p>"
    )
    return _page("Sign in", body, status=400)


def _back(redirect_uri: str, params: Mapping[str, str]) -> web.HTTPFound:
    parts = urlsplit(redirect_uri)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return web.HTTPFound(urlunsplit(parts._replace(query=urlencode(query))))


def _users(state: RingCentralState) -> list[RcExtension]:
    return [
        e
        for e in state.ctx.org.rc_extensions.values()
        if e.type == "User" and e.status == "Enabled" and e.email
    ]


def _picker(state: RingCentralState) -> str:
    options = "".join(
        f"<option value='{html.escape(e.email or '')}'>"
        f"{html.escape(f'{e.name} <{e.email}> (ext. {e.extension_number})')}</option>"
        for e in _users(state)[:PICKER_LIMIT]
    )
    return f"<label>Sign in as<select name='sandbox_user'>{options}</select></label>"


def _hidden(query: Mapping[str, str]) -> str:
    return "".join(
        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
        for k, v in query.items()
        if k not in ("sandbox_user", "sandbox_decision")
    )


def _sign_in_page(state: RingCentralState, query: Mapping[str, str]) -> web.Response:
    body = (
        "<h1>Sign in to RingCentral</h1>"
        "<p><b>Presence Sync</b> asks to read and change presence and to receive presence "
        "events for your RingCentral account.</p>"
        "<form method='get'>"
        + _hidden(query)
        + _picker(state)
        + "<button class='primary' name='sandbox_decision' value='approve'>Authorize</button>"
        "<button class='secondary' name='sandbox_decision' value='deny'>Cancel</button>"
        "</form>"
    )
    return _page("Sign in to RingCentral", body)


async def authorize(request: web.Request) -> web.Response:
    """GET /restapi/oauth/authorize: sign an extension in and send a code back."""
    state = request.app[RC_STATE]
    choice = request.app[SIGN_IN]
    query = request.query
    client_id = query.get("client_id", "")
    redirect_uri = query.get("redirect_uri", "")
    if client_id != state.ctx.config.rc_client_id:
        return _error_page("OAU-153", f"Client application is not found: {client_id}")
    if not redirect_uri.startswith(("http://", "https://")):
        return _error_page("OAU-110", "Parameter [redirect_uri] is invalid")
    back = {"state": query["state"]} if "state" in query else {}
    if query.get("response_type") != "code":
        raise _back(
            redirect_uri,
            {
                "error": "unsupported_response_type",
                "error_description": "Unsupported response type",
                **back,
            },
        )
    challenge = query.get("code_challenge") or None
    method = query.get("code_challenge_method") or ("plain" if challenge else None)
    if challenge is not None and method not in CHALLENGE_METHODS:
        raise _back(
            redirect_uri,
            {
                "error": "invalid_request",
                "error_description": "Unsupported code_challenge_method",
                **back,
            },
        )
    email = query.get("login_hint") or query.get("sandbox_user") or choice.sign_in_as
    if not email:
        return _sign_in_page(state, query)
    ext = state.ctx.org.rc_extension_by_email(email)
    if ext is None or ext.type != "User":
        return _error_page("OAU-140", f"No RingCentral user signs in as {email}")
    decision = query.get("sandbox_decision") or choice.decision or "approve"
    if decision == "deny" or ext.status != "Enabled":
        why = "User declined the authorization" if decision == "deny" else "User is disabled"
        logger.info("RingCentral sign-in refused for extension %s: %s", ext.id, why)
        raise _back(redirect_uri, {"error": "access_denied", "error_description": why, **back})
    code = state.tokens.issue_code(client_id, redirect_uri, ext.id, challenge, method)
    logger.info("RingCentral extension %s signed in for client %s", ext.id, client_id)
    raise _back(redirect_uri, {"code": code, **back})


async def get_choice(request: web.Request) -> web.Response:
    """GET /_sandbox/ringcentral/oauth: the headless choice and codes waiting."""
    choice = request.app[SIGN_IN]
    pending = request.app[RC_STATE].tokens.pending_codes()
    return web.json_response({**choice.to_json(), "pending_codes": pending})


async def set_choice(request: web.Request) -> web.Response:
    """POST /_sandbox/ringcentral/oauth: who signs in next and whether they approve."""
    state = request.app[RC_STATE]
    choice = request.app[SIGN_IN]
    try:
        body = await request.json()
    except ValueError:
        return control_error(400, "body: not valid JSON")
    if not isinstance(body, dict):
        return control_error(400, "body: must be a JSON object")
    unknown = set(body) - {"sign_in_as", "decision"}
    if unknown:
        return control_error(400, f"unknown fields: {sorted(unknown)}")
    email = body.get("sign_in_as", choice.sign_in_as)
    decision = body.get("decision", choice.decision)
    if email is not None:
        ext = state.ctx.org.rc_extension_by_email(str(email))
        if ext is None or ext.type != "User":
            return control_error(404, f"no RingCentral user with email {email}")
    if decision is not None and decision not in DECISIONS:
        return control_error(400, f"decision: one of {list(DECISIONS)} or null")
    choice.sign_in_as, choice.decision = email, decision
    return await get_choice(request)


def add_routes(app: web.Application) -> None:
    """Mount the authorize page and its control route."""
    app[SIGN_IN] = SignInChoice()
    app.router.add_get(AUTHORIZE_PATH, authorize)
    app.router.add_get(CONTROL_PATH, get_choice)
    app.router.add_post(CONTROL_PATH, set_choice)
