"""End-to-end scenarios through the real clients and the HTTPS sandbox (DESIGN §4.3, §4.4)."""

from __future__ import annotations

from presence_sync.store.models import SYSTEM, AuditEntry
from tests.sync.harness import SyncHarness

ADMIN = "admin@contoso.example"


async def _sync(h: SyncHarness, email: str) -> None:
    ticket = await h.admin.sync_users(ADMIN, [email])
    await h.settle()
    job = await h.admin.get_job(ticket.job.id)
    assert job.status == "done", job
    assert job.synced == 1


async def _meeting(h: SyncHarness, email: str, action: str) -> None:
    await h.sb.control("POST", f"/_sandbox/teams/{email}/meeting", {"action": action})


async def _rc_call(h: SyncHarness, email: str, action: str) -> None:
    await h.sb.control("POST", f"/_sandbox/ringcentral/{email}/call", {"action": action})


async def _rings(h: SyncHarness, email: str) -> bool:
    answer = await h.sb.control("POST", f"/_sandbox/ringcentral/{email}/inbound-call", {})
    return bool(answer["rings"])


async def test_meeting_with_no_calls_rule_sets_dnd_and_restores(harness: SyncHarness) -> None:
    h = harness
    email = await h.plain_user()
    await h.admin.set_call_presence_customisation(ADMIN, True)
    await h.admin.set_rules(ADMIN, {"In a meeting": "Do not accept any calls"})
    await _sync(h, email)
    assert await _rings(h, email)

    await _meeting(h, email, "start")
    await h.observe_and_settle(email)
    rc = await h.rc(email)
    assert rc["dndStatus"] == "DoNotAcceptAnyCalls"
    assert rc["userStatus"] == "Busy"
    assert not await _rings(h, email)

    await _meeting(h, email, "end")
    await h.observe_and_settle(email)
    rc = await h.rc(email)
    assert (rc["userStatus"], rc["dndStatus"]) == ("Available", "TakeAllCalls")
    assert await _rings(h, email)
    # Every write is in the audit log with its cause.
    writes = [e for e in await h.store.list_audit(limit=50) if e.action == "ringcentral.presence"]
    assert len(writes) == 2
    assert all(isinstance(e, AuditEntry) and e.details["cause"] for e in writes)
    assert {e.details["result"] for e in writes} == {"applied"}
    assert {e.actor for e in writes} == {SYSTEM}  # the product's own work, not an admin's


async def test_ringcentral_call_shows_in_a_call_in_teams_until_it_ends(
    harness: SyncHarness,
) -> None:
    h = harness
    email = await h.plain_user()
    await _sync(h, email)

    await _rc_call(h, email, "ring")
    await _rc_call(h, email, "connect")
    await h.observe_and_settle(email)
    assert await h.teams(email) == ("Busy", "InACall")

    await _rc_call(h, email, "end")
    await h.observe_and_settle(email)
    assert await h.teams(email) == ("Available", "Available")
    rc = await h.rc(email)
    assert (rc["userStatus"], rc["dndStatus"]) == ("Available", "TakeAllCalls")


async def test_overlapping_call_and_meeting_end_with_both_sides_available(
    harness: SyncHarness,
) -> None:
    h = harness
    email = await h.plain_user()
    await h.admin.set_call_presence_customisation(ADMIN, True)
    await h.admin.set_rules(ADMIN, {"In a meeting": "Do not accept any calls"})
    await _sync(h, email)

    await _meeting(h, email, "start")
    await h.observe_and_settle(email)
    await _rc_call(h, email, "connect")
    await h.observe_and_settle(email)
    await _meeting(h, email, "end")
    await h.observe_and_settle(email)
    await _rc_call(h, email, "end")
    await h.observe_and_settle(email)

    assert await h.teams(email) == ("Available", "Available")
    rc = await h.rc(email)
    assert (rc["userStatus"], rc["dndStatus"]) == ("Available", "TakeAllCalls")
    assert await _rings(h, email)


async def test_unsync_hands_ringcentral_back(harness: SyncHarness) -> None:
    h = harness
    email = await h.plain_user()
    await _sync(h, email)
    await _meeting(h, email, "start")
    await h.observe_and_settle(email)
    assert (await h.rc(email))["userStatus"] == "Busy"

    ticket = await h.admin.unsync_users(ADMIN, [email])
    await h.settle()
    job = await h.admin.get_job(ticket.job.id)
    assert (job.status, job.synced) == ("done", 1)
    assert (await h.rc(email))["userStatus"] == "Available"
    # Still in the meeting, but no longer synced: nothing changes RingCentral again.
    await h.observe_and_settle(email)
    assert (await h.rc(email))["userStatus"] == "Available"
