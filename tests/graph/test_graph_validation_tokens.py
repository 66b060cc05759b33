"""Graph validation tokens: Entra ID's keys are read rarely, genuine tokens pass, others not."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from presence_sync.errors import ForbiddenError
from presence_sync.graph.validation import CHANGE_TRACKING_APP_ID, ValidationTokens, keys_url
from sandbox.tokens import SigningKey, TokenIssuer

TENANT = "8c1e9a50-0000-4000-8000-000000000001"
APP_ID = "5d2c1b0a-0000-4000-8000-0000000000aa"


class Entra:
    """A JWKS endpoint that counts its readers and can rotate its key."""

    def __init__(self) -> None:
        self.issuer = TokenIssuer(f"https://sts.windows.net/{TENANT}/")
        self.published = [self.issuer.key]
        self.reads = 0

    async def keys(self, request: web.Request) -> web.Response:
        self.reads += 1
        return web.json_response({"keys": [key.jwk() for key in self.published]})

    def token(self, **claims: Any) -> str:
        body = {"aud": APP_ID, "azp": CHANGE_TRACKING_APP_ID, "tid": TENANT, **claims}
        return self.issuer.issue(body, 3600)


@pytest.fixture
async def entra(aiohttp_server: Any) -> tuple[Entra, str]:
    fake = Entra()
    app = web.Application()
    app.router.add_get(f"/{TENANT}/discovery/v2.0/keys", fake.keys)
    server: TestServer = await aiohttp_server(app)
    return fake, keys_url(str(server.make_url("")), TENANT)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_keys_are_read_once_and_each_token_checked_once(entra: tuple[Entra, str]) -> None:
    fake, url = entra
    async with aiohttp.ClientSession() as http:
        checker = ValidationTokens(lambda: http, url, APP_ID, TENANT)
        first, second = fake.token(), fake.token()
        for _ in range(20):
            await checker.check([first])
        await checker.check([second, first])
    assert fake.reads == 1


async def test_a_rotated_key_is_fetched_but_unknown_keys_cannot_flood_entra(
    entra: tuple[Entra, str],
) -> None:
    fake, url = entra
    clock = Clock()
    async with aiohttp.ClientSession() as http:
        checker = ValidationTokens(lambda: http, url, APP_ID, TENANT, clock=clock)
        await checker.check([fake.token()])
        # Forged tokens naming keys nobody publishes: refused, and at most one more read.
        for _ in range(30):
            stranger = TokenIssuer(fake.issuer.issuer)
            with pytest.raises(ForbiddenError, match="key Entra ID does not list"):
                await checker.check([stranger.issue({"aud": APP_ID}, 3600)])
        assert fake.reads == 1
        # Entra ID rotates its key; once the refetch pause is over the new key is read.
        fake.issuer.key = SigningKey.generate()
        fake.published.append(fake.issuer.key)
        clock.now += 301
        await checker.check([fake.token()])
        assert fake.reads == 2


async def test_a_server_without_the_app_configured_refuses_rich_notifications(
    entra: tuple[Entra, str],
) -> None:
    fake, url = entra
    async with aiohttp.ClientSession() as http:
        checker = ValidationTokens(lambda: http, url, "", "")
        with pytest.raises(ForbiddenError, match="MICROSOFT_CLIENT_ID"):
            await checker.check([fake.token()])
    assert fake.reads == 0
