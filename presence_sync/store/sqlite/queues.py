"""SQLite notices, audit and leases (the dirty-user queue is in `dirty`).

Claims run inside the store's `BEGIN IMMEDIATE` transactions, which SQLite serialises across
every connection to the file, so two claimers can never take the same row.
"""

# SQL here is assembled only from constant fragments; values always travel as ? parameters.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

from presence_sync.store.codec import audit_details_to_json, dumps
from presence_sync.store.models import AuditDetails, AuditEntry, Lease, Notice, NoticeStatus
from presence_sync.store.sqlite.database import SqliteDatabase
from presence_sync.store.sqlite.schema import audit_from_row, notice_from_row

__all__ = ["SqliteQueues"]

_OPEN: Final = 1  # an audit entry whose outcome is still to come
_PROVISIONAL: Final = 2  # closed by someone else (unknown); its writer may still close it


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


def append_audit(conn: sqlite3.Connection, entry: AuditEntry, open_: int | None) -> AuditEntry:
    """Insert an audit entry (`open_`: 1 while its outcome is still to come)."""
    details = audit_details_to_json(entry.details)
    cursor = conn.execute(
        "INSERT INTO audit (at, actor, action, user, details, open) VALUES (?, ?, ?, ?, ?, ?)",
        (entry.at, entry.actor, entry.action, entry.user, details, open_),
    )
    assert cursor.lastrowid is not None
    return replace(entry, id=str(cursor.lastrowid))


def close_audit(
    conn: sqlite3.Connection, entry_id: str, details: AuditDetails, final: bool
) -> bool:
    """Give an open (or provisionally closed) entry its details."""
    if not entry_id.isdigit():
        return False
    cursor = conn.execute(
        "UPDATE audit SET details = ?, open = ? WHERE id = ? AND open IS NOT NULL",
        (audit_details_to_json(details), None if final else _PROVISIONAL, int(entry_id)),
    )
    return cursor.rowcount == 1


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


class SqliteQueues:
    """The notice outbox, the audit log and named leases."""

    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    async def enqueue_notice(
        self,
        *,
        recipient: str,
        channel: str,
        kind: str,
        subject: str,
        payload: Mapping[str, Any],
        now: float,
    ) -> Notice:
        """Add a pending notice."""
        return await self.db.write(enqueue_notice, recipient, channel, kind, subject, payload, now)

    async def claim_notices(
        self, owner: str, *, limit: int, lease_seconds: float, now: float
    ) -> list[Notice]:
        """Claim due notices."""
        return await self.db.write(claim_notices, owner, limit, lease_seconds, now)

    async def mark_notice_delivered(self, notice_id: str, owner: str, now: float) -> bool:
        """Record a delivery."""
        return await self.db.write(
            settle_notice, notice_id, owner, NoticeStatus.DELIVERED.value, None, None, now
        )

    async def mark_notice_failed(
        self, notice_id: str, owner: str, reason: str, *, retry_at: float | None, now: float
    ) -> bool:
        """Record a failed attempt."""
        status = NoticeStatus.PENDING if retry_at is not None else NoticeStatus.FAILED
        return await self.db.write(
            settle_notice, notice_id, owner, status.value, reason, retry_at, now
        )

    async def get_notice(self, notice_id: str) -> Notice | None:
        """One notice."""
        row = await self.db.read(
            lambda c: c.execute("SELECT * FROM notices WHERE id = ?", (notice_id,)).fetchone()
        )
        return notice_from_row(row) if row else None

    async def list_notices(self, *, status: str | None = None, limit: int = 50) -> list[Notice]:
        """Recent notices."""
        return await self.db.read(list_notices, status, limit)

    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        """Record an audit entry."""
        return await self.db.write(append_audit, entry, None)

    async def open_audit(self, entry: AuditEntry) -> AuditEntry:
        """Record an entry whose outcome is still to come."""
        return await self.db.write(append_audit, entry, _OPEN)

    async def close_audit(
        self, entry_id: str, details: AuditDetails, *, final: bool = True
    ) -> bool:
        """Give an open entry new details; False if no open entry has that id."""
        return await self.db.write(close_audit, entry_id, details, final)

    async def list_open_audit(self, *, limit: int = 500) -> list[AuditEntry]:
        """Entries still open, oldest first."""
        rows = await self.db.read(
            lambda c: c.execute(
                "SELECT * FROM audit WHERE open = ? ORDER BY at, id LIMIT ?", (_OPEN, limit)
            ).fetchall()
        )
        return [audit_from_row(r) for r in rows]

    async def list_audit(self, *, limit: int = 50, before: float | None = None) -> list[AuditEntry]:
        """Audit entries newest first."""
        return await self.db.read(list_audit, limit, before)

    async def prune_audit(self, older_than: float) -> int:
        """Delete old audit entries."""
        cursor = await self.db.write(
            lambda c: c.execute("DELETE FROM audit WHERE at < ?", (older_than,))
        )
        return int(cursor.rowcount)

    async def acquire_lease(self, name: str, owner: str, seconds: float, now: float) -> bool:
        """Take or renew a lease."""
        return await self.db.write(acquire_lease, name, owner, seconds, now)

    async def release_lease(self, name: str, owner: str) -> bool:
        """Give a lease up."""
        cursor = await self.db.write(
            lambda c: c.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner))
        )
        return cursor.rowcount == 1

    async def get_lease(self, name: str) -> Lease | None:
        """The lease's holder."""
        row = await self.db.read(
            lambda c: c.execute("SELECT * FROM leases WHERE name = ?", (name,)).fetchone()
        )
        return Lease(row["name"], row["owner"], row["until"]) if row else None
