"""SQLite operations on work queues: jobs, the dirty-user queue, notices, audit and leases.

Claims run inside the store's `BEGIN IMMEDIATE` transactions, which SQLite serialises across
every connection to the file, so two claimers can never take the same row.
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
from presence_sync.store.models import (
    AuditEntry,
    DirtyEntry,
    Job,
    JobFailure,
    JobStatus,
    Notice,
)
from presence_sync.store.sqlite_schema import (
    audit_from_row,
    dirty_from_row,
    job_from_row,
    notice_from_row,
)

# SQLite limits bound parameters per statement; keep IN lists well below it.
_IN_CHUNK = 500


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


# One row per user. Unclaimed: keep the most urgent priority and earliest due time. Claimed:
# park the mark in pending_* so ack_dirty requeues it instead of deleting the row.
_MARK_DIRTY = """
INSERT INTO dirty (user_key, priority, due_at, reason) VALUES (?, ?, ?, ?)
ON CONFLICT(user_key) DO UPDATE SET
    priority = CASE WHEN dirty.claimed_by IS NULL
        THEN MIN(dirty.priority, excluded.priority) ELSE dirty.priority END,
    due_at = CASE WHEN dirty.claimed_by IS NULL
        THEN MIN(dirty.due_at, excluded.due_at) ELSE dirty.due_at END,
    reason = CASE WHEN dirty.claimed_by IS NULL THEN excluded.reason ELSE dirty.reason END,
    pending_priority = CASE WHEN dirty.claimed_by IS NULL THEN dirty.pending_priority
        ELSE MIN(COALESCE(dirty.pending_priority, excluded.priority), excluded.priority) END,
    pending_due_at = CASE WHEN dirty.claimed_by IS NULL THEN dirty.pending_due_at
        ELSE MIN(COALESCE(dirty.pending_due_at, excluded.due_at), excluded.due_at) END,
    pending_reason = CASE WHEN dirty.claimed_by IS NULL THEN dirty.pending_reason
        ELSE excluded.reason END,
    remarked = CASE WHEN dirty.claimed_by IS NULL THEN 0 ELSE 1 END
