"""Sign-in tokens are judged on the product's clock, which may run faster than the wall's.

The demo's `--time-scale N` runs the sandbox's Entra and the product N times faster. Entra
stamps `nbf` and `exp` in its time; judged by the wall clock instead, a token issued a few
real seconds after start-up is not valid yet, and no one can sign in to the tab.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from presence_sync.demo.control import SandboxControl
from presence_sync.demo.server import ProductServer, demo_settings, reserve_port
from presence_sync.demo.signin import signed_in_admin
from sandbox.server import RunningSandbox

ADMIN = "admin@contoso.example"
SCALE = 60.0


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A small org on a clock 60 times faster than the wall's."""
    return {"users": 6, "time_scale": SCALE}


async def test_an_admin_signs_in_while_the_sandbox_clock_runs_ahead_of_the_wall(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = await SandboxControl(sandbox.base_url, sandbox.http).config()
    sock = reserve_port(0)
    settings = demo_settings(config, port=sock.getsockname()[1], data_dir=tmp_path)
    server = await ProductServer.start(
        settings, sock, clock=sandbox.ctx.clock.now, time_scale=SCALE
    )
    try:
        await asyncio.sleep(2.0)  # two sandbox minutes: beyond the minute of skew allowed
        async with signed_in_admin(server.url, sandbox.ca_file, ADMIN) as admin:
            status, session = await admin.call("GET", "/api/tab/session")
        assert status == 200, session
        assert session["admin"] is True
        assert session["user"]["email"] == ADMIN
    finally:
        await server.stop()
