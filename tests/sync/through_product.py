"""The whole product against the HTTPS sandbox, connected through its consent routes.

For tests that drive presence through the sandbox and watch what the product writes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from presence_sync.demo.connect import connect_and_sync_all
from presence_sync.demo.control import SandboxControl
from presence_sync.demo.server import ProductServer, demo_settings, reserve_port
from sandbox.server import RunningSandbox

__all__ = ["connected_product", "person", "plain_person", "rc_status_becomes"]

@contextlib.asynccontextmanager
async def connected_product(
    sandbox: RunningSandbox,
    data_dir: Path,
    *,
    reconcile_interval: float,
    clock: Callable[[], float] | None = None,
    time_scale: float = 1.0,
) -> AsyncIterator[ProductServer]:
    """The product connected to `sandbox`, everyone synced; its own RingCentral reads every
    `reconcile_interval` seconds (long, so only what a test does mends a wrong belief)."""
    control = SandboxControl(sandbox.base_url, sandbox.http)
    config = await control.config()
    sock = reserve_port(0)
    settings = demo_settings(config, port=sock.getsockname()[1], data_dir=data_dir)
    settings = dataclasses.replace(settings, watch_reconcile_interval=reconcile_interval)
    server = await ProductServer.start(settings, sock, clock=clock, time_scale=time_scale)
    try:
        # As in the demo: Teams activities (installations, messages) reach the product's bot.
        await control.set_product_url(f"{server.url}/api/messages")
        _, job = await connect_and_sync_all(server, control, config, sandbox.ca_file)
        assert job.synced > 0
        yield server
    finally:
        await server.stop()


async def person(sandbox: RunningSandbox, email: str) -> dict[str, Any]:
    """What the sandbox holds for one person, both sides."""
    status, found = await sandbox.control("GET", f"/_sandbox/state/{email}")
    assert status == 200, found
    return dict(found)


async def plain_person(sandbox: RunningSandbox) -> dict[str, Any]:
    """Someone linked on both sides and Available on both (not an admin or sync account)."""
    _, state = await sandbox.control("GET", "/_sandbox/state")
    for candidate in state["users"]:
        teams, rc = candidate.get("teams"), candidate.get("ringcentral")
        if not teams or not rc or str(candidate["email"]).startswith(("admin", "teams.admin")):
            continue
        if (teams["presence"] or {}).get("availability") == "Available" and rc["presence"][
            "userStatus"
        ] == "Available":
            return dict(candidate)
    raise AssertionError("no plain person in the org")


async def rc_status_becomes(
    sandbox: RunningSandbox, email: str, status: str, within: float = 60.0
) -> dict[str, Any]:
    """RingCentral presence of `email` once its userStatus is `status` (fail after `within` s)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        presence = (await person(sandbox, email))["ringcentral"]["presence"]
        if presence["userStatus"] == status:
            return dict(presence)
        await asyncio.sleep(0.05)
    raise AssertionError(f"RingCentral never showed {status} for {email}")
