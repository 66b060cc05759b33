"""A RingCentral read answered before our write landed, through the product on a fast clock.

The watcher's presence GET has no sequence number, and the product stamps it when it records
it: a batch of 30 extensions is recorded one by one, so that can be well after RingCentral
answered. With the sandbox clock 60 times faster every real millisecond is 60 sandbox
milliseconds, which made such a read, still showing Available from before our Busy landed, look
like the user setting Available by hand after our write. Busy then counted as the user's own and
stayed after the meeting ended (issue 5: a stuck Busy under `demo --time-scale`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from presence_sync.connections.service import CONNECTIONS
from presence_sync.demo.connect import connect_all
from presence_sync.demo.control import SandboxControl
from presence_sync.demo.jobs import refresh_directory, sync_all
from presence_sync.demo.server import ProductServer, demo_settings, reserve_port
from presence_sync.engine import CLOCK_SKEW, PENDING_GRACE
from presence_sync.watch.service import WATCHERS
from presence_sync.web.keys import STORE
from sandbox.server import RunningSandbox

ADMIN = "admin@contoso.example"
SCALE = 60.0


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A small org on a clock 60 times faster than real time."""
    return {"users": 6, "time_scale": SCALE}


@pytest.fixture
async def product(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[ProductServer]:
    """The product on the sandbox's clock, connected through its consent routes, all synced."""
    control = SandboxControl(sandbox.base_url, sandbox.http)
    config = await control.config()
    sock = reserve_port(0)
    settings = demo_settings(config, port=sock.getsockname()[1], data_dir=tmp_path)
    # No periodic RingCentral read of its own: the test makes the one that matters.
    settings = dataclasses.replace(settings, watch_reconcile_interval=10_000_000.0)
    server = await ProductServer.start(
        settings, sock, clock=sandbox.ctx.clock.now, time_scale=SCALE
    )
    try:
        store = await server.app[STORE].wait_opened()
        await connect_all(
            server.url,
            store,
            control,
            sandbox.ca_file,
            admin=ADMIN,
            sync_accounts=["sync1@contoso.example"],
        )
        await refresh_directory(server.app)
        job = await sync_all(server.app, ADMIN)
        assert job.synced > 0
        yield server
    finally:
        await server.stop()


async def _person(sandbox: RunningSandbox, email: str) -> dict[str, Any]:
    status, person = await sandbox.control("GET", f"/_sandbox/state/{email}")
    assert status == 200, person
    return dict(person)


async def _plain_person(sandbox: RunningSandbox) -> dict[str, Any]:
    """Someone linked on both sides and Available on both (not an admin or sync account)."""
    _, state = await sandbox.control("GET", "/_sandbox/state")
    for person in state["users"]:
        teams, rc = person.get("teams"), person.get("ringcentral")
        if not teams or not rc or str(person["email"]).startswith(("admin", "teams.admin")):
            continue
        if (teams["presence"] or {}).get("availability") == "Available" and rc["presence"][
            "userStatus"
        ] == "Available":
            return dict(person)
    raise AssertionError("no plain person in the org")


async def _rc_status_becomes(
    sandbox: RunningSandbox, email: str, status: str, within: float = 30.0
) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        presence = (await _person(sandbox, email))["ringcentral"]["presence"]
        if presence["userStatus"] == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"RingCentral never showed {status} for {email}")


async def test_a_read_answered_before_our_busy_landed_leaves_no_stuck_busy(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    person = await _plain_person(sandbox)
    email = str(person["teams"]["userPrincipalName"])
    rc = await product.app[CONNECTIONS].ringcentral()
    watchers = product.app[WATCHERS].current
    assert watchers is not None

    # RingCentral answers a GET now: Available, as the meeting has not started.
    (before,) = await rc.get_presences([str(person["ringcentral"]["id"])])
    assert before.user_status == "Available"
    await sandbox.control("POST", f"/_sandbox/teams/{email}/meeting", {"action": "start"})
    await _rc_status_becomes(sandbox, email, "Busy")
    # The watcher records that answer only now, well past the clock tolerance after our Busy
    # landed but within the grace for reads (0.2 s real is 12 sandbox seconds).
    await asyncio.sleep(0.2)
    assert await watchers.observer.rc(before, reason="rc-reconcile", force=True)
    assert CLOCK_SKEW < 0.2 * SCALE < PENDING_GRACE

    await sandbox.control("POST", f"/_sandbox/teams/{email}/meeting", {"action": "end"})
    await _rc_status_becomes(sandbox, email, "Available")
