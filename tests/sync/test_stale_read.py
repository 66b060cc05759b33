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
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from presence_sync.demo.server import ProductServer
from presence_sync.engine import CLOCK_SKEW, PENDING_GRACE
from presence_sync.web.keys import CONNECTIONS, WATCHERS
from sandbox.server import RunningSandbox
from tests.sync.through_product import connected_product, plain_person, rc_status_becomes

SCALE = 60.0


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A small org on a clock 60 times faster than real time."""
    return {"users": 6, "time_scale": SCALE}


@pytest.fixture
async def product(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[ProductServer]:
    """The product on the sandbox's clock, connected through its consent routes, all synced."""
    # No periodic RingCentral read of its own: the test makes the one that matters.
    async with connected_product(
        sandbox,
        tmp_path,
        reconcile_interval=10_000_000.0,
        clock=sandbox.ctx.clock.now,
        time_scale=SCALE,
    ) as server:
        yield server


async def test_a_read_answered_before_our_busy_landed_leaves_no_stuck_busy(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    person = await plain_person(sandbox)
    email = str(person["teams"]["userPrincipalName"])
    rc = await product.app[CONNECTIONS].ringcentral()
    watchers = product.app[WATCHERS]

    # RingCentral answers a GET now: Available, as the meeting has not started.
    (before,) = await rc.get_presences([str(person["ringcentral"]["id"])])
    assert before.user_status == "Available"
    await sandbox.control("POST", f"/_sandbox/teams/{email}/meeting", {"action": "start"})
    await rc_status_becomes(sandbox, email, "Busy")
    # The watcher records that answer only now, well past the clock tolerance after our Busy
    # landed but within the grace for reads (0.2 s real is 12 sandbox seconds).
    await asyncio.sleep(0.2)
    assert await watchers.observer.rc(before, reason="rc-reconcile", force=True)
    assert CLOCK_SKEW < 0.2 * SCALE < PENDING_GRACE

    await sandbox.control("POST", f"/_sandbox/teams/{email}/meeting", {"action": "end"})
    await rc_status_becomes(sandbox, email, "Available")
