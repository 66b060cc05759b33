"""A bulk job survives its server being killed mid-way and ends with exact counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from presence_sync.notices import USER_SYNCED
from presence_sync.secrets import SecretBox
from presence_sync.store import SqliteStore, Store
from tests.sync.conftest import MakeHarness
from tests.sync.harness import SyncHarness, until

ADMIN = "admin@contoso.example"


async def _kill_and_resume(
    make_harness: MakeHarness,
    store: Store,
    reopen: Any,
    idle: float = 0.01,
    concurrency: int = 16,
) -> None:
    first = await make_harness(store, deliver_notices=False, job_lease=2.0, worker_idle=idle)
    first.service.jobs.concurrency = concurrency
    await first.sb.control("POST", "/_sandbox/ringcentral/limits", {"enabled": False})
    linked = len(await first.linked_people())
    counts = await store.count_links_by_state()
    ticket = await first.admin.sync_all(ADMIN)
    total = ticket.job.total

    async def at_40_percent() -> bool:
        return (await first.admin.get_job(ticket.job.id)).processed >= total * 0.4

    await until(at_40_percent, limit=120.0, step=0.02)
    # The server dies mid-page: loops cancelled, queued writes dropped, lease still held.
    await first.stop()
    interrupted = await first.admin.get_job(ticket.job.id)
    assert interrupted.status == "running"
    assert 0 < interrupted.processed < total

    second: SyncHarness = await make_harness(
        await reopen(),
        owner="replica-2",
        refresh=False,
        deliver_notices=False,
        job_lease=2.0,
        worker_idle=idle,
    )
    second.service.jobs.concurrency = concurrency

    async def finished() -> bool:
        return (await second.admin.get_job(ticket.job.id)).status == "done"

    await until(finished, limit=120.0, step=0.1)
    job = await second.admin.get_job(ticket.job.id)
    assert job.processed == job.total == total == sum(counts.values())
    assert job.synced == linked
    assert (job.already, job.failed) == (0, 0)
    assert job.unmatched == counts["unmatched"]
    assert await second.store.count_synced_links() == linked
    notices = await second.store.list_notices(limit=total * 2)
    synced_notices = [n for n in notices if n.kind == USER_SYNCED]
    # Everyone is told once; the user being switched at the kill may be told twice.
    assert len({n.recipient for n in synced_notices}) == linked
    assert linked <= len(synced_notices) <= linked + 1


@pytest.mark.parametrize("sandbox_options", [{"users": 5000}])
async def test_killed_5000_user_job_resumes_with_exact_counts(
    make_harness: MakeHarness, tmp_path: Path
) -> None:
    box = SecretBox(SecretBox.generate_key())
    opened: list[Store] = []

    async def open_store() -> Store:
        store = SqliteStore(tmp_path / "store.db", box)
        await store.open()
        opened.append(store)
        return store

    try:
        await _kill_and_resume(make_harness, await open_store(), open_store)
    finally:
        for store in opened:
            await store.close()


@pytest.mark.parametrize("sandbox_options", [{"users": 100}])
@pytest.mark.parametrize("any_store", ["mongo"], indirect=True)
async def test_killed_job_resumes_on_mongodb(any_store: Store, make_harness: MakeHarness) -> None:
    async def same_store() -> Store:
        return any_store

    # FerretDB answers slowly under concurrent writes: poll less and decide fewer at once.
    await _kill_and_resume(make_harness, any_store, same_store, idle=0.2, concurrency=2)
