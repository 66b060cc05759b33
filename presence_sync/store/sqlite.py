"""`SqliteStore`: the embedded store (stdlib sqlite3, WAL), for a single replica.

All SQL runs on one dedicated worker thread holding one connection, so the event loop
never blocks on disk and operations of concurrent tasks never interleave inside a
transaction. Writes use `BEGIN IMMEDIATE`, which SQLite serialises across processes too,
so several store instances on one file stay correct (they wait up to `busy_timeout`).
"""

# SQL here is assembled only from constant fragments; values always travel as ? parameters.
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from presence_sync.errors import StoreError, StoreUnavailableError
from presence_sync.secrets import SecretBox
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
from presence_sync.store.sqlite_schema import connection_from_row, create_schema, notice_from_row

__all__ = ["SqliteStore"]

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
# Rows per write transaction in bulk upserts: large enough to amortise the commit, small
# enough that other tasks' writes are not held up for long.
UPSERT_BATCH = 5000


class SqliteStore:
    """The `Store` on a SQLite file (or ":memory:")."""

    def __init__(self, path: str | Path, secrets: SecretBox) -> None:
        self.path = str(path)
        self._box = secrets
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    # -- plumbing: the one seam where sqlite3 errors become store errors --------------

    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        # WAL with synchronous=NORMAL survives process crashes; only an OS crash can lose
        # the last transactions, and the product re-polls both sides after a restart.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            create_schema(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            conn.close()
            raise
        return conn

    async def _call(self, fn: Callable[[], T]) -> T:
        if self._executor is None or self._conn is None:
            raise StoreUnavailableError("the SQLite store is not open")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn)
        except sqlite3.OperationalError as err:
            raise StoreUnavailableError(f"SQLite store {self.path}: {err}") from err
        except sqlite3.Error as err:
            raise StoreError(f"SQLite store {self.path}: {err}") from err

    async def _read(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        conn = self._conn
        return await self._call(lambda: fn(conn, *args, **kwargs))  # type: ignore[arg-type]

    async def _write(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        conn = self._conn

        def transaction() -> T:
            assert conn is not None
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn, *args, **kwargs)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._call(transaction)

    # -- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        """Open the file, switch to WAL and create or migrate the schema."""
        if self._conn is not None:
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        loop = asyncio.get_running_loop()
        try:
            self._conn = await loop.run_in_executor(executor, self._connect)
        except (sqlite3.Error, OSError) as err:
            executor.shutdown(wait=False)
            raise StoreUnavailableError(f"cannot open SQLite store {self.path}: {err}") from err
        self._executor = executor
        logger.info("SQLite store open at %s", self.path)

    async def close(self) -> None:
        """Close the connection and stop the worker thread."""
        conn, executor = self._conn, self._executor
        self._conn, self._executor = None, None
        if executor is None:
            return
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
        executor.shutdown(wait=True)

    async def ping(self) -> None:
        """Answer when a trivial query runs."""
        await self._read(lambda conn: conn.execute("SELECT 1").fetchone())

    async def raw_row(self, table: str, key_column: str, key: str) -> dict[str, Any] | None:
        """A row exactly as stored (for checking what reaches the disk)."""

        def select(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute(f"SELECT * FROM {table} WHERE {key_column} = ?", (key,)).fetchone()
            return dict(row) if row else None

        return await self._read(select)

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
