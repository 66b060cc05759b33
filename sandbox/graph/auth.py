"""Who is calling Graph and may they: bearer-token checks, permissions, throttling, errors.

Every Graph route goes through `endpoint()`, the one choke point that answers 401, 403 and 429
with Graph's error JSON, so individual routes only express what they need.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web

from sandbox.context import SandboxContext
from sandbox.graph.errors import GraphRequestError, error_response, new_request_id
from sandbox.graph.throttle import TenantBudget
from sandbox.tokens import GRAPH_AUDIENCE, TokenError, bearer

logger = logging.getLogger(__name__)

GRAPH_AUDIENCES = [GRAPH_AUDIENCE, "00000003-0000-0000-c000-000000000000"]
_CACHE_LIMIT = 10_000


@dataclass(frozen=True)
class Caller:
    """The identity in a verified Graph access token."""

    app_id: str
    tenant_id: str
    object_id: str  # the signed-in user (delegated) or the app's service principal (app-only)
    app_only: bool
    roles: frozenset[str]
    scopes: frozenset[str]
    username: str | None


@dataclass(frozen=True)
class Permission:
    """Which application roles or delegated scopes an endpoint accepts (empty: not supported)."""

    app: frozenset[str] = frozenset()
    delegated: frozenset[str] = frozenset()


def permission(app: str = "", delegated: str = "") -> Permission:
    """A Permission from space-separated role and scope names."""
    return Permission(frozenset(app.split()), frozenset(delegated.split()))


Handler = Callable[[web.Request, Caller], Awaitable[web.StreamResponse]]


class Authenticator:
    """Verifies Graph bearer tokens against the sandbox's Entra issuer, with a small cache."""

    def __init__(self, ctx: SandboxContext) -> None:
        self._ctx = ctx
        self._cache: dict[str, dict[str, Any]] = {}

    def caller(self, authorization: str | None) -> Caller:
        """The caller of a request's Authorization header, or a 401 GraphRequestError."""
        try:
            token = bearer(authorization)
        except TokenError as err:
            raise _unauthenticated("Access token is empty.") from err
        issuer = self._ctx.entra_tokens
        now = self._ctx.clock.now()
        claims = self._cache.get(token)
        if claims is None:
            try:
                claims = issuer.verify(token, audience=GRAPH_AUDIENCES, now=now)
            except TokenError as err:
                raise _unauthenticated(self._problem(token, now)) from err
            # Signature checks dominate the cost of a presence read; remember good tokens.
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[token] = claims
        elif claims["exp"] < now:
            raise _unauthenticated("Lifetime validation failed, the token is expired.")
        if claims["iat"] < issuer.revoked_after:
            self._cache.pop(token, None)
            raise _unauthenticated("Access token has been revoked: the grant was withdrawn.")
        if claims.get("tid") != self._ctx.org.tenant_id:
            raise _unauthenticated("Access token validation failure. Invalid tenant.")
        app_only = claims.get("idtyp") == "app" or "scp" not in claims
        return Caller(
            app_id=str(claims.get("appid") or claims.get("azp") or ""),
            tenant_id=str(claims["tid"]),
            object_id=str(claims.get("oid", "")),
            app_only=app_only,
            roles=frozenset(claims.get("roles") or ()),
            scopes=frozenset(str(claims.get("scp", "")).split()),
            username=claims.get("preferred_username"),
        )

    def _problem(self, token: str, now: float) -> str:
        # Say why, as Entra-protected APIs do, from the unverified claims of the refused token.
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return "Access token validation failure. Invalid token format."
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not set(audiences) & set(GRAPH_AUDIENCES):
            return "Access token validation failure. Invalid audience."
        if float(claims.get("exp", 0)) < now:
            return "Lifetime validation failed, the token is expired."
        if float(claims.get("iat", 0)) < self._ctx.entra_tokens.revoked_after:
            return "Access token has been revoked: the grant was withdrawn."
        return "Access token validation failure. IDX10511: Signature validation failed."


def authorize(caller: Caller, needed: Permission) -> None:
    """Raise 403 Authorization_RequestDenied unless the caller holds one of `needed`."""
    granted = caller.roles & needed.app if caller.app_only else caller.scopes & needed.delegated
    if not granted:
        raise GraphRequestError(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )


def endpoint(
    ctx: SandboxContext,
    authenticator: Authenticator,
    budget: TenantBudget | None,
    handler: Handler,
    needed: Permission | None,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap a Graph route: auth, permission, throttling (None: off), Graph's error JSON."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        request_id = new_request_id()
        try:
            caller = authenticator.caller(request.headers.get("Authorization"))
            if needed is not None:
                authorize(caller, needed)
            retry_after = None if budget is None else budget.admit(caller.tenant_id)
            if retry_after is not None:
                raise GraphRequestError(
                    429,
                    "TooManyRequests",
                    "Too many requests. The application has exceeded the tenant's request"
                    " budget; retry after the interval in the Retry-After header.",
                    headers={"Retry-After": str(int(retry_after))},
                )
            response = await handler(request, caller)
        except GraphRequestError as err:
            if err.status >= 500:
                logger.warning("graph %s %s failed: %s", request.method, request.path, err)
            response = error_response(request, err, request_id)
        response.headers["request-id"] = request_id
        response.headers["client-request-id"] = request.headers.get("client-request-id", request_id)
        return response

    return wrapped


def _unauthenticated(message: str) -> GraphRequestError:
    return GraphRequestError(
        401,
        "InvalidAuthenticationToken",
        message,
        headers={"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'},
    )
