"""Contract: when each link is due for reconciliation, on both stores.

An observation stored for a decision still to come carries its mark in the same write; the
decision's save moves the due time to the engine's next timer, unless a newer observation
marked the link after the decision read it; the sweep finds what is due, earliest first.
"""

from __future__ import annotations

import asyncio

import pytest

from presence_sync.errors import ConflictError, NotFoundError
from presence_sync.store import Due, Store
from presence_sync.store.models import UserLink
from tests.store.test_store_links import link, rc, teams


def written(link_or_none: UserLink | None) -> UserLink:
    """The link an observation answered, which must have been taken."""
    assert link_or_none is not None
    return link_or_none


async def due_at(store: Store, link_id: str) -> float | None:
    """The stored due time of a link."""
    return written(await store.get_link(link_id)).due_at


async def test_an_observation_stored_with_a_due_time_carries_it(store: Store) -> None:
    await store.upsert_links([link(1), link(2)])
    first = written(await store.observe_teams("link-00001", teams("5"), due_at=100.0))
    assert first.teams == teams("5")
    assert first.due_at == 100.0
    # An earlier mark wins over a later one; a later one leaves the earlier in place.
    assert written(await store.observe_teams("link-00001", teams("6"), due_at=90.0)).due_at == 90
    assert written(await store.observe_teams("link-00001", teams("7"), due_at=120.0)).due_at == 90
    stored = written(await store.get_link("link-00001"))
    assert stored.due_at == 90.0
    assert stored.teams == teams("7")
    # Without a due time an observation leaves it alone; the other link was never due.
    assert written(await store.observe_rc("link-00001", rc(3))).due_at == 90.0
    assert await due_at(store, "link-00002") is None


async def test_an_observation_that_is_not_newer_changes_nothing_not_even_the_due_time(
    store: Store,
) -> None:
    await store.upsert_links([link(1)])
    assert await store.observe_rc("link-00001", rc(10, "Busy")) is not None
    assert await store.observe_rc("link-00001", rc(9, "Available"), due_at=5.0) is None
    assert await store.observe_teams("link-00001", teams("3"), due_at=50.0) is not None
    assert await store.observe_teams("link-00001", teams("2"), due_at=5.0) is None
    stored = written(await store.get_link("link-00001"))
    assert stored.rc == rc(10, "Busy")
    assert stored.teams == teams("3")
    assert stored.due_at == 50.0
    with pytest.raises(NotFoundError):
        await store.observe_teams("missing", teams("1"), due_at=1.0)
    with pytest.raises(NotFoundError):
        await store.observe_rc("missing", rc(1))
    with pytest.raises(NotFoundError):
        await store.mark_link_due("missing", 1.0)


async def test_a_decision_moves_the_due_time_to_its_timer_or_clears_it(store: Store) -> None:
    await store.upsert_links([link(1), link(2)])
    await store.observe_teams("link-00001", teams("1"), due_at=10.0)
    assert await store.set_engine_state("link-00001", {"n": 1}, 0, Due(10.0, 500.0)) == 1
    assert await due_at(store, "link-00001") == 500.0
    assert await store.set_engine_state("link-00001", {"n": 2}, 1, Due(500.0, None)) == 2
    stored = written(await store.get_link("link-00001"))
    assert stored.due_at is None
    assert stored.engine_state == {"n": 2}
    # A save without `Due` leaves the due time as it is.
    await store.mark_link_due("link-00002", 30.0)
    assert await store.set_engine_state("link-00002", {"n": 1}, 0) == 1
    assert await due_at(store, "link-00002") == 30.0


async def test_a_mark_made_after_the_decision_read_survives_its_save(store: Store) -> None:
    await store.upsert_links([link(1), link(2)])
    read = written(await store.observe_teams("link-00001", teams("1"), due_at=10.0))
    assert read.due_at == 10.0
    # A newer observation lands while the decision on the first one is being made.
    await store.observe_teams("link-00001", teams("2"), due_at=8.0)
    await store.set_engine_state("link-00001", {"n": 1}, 0, Due(read.due_at, None))
    assert await due_at(store, "link-00001") == 8.0
    # With a timer the earlier of the two is kept.
    await store.set_engine_state("link-00001", {"n": 2}, 1, Due(read.due_at, 5.0))
    assert await due_at(store, "link-00001") == 5.0
    # A mark on a link that was due for nothing survives a save that saw nothing due.
    await store.mark_link_due("link-00002", 7.0)
    await store.set_engine_state("link-00002", {"n": 1}, 0, Due(None, None))
    assert await due_at(store, "link-00002") == 7.0


async def test_a_stale_decision_is_refused_and_leaves_the_due_time(store: Store) -> None:
    await store.upsert_links([link(1)])
    await store.observe_teams("link-00001", teams("1"), due_at=10.0)
    await store.set_engine_state("link-00001", {"n": 1}, 0, Due(10.0, 40.0))
    with pytest.raises(ConflictError):
        await store.set_engine_state("link-00001", {"n": "stale"}, 0, Due(40.0, None))
    stored = written(await store.get_link("link-00001"))
    assert stored.engine_state == {"n": 1}
    assert stored.due_at == 40.0
    with pytest.raises(NotFoundError):
        await store.set_engine_state("missing", {}, 0, Due(None, None))


async def test_the_sweep_finds_what_is_due_earliest_first(store: Store) -> None:
    await store.upsert_links([link(n) for n in range(1, 41)])
    for n in range(1, 41):
        if n % 4:
            await store.mark_link_due(f"link-{n:05d}", 1000.0 - n)
    due = await store.due_links(980.0, 100)
    assert [lid for lid, _ in due] == [f"link-{n:05d}" for n in range(39, 19, -1) if n % 4]
    assert [at for _, at in due] == sorted(at for _, at in due)
    assert len(await store.due_links(999.0, 5)) == 5
    assert await store.due_links(900.0, 100) == []
    # Cleared by a decision, a link is no longer found.
    await store.set_engine_state("link-00039", {}, 0, Due(961.0, None))
    assert "link-00039" not in [lid for lid, _ in await store.due_links(980.0, 100)]


async def test_concurrent_observations_and_decisions_keep_the_newest_and_its_mark(
    store: Store,
) -> None:
    """Many observations racing one decision per round: each round's last mark survives."""
    await store.upsert_links([link(1)])
    version = 0
    for round_ in range(10):
        read = written(await store.get_link("link-00001"))
        assert read.due_at is None
        seqs = [str(round_ * 10 + n).zfill(4) for n in range(1, 6)]
        results = await asyncio.gather(
            store.set_engine_state("link-00001", {"r": round_}, version, Due(read.due_at, None)),
            *(store.observe_teams("link-00001", teams(s), due_at=float(round_)) for s in seqs),
        )
        version = results[0]
        stored = written(await store.get_link("link-00001"))
        assert stored.teams == teams(seqs[-1])
        # Whether the save went before or after the marks, they survive it: it read none.
        assert stored.due_at == float(round_)
        # A save that read the mark clears it, ready for the next round.
        version = await store.set_engine_state(
            "link-00001", {"r": round_}, version, Due(stored.due_at, None)
        )
