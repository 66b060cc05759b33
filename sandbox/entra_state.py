"""Entra ID's tenant state in the sandbox: consent, sign-in choices, codes and refresh tokens.

Also mints the tokens Entra hands out, so the token endpoint and the consent pages agree on
claims. Times are sandbox seconds (`ctx.clock.now()`), so `--time-scale` shortens lifetimes.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.context import SandboxContext
from sandbox.model import TeamsUser
from sandbox.tokens import GRAPH_AUDIENCE

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph's resource app id
BOT_AUDIENCE = "https://api.botframework.com"
BOT_TENANT = "botframework.com"  # multi-tenant bots sign in against this tenant name

APP_PERMISSIONS = (
    "User.Read.All",
    "Directory.Read.All",
    "Presence.Read.All",
    "Presence.ReadWrite.All",
    "Mail.Send",
    "TeamsAppInstallation.ReadWriteSelfForUser.All",
)
DELEGATED_PERMISSIONS = ("Presence.Read.All", "User.Read")
OIDC_SCOPES = ("openid", "profile", "offline_access", "email")
USER_CONSENTABLE = frozenset({"User.Read", *OIDC_SCOPES})  # no admin consent needed

ACCESS_TOKEN_LIFETIME = 3600.0
REFRESH_TOKEN_LIFETIME = 90 * 86400.0
CODE_LIFETIME = 600.0


@dataclass
class AuthCode:
    """An issued authorization code, redeemable once."""

    client_id: str
    redirect_uri: str
    user_id: str
    scopes: tuple[str, ...]
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    expires_at: float


@dataclass
class RefreshGrant:
    """What a refresh token stands for."""

    client_id: str
    user_id: str
    scopes: tuple[str, ...]
    issued_at: float
    expires_at: float


@dataclass
class EntraState:
    """Mutable tenant state behind the Entra emulation and the /_sandbox/consent control."""

    consent_granted: bool = False
    consent_granted_by: str | None = None
    sign_in_as: str | None = None  # email picked by control; used when no login_hint is given
    admin_decision: str | None = None  # "approve" | "deny", for headless admin consent
    codes: dict[str, AuthCode] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshGrant] = field(default_factory=dict)
    refresh_revoked_after: float = 0.0
    # Application permissions the consent covers; None means all of APP_PERMISSIONS. An admin
    # can consent to fewer (or the app registration gained permissions after consent).
    granted_roles: tuple[str, ...] | None = None

    def app_roles(self) -> list[str]:
        """The roles an app-only Graph token carries under the current consent."""
        return list(APP_PERMISSIONS if self.granted_roles is None else self.granted_roles)

    def consent_effective(self, ctx: SandboxContext) -> bool:
        """Whether the product app currently holds the tenant's admin consent."""
        return self.consent_granted and not ctx.faults.is_revoked("microsoft-consent")

    def grant_consent(self, ctx: SandboxContext, by: str | None) -> None:
        """Record admin consent (from the consent page or the control API)."""
        self.consent_granted = True
        self.consent_granted_by = by
        ctx.faults.revoked.discard("microsoft-consent")

    def revoke_consent(self, ctx: SandboxContext) -> None:
        """Withdraw consent: no new tokens, and every token and refresh token issued is dead."""
        self.consent_granted = False
        now = ctx.clock.now()
        ctx.entra_tokens.revoked_after = now
        self.refresh_revoked_after = now

    def describe(self, ctx: SandboxContext) -> dict[str, Any]:
        """JSON for /_sandbox/consent and /_sandbox/state."""
        return {
            "granted": self.consent_effective(ctx),
            "granted_by": self.consent_granted_by,
            "revoked": ctx.faults.is_revoked("microsoft-consent"),
            "sign_in_as": self.sign_in_as,
            "admin_decision": self.admin_decision,
            "refresh_tokens": len(self.refresh_tokens),
            "roles": self.app_roles(),
        }


ENTRA_STATE = web.AppKey("entra_state", EntraState)
CTX = web.AppKey("entra_ctx", SandboxContext)


