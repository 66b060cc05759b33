"""Sign-in start counts: a sliding window per caller, shared by every store object on one
database (every replica), with ended starts deleted and no more than the limit let through."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from presence_sync.secrets import SecretBox
from presence_sync.store import MongoStore, SqliteStore, StartRefusal, Store

WINDOW = 60.0


async def start(
    store: Store, key: str, now: float, *, scope: str = "steps", limit: int = 3, most: int = 100
) -> StartRefusal | None:
    """One start by `key` at `now`, lasting a window."""
    return await store.count_start(scope, key, limit=limit, most=most, now=now, until=now + WINDOW)


async def stored_starts(store: Store) -> int:
    """How many start records the store holds, ended or not."""
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as raw:
            return int(raw.execute("SELECT COUNT(*) FROM starts").fetchone()[0])
    if isinstance(store, MongoStore):
        return await store.col("starts").count_documents({})
    raise TypeError(type(store))


@pytest.fixture
async def replica(
    store: Store, store_kind: str, box: SecretBox, tmp_path: Path
) -> AsyncIterator[Store]:
    """A second store object on the same database, as another replica opens it."""
    other: Store
    if isinstance(store, SqliteStore):
        other = SqliteStore(tmp_path / "store.db", box)
    elif isinstance(store, MongoStore):
        other = MongoStore(
            store.uri, store.database_name, box, conditions=store.database.conditions
        )
    else:
        raise TypeError(store_kind)
    await other.open()
    yield other
    await other.close()


async def test_the_start_past_the_limit_is_refused_until_the_oldest_ends(store: Store) -> None:
    now = time.time()
    for offset in (0.0, 10.0, 20.0):
        assert await start(store, "ann", now + offset) is None

    refusal = await start(store, "ann", now + 30)

    assert refusal == StartRefusal(busy=False, free_at=now + WINDOW)
    # Others are counted apart: another caller, or the same key in another scope.
    assert await start(store, "bob", now + 30) is None
    assert await start(store, "ann", now + 30, scope="logins") is None


async def test_the_window_slides(store: Store) -> None:
    now = time.time()
    for offset in (0.0, 10.0, 20.0):
        assert await start(store, "ann", now + offset) is None

    # The first start ends at now + 60: one place frees up, the second still holds its own.
    assert await start(store, "ann", now + WINDOW) is None
    refusal = await start(store, "ann", now + WINDOW + 1)
    assert refusal == StartRefusal(busy=False, free_at=now + 10 + WINDOW)
    assert await start(store, "ann", now + 10 + WINDOW) is None


async def test_ended_starts_are_deleted_so_storage_stays_bounded(store: Store) -> None:
    now = time.time()
    for n in range(20):
        assert await start(store, f"caller-{n}", now) is None
    assert await stored_starts(store) == 20

    assert await start(store, "late", now + WINDOW) is None

    assert await stored_starts(store) == 1


async def test_a_new_caller_waits_while_the_scope_is_full(store: Store) -> None:
    now = time.time()
    for n in range(4):
        assert await start(store, f"caller-{n}", now, most=4) is None

    assert await start(store, "newcomer", now + 1, most=4) == StartRefusal(
        busy=True, free_at=now + 1 + WINDOW
    )
    # Who already started may go on up to their own limit, and other scopes are not full.
    assert await start(store, "caller-0", now + 1, most=4) is None
    assert await start(store, "newcomer", now + 1, scope="logins", most=4) is None
    assert await stored_starts(store) == 6  # the refused newcomer left nothing behind


async def test_replicas_racing_for_one_callers_starts_let_no_more_than_the_limit_through(
    store: Store, replica: Store
) -> None:
    now = time.time()
    racing = [start(s, "ann", now, limit=10) for s in (store, replica) for _ in range(15)]

    answers = await asyncio.gather(*racing)

    assert sum(a is None for a in answers) <= 10
    refusals = [a for a in answers if a is not None]
    assert all(not r.busy and r.free_at == now + WINDOW for r in refusals)
    # What one replica counted holds on the other.
    counted = sum(a is None for a in answers)
    for _ in range(10 - counted):
        assert await start(replica, "ann", now + 1, limit=10) is None
    assert await start(store, "ann", now + 1, limit=10) is not None
    assert await start(replica, "ann", now + 1, limit=10) is not None
