"""Notices in Teams chat: the outbox's chat channel, delivered by the bot.

A person is written to in their 1:1 chat with the bot. Without a stored conversation
reference the Teams app is first installed for them through Graph (when TEAMS_APP_ID is set
and BOT_INSTALL_APP is on) and the chat opened through the connector; otherwise the notice
fails with the reason and the outbox sends it by email instead.

Sending is paced across the organisation (BOT_MESSAGES_PER_SECOND, BOT_INSTALLS_PER_SECOND),
a 429 from the connector is waited out as its Retry-After says (a bounded number of times),
and nothing here ever fails a sync: the outbox retries with back-off and records failures.

The connector's errors are read in one place (`_connector_error`): the rest of the module
sees `ConnectorThrottledError` and `UndeliverableError` only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.core.cloud_adapter_base import CloudAdapterBase
from botbuilder.schema import ChannelAccount, ConversationParameters, ConversationReference
from msrest.exceptions import ClientException, HttpOperationError

import bot.cards as cards
from presence_sync.admin import JobView
from presence_sync.connections.records import ADMINS_ROLE, HEALTH_ALERT
from presence_sync.errors import PresenceSyncError, ProviderError
from presence_sync.notices.delivery import UndeliverableError
from presence_sync.notices.texts import JOB_REPORT, USER_SYNCED, USER_UNSYNCED, RenderedNotice
from presence_sync.providers import Providers
from presence_sync.settings import Settings
from presence_sync.store.base import Store
from presence_sync.store.models import Notice

__all__ = ["ChatNotices", "ConnectorThrottledError", "Pacer"]

logger = logging.getLogger(__name__)

MAX_THROTTLED_RETRIES = 3
MAX_RETRY_AFTER = 60.0
INSTALL_WAIT = 5.0  # seconds to wait for Teams' installationUpdate after installing
INSTALL_POLL = 0.25
SERVICE_URL_KEY = "bot:service-url"  # where the last seen channel serviceUrl is kept


class ConnectorThrottledError(ProviderError):
    """The Bot Connector answered 429; `retry_after` is how long it asked us to wait."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Pacer:
    """At most `rate` starts a second across every caller (one shared token interval)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("a pace must be positive")
        self._interval = 1.0 / rate
        self._clock = clock
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Return once this caller may start."""
        async with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            await asyncio.sleep(start - now)


def _connector_error(err: ClientException) -> PresenceSyncError:
    if not isinstance(err, HttpOperationError):
        return ProviderError(f"the Bot Connector is unreachable: {err}")
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None)
    if status == 429:
        headers = getattr(response, "headers", None) or {}
        try:
            retry_after = float(headers.get("Retry-After", 1))
        except (TypeError, ValueError):
            retry_after = 1.0
        return ConnectorThrottledError("Teams is throttling the bot", retry_after)
    if status in (403, 404):
        return UndeliverableError(f"Teams refused the chat ({status}): {err}")
    return ProviderError(f"the Bot Connector failed: {err}")


def _message(card: cards.Card) -> Any:
    return MessageFactory.attachment(CardFactory.adaptive_card(card))


def notice_card(notice: Notice, rendered: RenderedNotice) -> cards.Card:
    """The card a notice is sent as (its rendered text for kinds without a card)."""
    payload: Mapping[str, Any] = notice.payload
    if notice.kind == USER_SYNCED:
        return cards.synced_notice_card()
    if notice.kind == USER_UNSYNCED:
        return cards.unsynced_notice_card(payload.get("reason"))
    if notice.kind == HEALTH_ALERT:
        label = str(payload.get("label") or payload.get("connection") or "A connection")
        if payload.get("state") == "recovered":
            return cards.recovered_card(label, payload.get("note"))
        return cards.alert_card(label, str(payload.get("reason") or ""), payload.get("fix"))
    return cards.text_card(rendered.subject, rendered.text)