def entra_error(
    error: str, code: int, description: str, status: int = 400, **extra: Any
) -> web.Response:
    """An error in Entra's JSON shape (`AADSTS<code>: …` with codes, timestamp, trace ids)."""
    now = dt.datetime.now(dt.UTC)
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {description} "
        f"Trace ID: {uuid.uuid4()} Correlation ID: {uuid.uuid4()} "
        f"Timestamp: {now:%Y-%m-%d %H:%M:%SZ}",
        "error_codes": [code],
        "timestamp": f"{now:%Y-%m-%d %H:%M:%SZ}",
        "trace_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
        **extra,
    }
    return web.json_response(body, status=status)


def service_principal_id(ctx: SandboxContext, client_id: str) -> str:
    """The stable object id of an app's service principal in the sandbox tenant."""
    return str(uuid.uuid5(uuid.UUID(ctx.org.tenant_id), f"sp:{client_id}"))


def issue_time(ctx: SandboxContext) -> float:
    """When a token issued now says it was issued, never inside the second of a revocation.

    `iat` has one-second resolution and revocation compares `iat < revoked_after`; without
    this, a token issued in the same second as a revocation but after it would be born dead.
    """
    return max(ctx.clock.now(), float(math.ceil(ctx.entra_tokens.revoked_after)))


