"""A change seen in this process is decided in it, not through the store's queue; what a
stopped process left undecided is found again by the sweep.

The Teams observation is written with its mark (`Store.observe_teams`) and the link handed
to the reconciler as written, so a real-time change costs the store the observation and the
decision's save, and nothing else. The mark makes that safe: a process that stops between
the two leaves the link due, and `Reconciler.sweep_due` of the next one decides for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from presence_sync.graph.models import Presence
from presence_sync.secrets import SecretBox
from presence_sync.store import SqliteStore, Store, UserLink
from presence_sync.sync.reconciler import Reconciler
from presence_sync.watch.observe import Observer, Roster, WatchedUser

PEOPLE = 300
IDLE = 30.0  # longer than any test waits: only a hand-over or a mark can explain a decision


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """An open SQLite store with PEOPLE synced people."""
    opened = SqliteStore(tmp_path / "store.db", SecretBox(SecretBox.generate_key()))
    await opened.open()
    await opened.upsert_links(
        UserLink(
            id=f"link-{n}",
            email=f"user{n}@contoso.example",
            teams_user_id=f"aad-{n}",
            rc_extension_id=f"{1000 + n}",
            sync_enabled=True,
        )
        for n in range(PEOPLE)
    )
    yield opened
    await opened.close()


def _roster() -> Roster:
    return Roster(tuple(WatchedUser(f"link-{n}", f"aad-{n}", f"{1000 + n}") for n in range(PEOPLE)))


async def _decided(store: Store, within: float) -> list[UserLink]:
    deadline = time.monotonic() + within
    while True:
        links = [await store.get_link(f"link-{n}") for n in range(PEOPLE)]
        done = [link for link in links if link is not None and link.engine_version > 0]
        if len(done) == PEOPLE or time.monotonic() > deadline:
            return done
        await asyncio.sleep(0.05)


async def _run(reconciler: Reconciler) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(reconciler.run(f"worker-{n}", idle=IDLE)) for n in range(2)]


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_hundreds_of_teams_changes_are_decided_without_the_store_queue(store: Store) -> None:
    reconciler = Reconciler(store, time.time)
    observer = Observer(store, time.time, hand_over=reconciler.hand_over)
    observer.use_roster(_roster())
    tasks = await _run(reconciler)
    try:
        await asyncio.sleep(0.1)  # the workers' first claim is made and they sleep
        await asyncio.gather(
            *(
                observer.teams(
                    Presence(f"aad-{n}", "Busy", "InAMeeting", f"{n:04d}"), reason="webhook"
                )
                for n in range(PEOPLE)
            )
        )
        assert await store.dirty_count() == 0  # nothing went through the store's queue
        decided = await _decided(store, within=20.0)
    finally:
        await _stop(tasks)
    assert len(decided) == PEOPLE
    for link in decided:
        assert link.engine_state["teams_seen"]["availability"] == "Busy", link.id
        # Decided on, so no longer due (a pending write would have left its timer instead).
        assert link.due_at is None, link.id
    assert await store.due_links(time.time() + 3600, PEOPLE) == []


async def test_changes_left_undecided_by_a_stopped_process_are_decided_after_restart(
    store: Store,
) -> None:
    # The first process writes every observation and stops before deciding any of them.
    handed: list[str] = []
    stopped = Observer(store, time.time, hand_over=lambda link, _p, _r: handed.append(link.id))
    stopped.use_roster(_roster())
    for n in range(PEOPLE):
        presence = Presence(f"aad-{n}", "DoNotDisturb", "Presenting", f"{n:04d}")
        assert await stopped.teams(presence, reason="webhook")
    assert len(handed) == PEOPLE
    assert len(await store.due_links(time.time(), PEOPLE + 1)) == PEOPLE

    # The next process knows nothing of them, but its sweep finds every one in the store.
    restarted = Reconciler(store, time.time)
    tasks = await _run(restarted)
    try:
        queued = 0
        for _ in range(3):  # the sweep takes them in pages
            queued += await restarted.sweep_due(grace=0.0, limit=128)
        assert queued == PEOPLE
        decided = await _decided(store, within=20.0)
    finally:
        await _stop(tasks)
    assert len(decided) == PEOPLE
    assert all(
        link.engine_state["teams_seen"]["availability"] == "DoNotDisturb" for link in decided
    )
    assert await store.due_links(time.time() + 3600, PEOPLE) == []
    assert await restarted.sweep_due(grace=0.0) == 0


async def test_the_sweep_leaves_alone_whom_this_process_is_deciding_for(store: Store) -> None:
    reconciler = Reconciler(store, time.time)
    observer = Observer(store, time.time, hand_over=reconciler.hand_over)
    observer.use_roster(_roster())
    # Handed over, workers not running yet: due in the store, on its way here.
    assert await observer.teams(Presence("aad-1", "Away", "Away", "0001"), reason="webhook")
    assert await reconciler.sweep_due(grace=0.0) == 0
    assert await store.dirty_count() == 0
