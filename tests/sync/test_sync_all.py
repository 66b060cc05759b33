"""`sync all` over a 2,000-person org under RingCentral's real limits (sandbox time 120x faster)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from presence_sync.providers import BULK, REALTIME
from presence_sync.store.base import Store
from tests.sync.conftest import MakeHarness
from tests.sync.harness import SyncHarness, until

ADMIN = "admin@contoso.example"
BUSY_PEOPLE = 200


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A 2,000-person org whose clock runs 120x faster (60 s rate windows last 0.5 s)."""
    return {"users": 2000, "time_scale": 120.0}


def _wanted_user_status(availability: str) -> str | None:
    """DESIGN §4.2 for the states this org shows: what RingCentral's userStatus should be."""
    return {"Available": "Available", "Busy": "Busy", "Offline": "Offline"}.get(availability)


async def _needed_writes(h: SyncHarness) -> int:
    """How many linked users RingCentral shows differently from what their Teams state asks."""
    state = await h.sb.control("GET", "/_sandbox/state?limit=10000")
    people = {p["email"].lower(): p for p in state["users"] if p["email"]}
    needed = 0
    for link in await h.linked_people():
        person = people[link.email]
        teams = person["teams"]["presence"]
        assert teams["availability"] in ("Available", "Busy", "Offline"), teams
        wanted = _wanted_user_status(teams["availability"])
        if wanted != person["ringcentral"]["presence"]["userStatus"]:
            needed += 1
    return needed


async def test_sync_all_writes_only_what_is_needed_without_429s_and_realtime_goes_first(
    sqlite_store: Store, make_harness: MakeHarness
) -> None:
    # Mail is tested elsewhere: at 120x, Graph tokens live 30 real seconds, inside MSAL's
    # 5-minute refresh margin, so every mail would fetch a new token.
    h = await make_harness(sqlite_store, deliver_notices=False)
    people = [link.email for link in await h.linked_people()]
    live = people[3]
    await h.admin.sync_users(ADMIN, [live])
    await h.settle()
    for email in people[10 : 10 + BUSY_PEOPLE]:
        await h.sb.control(
            "POST",
            f"/_sandbox/teams/{email}/presence",
            {"availability": "Busy", "activity": "Busy"},
        )
    needed = await _needed_writes(h)
    await h.sb.control("DELETE", "/_sandbox/requests")

    started = time.monotonic()
    ticket = await h.admin.sync_all(ADMIN)
    again = await h.admin.sync_all(ADMIN)
    assert again.job.id == ticket.job.id
    assert not again.created

    # Once bulk writes queue behind the budget (senders all busy), the live user joins a meeting.
    async def queued() -> bool:
        return h.service.dispatcher.waiting >= 4

    await until(queued, step=0.02)
    await h.sb.control("POST", f"/_sandbox/teams/{live}/meeting", {"action": "start"})
    await h.observe(live)

    async def live_busy() -> bool:
        return bool((await h.rc(live))["userStatus"] == "Busy")

    await until(live_busy)
    realtime_seen = time.monotonic()
    assert (await h.admin.get_job(ticket.job.id)).status == "running"

    async def finished() -> bool:
        return (await h.admin.get_job(ticket.job.id)).status != "running"

    await until(finished, limit=120.0, step=0.2)
    job = await h.admin.get_job(ticket.job.id)
    await h.settle()
    elapsed = time.monotonic() - started

    assert job.status == "done"
    counts = await h.store.count_links_by_state()
    assert job.processed == job.total == sum(counts.values())
    assert job.unmatched == counts["unmatched"]
    assert job.failed == 0, job.failures
    assert job.synced == len(people) - 1
    assert job.already == 1
    calls = await h.sb.control("GET", "/_sandbox/requests")
    assert calls["total_throttled"] == 0, calls["throttled"]
    puts = sum(n for k, n in calls["calls"].items() if k.startswith("ringcentral PUT"))
    # One write per user whose RingCentral differed, plus the live user's meeting.
    assert puts == needed + 1
    writes = [e for e in await h.store.list_audit(limit=5000) if e.action == "ringcentral.presence"]
    live_write = next(e for e in writes if e.user == live and e.details["priority"] == REALTIME)
    later_bulk = [e for e in writes if e.details["priority"] == BULK and e.at > live_write.at]
    assert later_bulk, "the real-time write should overtake queued bulk writes"
    assert realtime_seen - started < elapsed
