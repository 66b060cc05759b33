"""Idle reconciler workers start on a real-time mark at once instead of at their next round."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from presence_sync.providers import REALTIME, RECONCILE
from presence_sync.secrets import SecretBox
from presence_sync.store import SqliteStore, Store
from presence_sync.sync.reconciler import Reconciler

IDLE = 30.0  # far longer than any test waits: only the bell can explain a prompt pick-up


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """An open SQLite store."""
    opened = SqliteStore(tmp_path / "store.db", SecretBox(SecretBox.generate_key()))
    await opened.open()
    yield opened
    await opened.close()


async def _drained(store: Store, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if not await store.dirty_count():
            return time.monotonic() - started
        await asyncio.sleep(0.01)
    raise AssertionError(f"the dirty queue was not drained within {within} s")


async def _workers(reconciler: Reconciler, count: int) -> list[asyncio.Task[None]]:
    tasks = [asyncio.create_task(reconciler.run(f"worker-{n}", idle=IDLE)) for n in range(count)]
    await asyncio.sleep(0.2)  # both made their first, empty claim and sleep now
    return tasks


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_mark_due_now_wakes_a_sleeping_worker(store: Store) -> None:
    reconciler = Reconciler(store, time.time)
    tasks = await _workers(reconciler, 2)
    try:
        await store.mark_dirty("someone", priority=REALTIME, due_at=time.time(), reason="webhook")
        assert await _drained(store, within=5.0) < 1.0
    finally:
        await _stop(tasks)


async def test_marks_arriving_while_workers_are_busy_are_not_slept_on(store: Store) -> None:
    reconciler = Reconciler(store, time.time)
    tasks = await _workers(reconciler, 2)
    try:
        for burst in range(5):
            await asyncio.gather(
                *(
                    store.mark_dirty(
                        f"user-{burst}-{n}", priority=REALTIME, due_at=time.time(), reason="webhook"
                    )
                    for n in range(20)
                )
            )
            await asyncio.sleep(0.003)
        assert await _drained(store, within=5.0) < 1.0
    finally:
        await _stop(tasks)


async def test_a_timer_for_later_lets_workers_sleep_and_stopped_workers_stop_listening(
    store: Store,
) -> None:
    reconciler = Reconciler(store, time.time)
    tasks = await _workers(reconciler, 1)
    try:
        await store.mark_dirty("later", priority=RECONCILE, due_at=time.time() + 3600, reason="t")
        await asyncio.sleep(0.2)
        assert await store.dirty_count() == 1  # still waiting for its time, not claimed early
    finally:
        await _stop(tasks)
    rung: list[float] = []
    store.bell.listen(rung.append)
    await store.mark_dirty("other", priority=REALTIME, due_at=time.time(), reason="webhook")
    await asyncio.sleep(0.2)
    assert len(rung) == 1  # the stopped worker's listener is gone: only ours heard it
    assert await store.dirty_count() == 2
