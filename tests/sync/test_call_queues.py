"""Call-queue membership read from RingCentral decides the "Do not accept queue calls" rule.

Under the default rules a meeting means "Do not accept queue calls": RingCentral's
DoNotAcceptDepartmentCalls for queue members, which RingCentral refuses for anyone else. With
membership read by the directory, non-members get TakeAllCalls without a refused write first.
"""

from __future__ import annotations

import pytest

from presence_sync.engine import UserState
from presence_sync.store.base import Store
from presence_sync.store.models import AuditEntry
from tests.sync.conftest import MakeHarness
from tests.sync.harness import SyncHarness

ADMIN = "admin@contoso.example"
REFUSED = "queue-calls-not-allowed"


def _member_ids(h: SyncHarness) -> set[str]:
    org = h.sb.ctx.org
    return {m for q in org.call_queues.values() for m in q.member_ids}


async def _plain(h: SyncHarness, member: bool) -> str:
    """A user Available on both sides who is (or is not) in a call queue."""
    members = _member_ids(h)
    for link in await h.linked_people():
        if link.email.startswith(("admin", "teams.admin", "sync")):
            continue
        if (link.rc_extension_id in members) != member:
            continue
        rc = await h.providers.rc_client.get_presence(link.rc_extension_id or "")
        dnd = rc.dnd_status or rc.dnd_status_personal
        rc_plain = (rc.user_status, dnd) == ("Available", "TakeAllCalls")
        if rc_plain and await h.teams(link.email) == ("Available", "Available"):
            return link.email
    raise AssertionError(f"no plain user with queue membership {member}")


async def _start(h: SyncHarness, email: str) -> None:
    await h.admin.set_call_presence_customisation(ADMIN, True)  # default rules
    ticket = await h.admin.sync_users(ADMIN, [email])
    await h.settle()
    job = await h.admin.get_job(ticket.job.id)
    assert job.status == "done", job
    await h.observe_and_settle(email)


async def _meeting(h: SyncHarness, email: str, action: str) -> None:
    await h.sb.control("POST", f"/_sandbox/teams/{email}/meeting", {"action": action})
    await h.observe_and_settle(email)


async def _puts(h: SyncHarness) -> int:
    return await h.sb.count("ringcentral", "PUT", "/presence")


async def _rc_writes(h: SyncHarness, email: str) -> list[AuditEntry]:
    entries = await h.store.list_audit(limit=200)
    return [e for e in entries if e.action == "ringcentral.presence" and e.user == email]


async def _rings(h: SyncHarness, email: str, queue: bool) -> bool:
    answer = await h.sb.control(
        "POST", f"/_sandbox/ringcentral/{email}/inbound-call", {"queue": queue}
    )
    return bool(answer["rings"])


async def _queue_member(h: SyncHarness, email: str) -> bool | None:
    return UserState.from_dict((await h.link(email)).engine_state).queue_member


async def test_every_linked_user_learns_their_membership(
    any_store: Store, make_harness: MakeHarness
) -> None:
    h = await make_harness(any_store)
    members = _member_ids(h)
    people = await h.linked_people()
    assert any(p.rc_extension_id in members for p in people)
    assert any(p.rc_extension_id not in members for p in people)
    for person in people:
        state = UserState.from_dict(person.engine_state)
        assert state.queue_member is (person.rc_extension_id in members), person.email

    listed = (await h.admin.list_users(limit=100, linked=True)).users
    assert {u.email: u.call_queue_member for u in listed} == {
        p.email: p.rc_extension_id in members for p in people
    }

    again = await h.service.directory.refresh()

    assert again.queue_walk_done
    assert again.membership_changed == 0  # nothing changed: nothing rewritten


async def test_non_member_in_a_meeting_gets_one_write_and_no_refusal(harness: SyncHarness) -> None:
    h = harness
    email = await _plain(h, member=False)
    await _start(h, email)
    before = await _puts(h)

    await _meeting(h, email, "start")

    assert await _puts(h) - before == 1
    rc = await h.rc(email)
    assert (rc["userStatus"], rc["dndStatus"]) == ("Busy", "TakeAllCalls")
    writes = await _rc_writes(h, email)
    assert [w.details["result"] for w in writes] == ["applied"]
    assert "not a call-queue member" in writes[0].details["cause"]
    assert await _rings(h, email, queue=False)


