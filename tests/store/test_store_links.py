"""Contract: user links, lookups, pagination, observations and engine state, on both stores."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from presence_sync.errors import ConflictError, NotFoundError, ValidationError
from presence_sync.store import (
    LinkState,
    RcObservation,
    Store,
    TeamsObservation,
    UserLink,
)


def link(n: int, **extra: object) -> UserLink:
    """A linked user numbered `n`."""
    fields: dict[str, object] = {
        "id": f"link-{n:05d}",
        "email": f"User{n}@Contoso.com",
        "display_name": f"User {n}",
        "teams_user_id": f"aad-{n}",
        "upn": f"user{n}@contoso.com",
        "mail": f"User{n}@Contoso.com",
        "rc_extension_id": f"{1000 + n}",
        "rc_extension_number": f"{100 + n}",
    }
    fields.update(extra)
    return UserLink(**fields)  # type: ignore[arg-type]


def teams(seq: str, availability: str = "Busy", at: float = 1.0) -> TeamsObservation:
    """A Teams observation."""
    return TeamsObservation(availability, "InACall", seq, at)


def rc(seq: int | None, status: str = "Busy", at: float = 1.0) -> RcObservation:
    """A RingCentral observation."""
    return RcObservation(status, "TakeAllCalls", None, None, "NoCall", seq, at)


async def test_upsert_then_every_lookup_finds_the_link(store: Store) -> None:
    assert await store.upsert_links([link(1), link(2)], now=10.0) == 2

    by_id = await store.get_link("link-00001")
    assert by_id is not None
    assert by_id.email == "user1@contoso.com"  # trimmed and lower-cased
    assert by_id.updated_at == 10.0
    assert await store.get_link_by_teams_id("aad-2") == await store.get_link("link-00002")
    assert (await store.get_link_by_rc_extension("1002")) == await store.get_link("link-00002")
    found = await store.get_link_by_email("  USER2@contoso.COM ")
    assert found is not None
    assert found.id == "link-00002"
    assert await store.get_link("nope") is None
    assert await store.get_link_by_teams_id("nope") is None
    assert await store.get_link_by_rc_extension("nope") is None
    assert await store.get_link_by_email("nobody@contoso.com") is None


async def test_link_round_trips_every_field(store: Store) -> None:
    original = UserLink(
        id="x",
        email=" Mixed@Case.COM ",
        display_name="Zoë Ünicode",
        teams_user_id="aad-x",
        upn="mixed@case.com",
        mail=None,
        rc_extension_id="77",
        rc_extension_number="177",
        sync_enabled=True,
        state=LinkState.UNMATCHED,
        reason_code="no_rc_extension",
        reason="No RingCentral user has this email",
        last_error="boom",
        teams=teams("5"),
        rc=rc(9),
        rc_sequence=9,
        engine_state={"applied": {"rc": {"dndStatus": ["DoNotAcceptAnyCalls", "TakeAllCalls"]}}},
        engine_version=3,
    )
    await store.upsert_links([original], now=5.0)
    stored = await store.get_link("x")
    assert stored == UserLink(**{**original.__dict__, "updated_at": 5.0})


async def test_reupsert_refreshes_identity_but_keeps_sync_state_and_observations(
    store: Store,
) -> None:
    await store.upsert_links([link(1)])
    await store.update_link("link-00001", sync_enabled=True, last_error="timeout")
    assert await store.record_teams_observation("link-00001", teams("3"))
    await store.set_engine_state("link-00001", {"applied": 1}, 0)

    renamed = link(1, display_name="Renamed", sync_enabled=False, teams=None)
    assert await store.upsert_links([renamed, link(2)]) == 2  # one changed, one new
    assert await store.upsert_links([renamed, link(2)]) == 0  # nothing changed

    stored = await store.get_link("link-00001")
    assert stored is not None
    assert stored.display_name == "Renamed"
    assert stored.sync_enabled is True
    assert stored.last_error == "timeout"
    assert stored.teams == teams("3")
    assert stored.engine_state == {"applied": 1}
    assert stored.engine_version == 1


async def test_bulk_upsert_of_thousands_is_batched_and_complete(store: Store) -> None:
    count = 3000
    # Its speed is measured by bench/store.py; here: every link lands, in one call.
    assert await store.upsert_links(link(n) for n in range(count)) == count
    assert (await store.count_links_by_state())["linked"] == count
    last = await store.get_link_by_rc_extension(str(1000 + count - 1))
    assert last is not None
    assert last.id == f"link-{count - 1:05d}"
    changed = [link(n, state=LinkState.UNMATCHED) for n in range(0, count, 30)]
    assert await store.upsert_links(changed) == len(changed)
    counts = await store.count_links_by_state()
    assert counts == {"linked": count - len(changed), "unmatched": len(changed)}


async def test_list_links_pages_by_id_without_gaps_or_repeats(store: Store) -> None:
    await store.upsert_links(link(n) for n in range(23))
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await store.list_links(after=cursor, limit=5)
        seen.extend(item.id for item in page.links)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"link-{n:05d}" for n in range(23)]
    assert pages == 5
    exact = await store.list_links(limit=23)
    assert len(exact.links) == 23
    assert exact.next_cursor is None


async def test_list_links_filters_by_state_sync_flag_and_text(store: Store) -> None:
    await store.upsert_links(
        [
            link(1, display_name="Alice Smith"),
            link(2, display_name="Bob Jones", state=LinkState.UNMATCHED),
            link(3, display_name="Carol 100%_done", sync_enabled=True),
            link(4, email="alice.b@fabrikam.com", display_name="A. B."),
        ]
    )
    await store.update_link("link-00001", sync_enabled=True)

    async def ids(**query: object) -> list[str]:
        page = await store.list_links(**query)  # type: ignore[arg-type]
        return [item.id for item in page.links]

    assert await ids(state=LinkState.UNMATCHED) == ["link-00002"]
    assert await ids(sync_enabled=True) == ["link-00001", "link-00003"]
    assert await ids(sync_enabled=False) == ["link-00002", "link-00004"]
    assert await ids(search="ALICE") == ["link-00001", "link-00004"]
    assert await ids(search="fabrikam") == ["link-00004"]
    assert await ids(search="100%_") == ["link-00003"]  # wildcards are literal
    assert await ids(search="%") == ["link-00003"]
    assert await ids(search="a.b") == []  # the dot is literal, not "any character"
    assert await ids(search="alice", sync_enabled=True) == ["link-00001"]
    assert await ids(search="  ") == ["link-00001", "link-00002", "link-00003", "link-00004"]
    assert await store.count_synced_links() == 2


async def test_update_link_changes_only_allowed_fields(store: Store) -> None:
    await store.upsert_links([link(1)])
    updated = await store.update_link(
        "link-00001",
        now=42.0,
        state=LinkState.UNMATCHED,
        reason_code="duplicate_email",
        reason="Two RingCentral users share this email",
        email=" NEW@contoso.com",
    )
    assert updated.state is LinkState.UNMATCHED
    assert updated.email == "new@contoso.com"
    assert updated.updated_at == 42.0
    assert await store.get_link_by_email("new@contoso.com") == updated
    found = await store.list_links(search="new@")
    assert [item.id for item in found.links] == ["link-00001"]
    with pytest.raises(ValidationError, match="engine_state"):
        await store.update_link("link-00001", engine_state={})
    with pytest.raises(NotFoundError):
        await store.update_link("missing", sync_enabled=True)


async def test_delete_link(store: Store) -> None:
    await store.upsert_links([link(1)])
    assert await store.delete_link("link-00001") is True
    assert await store.delete_link("link-00001") is False
    assert await store.get_link("link-00001") is None


async def test_teams_observations_apply_only_in_sequence_order(store: Store) -> None:
    await store.upsert_links([link(1)])
    lid = "link-00001"
    assert await store.record_teams_observation(lid, teams("9", "Busy"))
    assert not await store.record_teams_observation(lid, teams("9", "Available"))  # duplicate
    assert not await store.record_teams_observation(lid, teams("8", "Away"))  # late
    assert await store.record_teams_observation(lid, teams("10", "DoNotDisturb"))  # 10 > 9
    stored = await store.get_link(lid)
    assert stored is not None
    assert stored.teams == teams("10", "DoNotDisturb")
    # Version order: 1.10 is after 1.9.
    await store.upsert_links([link(2)])
    assert await store.record_teams_observation("link-00002", teams("1.9"))
    assert await store.record_teams_observation("link-00002", teams("1.10"))
    assert not await store.record_teams_observation("link-00002", teams("1.9.5"))


async def test_polled_reads_without_sequence_apply_when_observed_later(store: Store) -> None:
    await store.upsert_links([link(1)])
    lid = "link-00001"
    assert await store.record_teams_observation(lid, teams("", "Busy", at=100.0))
    assert not await store.record_teams_observation(lid, teams("", "Away", at=90.0))
    assert await store.record_teams_observation(lid, teams("", "Available", at=101.0))
    assert await store.record_rc_observation(lid, rc(None, "Busy", at=50.0))
    assert not await store.record_rc_observation(lid, rc(None, "Offline", at=50.0))
    stored = await store.get_link(lid)
    assert stored is not None
    assert stored.teams is not None
    assert stored.teams.availability == "Available"
    assert stored.rc is not None
    assert stored.rc.user_status == "Busy"


async def test_rc_observations_compare_sequences_as_numbers(store: Store) -> None:
    await store.upsert_links([link(1)])
    lid = "link-00001"
    assert await store.record_rc_observation(lid, rc(9, "Busy"))
    assert await store.record_rc_observation(lid, rc(10, "Available"))
    assert not await store.record_rc_observation(lid, rc(10, "Offline"))
    assert not await store.record_rc_observation(lid, rc(2, "Offline"))
    stored = await store.get_link(lid)
    assert stored is not None
    assert stored.rc == rc(10, "Available")
    with pytest.raises(NotFoundError):
        await store.record_rc_observation("missing", rc(1))
    with pytest.raises(NotFoundError):
        await store.record_teams_observation("missing", teams("1"))


async def test_a_verified_rc_observation_restarts_the_count_unless_something_newer_is_held(
    store: Store,
) -> None:
    await store.upsert_links([link(1)])
    lid = "link-00001"
    assert await store.record_rc_observation(lid, rc(10**12, "Busy", at=10.0))
    assert not await store.record_rc_observation(lid, rc(3, "Available", at=20.0))
    # A read confirmed it: the number is RingCentral's count from now on.
    assert await store.record_rc_observation(
        lid, replace(rc(3, "Available", at=20.0), verified=True)
    )
    assert await store.record_rc_observation(lid, rc(4, "Offline", at=21.0))
    assert await store.record_rc_observation(lid, rc(None, "Busy", at=30.0))
    stored = await store.get_link(lid)
    assert stored is not None
    assert stored.rc_sequence == 4, "a read keeps the count"
    # Confirmed but older than what is held: it changes nothing.
    late = replace(rc(2, "Offline", at=25.0), verified=True)
    assert not await store.record_rc_observation(lid, late)
    stored = await store.get_link(lid)
    assert stored is not None
    assert stored.rc is not None
    assert stored.rc.user_status == "Busy"
    assert stored.rc_sequence == 4


async def test_concurrent_out_of_order_notifications_leave_the_newest(store: Store) -> None:
    await store.upsert_links([link(1)])
    lid = "link-00001"
    order = [7, 3, 12, 1, 12, 9, 5, 11, 2, 10, 4, 8, 6]
    results = await asyncio.gather(
        *(store.record_rc_observation(lid, rc(seq, f"S{seq}")) for seq in order)
    )
    assert sum(results) >= 1
    stored = await store.get_link(lid)
    assert stored is not None
    assert stored.rc is not None
    assert stored.rc.sequence == 12
    assert stored.rc.user_status == "S12"


async def test_engine_state_uses_optimistic_concurrency(store: Store) -> None:
    await store.upsert_links([link(1)])
    lid = "link-00001"
    assert await store.set_engine_state(lid, {"rc": {"applied": "Busy"}}, 0) == 1
    with pytest.raises(ConflictError):
        await store.set_engine_state(lid, {"rc": {"applied": "lost"}}, 0)
    assert await store.set_engine_state(lid, {"rc": {"applied": "Available"}}, 1) == 2
    stored = await store.get_link(lid)
    assert stored is not None
    assert stored.engine_state == {"rc": {"applied": "Available"}}
    assert stored.engine_version == 2
    with pytest.raises(NotFoundError):
        await store.set_engine_state("missing", {}, 0)


async def test_concurrent_engine_writers_at_one_version_only_one_wins(store: Store) -> None:
    await store.upsert_links([link(1)])
    results = await asyncio.gather(
        *(store.set_engine_state("link-00001", {"writer": n}, 0) for n in range(8)),
        return_exceptions=True,
    )
    assert results.count(1) == 1
    assert all(isinstance(r, ConflictError) for r in results if r != 1)
