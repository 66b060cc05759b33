"""A late RingCentral echo of our own write, through the whole product and the HTTPS sandbox.

RingCentral may deliver a presence event seconds after it made it. When the echo of our Busy
write (a Teams meeting) arrives only after the meeting ended and we restored Available, it must
read as our own old write (DESIGN §4.4): taken for a change by hand, it made the product want
to "restore" Busy and then skip the next meeting's write, as Busy was what it expected to see.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from presence_sync.demo.server import ProductServer
from sandbox.ringcentral.api import iso
from sandbox.ringcentral.state import RC_STATE
from sandbox.server import RunningSandbox
from tests.sync.through_product import connected_product, plain_person, rc_status_becomes
from tests.sync.through_product import person as sandbox_person


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A small org."""
    return {"users": 6}


@pytest.fixture
async def product(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[ProductServer]:
    """The product connected to the sandbox through its consent routes, everyone synced."""
    # No periodic RingCentral read, which would mend a wrong belief before the test sees it.
    async with connected_product(
        sandbox, tmp_path, reconcile_interval=3600.0
    ) as server:
        yield server


def _puts(sandbox: RunningSandbox) -> int:
    return sum(
        count
        for key, count in sandbox.ctx.recorder.calls.items()
        if key.startswith("ringcentral PUT ") and key.endswith("/presence")
    )


async def test_a_late_echo_of_our_busy_write_changes_nothing_and_the_next_meeting_still_shows(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    person = await plain_person(sandbox)
    email = str(person["teams"]["userPrincipalName"])
    # RingCentral's deliveries are held back from here on; the one that matters comes late.
    status, _ = await sandbox.control(
        "POST", "/_sandbox/faults", {"target": "ringcentral-notifications", "drop": 1.0}
    )
    assert status == 200
    sandbox.ctx.recorder.reset()

    await sandbox.control("POST", f"/_sandbox/teams/{email}/meeting", {"action": "start"})
    busy = await rc_status_becomes(sandbox, email, "Busy")
    made_at = sandbox.ctx.clock.now()  # when RingCentral made the Busy event it held back
    await sandbox.control("POST", f"/_sandbox/teams/{email}/meeting", {"action": "end"})
    await rc_status_becomes(sandbox, email, "Available")
    assert _puts(sandbox) == 2

    (sub,) = sandbox.app[RC_STATE].subscriptions.all()
    assert sub.verification_token is not None
    late_echo = {
        "uuid": str(uuid.uuid4()),
        "event": f"/restapi/v1.0/account/{sandbox.ctx.org.rc_account_id}/presence",
        "timestamp": iso(made_at),
        "subscriptionId": sub.id,
        "ownerId": sub.owner_id,
        "body": {
            "extensionId": person["ringcentral"]["id"],
            "sequence": busy["sequence"],
            "telephonyStatus": busy["telephonyStatus"],
            "presenceStatus": busy["presenceStatus"],
            "userStatus": "Busy",
            "dndStatus": busy["dndStatus"],
            "totalActiveCalls": 0,
        },
    }
    async with sandbox.http.post(
        sub.address, json=late_echo, headers={"Verification-Token": sub.verification_token}
    ) as response:
        assert response.status == 200, await response.text()

    # Long enough for the product to act on it: it answers a fresh event within a second.
    await asyncio.sleep(2.0)
    presence = (await sandbox_person(sandbox, email))["ringcentral"]["presence"]
    assert presence["userStatus"] == "Available"
    assert _puts(sandbox) == 2

    await sandbox.control("POST", f"/_sandbox/teams/{email}/meeting", {"action": "start"})
    await rc_status_becomes(sandbox, email, "Busy", within=20.0)
    await sandbox.control("POST", f"/_sandbox/teams/{email}/meeting", {"action": "end"})
    await rc_status_becomes(sandbox, email, "Available", within=20.0)
    assert _puts(sandbox) == 4
