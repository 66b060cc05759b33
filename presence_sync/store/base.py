"""The `Store` protocol: everything the product persists, behind one async interface.

Two implementations pass one contract suite (`tests/store/`): `SqliteStore` (embedded,
one replica) and `MongoStore` (MongoDB, Cosmos DB for MongoDB, FerretDB). Times are epoch
seconds passed in by the caller wherever they decide an outcome (leases, claims, due
times), so callers and tests control the clock. Lookups answer None when nothing matches;
changes to a missing record raise `NotFoundError`; stale versions raise `ConflictError`;
an unreachable store raises `StoreUnavailableError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from presence_sync.store.bell import DirtyBell
from presence_sync.store.models import (
    AuditDetails,
    AuditEntry,
    Connection,
    DirtyEntry,
    Due,
    Job,
    JobFailure,
    JobStatus,
    Lease,
    LinkPage,
    LinkState,
    Notice,
    OrgSettings,
    RcObservation,
    StartRefusal,
    Subscription,
    TeamsObservation,
    UserLink,
)

__all__ = ["DirtyStore", "JobStore", "LinkStore", "QueueStore", "RecordStore", "Store"]


class LinkStore(Protocol):
    """User links: who is who on both platforms, with what was last seen of each."""

    async def upsert_links(self, links: Iterable[UserLink], now: float | None = None) -> int:
        """Insert or update links by id in batches; return how many were inserted or changed.

        New links are written whole. Existing links get their identity and matching fields
        (ids, names, email, state, reason) only: sync flag, last error, observations and
        engine state are left as they are.
        """

    async def get_link(self, link_id: str) -> UserLink | None:
        """The link with this internal id."""

    async def get_link_by_teams_id(self, teams_user_id: str) -> UserLink | None:
        """The link of this Teams (Entra object) id."""

    async def get_link_by_rc_extension(self, extension_id: str) -> UserLink | None:
        """The link of this RingCentral extension id."""

    async def get_link_by_email(self, email: str) -> UserLink | None:
        """The link whose normalised email matches `email` (case and spaces ignored)."""

    async def list_links(
        self,
        *,
        state: LinkState | None = None,
        sync_enabled: bool | None = None,
        search: str | None = None,
        after: str | None = None,
        limit: int = 100,
        failed: bool | None = None,
    ) -> LinkPage:
        """One page of links ordered by id; `search` matches email, UPN, mail or name;
        `failed` keeps only links whose last write failed (or only those whose did not)."""

    async def count_links_by_state(self) -> dict[str, int]:
        """How many links are in each state."""

    async def count_synced_links(self) -> int:
        """How many links have sync enabled."""

    async def update_link(self, link_id: str, now: float | None = None, **changes: Any) -> UserLink:
        """Change fields listed in `models.LINK_PATCHABLE`; return the updated link."""

    async def delete_link(self, link_id: str) -> bool:
        """Remove a link; False when there was none."""

    async def record_teams_observation(self, link_id: str, observation: TeamsObservation) -> bool:
        """Store Teams presence if newer than what is stored; True when it was applied.

        With a sequence, it applies only above the highest sequence seen (version order),
        so duplicates and late arrivals never overwrite newer state. Without one (a polled
        read) it applies when observed later than the stored observation.
        """

    async def record_rc_observation(self, link_id: str, observation: RcObservation) -> bool:
        """Store RingCentral presence if newer (same rules as Teams, integer sequences).

        A ``verified`` observation (a read confirmed its out-of-bounds number) applies
        whatever the stored sequence, unless the stored observation is newer, and its number
        becomes the stored sequence: RingCentral restarted its count, or a forged number is
        replaced by the genuine one.
        """

    async def observe_teams(
        self, link_id: str, observation: TeamsObservation, *, due_at: float | None = None
    ) -> UserLink | None:
        """`record_teams_observation` that answers the link as written (None: not newer).

        With `due_at`, an applied observation also makes the link due by then (the earlier of
        that and its stored due time), in the same write: an observation is never stored
        without the mark that gets it decided on, even if the process stops next.
        """

    async def observe_rc(
        self, link_id: str, observation: RcObservation, *, due_at: float | None = None
    ) -> UserLink | None:
        """`record_rc_observation` that answers the link as written (None: not newer)."""

    async def mark_link_due(self, link_id: str, due_at: float) -> None:
        """Make the link due by `due_at` (the earlier of that and its stored due time)."""

    async def set_engine_state(
        self,
        link_id: str,
        state: Mapping[str, Any],
        expected_version: int,
        due: Due | None = None,
    ) -> int:
        """Replace the engine's state if its version is still `expected_version`; new version.

        With `due`, the link's due time moves with it in the same write (see `Due`).
        """

    async def due_links(self, before: float, limit: int) -> list[tuple[str, float]]:
        """Links due at or before `before`, earliest first: (link id, due time)."""


class RecordStore(Protocol):
    """Settings, connections, subscriptions, conversation references, ephemeral records."""

    async def get_settings(self) -> OrgSettings:
        """The organisation's settings (defaults with version 0 when never saved)."""

    async def save_settings(self, settings: OrgSettings, expected_version: int) -> OrgSettings:
        """Save if the stored version is `expected_version`; the saved settings, version + 1."""

    # -- connections ------------------------------------------------------------------

    async def get_connection(self, kind: str) -> Connection | None:
        """The connection of this kind, secret opened."""

    async def put_connection(self, connection: Connection) -> None:
        """Create or replace a connection; its secret is sealed at rest."""

    async def list_connections(self) -> list[Connection]:
        """Every connection, ordered by kind."""

    async def delete_connection(self, kind: str) -> bool:
        """Forget a connection; False when there was none."""

    # -- subscriptions ----------------------------------------------------------------

    async def put_subscription(self, subscription: Subscription) -> None:
        """Create or replace a subscription; its client state is sealed at rest."""

    async def get_subscription(self, provider: str, subscription_id: str) -> Subscription | None:
        """One subscription."""

    async def list_subscriptions(self, provider: str | None = None) -> list[Subscription]:
        """Subscriptions, optionally of one provider, ordered by expiry."""

    async def delete_subscription(self, provider: str, subscription_id: str) -> bool:
        """Forget a subscription; False when there was none."""

    async def list_expiring_subscriptions(self, before: float) -> list[Subscription]:
        """Subscriptions expiring before `before`, soonest first."""

    # -- conversation references ------------------------------------------------------

    async def get_conversation_ref(self, user_id: str) -> dict[str, Any] | None:
        """The bot's conversation reference for a user."""

    async def put_conversation_ref(self, user_id: str, reference: Mapping[str, Any]) -> None:
        """Remember the bot's conversation reference for a user."""

    # -- ephemeral records: short-lived, single-use (OAuth states and flows) -------------

    async def put_ephemeral(self, key: str, value: Mapping[str, Any], expires_at: float) -> None:
        """Keep `value` (sealed with the secret key) under `key` until `expires_at`."""
        ...

    async def take_ephemeral(self, key: str, now: float) -> dict[str, Any] | None:
        """Read and delete `key` atomically; None when missing, expired or already taken."""
        ...

    async def peek_ephemeral(self, key: str, now: float) -> dict[str, Any] | None:
        """Read `key` and leave it; None when missing or expired (tab sessions)."""
        ...

    # -- start counts: how many sign-ins a caller started lately, across every replica ---

    async def count_start(
        self, scope: str, key: str, *, limit: int, most: int, now: float, until: float
    ) -> StartRefusal | None:
        """Count one start by `key` in `scope`, lasting until `until`; None when counted.

        Refused when `key` has `limit` starts lasting past `now`, or when `key` has none and
        the scope already holds `most` (a new caller while the scope is full: `busy`). Starts
        that ended are deleted. Concurrent counts, from any replica, never let more than
        `limit` through; under contention they may refuse one that would have fit.
        """
        ...


