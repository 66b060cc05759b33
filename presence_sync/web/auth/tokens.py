"""Entra ID sign-in tokens, checked the way Entra documents: the tab's SSO token and id tokens.

A token counts only when its RS256 signature verifies against the tenant's published keys,
its issuer is the tenant's, its audience is this app (the client id, or the
`api://{host}/{client id}` URI Teams SSO uses), it has not expired and its `tid` is the
configured tenant. The issuer comes from the authority's OpenID metadata (read once a day);
the keys are the tenant's `TenantKeys`, shared with the checks of Graph's validation tokens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import jwt

from presence_sync.errors import GraphUnavailableError, UnauthenticatedError
from presence_sync.graph.keys import TenantKeys

__all__ = ["EntraTokens", "Identity"]

logger = logging.getLogger(__name__)

LEEWAY_SECONDS = 60  # clock skew between Entra and this server
METADATA_SECONDS = 24 * 3600
RETRY_SECONDS = 60  # after a failed metadata read, the next one waits this long


@dataclass(frozen=True)
class Identity:
    """Who a verified token says signed in."""

    oid: str
    tenant_id: str
    name: str
    email: str
    wids: tuple[str, ...]  # Entra directory role template ids, when the token carries them
    expires_at: float


class EntraTokens:
    """Verifies tokens Entra issued for this app in this tenant."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        authority_host: str,
        tenant: str,
        client_id: str,
        public_url: str,
        keys: TenantKeys,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self.keys = keys
        self._metadata_url = (
            f"{authority_host.rstrip('/')}/{tenant}/v2.0/.well-known/openid-configuration"
        )
        self._tenant = tenant.lower()
        self.client_id = client_id
        host = urlsplit(public_url).netloc
        self.audiences = (client_id, f"api://{host}/{client_id}")
        self._clock = clock
        self._issuer: str | None = None
        self._issuer_at = float("-inf")
        self._failed_at = float("-inf")
        self._lock = asyncio.Lock()

    async def verify(
        self,
        token: str,
        *,
        audiences: Iterable[str] | None = None,
        nonce: str | None = None,
        scope: str | None = None,
    ) -> Identity:
        """The identity in `token`; `UnauthenticatedError` names why a token does not count.

        `scope` (Teams SSO: `access_as_user`) must be among the delegated scopes: an app-only
        token for this audience is not a person signing in.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as err:
            raise UnauthenticatedError("the sign-in token is not a JWT") from err
        if header.get("alg") != "RS256":
            raise UnauthenticatedError("the sign-in token is not signed with RS256")
        issuer = await self._tenant_issuer()
        key = await self.keys.key(str(header.get("kid", "")))
        if key is None:
            raise UnauthenticatedError(
                "the sign-in token is signed with a key Entra never published"
            )
        tenant_id = _tenant_of(issuer)
        issuers = [issuer, f"https://sts.windows.net/{tenant_id}/"]
        wanted = tuple(audiences) if audiences is not None else self.audiences
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=list(wanted),
                issuer=issuers,
                leeway=LEEWAY_SECONDS,
                # Lifetimes are checked below on this server's clock, which the demo runs
                # faster along with the sandbox's Entra (`--time-scale`); PyJWT reads time.time.
                options={
                    "require": ["exp", "iss", "aud"],
                    "verify_iat": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidAudienceError as err:
            raise UnauthenticatedError(
                "the sign-in token is for another application, not Presence Sync "
                f"({self.client_id})"
            ) from err
        except jwt.InvalidIssuerError as err:
            raise UnauthenticatedError(
                "the sign-in token was not issued by this organisation's Entra ID"
            ) from err
        except jwt.InvalidSignatureError as err:
            raise UnauthenticatedError("the sign-in token's signature is not valid") from err
        except jwt.PyJWTError as err:
            raise UnauthenticatedError(f"the sign-in token is not valid: {err}") from err
        self._check_lifetime(claims)
        if str(claims.get("tid", "")).lower() != tenant_id:
            raise UnauthenticatedError(
                "the sign-in token is from another organisation (tenant); sign in with an "
                "account of this organisation"
            )
        if nonce is not None and claims.get("nonce") != nonce:
            raise UnauthenticatedError("the sign-in answer does not belong to this sign-in")
        if scope is not None:
            granted = str(claims.get("scp") or "").split()
            if claims.get("idtyp") == "app" or scope not in granted:
                raise UnauthenticatedError(
                    f"the sign-in token does not carry the {scope} scope: it is not a person's "
                    "Teams sign-in"
                )
        oid = str(claims.get("oid") or "")
        if not oid:
            raise UnauthenticatedError("the sign-in token names no user (no oid claim)")
        # Only the sign-in name counts: `email` and `unique_name` can be set by the user or
        # name a guest's home address, and ADMIN_EMAILS is matched against this.
        email = str(claims.get("preferred_username") or claims.get("upn") or "").lower()
        wids = claims.get("wids")
        return Identity(
            oid=oid,
            tenant_id=tenant_id,
            name=str(claims.get("name") or email),
            email=email,
            wids=tuple(str(w) for w in wids) if isinstance(wids, list) else (),
            expires_at=float(claims["exp"]),
        )

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        """`exp` and `nbf` against this server's clock, with Entra's usual skew allowed."""
        now = self._clock()
        try:
            expires = float(claims["exp"])
            not_before = float(claims.get("nbf", expires - 1))
        except (TypeError, ValueError) as err:
            raise UnauthenticatedError("the sign-in token's exp or nbf is not a number") from err
        if expires + LEEWAY_SECONDS <= now:
            raise UnauthenticatedError("the sign-in token has expired; sign in again")
        if not_before - LEEWAY_SECONDS > now:
            raise UnauthenticatedError(
                "the sign-in token is not valid yet (nbf): check this server's clock"
            )

    async def _tenant_issuer(self) -> str:
        """The tenant's issuer from its OpenID metadata, read once a day."""
        now = self._clock()
        if self._issuer is not None and now - self._issuer_at < METADATA_SECONDS:
            return self._issuer
        async with self._lock:
            if self._issuer is not None and now - self._issuer_at < METADATA_SECONDS:
                return self._issuer
            if now - self._failed_at < RETRY_SECONDS:
                # Entra failed moments ago: do not ask again for every token that arrives.
                if self._issuer is not None:
                    return self._issuer
                raise GraphUnavailableError(
                    "cannot read Entra ID's sign-in metadata right now; try again in a minute"
                )
            try:
                metadata = await self._json(self._metadata_url)
            except GraphUnavailableError as err:
                self._failed_at = now
                if self._issuer is None:
                    raise
                logger.warning("keeping the Entra issuer read before: %s", err)
                return self._issuer
            issuer = str(metadata.get("issuer", "")).replace("{tenantid}", self._tenant)
            if not issuer:
                self._failed_at = now
                raise GraphUnavailableError("Entra ID's OpenID metadata names no issuer")
            self._issuer, self._issuer_at = issuer, now
            return issuer

    async def _json(self, url: str) -> dict[str, Any]:
        try:
            async with self._http.get(url) as response:
                if response.status != 200:
                    raise GraphUnavailableError(
                        f"Entra ID answered {response.status} for its sign-in keys"
                    )
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as err:
            raise GraphUnavailableError(
                f"cannot read Entra ID's sign-in keys: {type(err).__name__}"
            ) from err
        if not isinstance(body, dict):
            raise GraphUnavailableError("Entra ID's sign-in metadata is not a JSON object")
        return body


def _tenant_of(issuer: str) -> str:
    """The tenant id in an issuer URL (`…/{tenant}/v2.0`)."""
    parts = [p for p in urlsplit(issuer).path.split("/") if p]
    if parts and parts[-1] == "v2.0":
        parts = parts[:-1]
    return parts[-1].lower() if parts else ""
