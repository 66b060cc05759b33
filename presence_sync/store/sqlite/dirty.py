"""The SQLite dirty-user queue: one row per user, claims inside `BEGIN IMMEDIATE`.

SQLite serialises those transactions across every connection to the file, so two claimers
can never take the same row.
"""

# SQL here is assembled only from constant fragments; values always travel as ? parameters.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from presence_sync.store.bell import DirtyBell
from presence_sync.store.models import DirtyEntry
from presence_sync.store.sqlite.database import SqliteDatabase
from presence_sync.store.sqlite.schema import dirty_from_row

__all__ = ["SqliteDirtyQueue"]

# SQLite limits bound parameters per statement; keep IN lists well below it.
_IN_CHUNK = 500


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


class SqliteDirtyQueue:
    """The dirty-user queue in the `dirty` table; rings `bell` on each mark."""

    def __init__(self, db: SqliteDatabase, bell: DirtyBell) -> None:
        self.db = db
        self.bell = bell

    async def mark_dirty(self, user_key: str, *, priority: int, due_at: float, reason: str) -> None:
        """Queue or merge a mark for one user."""
        await self.db.write(mark_dirty, user_key, priority, due_at, reason)
        self.bell.ring(due_at)

    async def claim_dirty(
        self, owner: str, *, limit: int, lease_seconds: float, now: float
    ) -> list[DirtyEntry]:
        """Claim due entries."""
        return await self.db.write(claim_dirty, owner, limit, lease_seconds, now)

    async def ack_dirty(self, owner: str, keys: Iterable[str]) -> int:
        """Finish claimed entries."""
        return await self.db.write(ack_dirty, owner, list(keys))

    async def dirty_count(self) -> int:
        """Entries in the queue."""
        row = await self.db.read(lambda c: c.execute("SELECT COUNT(*) FROM dirty").fetchone())
        return int(row[0])
