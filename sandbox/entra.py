"""Entra ID emulation: OpenID metadata, JWKS and the v2.0 token endpoint under /entra/{tenant}/.

Grants: client_credentials (the product app for Graph after admin consent; the bot app for
the Bot Connector), authorization_code with PKCE, refresh_token (rotating) and jwt-bearer
(on-behalf-of, for the tab's SSO token). The sign-in and consent pages are in
`sandbox.entra_pages`. Errors follow Entra's JSON shape so MSAL reports them as it would.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from typing import Any

import jwt
from aiohttp import web

from sandbox import entra_pages
from sandbox.context import SandboxContext
from sandbox.entra_state import (
    BOT_AUDIENCE,
    CTX,
    ENTRA_STATE,
    GRAPH_APP_ID,
    EntraState,
    app_token,
    clients,
    delegated_scopes,
    entra_error,
    known_tenant,
    not_consented,
    user_tokens,
)
from sandbox.tokens import GRAPH_AUDIENCE, TokenError

__all__ = ["describe", "setup"]

logger = logging.getLogger(__name__)


def _tenant(request: web.Request) -> tuple[SandboxContext, str]:
    ctx = request.app[CTX]
    tenant = request.match_info["tenant"]
    if not known_tenant(ctx, tenant):
        raise _as_http(
            entra_error(
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud.",
            )
        )
    return ctx, tenant


def _as_http(response: web.Response) -> web.HTTPException:
    return web.HTTPBadRequest(text=response.text, content_type="application/json")


async def openid_configuration(request: web.Request) -> web.Response:
    """GET …/v2.0/.well-known/openid-configuration, the document MSAL discovers."""
    ctx, tenant = _tenant(request)
    base = f"{ctx.config.base_url}/entra/{tenant}"
    return web.json_response(
        {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": ctx.entra_tokens.issuer,
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{ctx.config.base_url}/graph/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "preferred_username",
                "name", "tid", "ver", "oid", "email",
            ],
            "code_challenge_methods_supported": ["plain", "S256"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }
    )


async def jwks(request: web.Request) -> web.Response:
    """GET …/discovery/v2.0/keys, the signing keys of every token Entra issues."""
    ctx, _ = _tenant(request)
    return web.json_response(ctx.entra_tokens.jwks())


async def logout(request: web.Request) -> web.StreamResponse:
    """GET …/oauth2/v2.0/logout: nothing to end in the sandbox; go back if asked to."""
    target = request.query.get("post_logout_redirect_uri")
    if target:
        raise web.HTTPFound(target)
    return web.Response(text="Signed out.", content_type="text/plain")


def _client_credentials_of(request: web.Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            raw = base64.b64decode(header[6:]).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        client_id, _, secret = raw.partition(":")
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


async def token(request: web.Request) -> web.Response:
    """POST …/oauth2/v2.0/token for every grant the product and botbuilder use."""
    ctx, _ = _tenant(request)
    state = request.app[ENTRA_STATE]
    form = {k: str(v) for k, v in (await request.post()).items()}
    client_id, secret = _client_credentials_of(request, form)
    if not client_id:
        return entra_error(
            "invalid_request", 900144, "The request body must contain the following parameter: "
            "'client_id'."
        )
    known = clients(ctx)
    if client_id not in known:
        return entra_error(
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{ctx.org.tenant_domain}'.",
        )
    if not secret or not hmac.compare_digest(secret, known[client_id]):
        return entra_error(
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the "
            f"client secret value, not the client secret ID, for a secret added to app "
            f"'{client_id}'.",
            status=401,
        )
    grant = form.get("grant_type", "")
    if grant == "client_credentials":
        return _client_credentials(ctx, state, client_id, form)
    if grant == "authorization_code":
        return _authorization_code(ctx, state, client_id, form)
    if grant == "refresh_token":
        return _refresh(ctx, state, client_id, form)
    if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
        return _on_behalf_of(ctx, state, client_id, form)
    return entra_error(
        "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'."
    )


def _client_credentials(
    ctx: SandboxContext, state: EntraState, client_id: str, form: dict[str, str]
) -> web.Response:
    scope = form.get("scope", "").strip()
    if not scope:
        return entra_error(
            "invalid_request", 900144, "The request body must contain the following parameter: "
            "'scope'."
        )
    if not scope.endswith("/.default") or " " in scope:
        return entra_error(
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must "
            "have a scope value with /.default suffixed to the resource identifier "
            "(application ID URI).",
        )
    resource = scope.removesuffix("/.default")
    if resource == BOT_AUDIENCE:
        return web.json_response(app_token(ctx, client_id, BOT_AUDIENCE, []))
    if resource in (GRAPH_AUDIENCE, GRAPH_APP_ID):
        if client_id != ctx.config.app_client_id or not state.consent_effective(ctx):
            return not_consented(ctx, client_id)
        return web.json_response(app_token(ctx, client_id, GRAPH_AUDIENCE, state.app_roles()))
    return entra_error(
        "invalid_resource",
        500011,
        f"The resource principal named {resource} was not found in the tenant named "
        f"{ctx.org.tenant_domain}.",
    )


def _authorization_code(
    ctx: SandboxContext, state: EntraState, client_id: str, form: dict[str, str]
) -> web.Response:
    code = state.codes.pop(form.get("code", ""), None)
    if code is None or code.client_id != client_id:
        return entra_error(
            "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please "
            "retry with a new valid code or use an existing refresh token."
        )
    if code.expires_at < ctx.clock.now():
        return entra_error(
            "invalid_grant", 70008, "The provided authorization code or refresh token has "
            "expired due to inactivity. Send a new interactive authorization request."
        )
    if form.get("redirect_uri", "") != code.redirect_uri:
        return entra_error(
            "invalid_grant", 50148, "The redirect_uri specified in the token request does not "
            "match the redirect_uri used in the authorization request."
        )
    if code.code_challenge is not None:
        verifier = form.get("code_verifier", "")
        if code.code_challenge_method == "S256":
            digest = hashlib.sha256(verifier.encode()).digest()
            computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        else:
            computed = verifier
        if not verifier or not hmac.compare_digest(computed, code.code_challenge):
            return entra_error(
                "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge "
                "supplied in the authorization request."
            )
    user = ctx.org.teams_users.get(code.user_id)
    if user is None or not user.account_enabled:
        return entra_error("invalid_grant", 50057, "The user account is disabled.")
    scopes, error = delegated_scopes(ctx, state, client_id, " ".join(code.scopes))
    if error is not None:
        return error.response()
    return web.json_response(user_tokens(ctx, state, client_id, user, scopes, nonce=code.nonce))


def _refresh(
    ctx: SandboxContext, state: EntraState, client_id: str, form: dict[str, str]
) -> web.Response:
    presented = form.get("refresh_token", "")
    grant = state.refresh_tokens.get(presented)
    if grant is None or grant.client_id != client_id:
        return entra_error(
            "invalid_grant", 70000, "Provided grant is invalid or malformed."
        )
    revoked = (
        ctx.faults.is_revoked("microsoft-refresh-tokens")
        or grant.issued_at < state.refresh_revoked_after
    )
    if revoked:
        state.refresh_tokens.pop(presented, None)
        return entra_error(
            "invalid_grant", 50173, "The provided grant has expired due to it being revoked, a "
            "fresh auth token is needed. The user might have changed or reset their password."
        )
    if grant.expires_at < ctx.clock.now():
        state.refresh_tokens.pop(presented, None)
        return entra_error(
            "invalid_grant", 700082, "The refresh token has expired due to inactivity."
        )
    user = ctx.org.teams_users.get(grant.user_id)
    if user is None or not user.account_enabled:
        return entra_error("invalid_grant", 50057, "The user account is disabled.")
    requested = form.get("scope") or " ".join(grant.scopes)
    scopes, error = delegated_scopes(ctx, state, client_id, requested)
    if error is not None:
        return error.response()
    if "offline_access" not in scopes:
        scopes = (*scopes, "offline_access")
    # Rotation: the presented refresh token is spent; the answer carries its successor.
    state.refresh_tokens.pop(presented, None)
    return web.json_response(user_tokens(ctx, state, client_id, user, scopes))


def _on_behalf_of(
    ctx: SandboxContext, state: EntraState, client_id: str, form: dict[str, str]
) -> web.Response:
    assertion = form.get("assertion", "")
    try:
        audience = str(jwt.decode(assertion, options={"verify_signature": False}).get("aud", ""))
    except jwt.PyJWTError:
        audience = ""
    # Tab SSO tokens are for the app itself: its client id or its api://…/{client id} URI.
    if audience != client_id and not (
        audience.startswith("api://") and audience.endswith(f"/{client_id}")
    ):
        return entra_error(
            "invalid_grant", 50013, "Assertion failed signature validation or is for another "
            "audience."
        )
    try:
        claims = ctx.entra_tokens.verify(assertion, audience=audience, now=ctx.clock.now())
    except TokenError as err:
        return entra_error("invalid_grant", 50013, f"Assertion is not valid: {err}.")
    user = ctx.org.teams_users.get(str(claims.get("oid", "")))
    if user is None or not user.account_enabled:
        return entra_error("invalid_grant", 50057, "The user account is disabled.")
    scopes, error = delegated_scopes(ctx, state, client_id, form.get("scope", ""))
    if error is not None:
        return error.response()
    return web.json_response(user_tokens(ctx, state, client_id, user, scopes))


def describe(ctx: SandboxContext, state: EntraState) -> dict[str, Any]:
    """Entra's part of /_sandbox/state."""
    return {"tenant_id": ctx.org.tenant_id, "consent": state.describe(ctx)}


def setup(app: web.Application, ctx: SandboxContext) -> None:
    """Mount Entra ID under /entra/{tenant}/ and keep its tenant state in `app[ENTRA_STATE]`."""
    app[CTX] = ctx
    if ENTRA_STATE not in app:
        app[ENTRA_STATE] = EntraState()
    prefix = "/entra/{tenant}"
    app.router.add_get(f"{prefix}/v2.0/.well-known/openid-configuration", openid_configuration)
    app.router.add_get(f"{prefix}/discovery/v2.0/keys", jwks)
    app.router.add_post(f"{prefix}/oauth2/v2.0/token", token)
    app.router.add_get(f"{prefix}/oauth2/v2.0/logout", logout)
    entra_pages.setup(app, ctx, prefix)