def _b64url_json(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def client_info(ctx: SandboxContext, user: TeamsUser) -> str:
    """MSAL's `client_info`: the account's home object id and tenant, base64url JSON."""
    return _b64url_json({"uid": user.id, "utid": ctx.org.tenant_id})


def app_token(
    ctx: SandboxContext, client_id: str, audience: str, roles: list[str]
) -> dict[str, Any]:
    """A client-credentials token response for `client_id` to call `audience`."""
    claims: dict[str, Any] = {
        "aud": audience,
        "tid": ctx.org.tenant_id,
        "appid": client_id,
        "azp": client_id,
        "appidacr": "1",
        "idtyp": "app",
        "oid": service_principal_id(ctx, client_id),
        "sub": service_principal_id(ctx, client_id),
        "ver": "1.0",
    }
    if roles:
        claims["roles"] = roles
    access = ctx.entra_tokens.issue(claims, ACCESS_TOKEN_LIFETIME, issue_time(ctx))
    return _token_response(ctx, access)


def _token_response(ctx: SandboxContext, access_token: str, **extra: Any) -> dict[str, Any]:
    # Clients count expires_in in real seconds; under --time-scale the token dies sooner.
    expires_in = max(1, int(ctx.clock.real_seconds(ACCESS_TOKEN_LIFETIME)))
    return {
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": access_token,
        **extra,
    }


def user_tokens(
    ctx: SandboxContext,
    state: EntraState,
    client_id: str,
    user: TeamsUser,
    scopes: tuple[str, ...],
    nonce: str | None = None,
) -> dict[str, Any]:
    """A delegated token response: Graph access token, rotating refresh token, id token."""
    now = issue_time(ctx)
    graph_scopes = [s for s in scopes if s not in OIDC_SCOPES]
    email = user.mail or user.user_principal_name
    common = {
        "tid": ctx.org.tenant_id,
        "oid": user.id,
        "sub": user.id,
        "name": user.display_name,
        "preferred_username": user.user_principal_name,
    }
    access = ctx.entra_tokens.issue(
        {
            **common,
            "aud": GRAPH_AUDIENCE,
            "appid": client_id,
            "azp": client_id,
            "idtyp": "user",
            "scp": " ".join(graph_scopes),
            "upn": user.user_principal_name,
            "unique_name": email,
            "ver": "1.0",
        },
        ACCESS_TOKEN_LIFETIME,
        now,
    )
    granted = [f"{GRAPH_AUDIENCE}/{s}" for s in graph_scopes]
    granted += [s for s in scopes if s in OIDC_SCOPES]
    extra: dict[str, Any] = {"scope": " ".join(granted), "client_info": client_info(ctx, user)}
    if "openid" in scopes:
        id_claims: dict[str, Any] = {
            **common,
            "aud": client_id,
            "ver": "2.0",
            "auth_time": int(now),
        }
        if nonce:
            id_claims["nonce"] = nonce
        if "email" in scopes:
            id_claims["email"] = email
        if wids := user.role_template_ids():
            id_claims["wids"] = wids
        extra["id_token"] = ctx.entra_tokens.issue(id_claims, ACCESS_TOKEN_LIFETIME, now)
    if "offline_access" in scopes:
        refresh = "0." + secrets.token_urlsafe(48)
        state.refresh_tokens[refresh] = RefreshGrant(
            client_id, user.id, scopes, now, now + REFRESH_TOKEN_LIFETIME
        )
        extra["refresh_token"] = refresh
        extra["refresh_token_expires_in"] = int(ctx.clock.real_seconds(REFRESH_TOKEN_LIFETIME))
    return _token_response(ctx, access, **extra)


def split_scopes(raw: str) -> tuple[list[str], list[str]]:
    """(Graph permission names, unknown resources) of a space-separated scope string.

    `https://graph.microsoft.com/Presence.Read.All`, the Graph app id form and bare names all
    mean the same Graph permission; `…/.default` expands to everything consented.
    """
    graph: list[str] = []
    unknown: list[str] = []
    for scope in raw.split():
        if scope in OIDC_SCOPES:
            graph.append(scope)
            continue
        resource, _, name = scope.rpartition("/")
        if resource in ("", GRAPH_AUDIENCE, GRAPH_APP_ID, f"api://{GRAPH_APP_ID}"):
            graph.append(name)
        else:
            unknown.append(scope)
    return graph, unknown


def known_tenant(ctx: SandboxContext, tenant: str) -> bool:
    """Whether `tenant` (id, domain, or a multi-tenant alias) names the sandbox tenant."""
    return tenant.lower() in {
        ctx.org.tenant_id.lower(),
        ctx.org.tenant_domain.lower(),
        "organizations",
        "common",
        BOT_TENANT,
    }


def clients(ctx: SandboxContext) -> dict[str, str]:
    """Known confidential clients and their secrets."""
    return {
        ctx.config.app_client_id: ctx.config.app_client_secret,
        ctx.config.bot_app_id: ctx.config.bot_app_secret,
    }


def not_consented(ctx: SandboxContext, client_id: str) -> web.Response:
    """The error Entra gives an app the tenant never consented to."""
    return entra_error(
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory "
        f"'{ctx.org.tenant_domain}'. This can happen if the application has not been installed "
        "by the administrator of the tenant or consented to by any user in the tenant.",
    )


@dataclass(frozen=True)
class Refusal:
    """Why Entra refuses a request: the OAuth error, the AADSTS code and its description."""

    error: str
    code: int
    description: str
    suberror: str | None = None

    def response(self) -> web.Response:
        """The refusal as a token-endpoint JSON answer."""
        if self.suberror:
            return entra_error(self.error, self.code, self.description, suberror=self.suberror)
        return entra_error(self.error, self.code, self.description)

    def redirect_params(self) -> dict[str, str]:
        """The refusal as query parameters of a redirect back to the app."""
        # Front-channel answers name the reason (consent_required) where the back channel
        # says invalid_grant with a suberror.
        return {
            "error": self.suberror or self.error,
            "error_description": f"AADSTS{self.code}: {self.description}",
        }


def delegated_scopes(
    ctx: SandboxContext, state: EntraState, client_id: str, raw: str
) -> tuple[tuple[str, ...], Refusal | None]:
    """The delegated scopes granted for `raw`, or why Entra refuses them."""
    names, unknown = split_scopes(raw)
    if unknown:
        return (), Refusal(
            "invalid_scope", 70011, f"The provided value for scope {unknown[0]} is not valid."
        )
    if client_id != ctx.config.app_client_id:
        return (), Refusal(
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{ctx.org.tenant_domain}'.",
        )
    if ".default" in names:
        names = [n for n in names if n != ".default"] + list(DELEGATED_PERMISSIONS)
    granted = tuple(dict.fromkeys(names))
    needs_admin = [s for s in granted if s not in USER_CONSENTABLE]
    not_grantable = [s for s in needs_admin if s not in DELEGATED_PERMISSIONS]
    if not_grantable or (needs_admin and not state.consent_effective(ctx)):
        return (), Refusal(
            "invalid_grant",
            65001,
            f"The user or administrator has not consented to use the application with ID "
            f"'{client_id}'. Send an interactive authorization request for this user and "
            "resource.",
            suberror="consent_required",
        )
    return granted, None