class JobStore(Protocol):
    """Bulk jobs that survive restarts: one active job per kind, run under a lease."""

    async def create_job(
        self,
        kind: str,
        requested_by: str,
        *,
        params: Mapping[str, Any] | None = None,
        total: int = 0,
        now: float,
    ) -> tuple[Job, bool]:
        """Queue a job, or return the active job of that kind; True when created."""

    async def claim_job(self, owner: str, lease_seconds: float, now: float) -> Job | None:
        """Take the oldest queued job, or a running one whose lease ran out."""

    async def renew_job_lease(
        self, job_id: str, owner: str, lease_seconds: float, now: float
    ) -> bool:
        """Extend the lease of a running job held by `owner`; False if it was lost."""

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
        """Add to the counters and failures and move the cursor, atomically.

        Raises `ConflictError` when `owner` no longer holds the job (cancelled, finished or
        taken over after its lease ran out), telling the worker to stop.
        """

    async def finish_job(
        self, job_id: str, owner: str, *, status: JobStatus = JobStatus.DONE, now: float
    ) -> Job:
        """End a running job held by `owner` as done or failed."""

    async def cancel_job(self, job_id: str, now: float) -> Job:
        """Cancel a queued or running job; a finished job is returned unchanged."""

    async def get_job(self, job_id: str) -> Job | None:
        """One job."""

    async def list_jobs(self, *, kind: str | None = None, limit: int = 20) -> list[Job]:
        """Recent jobs, newest first."""


