"""A tenant's signing keys: read rarely, kept through an Entra outage, never hammered."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from presence_sync.errors import GraphUnavailableError
from presence_sync.graph.keys import KEYS_LIFETIME, TenantKeys, keys_url
from sandbox.tokens import SigningKey

TENANT = "8c1e9a50-0000-4000-8000-000000000001"


class Entra:
    """A JWKS endpoint that can fail and counts its readers."""

    def __init__(self) -> None:
        self.published = [SigningKey.generate()]
        self.failing = False
        self.reads = 0

    async def keys(self, request: web.Request) -> web.Response:
        self.reads += 1
        if self.failing:
            return web.json_response({"error": "temporarily_unavailable"}, status=503)
        return web.json_response({"keys": [key.jwk() for key in self.published]})


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def entra(aiohttp_server: Any) -> tuple[Entra, str]:
    fake = Entra()
    app = web.Application()
    app.router.add_get(f"/{TENANT}/discovery/v2.0/keys", fake.keys)
    server: TestServer = await aiohttp_server(app)
    return fake, keys_url(str(server.make_url("")), TENANT)


async def test_keys_read_before_an_outage_stay_in_use_and_the_outage_is_not_hammered(
    entra: tuple[Entra, str],
) -> None:
    fake, url = entra
    clock = Clock()
    kid = fake.published[0].kid
    async with aiohttp.ClientSession() as http:
        keys = TenantKeys(lambda: http, url, clock)
        assert await keys.key(kid) is not None
        fake.failing = True
        clock.now += KEYS_LIFETIME + 1  # the set is old: read again, and Entra fails
        assert await keys.key(kid) is not None, "the known key still verifies tokens"
        for _ in range(20):  # forged key ids during the outage: no read for each
            assert await keys.key("forged") is None
        assert fake.reads == 2


async def test_without_any_key_an_outage_is_reported_not_hidden(
    entra: tuple[Entra, str],
) -> None:
    fake, url = entra
    fake.failing = True
    async with aiohttp.ClientSession() as http:
        keys = TenantKeys(lambda: http, url, Clock())
        with pytest.raises(GraphUnavailableError, match="HTTP 503"):
            await keys.key(fake.published[0].kid)
        fake.failing = False
        assert await keys.key(fake.published[0].kid) is not None  # recovers at once
