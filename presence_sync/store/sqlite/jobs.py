"""SQLite bulk jobs: one active job per kind (a partial unique index), leased claims.

The SQL functions take the connection and run on the store's worker thread; `SqliteJobs`
calls them, the writing ones inside a `BEGIN IMMEDIATE` transaction each.
"""

# SQL here is assembled only from constant fragments; values always travel as ? parameters.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from presence_sync.errors import ConflictError, NotFoundError
from presence_sync.store.codec import dumps, failures_to_list
from presence_sync.store.models import Job, JobFailure, JobStatus
from presence_sync.store.sqlite.database import SqliteDatabase
from presence_sync.store.sqlite.schema import job_from_row

__all__ = ["SqliteJobs"]


def _job(conn: sqlite3.Connection, job_id: str) -> Job:
    row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no job {job_id!r}")
    return job_from_row(row)


def get_job(conn: sqlite3.Connection, job_id: str) -> Job | None:
    """One job or None."""
    row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return job_from_row(row) if row else None


def create_job(
    conn: sqlite3.Connection,
    kind: str,
    requested_by: str,
    params: Mapping[str, Any],
    total: int,
    now: float,
) -> tuple[Job, bool]:
    """Insert a queued job unless one of that kind is active."""
    active = conn.execute(
        "SELECT * FROM jobs WHERE kind = ? AND status IN ('queued', 'running')", (kind,)
    ).fetchone()
    if active is not None:
        return job_from_row(active), False
    job_id = uuid.uuid4().hex
    conn.execute(
        "INSERT INTO jobs (id, kind, requested_by, status, total, processed, succeeded, "
        "skipped, failed, failures, cursor, params, created_at, updated_at) "
        "VALUES (?, ?, ?, 'queued', ?, 0, 0, 0, 0, '[]', NULL, ?, ?, ?)",
        (job_id, kind, requested_by, total, dumps(dict(params)), now, now),
    )
    return _job(conn, job_id), True


def claim_job(conn: sqlite3.Connection, owner: str, lease_seconds: float, now: float) -> Job | None:
    """Lease the oldest claimable job to `owner`."""
    row = conn.execute(
        "SELECT id FROM jobs WHERE status = 'queued' "
        "OR (status = 'running' AND (lease_until IS NULL OR lease_until <= ?)) "
        "ORDER BY created_at, id LIMIT 1",
        (now,),
    ).fetchone()
    if row is None:
        return None
    conn.execute(
        "UPDATE jobs SET status = 'running', lease_owner = ?, lease_until = ?, updated_at = ? "
        "WHERE id = ?",
        (owner, now + lease_seconds, now, row["id"]),
    )
    return _job(conn, row["id"])


def renew_job_lease(
    conn: sqlite3.Connection, job_id: str, owner: str, lease_seconds: float, now: float
) -> bool:
    """Extend a held lease."""
    cursor = conn.execute(
        "UPDATE jobs SET lease_until = ?, updated_at = ? "
        "WHERE id = ? AND status = 'running' AND lease_owner = ?",
        (now + lease_seconds, now, job_id, owner),
    )
    return cursor.rowcount == 1


def _held(conn: sqlite3.Connection, job_id: str, owner: str) -> Job:
    job = _job(conn, job_id)
    if job.status is not JobStatus.RUNNING or job.lease_owner != owner:
        raise ConflictError(
            f"job {job_id} is {job.status.value} and held by {job.lease_owner or 'nobody'}, "
            f"not {owner}"
        )
    return job


def progress_job(
    conn: sqlite3.Connection,
    job_id: str,
    owner: str,
    counts: tuple[int, int, int, int],
    failures: Sequence[JobFailure],
    cursor: str | None,
    total: int | None,
    now: float,
) -> Job:
    """Add to a held job's counters."""
    job = _held(conn, job_id, owner)
    processed, succeeded, skipped, failed = counts
    conn.execute(
        "UPDATE jobs SET processed = processed + ?, succeeded = succeeded + ?, "
        "skipped = skipped + ?, failed = failed + ?, failures = ?, cursor = ?, total = ?, "
        "updated_at = ? WHERE id = ?",
        (
            processed,
            succeeded,
            skipped,
            failed,
            dumps(failures_to_list([*job.failures, *failures])),
            cursor if cursor is not None else job.cursor,
            total if total is not None else job.total,
            now,
            job_id,
        ),
    )
    return _job(conn, job_id)


