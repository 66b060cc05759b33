"""The demo's product reads the sandbox's faster clock exactly, not by a round-trip estimate.

At 60x the engine's two-second tolerance between RingCentral's stamps and its own clock is
33 real milliseconds. An estimate from a request's round trip was off by more when either
process was busy, and the product then took the echo of its own DND write as the user's hand
change (the fault soak found it). The product must read the very time the sandbox stamps.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from presence_sync.demo.control import SandboxControl
from presence_sync.demo.runner import sandbox_clock
from sandbox.server import RunningSandbox

SCALE = 60.0
LATE = 0.05  # real seconds a busy sandbox takes to read a request: 3 sandbox seconds


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    return {"users": 4, "time_scale": SCALE}


async def _slow_to_read(sandbox: RunningSandbox, aiohttp_server: AiohttpServer) -> str:
    """A loopback relay that hands each request to the sandbox `LATE` seconds after it came,
    as a sandbox whose event loop is busy does; the answer comes back at once."""

    async def relay(request: web.Request) -> web.Response:
        await asyncio.sleep(LATE)
        async with sandbox.http.get(f"{sandbox.base_url}{request.path_qs}") as answer:
            return web.Response(body=await answer.read(), content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", relay)
    return str((await aiohttp_server(app)).make_url("")).rstrip("/")


async def test_the_product_clock_is_the_sandbox_clock_to_the_millisecond_however_slow_it_answers(
    sandbox: RunningSandbox, aiohttp_server: AiohttpServer
) -> None:
    relay = await _slow_to_read(sandbox, aiohttp_server)
    clock = await sandbox_clock(SandboxControl(relay, sandbox.http))
    assert clock is not None
    for _ in range(5):
        # Read between two readings of the sandbox's own clock, so a pause of this process
        # between the reads (a busy machine) cannot count against it.
        before, ours, after = sandbox.ctx.clock.now(), clock(), sandbox.ctx.clock.now()
        # A millisecond of sandbox time is 17 real microseconds: no round trip is that short.
        assert before - 1e-3 < ours < after + 1e-3, (before, ours, after)
        await asyncio.sleep(0.05)  # three sandbox seconds later it still agrees
