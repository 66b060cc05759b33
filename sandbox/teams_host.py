"""The Teams host: a page that frames the product's tab and answers teams-js as Teams does.

`GET /_sandbox/teams/host?user=…&tab=…&theme=…` serves the page (its script is in
`sandbox.teams_host_page`); the page asks `POST /_sandbox/teams/{email}/sso-token` for the
tokens `authentication.getAuthToken()` returns. That route also mints deliberately bad tokens
(another audience or tenant, expired, signed by an unpublished key) for refusal tests.
"""

from __future__ import annotations

import functools
import html
import time
import uuid
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit

from aiohttp import web

from sandbox.context import SandboxContext
from sandbox.entra_state import issue_time
from sandbox.model import TeamsUser
from sandbox.teams_host_page import render_error_page, render_host_page
from sandbox.tokens import SigningKey, TokenIssuer

__all__ = [
    "SSO_TOKEN_LIFETIME",
    "TEAMS_WEB_CLIENT_ID",
    "THEMES",
    "setup",
    "sso_token",
    "tab_audience",
]

CTX = web.AppKey("teams_host_ctx", SandboxContext)
SSO_TOKEN_LIFETIME = 3600.0
TEAMS_WEB_CLIENT_ID = "5e3ce6c0-2b1f-4285-8d4b-75ee78787346"  # the `azp` of Teams web's tokens
THEMES = ("default", "dark", "contrast")
TEAMS_JS_VERSION = "2.58.0"  # what the host says it supports (initialize's 4th answer)
SSO_OPTIONS = {"audience": str, "tenant": str, "expired": bool, "sign_with_foreign_key": bool}
_DEFAULT_PORTS = {"http": 80, "https": 443}


@functools.cache
def _foreign_key() -> SigningKey:
    # One per process: a key that never appears in any JWKS the sandbox publishes.
    return SigningKey.generate()


def _host_port(parts: SplitResult) -> str:
    """`host[:port]` as a browser's `URL.host` spells it (default ports dropped)."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme):
        return f"{host}:{port}"
    return host


def tab_audience(ctx: SandboxContext, tab_url: str) -> str:
    """The SSO audience Teams uses for a tab at `tab_url`: api://{host[:port]}/{client id}."""
    return f"api://{_host_port(urlsplit(tab_url))}/{ctx.config.app_client_id}"


def sso_token(
    ctx: SandboxContext,
    user: TeamsUser,
    audience: str | None = None,
    tenant: str | None = None,
    expired: bool = False,
    sign_with_foreign_key: bool = False,
) -> str:
    """The token teams-js `getAuthToken()` hands the tab, optionally spoiled for a test."""
    tenant_id = tenant or ctx.org.tenant_id
    claims: dict[str, Any] = {
        "aud": audience or f"api://localhost/{ctx.config.app_client_id}",
        "tid": tenant_id,
        "oid": user.id,
        "sub": user.id,
        "azp": TEAMS_WEB_CLIENT_ID,
        "azpacr": "0",
        "name": user.display_name,
        "preferred_username": user.user_principal_name,
        "scp": "access_as_user",
        "ver": "2.0",
    }
    if wids := user.role_template_ids():
        claims["wids"] = wids
    issuer = ctx.entra_tokens
    if tenant:
        # Entra signs every tenant's tokens with the same keys; only iss and tid differ.
        base = ctx.entra_tokens.issuer.removesuffix(f"/{ctx.org.tenant_id}/v2.0")
        issuer = TokenIssuer(f"{base}/{tenant_id}/v2.0", key=ctx.entra_tokens.key)
    if sign_with_foreign_key:
        issuer = TokenIssuer(issuer.issuer, key=_foreign_key())
    issued = issue_time(ctx)
    if expired:
        # An hour past expiry by both clocks, whichever the verifier uses (--time-scale).
        issued = min(time.time(), issued) - SSO_TOKEN_LIFETIME - 3600
    return issuer.issue(claims, SSO_TOKEN_LIFETIME, issued)


