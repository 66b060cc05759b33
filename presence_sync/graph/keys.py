"""The signing keys a tenant's Entra ID publishes, shared by every check of an Entra JWT.

Graph's validation tokens and the tab's sign-in tokens are signed with the same keys, so one
key set serves both. It is read on first use, again after a day, and again when a token names
a key we do not know, at most once every five minutes (a forged `kid` must not make us hammer
Entra). When a read fails, the keys read before stay in use, and the next read waits as long.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import jwt

from presence_sync.errors import GraphUnavailableError

__all__ = ["KEYS_LIFETIME", "KEYS_REFETCH_AT_MOST_EVERY", "TenantKeys", "keys_url"]

logger = logging.getLogger(__name__)

KEYS_LIFETIME = 24 * 3600.0
KEYS_REFETCH_AT_MOST_EVERY = 300.0


def keys_url(authority_host: str, tenant_id: str) -> str:
    """The JWKS of a tenant on an Entra ID host (`…/{tenant}/discovery/v2.0/keys`)."""
    return f"{authority_host.rstrip('/')}/{tenant_id}/discovery/v2.0/keys"


class TenantKeys:
    """A tenant's published RSA signing keys, by key id."""

    def __init__(
        self,
        http: Callable[[], aiohttp.ClientSession],
        url: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self._http = http
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._read_at: float | None = None  # last read attempt, whether or not it worked
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> Any | None:
        """The key with id `kid`, read again first if it is unknown or the set is old."""
        async with self._lock:
            now = self._clock()
            never = self._read_at is None
            since = float("inf") if self._read_at is None else now - self._read_at
            if never or not self._keys or since > KEYS_LIFETIME or (
                kid not in self._keys and since > KEYS_REFETCH_AT_MOST_EVERY
            ):
                self._read_at = now
                try:
                    self._keys = await self._fetch()
                except GraphUnavailableError as err:
                    if not self._keys:
                        raise
                    logger.warning("keeping the Entra ID signing keys read before: %s", err)
        return self._keys.get(kid)

    async def _fetch(self) -> dict[str, Any]:
        try:
            async with self._http().get(self.url) as response:
                if response.status != 200:
                    raise GraphUnavailableError(
                        f"Entra ID signing keys: HTTP {response.status} from {self.url}"
                    )
                document = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as err:
            raise GraphUnavailableError(f"Entra ID signing keys not readable: {err}") from err
        keys: dict[str, Any] = {}
        for jwk in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not jwk.get("kid"):
                continue
            try:
                keys[str(jwk["kid"])] = jwt.PyJWK(jwk, algorithm="RS256").key
            except jwt.PyJWTError:
                logger.warning("skipping an Entra ID signing key that cannot be read")
        logger.info("read %d Entra ID signing keys", len(keys))
        return keys
