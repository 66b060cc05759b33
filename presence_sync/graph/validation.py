"""Graph's validation tokens: proof that a rich change notification comes from Microsoft Graph.

Graph adds one JWT per app and tenant to every delivery that carries resource data. A token is
genuine when a signing key of the Microsoft identity platform signed it (the tenant's JWKS), it
has not expired, it was issued to this app (`aud`) by Graph's change-tracking app (`azp`, or
`appid` in v1 tokens) and, when it names a tenant (`tid`), for ours. clientState and the HMAC
of the encrypted content are checked as well; a token adds what neither can: the sender held
a key only Microsoft has.

Tokens are reused for up to an hour, so each is verified once and remembered until it expires.
The tenant's signing keys are `TenantKeys` (read on first use, after a day, and for an unknown
key id at most every five minutes).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt

from presence_sync.errors import ForbiddenError
from presence_sync.graph.keys import TenantKeys, keys_url

__all__ = ["CHANGE_TRACKING_APP_ID", "ValidationTokens", "keys_url"]

logger = logging.getLogger(__name__)

# The app Microsoft Graph sends change notifications as.
CHANGE_TRACKING_APP_ID = "0bf30f3b-4a52-48df-9a82-234910c4a086"
LEEWAY = 300  # seconds of clock difference tolerated on `exp`
REMEMBERED = 512


@dataclass
class ValidationTokens:
    """Checks the `validationTokens` of Graph deliveries for one app registration."""

    http: Callable[[], aiohttp.ClientSession]
    keys_url: str
    app_id: str
    tenant_id: str
    clock: Callable[[], float] = time.time
    keys: TenantKeys | None = None  # shared with the tab's sign-in checks; built if not given
    _valid: OrderedDict[str, float] = field(default_factory=OrderedDict, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def check(self, tokens: Sequence[str]) -> None:
        """Return if every token is genuine; ForbiddenError naming the problem otherwise."""
        if not self.app_id or not self.tenant_id:
            raise ForbiddenError(
                "notifications with resource data cannot be checked: "
                "MICROSOFT_CLIENT_ID and MICROSOFT_TENANT_ID are not set"
            )
        if not tokens:
            raise ForbiddenError("a notification with resource data came without validationTokens")
        now = self.clock()
        for token in tokens:
            expires = self._valid.get(token)
            if expires is not None and expires + LEEWAY > now:
                continue
            self._remember(token, await self._verify(token, now))

    def _remember(self, token: str, expires: float) -> None:
        self._valid[token] = expires
        while len(self._valid) > REMEMBERED:
            self._valid.popitem(last=False)

    async def _verify(self, token: str, now: float) -> float:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as err:
            raise ForbiddenError("a validation token is not a JWT") from err
        if header.get("alg") != "RS256":
            raise ForbiddenError("a validation token is not signed with RS256")
        key = await self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.app_id,
                leeway=LEEWAY,
                options={"require": ["exp", "aud"], "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError as err:
            raise ForbiddenError(f"a validation token was refused: {err}") from err
        sender = claims.get("azp") or claims.get("appid")
        if sender != CHANGE_TRACKING_APP_ID:
            raise ForbiddenError("a validation token was not issued to Microsoft Graph")
        if claims.get("tid") not in (None, self.tenant_id):
            raise ForbiddenError("a validation token is for another tenant")
        return float(claims["exp"])

    async def _key(self, kid: str) -> Any:
        if self.keys is None:
            self.keys = TenantKeys(self.http, self.keys_url, self.clock)
        key = await self.keys.key(kid)
        if key is None:
            raise ForbiddenError("a validation token is signed with a key Entra ID does not list")
        return key