"""


def mark_dirty(
    conn: sqlite3.Connection, user_key: str, priority: int, due_at: float, reason: str
) -> None:
    """Queue or merge a mark for one user."""
    conn.execute(_MARK_DIRTY, (user_key, priority, due_at, reason))


def claim_dirty(
    conn: sqlite3.Connection, owner: str, limit: int, lease_seconds: float, now: float
) -> list[DirtyEntry]:
    """Claim due entries, most urgent first."""
    keys = [
        row["user_key"]
        for row in conn.execute(
            "SELECT user_key FROM dirty WHERE due_at <= ? "
            "AND (claimed_by IS NULL OR claimed_until <= ?) "
            "ORDER BY priority, due_at, user_key LIMIT ?",
            (now, now, limit),
        )
    ]
    if not keys:
        return []
    marks = ", ".join("?" * len(keys))
    conn.execute(
        "UPDATE dirty SET claimed_by = ?, claimed_until = ?, remarked = 0, "
        "pending_priority = NULL, pending_due_at = NULL, pending_reason = NULL "
        f"WHERE user_key IN ({marks})",
        (owner, now + lease_seconds, *keys),
    )
    rows = conn.execute(
        f"SELECT * FROM dirty WHERE user_key IN ({marks}) ORDER BY priority, due_at, user_key",
        keys,
    ).fetchall()
    return [dirty_from_row(r) for r in rows]


def ack_dirty(conn: sqlite3.Connection, owner: str, keys: Sequence[str]) -> int:
    """Remove acknowledged entries; requeue those marked again while claimed."""
    removed = 0
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start : start + _IN_CHUNK]
        marks = ", ".join("?" * len(chunk))
        removed += conn.execute(
            f"DELETE FROM dirty WHERE claimed_by = ? AND remarked = 0 AND user_key IN ({marks})",
            (owner, *chunk),
        ).rowcount
        conn.execute(
            "UPDATE dirty SET priority = COALESCE(pending_priority, priority), "
            "due_at = COALESCE(pending_due_at, due_at), "
            "reason = COALESCE(pending_reason, reason), claimed_by = NULL, "
            "claimed_until = NULL, remarked = 0, pending_priority = NULL, "
            "pending_due_at = NULL, pending_reason = NULL "
            f"WHERE claimed_by = ? AND remarked = 1 AND user_key IN ({marks})",
            (owner, *chunk),
        )
    return removed


def enqueue_notice(
    conn: sqlite3.Connection,
    recipient: str,
    channel: str,
    kind: str,
    subject: str,
    payload: Mapping[str, Any],
    now: float,
) -> Notice:
    """Add a pending notice."""
    notice_id = uuid.uuid4().hex
    conn.execute(
        "INSERT INTO notices (id, recipient, channel, kind, subject, payload, status, "
        "attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
        (notice_id, recipient, channel, kind, subject, dumps(dict(payload)), now, now),
    )
    row = conn.execute("SELECT * FROM notices WHERE id = ?", (notice_id,)).fetchone()
    return notice_from_row(row)


def claim_notices(
    conn: sqlite3.Connection, owner: str, limit: int, lease_seconds: float, now: float
) -> list[Notice]:
    """Claim due pending notices, oldest first."""
    ids = [
        row["id"]
        for row in conn.execute(
            "SELECT id FROM notices WHERE status = 'pending' AND next_attempt_at <= ? "
            "AND (claimed_by IS NULL OR claimed_until <= ?) "
            "ORDER BY created_at, id LIMIT ?",
            (now, now, limit),
        )
    ]
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    conn.execute(
        "UPDATE notices SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1 "
        f"WHERE id IN ({marks})",
        (owner, now + lease_seconds, *ids),
    )
    rows = conn.execute(
        f"SELECT * FROM notices WHERE id IN ({marks}) ORDER BY created_at, id", ids
    ).fetchall()
    return [notice_from_row(r) for r in rows]


def settle_notice(
    conn: sqlite3.Connection,
    notice_id: str,
    owner: str,
    status: str,
    reason: str | None,
    retry_at: float | None,
    now: float,
) -> bool:
    """Record the outcome of a claimed delivery attempt."""
    cursor = conn.execute(
        "UPDATE notices SET status = ?, reason = ?, "
        "next_attempt_at = COALESCE(?, next_attempt_at), "
        "delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END, "
        "claimed_by = NULL, claimed_until = NULL "
        "WHERE id = ? AND claimed_by = ? AND status = 'pending'",
        (status, reason, retry_at, status, now, notice_id, owner),
    )
    return cursor.rowcount == 1


def list_notices(conn: sqlite3.Connection, status: str | None, limit: int) -> list[Notice]:
    """Notices, newest first."""
    where, args = ("WHERE status = ?", (status,)) if status else ("", ())
    rows = conn.execute(
        f"SELECT * FROM notices {where} ORDER BY created_at DESC, id DESC LIMIT ?",
        (*args, limit),
    ).fetchall()
    return [notice_from_row(r) for r in rows]


def append_audit(conn: sqlite3.Connection, entry: AuditEntry) -> AuditEntry:
    """Insert an audit entry."""
    cursor = conn.execute(
        "INSERT INTO audit (at, actor, action, user, details) VALUES (?, ?, ?, ?, ?)",
        (entry.at, entry.actor, entry.action, entry.user, dumps(dict(entry.details))),
    )
    row = conn.execute("SELECT * FROM audit WHERE id = ?", (cursor.lastrowid,)).fetchone()
    return audit_from_row(row)


def list_audit(conn: sqlite3.Connection, limit: int, before: float | None) -> list[AuditEntry]:
    """Audit entries newest first."""
    where, args = ("WHERE at < ?", (before,)) if before is not None else ("", ())
    rows = conn.execute(
        f"SELECT * FROM audit {where} ORDER BY at DESC, id DESC LIMIT ?", (*args, limit)
    ).fetchall()
    return [audit_from_row(r) for r in rows]


def acquire_lease(
    conn: sqlite3.Connection, name: str, owner: str, seconds: float, now: float
) -> bool:
    """Take a free or expired lease, or renew our own."""
    cursor = conn.execute(
        "INSERT INTO leases (name, owner, until) VALUES (?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, until = excluded.until "
        "WHERE leases.owner = excluded.owner OR leases.until <= ?",
        (name, owner, now + seconds, now),
    )
    return cursor.rowcount == 1
