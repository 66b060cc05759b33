"""RingCentral webhook deliveries under the notification faults: duplicated and reordered."""

from __future__ import annotations

import asyncio
from typing import Any

from rc_harness import RcSandbox

SUBSCRIPTION = "/restapi/v1.0/subscription"


async def _subscribe_to(rc: RcSandbox, ext_id: str) -> None:
    platform = await rc.login()
    body = {
        "eventFilters": [f"/restapi/v1.0/account/~/extension/{ext_id}/presence"],
        "deliveryMode": {
            "transportType": "WebHook",
            "address": rc.hooks.url,
            "verificationToken": "hook-secret",
        },
    }
    await asyncio.to_thread(platform.post, SUBSCRIPTION, body)


def _sequences(rc: RcSandbox) -> list[int]:
    received: list[tuple[Any, dict[str, Any]]] = rc.hooks.received
    return [int(payload["body"]["sequence"]) for _, payload in received]


async def test_duplicated_events_arrive_twice_alike(rc: RcSandbox) -> None:
    user = rc.ext(6)
    await _subscribe_to(rc, user.id)
    rc.ctx.faults.add({"target": "ringcentral-notifications", "duplicate": 1.0})
    await rc.control(f"{user.email}/presence", {"userStatus": "Busy"})
    await rc.hooks.wait_for(2)
    await asyncio.sleep(0.3)  # nothing more arrives
    assert len(rc.hooks.received) == 2
    assert rc.hooks.received[0][1] == rc.hooks.received[1][1]


async def test_reordered_events_all_arrive_but_not_in_sequence_order(rc: RcSandbox) -> None:
    user = rc.ext(6)
    await _subscribe_to(rc, user.id)
    rc.ctx.faults.add(
        {"target": "ringcentral-notifications", "reorder": True, "delay_notifications_ms": 600}
    )
    for n in range(8):
        await rc.control(f"{user.email}/presence", {"userStatus": ("Busy", "Available")[n % 2]})
    await rc.hooks.wait_for(8)
    arrived = _sequences(rc)
    assert sorted(arrived) == list(range(1, 9))
    assert arrived != sorted(arrived)
