"""RingCentral's OAuth endpoints: `POST /restapi/oauth/token` and `/restapi/oauth/revoke`.

Both authenticate the app with HTTP Basic client id / secret and are charged to the Auth
rate-limit group (5 a minute per app), so clients must reuse their tokens.
"""

from __future__ import annotations

from aiohttp import web

from sandbox.ringcentral.api import REST_PREFIX, RcApiError
from sandbox.ringcentral.state import RC_STATE

TOKEN_PATH = f"{REST_PREFIX}/oauth/token"
REVOKE_PATH = f"{REST_PREFIX}/oauth/revoke"
AUTH_USER = "oauth"  # token calls are charged before any user is known


async def _form(request: web.Request) -> dict[str, str]:
    data = await request.post()
    return {key: str(value) for key, value in data.items()}


async def token(request: web.Request) -> web.Response:
    """Issue tokens for the JWT bearer, authorization-code or refresh grant."""
    state = request.app[RC_STATE]
    headers: dict[str, str] = {}
    try:
        client_id = state.tokens.client_id(request)
        headers = state.limiter.take(client_id, AUTH_USER, "Auth")
        answer = state.tokens.grant(client_id, await _form(request))
    except RcApiError as err:
        response = err.response()
        response.headers.update(headers)
        return response
    # Token answers must never be cached by intermediaries (RFC 6749 §5.1).
    return web.json_response(
        answer, headers={**headers, "Cache-Control": "no-store", "Pragma": "no-cache"}
    )


async def revoke(request: web.Request) -> web.Response:
    """Revoke an access or refresh token (and its partner)."""
    state = request.app[RC_STATE]
    headers: dict[str, str] = {}
    try:
        client_id = state.tokens.client_id(request)
        headers = state.limiter.take(client_id, AUTH_USER, "Auth")
    except RcApiError as err:
        response = err.response()
        response.headers.update(headers)
        return response
    form = await _form(request)
    state.tokens.revoke(client_id, form.get("token", ""))
    return web.Response(status=200, headers=headers)


def add_routes(app: web.Application) -> None:
    """Mount the OAuth endpoints."""
    app.router.add_post(TOKEN_PATH, token)
    app.router.add_post(REVOKE_PATH, revoke)