class DirtyStore(Protocol):
    """The dirty-user queue: who needs reconciling, and how urgently."""

    async def mark_dirty(self, user_key: str, *, priority: int, due_at: float, reason: str) -> None:
        """Queue a user for reconciliation; one entry per user keeps the most urgent mark.

        A mark that arrives while the user is claimed is kept aside and becomes the entry
        when the claim is acknowledged, so work requested during processing is not lost.
        """

    async def claim_dirty(
        self, owner: str, *, limit: int, lease_seconds: float, now: float
    ) -> list[DirtyEntry]:
        """Claim up to `limit` due entries, most urgent first; no entry goes to two owners."""

    async def ack_dirty(self, owner: str, keys: Iterable[str]) -> int:
        """Finish claimed entries; how many were removed (re-marked ones are requeued)."""

    async def dirty_count(self) -> int:
        """Entries in the queue, claimed or not."""


class QueueStore(Protocol):
    """The notice outbox, the audit log and named leases."""

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
        """Put a notice in the outbox for delivery."""

    async def claim_notices(
        self, owner: str, *, limit: int, lease_seconds: float, now: float
    ) -> list[Notice]:
        """Claim pending notices that are due, oldest first; counts an attempt each."""

    async def mark_notice_delivered(self, notice_id: str, owner: str, now: float) -> bool:
        """Record delivery by the claim holder; False if the claim was lost."""

    async def mark_notice_failed(
        self, notice_id: str, owner: str, reason: str, *, retry_at: float | None, now: float
    ) -> bool:
        """Record a failed attempt: retry at `retry_at`, or give up when it is None."""

    async def get_notice(self, notice_id: str) -> Notice | None:
        """One notice."""

    async def list_notices(self, *, status: str | None = None, limit: int = 50) -> list[Notice]:
        """Notices, newest first, optionally of one status."""

    # -- audit ------------------------------------------------------------------------

    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        """Record an entry; returned with its id."""

    async def list_audit(self, *, limit: int = 50, before: float | None = None) -> list[AuditEntry]:
        """Entries newest first, optionally only those before `before`."""

    async def open_audit(self, entry: AuditEntry) -> AuditEntry:
        """Record an entry whose outcome is still to come (a write about to be sent).

        It reads like any other entry, and stays open until `close_audit` gives it its final
        details; one a stopped process left open is found by `list_open_audit`.
        """

    async def close_audit(
        self, entry_id: str, details: AuditDetails, *, final: bool = True
    ) -> bool:
        """Give an open entry new details; False if no open entry has that id.

        With ``final=False`` the entry stays closable: an outcome noted by someone other than
        its writer (unknown, after a restart) gives way to the writer's own, if it comes.
        """

    async def list_open_audit(self, *, limit: int = 500) -> list[AuditEntry]:
        """Entries still open (never closed, not even provisionally), oldest first."""

    async def prune_audit(self, older_than: float) -> int:
        """Delete entries before `older_than`; how many were deleted."""

    # -- leases -----------------------------------------------------------------------

    async def acquire_lease(self, name: str, owner: str, seconds: float, now: float) -> bool:
        """Take or renew a named lease; False while someone else holds it."""

    async def release_lease(self, name: str, owner: str) -> bool:
        """Give a lease up; False unless `owner` held it."""

    async def get_lease(self, name: str) -> Lease | None:
        """The current holder of a lease, expired or not."""


class Store(LinkStore, RecordStore, JobStore, DirtyStore, QueueStore, Protocol):
    """Persistence for links, settings, connections, subscriptions, jobs and queues."""

    bell: DirtyBell
    """Rings after each `mark_dirty` made through this store object (in-process wake-up)."""

    async def open(self) -> None:
        """Connect and create the schema and indexes; safe to call again after a failure."""

    async def close(self) -> None:
        """Release connections; safe to call when never opened."""

    async def ping(self) -> None:
        """Return when the store answers; raise `StoreUnavailableError` with the reason."""