def finish_job(
    conn: sqlite3.Connection, job_id: str, owner: str, status: JobStatus, now: float
) -> Job:
    """End a held job."""
    if status not in (JobStatus.DONE, JobStatus.FAILED):
        raise ValueError("a job finishes as done or failed")
    _held(conn, job_id, owner)
    conn.execute(
        "UPDATE jobs SET status = ?, lease_owner = NULL, lease_until = NULL, "
        "finished_at = ?, updated_at = ? WHERE id = ?",
        (status.value, now, now, job_id),
    )
    return _job(conn, job_id)


def cancel_job(conn: sqlite3.Connection, job_id: str, now: float) -> Job:
    """Cancel an active job."""
    conn.execute(
        "UPDATE jobs SET status = 'cancelled', lease_owner = NULL, lease_until = NULL, "
        "finished_at = ?, updated_at = ? WHERE id = ? AND status IN ('queued', 'running')",
        (now, now, job_id),
    )
    return _job(conn, job_id)


def list_jobs(conn: sqlite3.Connection, kind: str | None, limit: int) -> list[Job]:
    """Jobs, newest first."""
    where, args = ("WHERE kind = ?", (kind,)) if kind else ("", ())
    rows = conn.execute(
        f"SELECT * FROM jobs {where} ORDER BY created_at DESC, id DESC LIMIT ?", (*args, limit)
    ).fetchall()
    return [job_from_row(r) for r in rows]


class SqliteJobs:
    """Bulk jobs in the `jobs` table."""

    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    async def create_job(
        self,
        kind: str,
        requested_by: str,
        *,
        params: Mapping[str, Any] | None = None,
        total: int = 0,
        now: float,
    ) -> tuple[Job, bool]:
        """Queue a job unless one of that kind is active."""
        return await self.db.write(create_job, kind, requested_by, params or {}, total, now)

    async def claim_job(self, owner: str, lease_seconds: float, now: float) -> Job | None:
        """Lease the oldest claimable job."""
        return await self.db.write(claim_job, owner, lease_seconds, now)

    async def renew_job_lease(
        self, job_id: str, owner: str, lease_seconds: float, now: float
    ) -> bool:
        """Extend a held job lease."""
        return await self.db.write(renew_job_lease, job_id, owner, lease_seconds, now)

    async def progress_job(
        self,
        job_id: str,
        owner: str,
        *,
        processed: int = 0,
        succeeded: int = 0,
        skipped: int = 0,
        failed: int = 0,
        failures: Sequence[JobFailure] = (),
        cursor: str | None = None,
        total: int | None = None,
        now: float,
    ) -> Job:
        """Add to a held job's counters."""
        counts = (processed, succeeded, skipped, failed)
        return await self.db.write(
            progress_job, job_id, owner, counts, failures, cursor, total, now
        )

    async def finish_job(
        self, job_id: str, owner: str, *, status: JobStatus = JobStatus.DONE, now: float
    ) -> Job:
        """End a held job."""
        return await self.db.write(finish_job, job_id, owner, JobStatus(status), now)

    async def cancel_job(self, job_id: str, now: float) -> Job:
        """Cancel an active job."""
        return await self.db.write(cancel_job, job_id, now)

    async def get_job(self, job_id: str) -> Job | None:
        """One job."""
        return await self.db.read(get_job, job_id)

    async def list_jobs(self, *, kind: str | None = None, limit: int = 20) -> list[Job]:
        """Recent jobs."""
        return await self.db.read(list_jobs, kind, limit)
