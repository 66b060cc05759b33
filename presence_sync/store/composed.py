"""`ComposedStore`: a `Store` made of five parts, the shape both backends share.

Each backend builds its parts (links, records, jobs, the dirty queue, the other queues) over
one database handle of its own; every `Store` operation is then the bound method of the part
that carries it out, so nothing sits between a caller and the part.
"""

from __future__ import annotations

from presence_sync.store.base import DirtyStore, JobStore, LinkStore, QueueStore, RecordStore
from presence_sync.store.bell import DirtyBell
from presence_sync.store.models import Connection, OrgSettings
from presence_sync.store.recent import RecentRecords

__all__ = ["ComposedStore"]


class ComposedStore:
    """The `Store` operations of five parts, in one object (open, close and ping: subclasses)."""

    def __init__(
        self,
        bell: DirtyBell,
        links: LinkStore,
        records: RecordStore,
        jobs: JobStore,
        dirty: DirtyStore,
        queues: QueueStore,
    ) -> None:
        self.bell = bell
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
        self.observe_teams = links.observe_teams
        self.observe_rc = links.observe_rc
        self.mark_link_due = links.mark_link_due
        self.set_engine_state = links.set_engine_state
        self.due_links = links.due_links

        # Settings and connection records come from recent copies (`RecentRecords`); what
        # this object writes replaces them at once.
        self.recent = RecentRecords(records.get_settings, records.get_connection)
        self._records = records
        self.get_settings = self.recent.get_settings
        self.get_connection = self.recent.get_connection
        self.list_connections = records.list_connections
        self.put_subscription = records.put_subscription
        self.get_subscription = records.get_subscription
        self.list_subscriptions = records.list_subscriptions
        self.delete_subscription = records.delete_subscription
        self.list_expiring_subscriptions = records.list_expiring_subscriptions
        self.get_conversation_ref = records.get_conversation_ref
        self.put_conversation_ref = records.put_conversation_ref
        self.put_ephemeral = records.put_ephemeral
        self.take_ephemeral = records.take_ephemeral
        self.peek_ephemeral = records.peek_ephemeral
        self.count_start = records.count_start

        self.create_job = jobs.create_job
        self.claim_job = jobs.claim_job
        self.renew_job_lease = jobs.renew_job_lease
        self.progress_job = jobs.progress_job
        self.finish_job = jobs.finish_job
        self.cancel_job = jobs.cancel_job
        self.get_job = jobs.get_job
        self.list_jobs = jobs.list_jobs

        self.mark_dirty = dirty.mark_dirty
        self.claim_dirty = dirty.claim_dirty
        self.ack_dirty = dirty.ack_dirty
        self.dirty_count = dirty.dirty_count

        self.enqueue_notice = queues.enqueue_notice
        self.claim_notices = queues.claim_notices
        self.mark_notice_delivered = queues.mark_notice_delivered
        self.mark_notice_failed = queues.mark_notice_failed
        self.get_notice = queues.get_notice
        self.list_notices = queues.list_notices
        self.append_audit = queues.append_audit
        self.list_audit = queues.list_audit
        self.open_audit = queues.open_audit
        self.close_audit = queues.close_audit
        self.list_open_audit = queues.list_open_audit
        self.prune_audit = queues.prune_audit
        self.acquire_lease = queues.acquire_lease
        self.release_lease = queues.release_lease
        self.get_lease = queues.get_lease

    async def save_settings(self, settings: OrgSettings, expected_version: int) -> OrgSettings:
        """Save if the stored version is `expected_version` (checked by the store itself)."""
        saved = await self._records.save_settings(settings, expected_version)
        self.recent.saved_settings(saved)
        return saved

    async def put_connection(self, connection: Connection) -> None:
        """Create or replace a connection record."""
        self.recent.forget_connection(connection.kind)
        try:
            await self._records.put_connection(connection)
        finally:
            self.recent.forget_connection(connection.kind)

    async def delete_connection(self, kind: str) -> bool:
        """Remove a connection record; whether there was one."""
        self.recent.forget_connection(kind)
        try:
            return await self._records.delete_connection(kind)
        finally:
            self.recent.forget_connection(kind)
