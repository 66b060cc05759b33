"""Sign-in routes of the tab outside Teams, the session check, and pop-up step tickets.

GET  /tab/auth/login[?return=/tab/…&login_hint=]  -> Entra sign-in (code + PKCE)
POST /tab/auth/callback                          <- Entra (form_post): session cookie
GET  /tab/auth/callback                          <- Entra (errors come back as a query)
POST /tab/auth/logout                            ends the session (CSRF token needed)
GET  /api/tab/session                            who is signed in, admin or not
POST /api/tab/steps                              a one-time start URL for a pop-up step
"""

from __future__ import annotations

import logging
from urllib.parse import unquote, urlencode

from aiohttp import web

from presence_sync.errors import (
    NotConfiguredError,
    PresenceSyncError,
    UnauthenticatedError,
    ValidationError,
)
from presence_sync.web.auth.guard import TabAuth
from presence_sync.web.auth.sessions import (
    LOGIN_COOKIE,
    LOGIN_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    STEPS,
    Ticket,
)
from presence_sync.web.auth.signin import SignInFlow
from presence_sync.web.body import json_object
from presence_sync.web.callback import callback_params
from presence_sync.web.keys import AUTH
from presence_sync.web.pages import result_page

__all__ = ["CALLBACK", "LOGIN", "add_routes", "safe_return", "step_path"]

logger = logging.getLogger(__name__)

LOGIN = "/tab/auth/login"
CALLBACK = "/tab/auth/callback"
_STEP_PATHS = {
    "consent": "/connect/microsoft/consent",
    "sync-account": "/connect/microsoft/sync-account",
    "ringcentral": "/connect/ringcentral/oauth",
    "ringcentral-identity": "/connect/ringcentral/identities/oauth",
}


def step_path(step: str) -> str:
    """The starter route of a pop-up step."""
    return _STEP_PATHS[step]


def safe_return(raw: str | None) -> str:
    """Where to go after signing in: a path of this product only, never another site."""
    if not raw:
        return "/tab/"
    if (
        not raw.startswith("/")
        or raw.startswith("//")
        or "\\" in raw
        or any(ord(c) < 0x20 for c in raw)
        or len(raw) > 2048
        or not (raw.startswith("/tab") or raw.startswith("/connect/"))
        # Browsers resolve dot segments, %2e-encoded ones too: none may climb out of /tab.
        or any(part in (".", "..") for part in unquote(raw.split("?", 1)[0]).split("/"))
    ):
        raise ValidationError("return must be a path of this product, like /tab/people")
    return raw


def _auth(request: web.Request) -> TabAuth:
    return request.app[AUTH]


def _flow(auth: TabAuth) -> SignInFlow:
    if auth.signin is None:
        raise NotConfiguredError(
            "sign-in is not configured: set MICROSOFT_TENANT_ID, MICROSOFT_CLIENT_ID and "
            "MICROSOFT_CLIENT_SECRET"
        )
    return auth.signin


async def login(request: web.Request) -> web.Response:
    """Send the browser to Entra to sign in, remembering where to come back to."""
    auth = _auth(request)
    back = safe_return(request.query.get("return"))
    hint = request.query.get("login_hint", "").strip() or None
    if hint is not None and ("@" not in hint or len(hint) > 256):
        raise ValidationError("login_hint must be an email address")
    # Anyone may start a sign-in, and each keeps a state in the store: bound them per address.
    await auth.logins.take(request.remote or "unknown")
    started = await _flow(auth).start(f"{auth.public_url}{CALLBACK}", hint)
    await auth.sessions.remember_login(started.state, started.flow, back)
    response = web.HTTPFound(started.auth_uri)
    # Only the browser that started a sign-in may finish it: someone else's code and state,
    # planted in this browser, would sign it in as them.
    response.set_cookie(
        LOGIN_COOKIE,
        auth.sessions.login_binding(started.state),
        max_age=int(LOGIN_SECONDS),
        httponly=True,
        samesite="Lax",
        secure=auth.public_url.startswith("https://"),
        path="/tab/auth/",
    )
    raise response