def _json_error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def post_sso_token(request: web.Request) -> web.Response:
    """POST /_sandbox/teams/{email}/sso-token [{"audience", "tenant", "expired",
    "sign_with_foreign_key"}]: what teams-js getAuthToken() gives the tab."""
    ctx = request.app[CTX]
    email = request.match_info["email"]
    user = ctx.org.teams_user_by_email(email)
    if user is None:
        return _json_error(f"no Teams user with email {email}", 404)
    body: Any = {}
    if request.can_read_body:
        try:
            body = await request.json()
        except ValueError:
            return _json_error("body must be JSON")
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return _json_error("body must be a JSON object")
    for key, value in body.items():
        kind = SSO_OPTIONS.get(key)
        if kind is None:
            return _json_error(f"unknown option {key!r}; known: {', '.join(SSO_OPTIONS)}")
        if value is not None and not isinstance(value, kind):
            return _json_error(f"{key}: a {kind.__name__}")
    if body.get("audience") == "" or body.get("tenant") == "":
        return _json_error("audience and tenant: non-empty strings when given")
    token = sso_token(
        ctx,
        user,
        audience=body.get("audience"),
        tenant=body.get("tenant"),
        expired=bool(body.get("expired")),
        sign_with_foreign_key=bool(body.get("sign_with_foreign_key")),
    )
    return web.json_response({"token": token})


def _bad_request(message: str) -> web.Response:
    return web.Response(
        status=400, text=render_error_page(html.escape(message)), content_type="text/html"
    )


def host_config(ctx: SandboxContext, user: TeamsUser, tab: str, theme: str) -> dict[str, Any]:
    """What the host page's script needs: who is signed in, what is framed, the context."""
    parts = urlsplit(tab)
    tenant = uuid.UUID(ctx.org.tenant_id)
    return {
        "tab": tab,
        "tabOrigin": f"{parts.scheme}://{_host_port(parts)}",
        "audience": tab_audience(ctx, tab),
        "ssoTokenPath": f"/_sandbox/teams/{quote(user.user_principal_name, safe='@')}/sso-token",
        "theme": theme,
        "sdkVersion": TEAMS_JS_VERSION,
        "user": {
            "id": user.id,
            "displayName": user.display_name,
            "userPrincipalName": user.user_principal_name,
        },
        "tenantId": ctx.org.tenant_id,
        # The Teams app id of the product's manifest, which uses the bot's id.
        "appId": ctx.config.bot_app_id,
        "sessionId": str(uuid.uuid5(tenant, f"teams-session:{user.id}")),
        "locale": "en-US",
    }


async def get_host(request: web.Request) -> web.Response:
    """GET /_sandbox/teams/host?user=<email>&tab=<tab URL>[&theme=default|dark|contrast]."""
    ctx = request.app[CTX]
    email = request.query.get("user", "").strip()
    tab = request.query.get("tab", "").strip()
    theme = request.query.get("theme", "default")
    if not email:
        return _bad_request("user: the email of the Teams user to sign in as is required")
    user = ctx.org.teams_user_by_email(email)
    if user is None:
        return _bad_request(f"user: no Teams user with email {email}")
    parts = urlsplit(tab)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _bad_request(f"tab: an http(s) URL of the tab is required, not {tab!r}")
    if parts.username or parts.password:
        return _bad_request("tab: the URL must not carry credentials")
    if theme not in THEMES:
        return _bad_request(f"theme: one of {', '.join(THEMES)}, not {theme!r}")
    page = render_host_page(host_config(ctx, user, tab, theme), user.display_name)
    # no-store: each load must see the current sandbox, never a cached config.
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})


def setup(app: web.Application, ctx: SandboxContext) -> None:
    """Mount the host page and the SSO token route."""
    app[CTX] = ctx
    app.router.add_get("/_sandbox/teams/host", get_host)
    app.router.add_post("/_sandbox/teams/{email}/sso-token", post_sso_token)