class ChatNotices:
    """Implements the outbox's `ChatSender` with the bot's adapter."""

    def __init__(
        self,
        adapter: CloudAdapterBase,
        settings: Settings,
        store: Store,
        providers: Providers,
        *,
        messages: Pacer | None = None,
        installs: Pacer | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self._adapter = adapter
        self._settings = settings
        self._store = store
        self._providers = providers
        self._messages = messages or Pacer(settings.bot_messages_per_second)
        self._installs = installs or Pacer(settings.bot_installs_per_second)
        self._sleep = sleep
        self._catalog_id: str | None = None

    async def send(self, notice: Notice, rendered: RenderedNotice) -> None:
        """Send one notice to its recipient's 1:1 chat; UndeliverableError when impossible.

        A notice for "all admins" (`ADMINS_ROLE`, before anyone consented) goes to everyone in
        ADMIN_EMAILS; it fails only when it reached none of them.
        """
        if notice.recipient == ADMINS_ROLE:
            await self._to_admins(notice, rendered)
            return
        await self._to_person(notice.recipient, notice, rendered)

    async def _to_admins(self, notice: Notice, rendered: RenderedNotice) -> None:
        told, reasons = 0, []
        for email in self._settings.admin_emails:
            try:
                await self._to_person(email, notice, rendered)
            except UndeliverableError as err:
                reasons.append(f"{email}: {err}")
            else:
                told += 1
        if not told:
            why = "; ".join(reasons) or "ADMIN_EMAILS is empty"
            raise UndeliverableError(f"no admin could be told in chat: {why}")

    async def _to_person(self, recipient: str, notice: Notice, rendered: RenderedNotice) -> None:
        link = await self._store.get_link_by_email(recipient)
        aad_id = link.teams_user_id if link is not None else None
        if not aad_id:
            raise UndeliverableError(f"{recipient} is not in the Teams directory")
        card = await self._card(notice, rendered)
        stored = await self._store.get_conversation_ref(aad_id)
        if stored is not None:
            reference = ConversationReference().deserialize(dict(stored))
            await self._with_retries(lambda: self._to_reference(reference, card))
            return
        await self._install(aad_id)
        # Teams tells the bot about the installation (installationUpdate), which stores the
        # chat's reference: write there. Only if it does not come, open the chat directly.
        reference = await self._installed_reference(aad_id)
        if reference is not None:
            await self._with_retries(lambda: self._to_reference(reference, card))
            return
        await self._with_retries(lambda: self._open_chat(aad_id, card))

    async def _installed_reference(self, aad_id: str) -> ConversationReference | None:
        waited = 0.0
        while waited < INSTALL_WAIT:
            stored = await self._store.get_conversation_ref(aad_id)
            if stored is not None:
                return ConversationReference().deserialize(dict(stored))
            await self._sleep(INSTALL_POLL)
            waited += INSTALL_POLL
        return None

    async def _card(self, notice: Notice, rendered: RenderedNotice) -> cards.Card:
        job_id = notice.payload.get("job") if notice.kind == JOB_REPORT else None
        if isinstance(job_id, str):
            job = await self._store.get_job(job_id)
            if job is not None:
                return cards.job_card(JobView.of(job))  # the report, as the chat's job card
        return notice_card(notice, rendered)

    async def _with_retries(self, attempt: Callable[[], Any]) -> None:
        for tries in range(MAX_THROTTLED_RETRIES + 1):
            await self._messages.wait()
            try:
                await attempt()
                return
            except ClientException as err:
                error = _connector_error(err)
            if not isinstance(error, ConnectorThrottledError) or tries == MAX_THROTTLED_RETRIES:
                raise error
            await self._sleep(min(MAX_RETRY_AFTER, error.retry_after))

    async def _to_reference(self, reference: ConversationReference, card: cards.Card) -> None:
        async def write(turn_context: TurnContext) -> None:
            await turn_context.send_activity(
                MessageFactory.attachment(CardFactory.adaptive_card(card))
            )

        await self._adapter.continue_conversation(reference, write, self._settings.bot_app_id)

    async def _install(self, aad_id: str) -> None:
        settings = self._settings
        if not settings.teams_app_id or not settings.bot_install_app:
            raise UndeliverableError(
                "they have no chat with the bot yet, and installing the app for them is off "
                "(set TEAMS_APP_ID, and BOT_INSTALL_APP=true)"
            )
        graph = await self._providers.graph()
        if self._catalog_id is None:
            self._catalog_id = await graph.catalog_app_id(settings.teams_app_id)
        await self._installs.wait()
        await graph.install_app_for_user(aad_id, self._catalog_id)

    async def _open_chat(self, aad_id: str, card: cards.Card) -> None:
        tenant = self._settings.microsoft_tenant_id or ""
        parameters = ConversationParameters(
            is_group=False,
            members=[ChannelAccount(id=aad_id)],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}},
        )
        seen = await self._store.get_conversation_ref(SERVICE_URL_KEY)
        service_url = str((seen or {}).get("serviceUrl") or self._settings.bot_service_url)

        async def first(turn_context: TurnContext) -> None:
            reference = TurnContext.get_conversation_reference(turn_context.activity)
            await self._store.put_conversation_ref(aad_id, reference.serialize())
            await turn_context.send_activity(
                MessageFactory.attachment(CardFactory.adaptive_card(card))
            )

        await self._adapter.create_conversation(
            self._settings.bot_app_id or "",
            first,
            parameters,
            channel_id="msteams",
            service_url=service_url,
        )
