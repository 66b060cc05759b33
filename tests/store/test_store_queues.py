"""Contract: jobs, the dirty-user queue, the notice outbox and their concurrency, on both stores."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from presence_sync.errors import ConflictError, NotFoundError
from presence_sync.store import JobFailure, JobStatus, NoticeStatus, Store

NOW = 1_800_000_000.0

# -- jobs ------------------------------------------------------------------------------


async def test_create_job_is_idempotent_per_kind_while_active(store: Store) -> None:
    job, created = await store.create_job("sync-all", "admin@contoso.com", total=3, now=NOW)
    assert created
    assert job.status is JobStatus.QUEUED
    assert job.total == 3
    again, created_again = await store.create_job("sync-all", "other@contoso.com", now=NOW + 1)
    assert not created_again
    assert again.id == job.id
    other, created_other = await store.create_job("unsync-all", "admin@contoso.com", now=NOW + 1)
    assert created_other
    assert other.id != job.id

    claimed = await store.claim_job("worker-1", 60, NOW)
    assert claimed is not None
    assert claimed.id == job.id
    running, created_running = await store.create_job("sync-all", "x", now=NOW + 2)
    assert not created_running
    assert running.id == job.id

    await store.finish_job(job.id, "worker-1", now=NOW + 3)
    fresh, created_fresh = await store.create_job("sync-all", "admin@contoso.com", now=NOW + 4)
    assert created_fresh
    assert fresh.id != job.id


async def test_concurrent_create_job_makes_exactly_one(store: Store) -> None:
    results = await asyncio.gather(
        *(store.create_job("sync-all", f"admin{n}", now=NOW) for n in range(12))
    )
    assert sum(created for _, created in results) == 1
    assert len({job.id for job, _ in results}) == 1
    assert len(await store.list_jobs(kind="sync-all")) == 1


async def test_job_progress_resume_after_lease_expiry_and_finish(store: Store) -> None:
    job, _ = await store.create_job(
        "sync-users", "admin", params={"users": ["a", "b", "c"]}, total=3, now=NOW
    )
    first = await store.claim_job("worker-1", 30, NOW)
    assert first is not None
    assert first.lease_owner == "worker-1"
    assert first.params == {"users": ["a", "b", "c"]}
    assert await store.claim_job("worker-2", 30, NOW + 1) is None  # lease still held
    progressed = await store.progress_job(
        job.id,
        "worker-1",
        processed=2,
        succeeded=1,
        failed=1,
        failures=[JobFailure("b@contoso.com", "No RingCentral user with this email")],
        cursor="b",
        now=NOW + 2,
    )
    assert (progressed.processed, progressed.succeeded, progressed.failed) == (2, 1, 1)
    assert progressed.cursor == "b"
    assert await store.renew_job_lease(job.id, "worker-1", 30, NOW + 10)

    # worker-1 dies; after its lease runs out worker-2 resumes from the cursor.
    assert await store.claim_job("worker-2", 30, NOW + 39) is None
    resumed = await store.claim_job("worker-2", 30, NOW + 41)
    assert resumed is not None
    assert resumed.id == job.id
    assert resumed.cursor == "b"
    with pytest.raises(ConflictError):
        await store.progress_job(job.id, "worker-1", processed=1, now=NOW + 42)
    assert not await store.renew_job_lease(job.id, "worker-1", 30, NOW + 42)
    await store.progress_job(
        job.id,
        "worker-2",
        processed=1,
        skipped=1,
        failures=[JobFailure("c@contoso.com", "already synced")],
        now=NOW + 43,
    )
    done = await store.finish_job(job.id, "worker-2", now=NOW + 44)
    assert done.status is JobStatus.DONE
    assert done.finished_at == NOW + 44
    assert (done.processed, done.succeeded, done.skipped, done.failed) == (3, 1, 1, 1)
    assert done.failures == (
        JobFailure("b@contoso.com", "No RingCentral user with this email"),
        JobFailure("c@contoso.com", "already synced"),
    )
    assert done.lease_owner is None
    assert await store.get_job(job.id) == done
    assert await store.claim_job("worker-3", 30, NOW + 100) is None
    with pytest.raises(ConflictError):
        await store.finish_job(job.id, "worker-2", now=NOW + 45)


async def test_cancel_stops_the_worker_and_frees_the_kind(store: Store) -> None:
    job, _ = await store.create_job("sync-all", "admin", now=NOW)
    await store.claim_job("worker-1", 60, NOW)
    cancelled = await store.cancel_job(job.id, NOW + 1)
    assert cancelled.status is JobStatus.CANCELLED
    assert not cancelled.active
    with pytest.raises(ConflictError, match="cancelled"):
        await store.progress_job(job.id, "worker-1", processed=1, now=NOW + 2)
    assert (await store.cancel_job(job.id, NOW + 3)).finished_at == NOW + 1  # unchanged
    _, created = await store.create_job("sync-all", "admin", now=NOW + 4)
    assert created
    queued, _ = await store.create_job("unsync-all", "admin", now=NOW + 5)
    assert (await store.cancel_job(queued.id, NOW + 6)).status is JobStatus.CANCELLED
    with pytest.raises(NotFoundError):
        await store.cancel_job("missing", NOW)
    with pytest.raises(NotFoundError):
        await store.progress_job("missing", "worker-1", now=NOW)
    assert await store.get_job("missing") is None


async def test_list_jobs_newest_first(store: Store) -> None:
    ids = []
    for n, kind in enumerate(["a", "b", "c", "a"]):
        job, _ = await store.create_job(kind, "admin", now=NOW + n)
        if kind == "a" and n == 0:
            await store.cancel_job(job.id, NOW + 0.5)
        ids.append(job.id)
    assert [j.id for j in await store.list_jobs()] == ids[::-1]
    assert [j.id for j in await store.list_jobs(limit=2)] == ids[:1:-1]
    assert [j.id for j in await store.list_jobs(kind="a")] == [ids[3], ids[0]]


async def test_concurrent_job_claimers_never_share_a_job(store: Store) -> None:
    created = [(await store.create_job(f"kind-{n}", "admin", now=NOW + n))[0] for n in range(6)]

    async def worker(name: str) -> list[str]:
        got = []
        while (job := await store.claim_job(name, 300, NOW + 10)) is not None:
            got.append(job.id)
        return got

    claims = await asyncio.gather(*(worker(f"w{n}") for n in range(10)))
    every = [job_id for got in claims for job_id in got]
    assert sorted(every) == sorted(job.id for job in created)


# -- dirty queue -----------------------------------------------------------------------


async def test_mark_dirty_dedups_keeping_most_urgent_and_earliest(store: Store) -> None:
    await store.mark_dirty("alice", priority=5, due_at=NOW + 10, reason="poll")
    await store.mark_dirty("alice", priority=1, due_at=NOW + 20, reason="webhook")
    await store.mark_dirty("alice", priority=3, due_at=NOW + 5, reason="retry")
    await store.mark_dirty("bob", priority=2, due_at=NOW, reason="webhook")
    assert await store.dirty_count() == 2
    claimed = await store.claim_dirty("w", limit=10, lease_seconds=30, now=NOW + 5)
    assert [(e.user_key, e.priority, e.due_at, e.reason) for e in claimed] == [
        ("alice", 1, NOW + 5, "retry"),
        ("bob", 2, NOW, "webhook"),
    ]


async def test_claim_dirty_orders_by_priority_then_due_time_and_respects_due(store: Store) -> None:
    await store.mark_dirty("later", priority=0, due_at=NOW + 60, reason="backoff")
    await store.mark_dirty("bulk-1", priority=9, due_at=NOW - 5, reason="sync-all")
    await store.mark_dirty("urgent", priority=0, due_at=NOW, reason="webhook")
    await store.mark_dirty("bulk-0", priority=9, due_at=NOW - 10, reason="sync-all")
    await store.mark_dirty("poll", priority=5, due_at=NOW - 1, reason="poll")
    first = await store.claim_dirty("w1", limit=2, lease_seconds=300, now=NOW)
    assert [e.user_key for e in first] == ["urgent", "poll"]
    assert all(e.claimed_by == "w1" and e.claimed_until == NOW + 300 for e in first)
    rest = await store.claim_dirty("w2", limit=10, lease_seconds=300, now=NOW)
    assert [e.user_key for e in rest] == ["bulk-0", "bulk-1"]  # "later" is not due
    assert await store.claim_dirty("w3", limit=10, lease_seconds=30, now=NOW + 59) == []
    due = await store.claim_dirty("w3", limit=10, lease_seconds=30, now=NOW + 60)
    assert [e.user_key for e in due] == ["later"]
    assert due[0].reason == "backoff"
    assert due[0].priority == 0


async def test_ack_removes_only_own_claims(store: Store) -> None:
    for key in ("a", "b", "c"):
        await store.mark_dirty(key, priority=1, due_at=NOW, reason="webhook")
    claimed = await store.claim_dirty("w1", limit=2, lease_seconds=30, now=NOW)
    assert await store.ack_dirty("w2", [e.user_key for e in claimed]) == 0
    assert await store.ack_dirty("w1", ["c"]) == 0  # not claimed by w1
    assert await store.ack_dirty("w1", [e.user_key for e in claimed]) == 2
    assert await store.ack_dirty("w1", []) == 0
    assert await store.dirty_count() == 1


async def test_expired_claims_are_claimed_again(store: Store) -> None:
    await store.mark_dirty("a", priority=1, due_at=NOW, reason="webhook")
    assert len(await store.claim_dirty("w1", limit=5, lease_seconds=30, now=NOW)) == 1
    assert await store.claim_dirty("w2", limit=5, lease_seconds=30, now=NOW + 29) == []
    again = await store.claim_dirty("w2", limit=5, lease_seconds=30, now=NOW + 30)
    assert [e.claimed_by for e in again] == ["w2"]
    assert await store.ack_dirty("w1", ["a"]) == 0  # the stale worker cannot remove it
    assert await store.ack_dirty("w2", ["a"]) == 1


async def test_mark_during_processing_is_not_lost(store: Store) -> None:
    await store.mark_dirty("alice", priority=5, due_at=NOW, reason="poll")
    [entry] = await store.claim_dirty("w1", limit=1, lease_seconds=30, now=NOW)
    assert entry.reason == "poll"
    # While w1 works on alice, a webhook and a deferred retry arrive.
    await store.mark_dirty("alice", priority=1, due_at=NOW + 20, reason="webhook")
    await store.mark_dirty("alice", priority=3, due_at=NOW + 40, reason="retry")
    assert await store.claim_dirty("w2", limit=5, lease_seconds=30, now=NOW + 1) == []
    assert await store.ack_dirty("w1", ["alice"]) == 0  # requeued, not removed
    assert await store.dirty_count() == 1
    assert await store.claim_dirty("w2", limit=5, lease_seconds=30, now=NOW + 19) == []
    [again] = await store.claim_dirty("w2", limit=5, lease_seconds=30, now=NOW + 20)
    assert (again.priority, again.due_at) == (1, NOW + 20)
    assert await store.ack_dirty("w2", ["alice"]) == 1
    assert await store.dirty_count() == 0


async def test_each_mark_rings_the_bell_with_its_due_time(store: Store) -> None:
    rung: list[float] = []
    stop = store.bell.listen(rung.append)
    await store.mark_dirty("alice", priority=1, due_at=NOW, reason="webhook")
    assert rung == [NOW]
    claimed = await store.claim_dirty("w", limit=5, lease_seconds=30, now=NOW)
    assert [e.user_key for e in claimed] == ["alice"]
    await store.mark_dirty("alice", priority=3, due_at=NOW + 40, reason="timer")  # while claimed
    assert rung == [NOW, NOW + 40]
    stop()
    await store.mark_dirty("bob", priority=1, due_at=NOW, reason="webhook")
    assert rung == [NOW, NOW + 40]


async def test_concurrent_dirty_claimers_never_share_a_user(store: Store) -> None:
    users = [f"user-{n:03d}" for n in range(60)]
    for n, key in enumerate(users):
        await store.mark_dirty(key, priority=n % 3, due_at=NOW, reason="webhook")
    seen: Counter[str] = Counter()

    async def worker(name: str) -> None:
        while batch := await store.claim_dirty(name, limit=4, lease_seconds=300, now=NOW):
            for entry in batch:
                seen[entry.user_key] += 1
            await asyncio.sleep(0)
            await store.ack_dirty(name, [e.user_key for e in batch])

    await asyncio.gather(*(worker(f"w{n}") for n in range(6)))
    assert set(seen) == set(users)
    assert max(seen.values()) == 1
    assert await store.dirty_count() == 0


# -- notice outbox ---------------------------------------------------------------------


async def test_outbox_lifecycle_with_retry_and_final_failure(store: Store) -> None:
    report = await store.enqueue_notice(
        recipient="admin@contoso.com",
        channel="email",
        kind="job-report",
        subject="Sync all finished",
        payload={"synced": 41, "failed": [["bob@contoso.com", "no RingCentral user"]]},
        now=NOW,
    )
    chat = await store.enqueue_notice(
        recipient="aad-1", channel="chat", kind="synced", subject="", payload={}, now=NOW + 1
    )
    assert report.status is NoticeStatus.PENDING
    assert report.attempts == 0

    claimed = await store.claim_notices("d1", limit=10, lease_seconds=60, now=NOW + 2)
    assert [n.id for n in claimed] == [report.id, chat.id]
    assert all(n.attempts == 1 and n.claimed_by == "d1" for n in claimed)
    assert claimed[0].payload == report.payload
    assert await store.claim_notices("d2", limit=10, lease_seconds=60, now=NOW + 3) == []

    assert not await store.mark_notice_delivered(report.id, "d2", NOW + 4)  # not its claim
    assert await store.mark_notice_delivered(report.id, "d1", NOW + 4)
    assert await store.mark_notice_failed(
        chat.id, "d1", "bot not installed for user", retry_at=NOW + 300, now=NOW + 4
    )
    delivered = await store.get_notice(report.id)
    assert delivered is not None
    assert delivered.status is NoticeStatus.DELIVERED
    assert delivered.delivered_at == NOW + 4
    assert await store.claim_notices("d2", limit=10, lease_seconds=60, now=NOW + 299) == []
    [retry] = await store.claim_notices("d2", limit=10, lease_seconds=60, now=NOW + 300)
    assert retry.id == chat.id
    assert retry.attempts == 2
    assert retry.reason == "bot not installed for user"
    assert await store.mark_notice_failed(chat.id, "d2", "gave up", retry_at=None, now=NOW + 301)
    failed = await store.get_notice(chat.id)
    assert failed is not None
    assert failed.status is NoticeStatus.FAILED
    assert failed.reason == "gave up"
    assert await store.claim_notices("d3", limit=10, lease_seconds=60, now=NOW + 9999) == []
    assert [n.id for n in await store.list_notices()] == [chat.id, report.id]
    assert [n.id for n in await store.list_notices(status="failed")] == [chat.id]
    assert await store.get_notice("missing") is None


async def test_crashed_deliverer_releases_its_notices_after_the_lease(store: Store) -> None:
    notice = await store.enqueue_notice(
        recipient="a", channel="chat", kind="k", subject="s", payload={}, now=NOW
    )
    await store.claim_notices("d1", limit=1, lease_seconds=60, now=NOW)
    [again] = await store.claim_notices("d2", limit=1, lease_seconds=60, now=NOW + 60)
    assert again.id == notice.id
    assert again.attempts == 2
    assert not await store.mark_notice_delivered(notice.id, "d1", NOW + 61)


async def test_concurrent_notice_claimers_never_share_a_notice(store: Store) -> None:
    for n in range(30):
        await store.enqueue_notice(
            recipient=f"u{n}", channel="chat", kind="k", subject="", payload={}, now=NOW + n
        )
    seen: Counter[str] = Counter()

    async def deliverer(name: str) -> None:
        while batch := await store.claim_notices(name, limit=3, lease_seconds=300, now=NOW + 100):
            for notice in batch:
                seen[notice.id] += 1
                assert await store.mark_notice_delivered(notice.id, name, NOW + 100)

    await asyncio.gather(*(deliverer(f"d{n}") for n in range(5)))
    assert len(seen) == 30
    assert max(seen.values()) == 1
