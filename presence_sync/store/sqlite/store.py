"""`SqliteStore`: the embedded store (stdlib sqlite3, WAL), for a single replica.

The store is five parts (links, records, jobs, the dirty queue, the other queues) over one
`SqliteDatabase`, which runs all SQL on one worker thread: reads directly, writes inside one
`BEGIN IMMEDIATE` transaction each. Each `Store` operation is the bound method of the part
that carries it out.
"""

from __future__ import annotations

from pathlib import Path

from presence_sync.secrets import SecretBox
from presence_sync.store.bell import DirtyBell
from presence_sync.store.sqlite.database import SqliteDatabase
from presence_sync.store.sqlite.dirty import SqliteDirtyQueue
from presence_sync.store.sqlite.jobs import SqliteJobs
from presence_sync.store.sqlite.links import SqliteLinks
from presence_sync.store.sqlite.queues import SqliteQueues
from presence_sync.store.sqlite.records import SqliteRecords

__all__ = ["SqliteStore"]


class SqliteStore:
    """The `Store` on a SQLite file (or ":memory:")."""

    def __init__(self, path: str | Path, secrets: SecretBox) -> None:
        self.database = db = SqliteDatabase(path, secrets)
        self.bell = DirtyBell()
        self.open, self.close, self.ping, self.raw_row = db.open, db.close, db.ping, db.raw_row

        links = SqliteLinks(db)
        self.upsert_links = links.upsert_links
        self.get_link = links.get_link
        self.get_link_by_teams_id = links.get_link_by_teams_id
        self.get_link_by_rc_extension = links.get_link_by_rc_extension
        self.get_link_by_email = links.get_link_by_email
        self.list_links = links.list_links
        self.count_links_by_state = links.count_links_by_state
        self.count_synced_links = links.count_synced_links
        self.update_link = links.update_link
        self.delete_link = links.delete_link
        self.record_teams_observation = links.record_teams_observation
        self.record_rc_observation = links.record_rc_observation
        self.set_engine_state = links.set_engine_state

        records = SqliteRecords(db)
        self.get_settings = records.get_settings
        self.save_settings = records.save_settings
        self.get_connection = records.get_connection
        self.put_connection = records.put_connection
        self.list_connections = records.list_connections
        self.delete_connection = records.delete_connection
        self.put_subscription = records.put_subscription
        self.get_subscription = records.get_subscription
        self.list_subscriptions = records.list_subscriptions
        self.delete_subscription = records.delete_subscription
        self.list_expiring_subscriptions = records.list_expiring_subscriptions
        self.get_conversation_ref = records.get_conversation_ref
        self.put_conversation_ref = records.put_conversation_ref
        self.put_ephemeral = records.put_ephemeral
        self.take_ephemeral = records.take_ephemeral

        jobs = SqliteJobs(db)
        self.create_job = jobs.create_job
        self.claim_job = jobs.claim_job
        self.renew_job_lease = jobs.renew_job_lease
        self.progress_job = jobs.progress_job
        self.finish_job = jobs.finish_job
        self.cancel_job = jobs.cancel_job
        self.get_job = jobs.get_job
        self.list_jobs = jobs.list_jobs

        dirty = SqliteDirtyQueue(db, self.bell)
        self.mark_dirty = dirty.mark_dirty
        self.claim_dirty = dirty.claim_dirty
        self.ack_dirty = dirty.ack_dirty
        self.dirty_count = dirty.dirty_count

        queues = SqliteQueues(db)
        self.enqueue_notice = queues.enqueue_notice
        self.claim_notices = queues.claim_notices
        self.mark_notice_delivered = queues.mark_notice_delivered
        self.mark_notice_failed = queues.mark_notice_failed
        self.get_notice = queues.get_notice
        self.list_notices = queues.list_notices
        self.append_audit = queues.append_audit
        self.list_audit = queues.list_audit
        self.prune_audit = queues.prune_audit
        self.acquire_lease = queues.acquire_lease
        self.release_lease = queues.release_lease
        self.get_lease = queues.get_lease

    def __repr__(self) -> str:
        return f"SqliteStore({self.database.path!r})"

    @property
    def path(self) -> str:
        """The database file (or ":memory:")."""
        return self.database.path
