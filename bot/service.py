"""The bot as one service of the server: the `/api/messages` endpoint and its loops.

`TeamsBot.handle` checks each request before botbuilder sees it and raises the product's
errors, which the web face's error middleware answers: a body that is not a JSON
activity answers 400; without bot credentials the endpoint answers 503, unless the loudly
named loopback switch is on, and then only loopback callers are served (Agents Playground
sends no token). With credentials botbuilder validates the channel's token: a forged or
missing one answers 401 and the turn never runs. An exception in a turn is logged with its
traceback and a correlation id, and the person gets a short apology quoting the id.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from aiohttp import web
from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticateRequestResult

from bot import cards
from bot.activity import checked_activity
from bot.channel import ChannelAuth, build_adapter
from bot.conversations import Confirmations
from bot.handler import PresenceSyncBot
from bot.identity import Admins
from bot.jobs import JobCards
from bot.notify import ChatNotices, Pacer
from presence_sync.admin import Admin
from presence_sync.errors import (
    NotConfiguredError,
    PresenceSyncError,
    UnauthenticatedError,
    ValidationError,
)
from presence_sync.providers import Providers
from presence_sync.settings import Settings
from presence_sync.store.base import Store
from presence_sync.sync.capacity import WriteCapacity
from presence_sync.tasks import Loop

__all__ = ["BotChannel", "TeamsBot"]

logger = logging.getLogger(__name__)

# Reads a request's JSON object body (the web face's, bounded and total: web.body.json_object).
BodyReader = Callable[[web.Request], Awaitable[dict[str, Any]]]

PRESENCE_WRITES = "Medium"  # RingCentral's rate-limit group of presence PUTs


class BotChannel:
    """The Bot Framework side of the bot: authentication, the adapter, and chat notices.

    Built before sync, which hands chat notices to `notices` (the bot's turns come later,
    in `TeamsBot`, once the admin use cases exist).
    """

    def __init__(self, settings: Settings, store: Store, providers: Providers) -> None:
        self.settings = settings
        self.auth = ChannelAuth(settings)
        self.adapter = build_adapter(settings)
        # One pace for everything the bot sends proactively: notices and job card updates.
        self.pace = Pacer(settings.bot_messages_per_second)
        self.notices: ChatNotices | None = (
            ChatNotices(self.adapter, settings, store, providers, messages=self.pace)
            if self.auth.configured
            else None
        )


class TeamsBot:
    """The Teams bot of one replica."""

    def __init__(
        self,
        channel: BotChannel,
        store: Store,
        admin: Admin,
        providers: Providers,
        clock: Callable[[], float],
        admins: Admins | None = None,
        capacity: Callable[[], Awaitable[WriteCapacity]] | None = None,
    ) -> None:
        settings = channel.settings
        self.settings = settings
        self.auth = channel.auth
        self.adapter = channel.adapter
        self.adapter.on_turn_error = self._on_turn_error
        self.loopback_only = not self.auth.configured and (
            settings.bot_dangerously_allow_unauthenticated_loopback
        )
        self.job_cards = JobCards(admin, self.adapter, settings.bot_app_id or "", pace=channel.pace)
        base = settings.public_url.rstrip("/")
        self.handler = PresenceSyncBot(
            store,
            admin,
            admins if admins is not None else Admins(settings.admin_emails, providers),
            Confirmations(store, clock),
            cards.ConnectUrls(
                admin_consent=f"{base}/connect/microsoft/consent",
                sync_account=f"{base}/connect/microsoft/sync-account",
                ringcentral=f"{base}/connect/ringcentral/oauth",
                ringcentral_identity=f"{base}/connect/ringcentral/identities/oauth",
            ),
            on_job=self.job_cards.track,
            write_budget=self.write_budget,
        )
        self._providers = providers
        self._capacity = capacity
        if self.loopback_only:
            logger.warning(
                "BOT_DANGEROUSLY_ALLOW_UNAUTHENTICATED_LOOPBACK is on: /api/messages accepts "
                "unsigned activities from this machine; never run a reachable server like this"
            )

    async def write_budget(self) -> cards.WriteBudget | None:
        """RingCentral's presence writes (its Medium group) in use over every identity, the
        backlog, the delay a change can expect, and advice when it is too long."""
        if self._capacity is not None:
            judged = await self._capacity()
            view = judged.view
            if view.identities == 0:
                return None  # not connected: the status card says so in its connections
            return cards.WriteBudget(
                used=view.used_per_minute,
                limit=view.allowed_per_minute,
                identities=view.identities,
                backlog=view.backlog,
                expected_delay=view.expected_delay,
                p95_delay=view.p95_delay,
                advice=judged.advice,
            )
        try:
            client = await self._providers.ringcentral()
        except PresenceSyncError:
            return None  # not connected: the status card says so in its connections
        limits = client.limits
        budget = limits.snapshot().get(PRESENCE_WRITES)
        remaining = limits.remaining(PRESENCE_WRITES)
        if budget is None or remaining is None or budget.limit <= 0:
            return None
        return cards.WriteBudget(
            used=max(0, budget.limit - remaining), limit=budget.limit, window=budget.window
        )

    def loops(self) -> list[Loop]:
        """The bot's background work, for the server's supervisor."""
        return [
            Loop("bot-channel-keys", self.auth.warm),
            Loop("bot-job-cards", self.job_cards.run),
        ]

    async def handle(self, request: web.Request, read: BodyReader) -> web.Response:
        """POST /api/messages: one activity from the Bot Framework channel.

        `read` reads the request's JSON object body at the edge (bounded and total).
        """
        if not self.auth.configured and not self.loopback_only:
            raise NotConfiguredError("the bot is not configured: set BOT_APP_ID and BOT_APP_SECRET")
        if self.loopback_only and not _loopback(request.remote):
            raise UnauthenticatedError("unsigned activities are accepted from this machine only")
        if "json" not in request.headers.get("Content-Type", ""):
            raise ValidationError("send the activity as application/json")
        activity = checked_activity(await read(request))
        header = request.headers.get("Authorization", "")
        if self.auth.configured:
            problem = _token_problem(header)
            if problem is not None:
                logger.warning("bot activity refused: %s", problem)
                raise UnauthenticatedError(problem)
        try:
            answer = await self.adapter.process_activity(
                await self._caller(header, activity), activity, self.handler.on_turn
            )
        except (PermissionError, KeyError, jwt.PyJWTError) as err:
            # botbuilder's checks raise these before the turn runs (a turn's own errors go
            # to `_on_turn_error`): the token did not pass.
            logger.warning("bot activity refused: its token is not valid (%s)", type(err).__name__)
            raise UnauthenticatedError("the Bot Framework token is not valid") from err
        if answer is None:
            return web.Response(status=201)
        body = answer.body.serialize() if hasattr(answer.body, "serialize") else answer.body
        return web.json_response(body, status=answer.status)

    async def _caller(self, header: str, activity: Activity) -> str | AuthenticateRequestResult:
        """What botbuilder authenticates the turn with: the channel's token, or no one."""
        if self.auth.configured:
            return header
        # botbuilder's anonymous caller is a missing header (None), which `process_activity`
        # does not accept (an empty one fails in its token checks); whatever a loopback
        # caller sent is ignored.
        result: AuthenticateRequestResult = (
            await self.adapter.bot_framework_authentication.authenticate_request(activity, None)
        )
        return result

    async def _on_turn_error(self, turn_context: TurnContext, error: Exception) -> None:
        correlation = uuid.uuid4().hex[:12]
        activity = turn_context.activity
        logger.error(
            "bot turn failed (correlation id %s, %s activity)",
            correlation,
            getattr(activity, "type", "?"),
            exc_info=error,
        )
        card = cards.apology_card(correlation)
        try:
            await turn_context.send_activity(
                MessageFactory.attachment(CardFactory.adaptive_card(card))
            )
        except Exception:  # the apology is best effort; the error is logged above
            logger.warning("could not send the apology for %s", correlation)


def _token_problem(header: str) -> str | None:
    """Why `header` cannot carry a channel token at all, before botbuilder checks it."""
    scheme, _, token = header.partition(" ")
    if not token or scheme.lower() != "bearer":
        return "the Bot Framework token is missing"
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return "the Bot Framework token is not a JWT"
    if not isinstance(claims.get("iss"), str) or not claims.get("aud"):
        return "the Bot Framework token names no issuer or audience"
    return None


def _loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False
