"""The bot against time: confirmations expire, and checking tokens never stalls the server.

The sandbox's clock runs 100 times faster here and the product runs on it, so a ten-minute
confirmation expires in six real seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from presence_sync.demo.control import SandboxControl
from presence_sync.demo.server import ProductServer, demo_settings, reserve_port
from presence_sync.web.keys import STORE
from sandbox.server import RunningSandbox
from tests.bot.through_teams import ADMIN, actions, last_card, press, say, words
from tests.sync.through_product import connected_product

SCALE = 100.0
KEY_DELAY = 3.0  # real seconds the channel's key server takes to answer

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A clock 100 times faster than real time."""
    return {"time_scale": SCALE}


async def test_a_confirmation_expires_after_ten_minutes_and_changes_nothing(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    async with connected_product(
        sandbox, tmp_path, reconcile_interval=3600.0, clock=sandbox.ctx.clock.now, time_scale=SCALE
    ) as product:
        store = product.app[STORE].store
        await say(sandbox, ADMIN, "disable")
        card = await last_card(sandbox, ADMIN)
        (token,) = {a["data"]["token"] for a in actions(card) if a["verb"] == "confirm"}

        await asyncio.sleep(600 / SCALE + 1.0)  # ten minutes on the product's clock

        late = await press(sandbox, ADMIN, "confirm", {"token": token})
        assert "expired" in words(late).lower()
        assert (await store.get_settings()).sync_mode.value == "enabled"


@pytest.fixture
async def slow_keys(sandbox: RunningSandbox) -> AsyncIterator[tuple[str, list[float]]]:
    """The channel's OpenID metadata and keys, served KEY_DELAY seconds late (loopback)."""
    _, config = await sandbox.control("GET", "/_sandbox/config")
    metadata_url = str(config["bot"]["to_bot_from_channel_openid_metadata_url"])
    asked: list[float] = []

    async def document(request: web.Request) -> web.Response:
        asked.append(time.monotonic())
        await asyncio.sleep(KEY_DELAY)
        async with sandbox.http.get(metadata_url) as answer:
            body = await answer.json()
        body["jwks_uri"] = str(request.url.with_path("/keys"))
        return web.json_response(body)

    async def keys(request: web.Request) -> web.Response:
        async with sandbox.http.get(metadata_url) as answer:
            jwks = (await answer.json())["jwks_uri"]
        async with sandbox.http.get(jwks) as answer:
            return web.json_response(await answer.json())

    app = web.Application()
    app.router.add_get("/metadata", document)
    app.router.add_get("/keys", keys)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/metadata", asked
    await runner.cleanup()


async def test_webhooks_answer_at_once_while_the_bot_fetches_the_channels_keys(
    sandbox: RunningSandbox, tmp_path: Path, slow_keys: tuple[str, list[float]]
) -> None:
    metadata_url, asked = slow_keys
    control = SandboxControl(sandbox.base_url, sandbox.http)
    sock = reserve_port(0)
    settings = demo_settings(await control.config(), port=sock.getsockname()[1], data_dir=tmp_path)
    settings = dataclasses.replace(settings, bot_openid_metadata_url=metadata_url)
    product = await ProductServer.start(settings, sock)
    try:
        await control.set_product_url(f"{product.url}/api/messages")
        # The first message makes the bot check a channel token: its keys take 3 s to come.
        message = asyncio.create_task(say(sandbox, ADMIN, "help"))
        latencies = []
        async with aiohttp.ClientSession() as http:
            for n in range(20):
                started = time.monotonic()
                async with http.post(
                    f"{product.url}/api/notifications/graph", params={"validationToken": f"t{n}"}
                ) as answer:
                    assert answer.status == 200
                    assert await answer.text() == f"t{n}"
                latencies.append(time.monotonic() - started)
                await asyncio.sleep(0.1)
        assert asked, "the bot never asked for the channel's keys"
        assert max(latencies) < 1.0, latencies  # Graph wants answers within 3 s
        assert time.monotonic() - asked[0] < KEY_DELAY + 2.0  # all while the keys were slow
        await message
        # Answered once the keys came (before consent only ADMIN_EMAILS are admins: the
        # help for everyone).
        assert "I keep your presence" in words(await last_card(sandbox, ADMIN))
    finally:
        await product.stop()
