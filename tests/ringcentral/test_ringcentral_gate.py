"""The per-identity budget gate: who gets RingCentral's next slot when many calls wait.

The budget comes from real `RateLimits` fed RingCentral's own rate-limit headers, on a clock
the test moves, so a window opens when the test says so.
"""

from __future__ import annotations

import asyncio

import pytest

from presence_sync.providers import BULK, DIRECTORY, REALTIME
from presence_sync.ringcentral.gate import SHARE_EVERY, CallGate, SlotExpiredError, calls_at
from presence_sync.ringcentral.limits import RateLimits, call_group


class Clock:
    """A clock that only moves when told."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _answer(limits: RateLimits, remaining: int) -> None:
    limits.record(
        {
            "X-Rate-Limit-Group": "Medium",
            "X-Rate-Limit-Limit": "40",
            "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Window": "60",
        },
        200,
    )


async def _drain(gate: CallGate, limits: RateLimits, order: list[str], label: str) -> None:
    async with gate.slot("Medium"):
        order.append(label)
        remaining = limits.remaining("Medium") or 0
        _answer(limits, max(0, remaining - 1))


async def test_real_time_writes_go_first_and_the_directory_still_gets_one_slot_in_ten() -> None:
    clock = Clock()
    limits = RateLimits(clock=clock)
    gate = CallGate(limits)
    _answer(limits, 0)  # the window is spent: everything below waits for the next one
    order: list[str] = []

    async def call(priority: int, label: str, *, share: bool = False) -> None:
        with calls_at(priority, share=share):
            await _drain(gate, limits, order, label)

    tasks = [asyncio.create_task(call(REALTIME, f"write-{n}")) for n in range(30)]
    await asyncio.sleep(0.01)
    tasks.append(asyncio.create_task(call(BULK, "bulk")))
    tasks.append(asyncio.create_task(call(DIRECTORY, "directory", share=True)))
    await asyncio.sleep(0.2)
    assert order == []
    assert gate.waiting("Medium") == 32

    clock.now += 61.0  # a fresh window of 40
    await asyncio.wait_for(asyncio.gather(*tasks), 5.0)

    # Nine real-time writes, then the directory listing's guaranteed turn, then the rest of
    # the real-time writes; the bulk call waits for them all.
    assert order[: SHARE_EVERY - 1] == [f"write-{n}" for n in range(SHARE_EVERY - 1)]
    assert order[SHARE_EVERY - 1] == "directory"
    assert order[-1] == "bulk"
    assert len(order) == 32


async def test_less_urgent_calls_leave_the_reserve_to_real_time_work() -> None:
    clock = Clock()
    limits = RateLimits(clock=clock)
    gate = CallGate(limits)
    _answer(limits, 5)  # five left: bulk work must leave six
    order: list[str] = []

    async def call(priority: int, label: str) -> None:
        with calls_at(priority):
            await _drain(gate, limits, order, label)

    bulk = asyncio.create_task(call(BULK, "bulk"))
    await asyncio.sleep(0.2)
    assert order == []  # held back by the reserve
    await asyncio.wait_for(call(REALTIME, "write"), 1.0)
    assert order == ["write"]
    clock.now += 61.0
    await asyncio.wait_for(bulk, 1.0)
    assert order == ["write", "bulk"]


async def test_a_call_past_its_deadline_gives_up_and_leaves_no_waiter() -> None:
    clock = Clock()
    limits = RateLimits(clock=clock)
    gate = CallGate(limits)
    _answer(limits, 0)
    deadline = clock.now + 30.0

    async def wait() -> None:
        with calls_at(REALTIME, expired=lambda: clock.now >= deadline):
            async with gate.slot("Medium"):
                raise AssertionError("sent into a spent window")

    task = asyncio.create_task(wait())
    await asyncio.sleep(0.1)
    clock.now += 31.0
    with pytest.raises(SlotExpiredError, match="Medium"):
        await asyncio.wait_for(task, 1.0)
    assert gate.waiting() == 0


def test_each_call_is_counted_in_ringcentrals_group_for_it() -> None:
    account = "/restapi/v1.0/account/~"
    assert call_group("PUT", f"{account}/extension/1/presence") == "Medium"
    assert call_group("GET", f"{account}/extension/1,2,3/presence") == "Light"
    assert call_group("GET", f"{account}/extension") == "Medium"
    assert call_group("GET", f"{account}/presence") == "Heavy"
    assert call_group("POST", "/restapi/v1.0/subscription") == "Medium"
    assert call_group("POST", "/restapi/v1.0/subscription/abc/renew") == "Light"
    assert call_group("GET", f"https://rc.example{account}/extension?page=2") == "Medium"