async def test_member_in_a_meeting_stops_queue_calls(harness: SyncHarness) -> None:
    h = harness
    email = await _plain(h, member=True)
    await _start(h, email)
    before = await _puts(h)

    await _meeting(h, email, "start")

    assert await _puts(h) - before == 1
    rc = await h.rc(email)
    assert (rc["userStatus"], rc["dndStatus"]) == ("Busy", "DoNotAcceptDepartmentCalls")
    assert not await _rings(h, email, queue=True)
    assert await _rings(h, email, queue=False)

    await _meeting(h, email, "end")
    rc = await h.rc(email)
    assert (rc["userStatus"], rc["dndStatus"]) == ("Available", "TakeAllCalls")


async def test_user_added_to_a_queue_gets_department_after_the_next_refresh(
    harness: SyncHarness,
) -> None:
    h = harness
    email = await _plain(h, member=False)
    await _start(h, email)
    await _meeting(h, email, "start")
    assert (await h.rc(email))["dndStatus"] == "TakeAllCalls"
    queue_id = next(iter(h.sb.ctx.org.call_queues))
    await h.sb.control(
        "POST", f"/_sandbox/ringcentral/call-queues/{queue_id}/members", {"add": [email]}
    )

    summary = await h.service.directory.refresh()
    await h.settle()

    assert summary.membership_changed == 1
    assert await _queue_member(h, email) is True
    rc = await h.rc(email)
    assert (rc["userStatus"], rc["dndStatus"]) == ("Busy", "DoNotAcceptDepartmentCalls")
    assert not await _rings(h, email, queue=True)
    assert REFUSED not in {w.details["result"] for w in await _rc_writes(h, email)}


async def test_removal_between_refreshes_falls_back_on_the_refused_write(
    harness: SyncHarness,
) -> None:
    h = harness
    email = await _plain(h, member=True)
    await _start(h, email)
    ext_id = (await h.link(email)).rc_extension_id
    queue_ids = [q.id for q in h.sb.ctx.org.call_queues.values() if ext_id in q.member_ids]
    for queue_id in queue_ids:
        await h.sb.control(
            "POST", f"/_sandbox/ringcentral/call-queues/{queue_id}/members", {"remove": [email]}
        )

    await _meeting(h, email, "start")

    # The directory still believed in the membership: RingCentral's 400 teaches the engine.
    rc = await h.rc(email)
    assert (rc["userStatus"], rc["dndStatus"]) == ("Busy", "TakeAllCalls")
    results = [w.details["result"] for w in await _rc_writes(h, email)]
    assert results.count(REFUSED) == 1
    assert await _queue_member(h, email) is False

    summary = await h.service.directory.refresh()
    await h.settle()

    assert summary.membership_changed == 0  # the walk agrees with what the 400 taught
    assert [w.details["result"] for w in await _rc_writes(h, email)].count(REFUSED) == 1


@pytest.mark.parametrize("sandbox_options", [{"rc_mode": "chs"}])
async def test_newer_account_mode_records_membership_and_switches_queue_calls(
    harness: SyncHarness,
) -> None:
    h = harness
    member, loner = await _plain(h, member=True), await _plain(h, member=False)
    assert await _queue_member(h, member) is True
    assert await _queue_member(h, loner) is False
    await h.admin.set_call_presence_customisation(ADMIN, True)
    for email in (member, loner):
        await _start(h, email)
        await _meeting(h, email, "start")

    seen = {}
    for email in (member, loner):
        link = await h.link(email)
        p = await h.providers.rc_client.get_presence(link.rc_extension_id or "")
        seen[email] = (p.user_status, p.dnd_status_personal, p.accept_call_queue_calls)
    assert seen[member] == ("Busy", "TakeAllCalls", False)
    assert seen[loner] == ("Busy", "TakeAllCalls", True)  # nothing to switch off
    assert not await _rings(h, member, queue=True)
    assert await _rings(h, member, queue=False)
    assert {w.details["result"] for e in (member, loner) for w in await _rc_writes(h, e)} == {
        "applied"
    }
