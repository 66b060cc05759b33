"""`SqliteStore`: the embedded store (stdlib sqlite3, WAL), for a single replica.

Every method runs its SQL through `SqliteBase`: reads directly, writes inside one
`BEGIN IMMEDIATE` transaction each. The SQL itself lives in `sqlite_records` and
`sqlite_queues`.
"""

# SQL here is assembled only from constant fragments; values always travel as ? parameters.

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from presence_sync.store import sqlite_queues as queues
from presence_sync.store import sqlite_records as records
from presence_sync.store.codec import dumps
from presence_sync.store.models import (
    AuditEntry,
    Connection,
    DirtyEntry,
    Job,
    JobFailure,
    JobStatus,
    Lease,
    LinkPage,
    LinkState,
    Notice,
    NoticeStatus,
    OrgSettings,
    RcObservation,
    Subscription,
    TeamsObservation,
    UserLink,
    normalise_email,
)
from presence_sync.store.sqlite_base import SqliteBase
from presence_sync.store.sqlite_schema import connection_from_row, notice_from_row

__all__ = ["SqliteStore"]

# Rows per write transaction in bulk upserts: large enough to amortise the commit, small
# enough that other tasks' writes are not held up for long.
UPSERT_BATCH = 5000


class SqliteStore(SqliteBase):
    """The `Store` on a SQLite file (or ":memory:")."""

    # -- links -------------------------------------------------------------------------

    async def upsert_links(self, links: Iterable[UserLink], now: float | None = None) -> int:
        """Insert or refresh links, one transaction per batch."""
        stamp = time.time() if now is None else now
        batch: list[UserLink] = []
        written = 0
        for link in links:
            batch.append(link)
            if len(batch) >= UPSERT_BATCH:
                written += await self._write(records.upsert_links, batch, stamp)
                batch = []
        if batch:
            written += await self._write(records.upsert_links, batch, stamp)
        return written

    async def get_link(self, link_id: str) -> UserLink | None:
        """The link with this id."""
        return await self._read(records.get_link_where, "id", link_id)

    async def get_link_by_teams_id(self, teams_user_id: str) -> UserLink | None:
        """The link of this Teams user."""
        return await self._read(records.get_link_where, "teams_user_id", teams_user_id)

    async def get_link_by_rc_extension(self, extension_id: str) -> UserLink | None:
        """The link of this RingCentral extension."""
        return await self._read(records.get_link_where, "rc_extension_id", extension_id)

    async def get_link_by_email(self, email: str) -> UserLink | None:
        """The link with this normalised email."""
        return await self._read(records.get_link_where, "email", normalise_email(email))

    async def list_links(
        self,
        *,
        state: LinkState | None = None,
        sync_enabled: bool | None = None,
        search: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> LinkPage:
        """A page of links by id."""
        return await self._read(records.list_links, state, sync_enabled, search, after, limit)

    async def count_links_by_state(self) -> dict[str, int]:
        """Links per state."""
        return await self._read(records.count_links_by_state)

    async def count_synced_links(self) -> int:
        """Links with sync enabled."""
        row = await self._read(
            lambda c: c.execute("SELECT COUNT(*) FROM links WHERE sync_enabled = 1").fetchone()
        )
        return int(row[0])

    async def update_link(self, link_id: str, now: float | None = None, **changes: Any) -> UserLink:
        """Patch one link."""
        stamp = time.time() if now is None else now
        return await self._write(records.update_link, link_id, changes, stamp)

    async def delete_link(self, link_id: str) -> bool:
        """Remove one link."""
        cursor = await self._write(
            lambda c: c.execute("DELETE FROM links WHERE id = ?", (link_id,))
        )
        return cursor.rowcount == 1

    async def record_teams_observation(self, link_id: str, observation: TeamsObservation) -> bool:
        """Store Teams presence if newer."""
        return await self._write(records.record_teams, link_id, observation)

    async def record_rc_observation(self, link_id: str, observation: RcObservation) -> bool:
        """Store RingCentral presence if newer."""
        return await self._write(records.record_rc, link_id, observation)

    async def set_engine_state(
        self, link_id: str, state: Mapping[str, Any], expected_version: int
    ) -> int:
        """Replace engine state under optimistic concurrency."""
        return await self._write(records.set_engine_state, link_id, state, expected_version)

    # -- settings, connections, subscriptions, references ------------------------------

    async def get_settings(self) -> OrgSettings:
        """Stored settings or defaults."""
        return await self._read(records.get_settings)

    async def save_settings(self, settings: OrgSettings, expected_version: int) -> OrgSettings:
        """Save settings under optimistic concurrency."""
        return await self._write(records.save_settings, settings, expected_version)

    async def get_connection(self, kind: str) -> Connection | None:
        """One connection."""
        row = await self._read(
            lambda c: c.execute("SELECT * FROM connections WHERE kind = ?", (kind,)).fetchone()
        )
        return connection_from_row(row, self._box) if row else None

    async def put_connection(self, connection: Connection) -> None:
        """Create or replace a connection."""
        await self._write(records.put_connection, connection, self._box)

    async def list_connections(self) -> list[Connection]:
        """All connections."""
        return await self._read(records.list_connections, self._box)

    async def delete_connection(self, kind: str) -> bool:
        """Forget a connection."""
        cursor = await self._write(
            lambda c: c.execute("DELETE FROM connections WHERE kind = ?", (kind,))
        )
        return cursor.rowcount == 1

    async def put_subscription(self, subscription: Subscription) -> None:
        """Create or replace a subscription."""
        await self._write(records.put_subscription, subscription, self._box)

    async def get_subscription(self, provider: str, subscription_id: str) -> Subscription | None:
        """One subscription."""
        found = await self._read(
            records.select_subscriptions,
            self._box,
            "WHERE provider = ? AND id = ?",
            (provider, subscription_id),
        )
        return found[0] if found else None

    async def list_subscriptions(self, provider: str | None = None) -> list[Subscription]:
        """Subscriptions by expiry."""
        where, args = ("WHERE provider = ?", (provider,)) if provider else ("", ())
        return await self._read(records.select_subscriptions, self._box, where, args)

    async def delete_subscription(self, provider: str, subscription_id: str) -> bool:
        """Forget a subscription."""
        cursor = await self._write(
            lambda c: c.execute(
                "DELETE FROM subscriptions WHERE provider = ? AND id = ?",
                (provider, subscription_id),
            )
        )
        return cursor.rowcount == 1

    async def list_expiring_subscriptions(self, before: float) -> list[Subscription]:
        """Subscriptions expiring before `before`."""
        return await self._read(
            records.select_subscriptions, self._box, "WHERE expires_at < ?", (before,)
        )

    async def get_conversation_ref(self, user_id: str) -> dict[str, Any] | None:
        """The bot's reference for a user."""
        row = await self._read(
            lambda c: c.execute(
                "SELECT reference FROM conversation_refs WHERE user_id = ?", (user_id,)
            ).fetchone()
        )
        return dict(json.loads(row[0])) if row else None

    async def put_conversation_ref(self, user_id: str, reference: Mapping[str, Any]) -> None:
        """Remember the bot's reference for a user."""
        body = dumps(dict(reference))
        await self._write(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO conversation_refs (user_id, reference, updated_at) "
                "VALUES (?, ?, ?)",
                (user_id, body, time.time()),
            )
        )

    # -- jobs --------------------------------------------------------------------------

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
        return await self._write(queues.create_job, kind, requested_by, params or {}, total, now)

    async def claim_job(self, owner: str, lease_seconds: float, now: float) -> Job | None:
        """Lease the oldest claimable job."""
        return await self._write(queues.claim_job, owner, lease_seconds, now)

    async def renew_job_lease(
        self, job_id: str, owner: str, lease_seconds: float, now: float
    ) -> bool:
        """Extend a held job lease."""
        return await self._write(queues.renew_job_lease, job_id, owner, lease_seconds, now)

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
        return await self._write(
            queues.progress_job, job_id, owner, counts, failures, cursor, total, now
        )

    async def finish_job(
        self, job_id: str, owner: str, *, status: JobStatus = JobStatus.DONE, now: float
    ) -> Job:
        """End a held job."""
        return await self._write(queues.finish_job, job_id, owner, JobStatus(status), now)

    async def cancel_job(self, job_id: str, now: float) -> Job:
        """Cancel an active job."""
        return await self._write(queues.cancel_job, job_id, now)

    async def get_job(self, job_id: str) -> Job | None:
        """One job."""
        return await self._read(queues.get_job, job_id)

    async def list_jobs(self, *, kind: str | None = None, limit: int = 20) -> list[Job]:
        """Recent jobs."""
        return await self._read(queues.list_jobs, kind, limit)

    # -- dirty queue -------------------------------------------------------------------

    async def mark_dirty(self, user_key: str, *, priority: int, due_at: float, reason: str) -> None:
        """Queue or merge a mark for one user."""
        await self._write(queues.mark_dirty, user_key, priority, due_at, reason)
        self.bell.ring(due_at)

    async def claim_dirty(
        self, owner: str, *, limit: int, lease_seconds: float, now: float
    ) -> list[DirtyEntry]:
        """Claim due entries."""
        return await self._write(queues.claim_dirty, owner, limit, lease_seconds, now)

    async def ack_dirty(self, owner: str, keys: Iterable[str]) -> int:
        """Finish claimed entries."""
        return await self._write(queues.ack_dirty, owner, list(keys))

    async def dirty_count(self) -> int:
        """Entries in the queue."""
        row = await self._read(lambda c: c.execute("SELECT COUNT(*) FROM dirty").fetchone())
        return int(row[0])

    # -- notices -----------------------------------------------------------------------

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
        return await self._write(
            queues.enqueue_notice, recipient, channel, kind, subject, payload, now
        )

    async def claim_notices(
        self, owner: str, *, limit: int, lease_seconds: float, now: float
    ) -> list[Notice]:
        """Claim due notices."""
        return await self._write(queues.claim_notices, owner, limit, lease_seconds, now)

    async def mark_notice_delivered(self, notice_id: str, owner: str, now: float) -> bool:
        """Record a delivery."""
        return await self._write(
            queues.settle_notice, notice_id, owner, NoticeStatus.DELIVERED.value, None, None, now
        )

    async def mark_notice_failed(
        self, notice_id: str, owner: str, reason: str, *, retry_at: float | None, now: float
    ) -> bool:
        """Record a failed attempt."""
        status = NoticeStatus.PENDING if retry_at is not None else NoticeStatus.FAILED
        return await self._write(
            queues.settle_notice, notice_id, owner, status.value, reason, retry_at, now
        )

    async def get_notice(self, notice_id: str) -> Notice | None:
        """One notice."""
        row = await self._read(
            lambda c: c.execute("SELECT * FROM notices WHERE id = ?", (notice_id,)).fetchone()
        )
        return notice_from_row(row) if row else None

    async def list_notices(self, *, status: str | None = None, limit: int = 50) -> list[Notice]:
        """Recent notices."""
        return await self._read(queues.list_notices, status, limit)

    # -- audit, leases -----------------------------------------------------------------

    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        """Record an audit entry."""
        return await self._write(queues.append_audit, entry)

    async def list_audit(self, *, limit: int = 50, before: float | None = None) -> list[AuditEntry]:
        """Audit entries newest first."""
        return await self._read(queues.list_audit, limit, before)

    async def prune_audit(self, older_than: float) -> int:
        """Delete old audit entries."""
        cursor = await self._write(
            lambda c: c.execute("DELETE FROM audit WHERE at < ?", (older_than,))
        )
        return int(cursor.rowcount)

    async def acquire_lease(self, name: str, owner: str, seconds: float, now: float) -> bool:
        """Take or renew a lease."""
        return await self._write(queues.acquire_lease, name, owner, seconds, now)

    async def release_lease(self, name: str, owner: str) -> bool:
        """Give a lease up."""
        cursor = await self._write(
            lambda c: c.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner))
        )
        return cursor.rowcount == 1

    async def get_lease(self, name: str) -> Lease | None:
        """The lease's holder."""
        row = await self._read(
            lambda c: c.execute("SELECT * FROM leases WHERE name = ?", (name,)).fetchone()
        )
        return Lease(row["name"], row["owner"], row["until"]) if row else None

    # -- ephemeral records -----------------------------------------------------------------

    async def put_ephemeral(self, key: str, value: Mapping[str, Any], expires_at: float) -> None:
        """Keep `value` (sealed) under `key` until `expires_at`; drops expired records."""
        sealed = self._box.encrypt(dumps(dict(value)))

        def put(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM ephemeral WHERE expires_at <= ?", (time.time(),))
            conn.execute(
                "INSERT INTO ephemeral (key, value, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
                "expires_at = excluded.expires_at",
                (key, sealed, expires_at),
            )

        await self._write(put)

    async def take_ephemeral(self, key: str, now: float) -> dict[str, Any] | None:
        """Read and delete `key` in one statement; None when missing, expired or taken."""
        row = await self._write(
            lambda c: c.execute(
                "DELETE FROM ephemeral WHERE key = ? RETURNING value, expires_at", (key,)
            ).fetchone()
        )
        if row is None or row["expires_at"] <= now:
            return None
        loaded: dict[str, Any] = json.loads(self._box.decrypt_text(row["value"]))
        return loaded
