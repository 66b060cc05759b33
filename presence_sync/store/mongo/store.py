"""`MongoStore`: the store on MongoDB, Azure Cosmos DB for MongoDB or FerretDB.

Only what all three support: single-document updates (conditional filters, `$inc`,
`$min`, upserts), unique indexes, `insert_many`/`bulk_write` and a `$group` count. No
transactions, TTL indexes or change streams: expiry is an explicit timestamp field.

The store is five parts (links, records, jobs, the dirty queue, the other queues) over one
`MongoDatabase`, which holds the client, the database handle and the in-process locks;
each `Store` operation is the bound method of the part that carries it out.
"""

from __future__ import annotations

from presence_sync.secrets import SecretBox
from presence_sync.store.bell import DirtyBell
from presence_sync.store.mongo.database import Conditions, MongoDatabase
from presence_sync.store.mongo.dirty import MongoDirtyQueue
from presence_sync.store.mongo.jobs import MongoJobs
from presence_sync.store.mongo.links import MongoLinks
from presence_sync.store.mongo.queues import MongoQueues
from presence_sync.store.mongo.records import MongoRecords

__all__ = ["MongoStore"]


class MongoStore:
    """The `Store` on a MongoDB-protocol server."""

    def __init__(
        self,
        uri: str,
        database: str,
        secrets: SecretBox,
        *,
        server_selection_timeout: float = 2.0,
        conditions: Conditions = "auto",
    ) -> None:
        self.database = db = MongoDatabase(
            uri,
            database,
            secrets,
            server_selection_timeout=server_selection_timeout,
            conditions=conditions,
        )
        self.bell = DirtyBell()
        self.open, self.close, self.ping = db.open, db.close, db.ping
        self.raw_document, self.drop_database, self.col = db.raw_document, db.drop_database, db.col

        links = MongoLinks(db)
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

        records = MongoRecords(db)
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

        jobs = MongoJobs(db)
        self.create_job = jobs.create_job
        self.claim_job = jobs.claim_job
        self.renew_job_lease = jobs.renew_job_lease
        self.progress_job = jobs.progress_job
        self.finish_job = jobs.finish_job
        self.cancel_job = jobs.cancel_job
        self.get_job = jobs.get_job
        self.list_jobs = jobs.list_jobs

        dirty = MongoDirtyQueue(db, self.bell)
        self.mark_dirty = dirty.mark_dirty
        self.claim_dirty = dirty.claim_dirty
        self.ack_dirty = dirty.ack_dirty
        self.dirty_count = dirty.dirty_count

        queues = MongoQueues(db)
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
        return f"MongoStore(database={self.database.database_name!r})"

    @property
    def uri(self) -> str:
        """The server's URI, as given."""
        return self.database.uri

    @property
    def database_name(self) -> str:
        """The database the store keeps its collections in."""
        return self.database.database_name

    @property
    def local_conditions(self) -> bool:
        """Whether conditional writes are checked in this process (FerretDB)."""
        return self.database.local_conditions
