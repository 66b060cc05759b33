"""Job cards that update in place: progress every few seconds, then the job's report.

When the bot answers with a job's card it tells `JobCards` the card's activity id; a loop
then rewrites that card through the connector (`update_activity`) while the job runs, no more
often than `every` seconds per card and within the bot's shared sending pace, and a last time
with the report once the job ends.
Tracked cards live in this replica's memory: after a restart a card stays as last written,
and `report` shows the job again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.core.cloud_adapter_base import CloudAdapterBase
from botbuilder.schema import ConversationReference
from msrest.exceptions import HttpOperationError

import bot.cards as cards
from bot.notify import Pacer
from presence_sync.admin import Admin
from presence_sync.errors import NotFoundError, PresenceSyncError

__all__ = ["JobCards"]

logger = logging.getLogger(__name__)

UPDATE_EVERY = 3.0  # seconds between two updates of one card
MAX_TRACKED = 200  # cards followed at once; older ones are left as last written


@dataclass
class _Tracked:
    job_id: str
    activity_id: str
    reference: ConversationReference
    last: dict[str, object] | None = None


class JobCards:
    """Follows job cards and rewrites them until their job ends."""

    def __init__(
        self,
        admin: Admin,
        adapter: CloudAdapterBase,
        bot_app_id: str,
        every: float = UPDATE_EVERY,
        pace: Pacer | None = None,
    ) -> None:
        self._admin = admin
        self._adapter = adapter
        self._bot_app_id = bot_app_id
        self._every = every
        # Shared with chat notices: card updates never outrun what the connector allows.
        self._pace = pace
        self._tracked: dict[str, _Tracked] = {}
        self._wake = asyncio.Event()

    async def track(self, turn_context: TurnContext, job_id: str, activity_id: str) -> None:
        """Follow the card `activity_id` just sent for `job_id`."""
        reference = TurnContext.get_conversation_reference(turn_context.activity)
        if len(self._tracked) >= MAX_TRACKED:
            self._tracked.pop(next(iter(self._tracked)))
        self._tracked[activity_id] = _Tracked(job_id, activity_id, reference)
        self._wake.set()

    @property
    def tracked(self) -> int:
        """Cards followed now."""
        return len(self._tracked)

    async def run(self) -> None:
        """Update every followed card each round until its job ends (the supervisor runs it)."""
        while True:
            if not self._tracked:
                self._wake.clear()
                await self._wake.wait()
            await asyncio.sleep(self._every)
            for tracked in list(self._tracked.values()):
                await self._update(tracked)

    async def _update(self, tracked: _Tracked) -> None:
        try:
            job = await self._admin.get_job(tracked.job_id)
        except NotFoundError:
            self._tracked.pop(tracked.activity_id, None)
            return
        card = cards.job_card(job)
        if job.finished_at is not None:
            self._tracked.pop(tracked.activity_id, None)
        if card == tracked.last:
            return
        activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
        activity.id = tracked.activity_id

        async def rewrite(turn_context: TurnContext) -> None:
            await turn_context.update_activity(activity)

        if self._pace is not None:
            await self._pace.wait()
        try:
            await self._adapter.continue_conversation(tracked.reference, rewrite, self._bot_app_id)
        except (PresenceSyncError, OSError, PermissionError, HttpOperationError) as err:
            logger.warning("could not update the card of job %s: %s", tracked.job_id, err)
            return
        tracked.last = card
