"""Admin use cases over a real store and the sandbox directory: what the bot and tab will call."""

from __future__ import annotations

import pytest

from presence_sync.admin import UnknownUsersError
from presence_sync.domain import RulesError
from presence_sync.errors import ConflictError, NotFoundError
from presence_sync.store.models import LinkState
from tests.sync.harness import SyncHarness, until

ADMIN = "admin@contoso.example"


async def test_unknown_users_are_named_and_nothing_starts(harness: SyncHarness) -> None:
    admin = harness.admin
    known = (await harness.linked_people())[3].email
    with pytest.raises(UnknownUsersError) as caught:
        await admin.sync_users(ADMIN, [known, "nobody@contoso.example", "Zed Nobody"])
    assert caught.value.names == ("nobody@contoso.example", "Zed Nobody")
    assert "nobody@contoso.example" in str(caught.value)
    assert await harness.store.list_jobs() == []


async def test_users_are_found_by_any_spelling_of_their_email(harness: SyncHarness) -> None:
    link = (await harness.linked_people())[3]
    found = await harness.admin.resolve_users([f"  {link.email.upper()} "])
    assert [f.id for f in found] == [link.id]


async def test_invalid_rules_are_refused_with_the_reason_and_change_nothing(
    harness: SyncHarness,
) -> None:
    admin = harness.admin
    before = await admin.get_rules()
    with pytest.raises(RulesError) as caught:
        await admin.set_rules(ADMIN, {"In a lunch": "Do not accept any calls", "Busy": "Maybe"})
    assert "unknown Teams state 'In a lunch'" in str(caught.value)
    assert "unknown call rule 'Maybe'" in str(caught.value)
    assert await admin.get_rules() == before


async def test_rules_edits_use_the_version_shown_and_reset_restores_defaults(
    harness: SyncHarness,
) -> None:
    admin = harness.admin
    shown = await admin.get_rules()
    changed = await admin.set_rules(ADMIN, {"busy": "no_calls"}, expected_version=shown.version)
    assert ("Busy", "Do not accept any calls") in changed.rules
    with pytest.raises(ConflictError):
        await admin.set_rules(ADMIN, {"busy": "no_queue_calls"}, expected_version=shown.version)
    reset = await admin.reset_rules(ADMIN)
    assert reset.rules == (
        ("Busy", "Accept all calls"),
        ("In a call", "Do not accept queue calls"),
        ("In a conference call", "Do not accept queue calls"),
        ("In a meeting", "Do not accept queue calls"),
        ("Offline", "Accept all calls"),
    )
    toggled = await admin.set_call_presence_customisation(ADMIN, True)
    assert toggled.call_presence_customisation
    assert (await admin.set_preserve_during_inactivity(ADMIN, True)).preserve_during_inactivity


async def test_sync_all_is_idempotent_and_status_counts_users(harness: SyncHarness) -> None:
    admin = harness.admin
    first = await admin.sync_all(ADMIN)
    second = await admin.sync_all(ADMIN)
    assert first.created
    assert not second.created
    assert second.job.id == first.job.id

    async def done() -> bool:
        return (await admin.get_job(first.job.id)).status == "done"

    await until(done, limit=30.0)
    status = await admin.status()
    counts = await harness.store.count_links_by_state()
    assert status.linked == counts[LinkState.LINKED.value]
    assert status.unmatched == counts[LinkState.UNMATCHED.value]
    assert status.synced == status.linked
    assert status.last_job is not None
    assert status.last_job.id == first.job.id
    # No connection records exist in this test: status says so rather than pretending.
    assert "microsoft is missing" in status.warnings
    third = await admin.sync_all(ADMIN)
    assert third.created


async def test_disable_and_enable_hand_presence_back_and_take_it_again(
    harness: SyncHarness,
) -> None:
    h = harness
    email = (await h.linked_people())[3].email
    await h.admin.sync_users(ADMIN, [email])
    await h.settle()
    await h.sb.control("POST", f"/_sandbox/teams/{email}/meeting", {"action": "start"})
    await h.observe_and_settle(email)
    assert (await h.rc(email))["userStatus"] == "Busy"

    view = await h.admin.disable_all(ADMIN)
    assert not view.sync_enabled
    await h.settle()
    assert (await h.rc(email))["userStatus"] == "Available"
    assert any("turned off" in w for w in (await h.admin.status()).warnings)

    await h.admin.enable(ADMIN)
    await h.settle()
    assert (await h.rc(email))["userStatus"] == "Busy"


async def test_user_list_filters_and_pages(harness: SyncHarness) -> None:
    admin = harness.admin
    first = await admin.list_users(limit=5)
    assert len(first.users) == 5
    assert first.next_cursor is not None
    second = await admin.list_users(page=first.next_cursor, limit=5)
    assert not {u.id for u in first.users} & {u.id for u in second.users}
    unmatched = await admin.list_users(linked=False, limit=100)
    assert unmatched.users
    assert all(u.reason for u in unmatched.users)
    person = (await harness.linked_people())[3]
    found = await admin.list_users(person.email.split("@")[0])
    assert person.id in {u.id for u in found.users}


async def test_jobs_can_be_cancelled_and_unknown_jobs_are_not_found(
    harness: SyncHarness,
) -> None:
    admin = harness.admin
    with pytest.raises(NotFoundError):
        await admin.get_job("no-such-job")
    await harness.stop()  # nothing runs the job: it stays queued
    ticket = await admin.sync_all(ADMIN)
    cancelled = await admin.cancel_job(ADMIN, ticket.job.id)
    assert cancelled.status == "cancelled"
    assert (await admin.sync_all(ADMIN)).created