async def callback(request: web.Request) -> web.Response:
    """Entra's answer: check the id token, start a session, go back to the tab."""
    auth = _auth(request)
    params = await callback_params(request)
    state = params.get("state", "")
    if not auth.sessions.bound(state, request.cookies.get(LOGIN_COOKIE)):
        return _failed(
            "This sign-in was not started in this browser: start it again from the tab.",
            status=400,
        )
    started = await auth.sessions.take_login(state)
    if started is None:
        return _failed("This sign-in link has expired or was already used.", status=400)
    flow, back = started
    if "error" in params:
        description = params.get("error_description", params["error"]).split("\r\n")[0]
        return _failed(f"Microsoft did not sign you in: {description}", status=400)
    try:
        id_token, nonce = await _flow(auth).finish(flow, params)
        tokens = auth.tokens
        if tokens is None:
            raise UnauthenticatedError("sign-in is not configured")
        identity = await tokens.verify(id_token, audiences=(tokens.client_id,), nonce=nonce)
    except UnauthenticatedError as err:
        return _failed(str(err), status=401)
    except PresenceSyncError as err:
        logger.warning("sign-in could not be completed: %s", err)
        return _failed(f"Microsoft could not be reached to finish signing in: {err}", status=502)
    cookie, _session = await auth.sessions.start(identity)
    logger.info("signed in %s to the tab", identity.email)
    response = web.HTTPFound(back)
    response.del_cookie(LOGIN_COOKIE, path="/tab/auth/")
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=auth.public_url.startswith("https://"),
        path="/",
    )
    raise response


def _failed(message: str, *, status: int) -> web.Response:
    return result_page(
        "You are not signed in",
        message,
        ok=False,
        status=status,
        next_step="",
        link=("Sign in again", "/tab/"),
    )


async def logout(request: web.Request) -> web.Response:
    """End the session everywhere and forget the cookie."""
    auth = _auth(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    session = await auth.sessions.read(cookie)
    if session is not None:
        # Ending a live session is a change: it needs the CSRF token like any other.
        caller = await auth.caller(request)
        auth.check_csrf(request, caller)
        await auth.sessions.end(cookie)
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def session(request: web.Request) -> web.Response:
    """Who is signed in, whether they are an admin (and why not), and the CSRF token."""
    caller = await _auth(request).caller(request)
    identity = caller.identity
    return web.json_response(
        {
            "user": {"name": identity.name, "email": identity.email, "oid": identity.oid},
            "admin": caller.verdict.admin,
            "reason": caller.verdict.reason,
            "via": caller.via,
            "csrfToken": caller.session.csrf if caller.session is not None else None,
            "expiresAt": (
                caller.session.expires_at if caller.session is not None else identity.expires_at
            ),
        },
        headers={"Cache-Control": "no-store"},
    )


async def start_step(request: web.Request) -> web.Response:
    """A single-use URL that starts a pop-up step as the admin who asked."""
    auth = _auth(request)
    caller = await auth.admin(request)
    body = await json_object(request)
    step = body.get("step")
    if step not in STEPS:
        raise ValidationError(f"step must be one of {', '.join(STEPS)}")
    hint = body.get("loginHint")
    if hint is not None and (not isinstance(hint, str) or "@" not in hint or len(hint) > 256):
        raise ValidationError("loginHint must be an email address")
    await auth.starts.take(f"ticket:{caller.key}")
    value = await auth.sessions.issue_ticket(
        Ticket(step=step, email=caller.email, oid=caller.identity.oid, login_hint=hint or None)
    )
    query = {"start": value, **({"login_hint": hint} if hint else {})}
    return web.json_response({"url": f"{auth.public_url}{step_path(step)}?{urlencode(query)}"})


def add_routes(app: web.Application) -> None:
    """Add the sign-in, session and step routes."""
    router = app.router
    router.add_get(LOGIN, login)
    router.add_post(CALLBACK, callback)
    router.add_get(CALLBACK, callback)
    router.add_post("/tab/auth/logout", logout)
    router.add_get("/api/tab/session", session)
    router.add_post("/api/tab/steps", start_step)
