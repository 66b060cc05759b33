"""Single-use, expiring records: an OAuth `state` can be redeemed once, and only in time."""

from __future__ import annotations

import asyncio
import sqlite3
import time

from presence_sync.store import SqliteStore, Store


async def test_a_record_is_taken_once(store: Store) -> None:
    now = time.time()
    await store.put_ephemeral("state:abc", {"flow": {"verifier": "v1"}}, now + 600)
    assert await store.take_ephemeral("state:abc", now) == {"flow": {"verifier": "v1"}}
    assert await store.take_ephemeral("state:abc", now) is None


async def test_an_expired_record_is_refused(store: Store) -> None:
    now = time.time()
    await store.put_ephemeral("state:old", {"x": 1}, now + 10)
    assert await store.take_ephemeral("state:old", now + 11) is None
    assert await store.take_ephemeral("missing", now) is None


async def test_concurrent_takers_get_it_once(store: Store) -> None:
    now = time.time()
    await store.put_ephemeral("state:race", {"x": 1}, now + 600)
    results = await asyncio.gather(*(store.take_ephemeral("state:race", now) for _ in range(8)))
    assert sum(r is not None for r in results) == 1


async def test_the_value_is_sealed_at_rest(store: Store) -> None:
    await store.put_ephemeral("state:s", {"code_verifier": "plain-text-verifier"}, time.time() + 60)
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as raw:
            stored = " ".join(row[0] for row in raw.execute("SELECT value FROM ephemeral"))
    else:
        docs = [d async for d in store.col("ephemeral").find({})]
        stored = " ".join(str(d) for d in docs)
    assert "plain-text-verifier" not in stored
    assert stored


async def test_a_peeked_record_stays_until_it_expires_or_is_taken(store: Store) -> None:
    now = time.time()
    await store.put_ephemeral("session:s1", {"user": "ann@contoso.example"}, now + 60)
    assert await store.peek_ephemeral("session:s1", now) == {"user": "ann@contoso.example"}
    assert await store.peek_ephemeral("session:s1", now) == {"user": "ann@contoso.example"}
    assert await store.peek_ephemeral("session:s1", now + 61) is None
    assert await store.take_ephemeral("session:s1", now) == {"user": "ann@contoso.example"}
    assert await store.peek_ephemeral("session:s1", now) is None
