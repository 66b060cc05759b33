"""The notice outbox delivery loop (DESIGN §5): Teams chat through the bot, or email.

Notices are written to the store's outbox by whoever has something to say; this loop claims
due ones, renders them and sends them. A failure never fails the sync that caused it: the
notice is retried with back-off a bounded number of times, and a notice that cannot be
delivered (refused recipient, unknown kind, attempts exhausted) keeps its reason for admins.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from presence_sync.errors import (
    GraphAuthError,
    NotFoundError,
    PresenceSyncError,
    StoreError,
)
from presence_sync.graph.errors import GraphRefusedError
from presence_sync.notices.texts import RenderedNotice, render
from presence_sync.providers import Providers
from presence_sync.store.base import Store
from presence_sync.store.models import Notice

__all__ = ["ChatSender", "NoticeDelivery", "UndeliverableError"]

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
FIRST_RETRY = 30.0
MAX_RETRY = 3600.0


class UndeliverableError(PresenceSyncError):
    """A notice can never be delivered as addressed; the message says why."""


class ChatSender(Protocol):
    """Delivers notices as Teams chat messages (the bot implements it: bot/notify.py)."""

    async def send(self, notice: Notice, rendered: RenderedNotice) -> None:
        """Send one notice to its recipient's chat; UndeliverableError if that is impossible."""
        ...


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones."""
    return float(min(MAX_RETRY, FIRST_RETRY * 2 ** max(0, attempts - 1)))


@dataclass
class NoticeDelivery:
    """Claims due notices and delivers them by email or chat."""

    store: Store
    providers: Providers
    owner: str
    clock: Callable[[], float]
    chat: ChatSender | None = None
    sender: str | None = None  # mailbox that sends email; default: the first sync account

    async def _mailbox(self) -> str:
        if self.sender:
            return self.sender
        accounts = await self.providers.sync_accounts()
        if not accounts:
            raise PresenceSyncError("no Microsoft sync account is connected to send email from")
        return accounts[0]

    async def _send(self, notice: Notice) -> None:
        try:
            rendered = render(notice.kind, notice.subject, notice.payload)
        except ValueError as err:
            raise UndeliverableError(str(err)) from err
        if notice.channel == "chat":
            try:
                if self.chat is None:
                    raise UndeliverableError("chat delivery is not configured (no Teams bot)")
                await self.chat.send(notice, rendered)
                return
            except UndeliverableError as err:
                if "@" not in notice.recipient:
                    raise
                # They are still told: by email, as before the bot existed.
                logger.info("notice %s goes by email: no chat (%s)", notice.id, err)
        elif notice.channel != "email":
            raise UndeliverableError(f"unknown channel {notice.channel!r}")
        graph = await self.providers.graph()
        try:
            await graph.send_mail(
                await self._mailbox(),
                [notice.recipient],
                rendered.subject,
                rendered.html,
                rendered.text,
            )
        except GraphRefusedError as err:
            raise UndeliverableError(f"Microsoft refused the mail: {err}") from err

    async def deliver_due(self, limit: int = 20) -> int:
        """Deliver the notices due now; how many were delivered."""
        now = self.clock()
        notices = await self.store.claim_notices(
            self.owner, limit=limit, lease_seconds=120.0, now=now
        )
        delivered = 0
        for notice in notices:
            try:
                await self._send(notice)
            except UndeliverableError as err:
                logger.warning("notice %s to %s undeliverable: %s", notice.id, notice.kind, err)
                await self.store.mark_notice_failed(
                    notice.id, self.owner, str(err), retry_at=None, now=self.clock()
                )
            except (PresenceSyncError, TimeoutError, OSError) as err:
                if isinstance(err, GraphAuthError):
                    await self.providers.report_failure("microsoft", err)
                reason = str(err) or type(err).__name__
                retry_at = None
                if notice.attempts < MAX_ATTEMPTS:
                    retry_at = self.clock() + retry_delay(notice.attempts)
                else:
                    reason = f"gave up after {notice.attempts} attempts: {reason}"
                logger.info("notice %s not delivered (%s)", notice.id, reason)
                await self.store.mark_notice_failed(
                    notice.id, self.owner, reason, retry_at=retry_at, now=self.clock()
                )
            else:
                if await self.store.mark_notice_delivered(notice.id, self.owner, self.clock()):
                    delivered += 1
        return delivered

    async def run(self, idle: float = 1.0) -> None:
        """Deliver until cancelled; store and provider trouble only pauses the loop.

        Anything unexpected ends the round: the server's supervisor restarts the loop.
        """
        while True:
            try:
                if await self.deliver_due():
                    continue
            except (StoreError, NotFoundError) as err:
                logger.warning("notice outbox unavailable: %s", err)
            await asyncio.sleep(idle)
