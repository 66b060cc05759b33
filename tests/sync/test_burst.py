"""A top-of-the-hour burst under RingCentral's real limits, through the whole product (issue 8).

150 people start a Teams meeting within a second; RingCentral allows 40 presence writes a
minute, so most Busy writes wait minutes for the budget, longer than the engine's grace for
late reports. Once every synced person shows Busy the meetings end together, and everyone
must be back to their own state on both sides and stay there. Before the fix, a write that
waited longer than the grace was taken for the person's own change when it landed, and about
half of them stayed Busy for good.

The sandbox clock runs faster (the product runs on the same clock, so the grace, the budget
windows and the penalties all scale with it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from presence_sync.demo.server import ProductServer
from presence_sync.web.keys import ADMIN, SYNC
from sandbox.server import RunningSandbox
from tests.sync.through_product import connected_product

SCALE = 30.0
PEOPLE = 600
MEETINGS = 300

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A 600-person org on a clock 30 times faster than real time."""
    return {"users": PEOPLE, "time_scale": SCALE}


@pytest.fixture
async def product(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[ProductServer]:
    """The product on the sandbox's clock with its default reconciliation, everyone synced."""
    async with connected_product(
        sandbox,
        tmp_path,
        reconcile_interval=60.0,
        clock=sandbox.ctx.clock.now,
        time_scale=SCALE,
    ) as server:
        yield server


async def _people(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    _, state = await sandbox.control("GET", "/_sandbox/state")
    return list(state["users"])


async def _synced(product: ProductServer) -> set[str]:
    store = product.app[SYNC].store
    page = await store.list_links(sync_enabled=True, limit=100_000)
    return {(link.upn or link.email).lower() for link in page.links if link.rc_extension_id}


async def _meetings(sandbox: RunningSandbox, emails: list[str], action: str) -> None:
    async def one(email: str) -> None:
        status, body = await sandbox.control(
            "POST", f"/_sandbox/teams/{email}/meeting", {"action": action}
        )
        assert status == 200, body

    await asyncio.gather(*(one(e) for e in emails))


def _upn(person: dict[str, Any]) -> str:
    return str((person.get("teams") or {}).get("userPrincipalName", "")).lower()


def _rc(person: dict[str, Any]) -> dict[str, Any]:
    return dict(person["ringcentral"]["presence"])


async def _wait_until(
    sandbox: RunningSandbox, emails: set[str], want: dict[str, str], sandbox_seconds: float
) -> dict[str, dict[str, Any]]:
    """RingCentral presence of `emails` once all show `want` (the last look on time-out)."""
    deadline = time.monotonic() + sandbox_seconds / SCALE
    while True:
        shown = {
            _upn(p): _rc(p)
            for p in await _people(sandbox)
            if _upn(p) in emails and p.get("ringcentral")
        }
        done = all(all(shown[e].get(k) == v for k, v in want.items()) for e in emails)
        if done or time.monotonic() > deadline:
            return shown
        await asyncio.sleep(0.2)


async def _limits(sandbox: RunningSandbox) -> dict[str, Any]:
    _, limits = await sandbox.control("GET", "/_sandbox/ringcentral/limits")
    return dict(limits)


async def _burst(
    sandbox: RunningSandbox,
    product: ProductServer,
    want_during: dict[str, str],
    want_after: dict[str, str],
) -> None:
    synced = await _synced(product)
    people = [
        p for p in await _people(sandbox) if p.get("teams") and (p["teams"].get("presence") or {})
    ]
    chosen = [str(p["teams"]["userPrincipalName"]) for p in people][:MEETINGS]
    assert len(chosen) == MEETINGS
    moved = {e.lower() for e in chosen} & synced
    assert len(moved) >= 200, "the burst must move a couple of hundred synced people"
    refused_before = (await _limits(sandbox))["refused"]

    await _meetings(sandbox, chosen, "start")
    # 40 writes a minute: everyone's write lands within a few sandbox minutes.
    during = await _wait_until(sandbox, moved, want_during, 30 * 60)
    late = sorted(e for e in moved if any(during[e].get(k) != v for k, v in want_during.items()))
    assert not late, f"{len(late)} never showed {want_during}: {late[:5]}"

    await _meetings(sandbox, chosen, "end")
    after = await _wait_until(sandbox, moved, want_after, 30 * 60)
    stuck = sorted(e for e in moved if any(after[e].get(k) != v for k, v in want_after.items()))
    assert not stuck, f"{len(stuck)} of {len(moved)} stuck: {[(e, after[e]) for e in stuck[:5]]}"

    # And it stays so for the following ten sandbox minutes.
    await asyncio.sleep(10 * 60 / SCALE)
    later = await _wait_until(sandbox, moved, want_after, 0)
    changed = sorted(e for e in moved if any(later[e].get(k) != v for k, v in want_after.items()))
    assert not changed, f"{len(changed)} changed again: {changed[:5]}"
    assert (await _limits(sandbox))["refused"] == refused_before, "RingCentral answered 429"
    for person in await _people(sandbox):
        if _upn(person) in moved:
            assert person["teams"]["presence"]["availability"] == "Available"


async def test_a_burst_of_meetings_leaves_nobody_busy(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    await _burst(
        sandbox,
        product,
        {"userStatus": "Busy"},
        {"userStatus": "Available", "dndStatus": "TakeAllCalls"},
    )


async def test_a_burst_with_call_rules_restores_everyones_dnd(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    admin = product.app[ADMIN]
    await admin.set_rules("admin@contoso.example", {"In a meeting": "Do not accept any calls"})
    await admin.set_call_presence_customisation("admin@contoso.example", True)
    await _burst(
        sandbox,
        product,
        {"userStatus": "Busy", "dndStatus": "DoNotAcceptAnyCalls"},
        {"userStatus": "Available", "dndStatus": "TakeAllCalls"},
    )
