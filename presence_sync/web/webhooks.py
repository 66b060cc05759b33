"""Webhook routes: Graph change and lifecycle notifications, RingCentral presence events.

Every request is checked before anything changes: the validation handshakes are answered
exactly as each platform requires; bodies over 1 MB answer 413 without being read whole;
malformed bodies, headers and handshake tokens 400 (`presence_sync.untrusted` reads them);
a wrong clientState, verification token, Graph validation token or data signature 403.
Only then are items queued for the watchers' inbox, and the answer goes out at once (Graph
retries for hours, and throttles endpoints, when answers take longer than 3 s).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Iterable, Sequence
from functools import partial

from aiohttp import web

from presence_sync.errors import ForbiddenError, StoreUnavailableError
from presence_sync.graph.models import Presence
from presence_sync.graph.notifications import (
    ChangeNotification,
    LifecycleNotification,
    decrypt_presence,
    parse_change_delivery,
    parse_lifecycle_notifications,
)
from presence_sync.ringcentral.webhooks import parse_presence_event
from presence_sync.untrusted import checked_header, checked_text
from presence_sync.watch import Watchers, WebhookAddresses
from presence_sync.watch.certificate import EncryptionCertificate
from presence_sync.watch.graph_subscriptions import GRAPH
from presence_sync.watch.ringcentral_subscriptions import RINGCENTRAL
from presence_sync.web.body import read_body
from presence_sync.web.keys import KNOWN_SECRETS, STORE, VALIDATION_TOKENS, WATCHERS

__all__ = [
    "GRAPH_LIFECYCLE",
    "GRAPH_NOTIFICATIONS",
    "RINGCENTRAL_NOTIFICATIONS",
    "add_routes",
    "webhook_addresses",
]

logger = logging.getLogger(__name__)

DECRYPT_INLINE = 16  # more items than this are decrypted off the event loop
MAX_VALIDATION_TOKEN = 1024  # Graph's handshake text is about 90 characters


GRAPH_NOTIFICATIONS = "/api/notifications/graph"
GRAPH_LIFECYCLE = "/api/notifications/graph/lifecycle"
RINGCENTRAL_NOTIFICATIONS = "/api/notifications/ringcentral"


def webhook_addresses(public_url: str) -> WebhookAddresses:
    """The public addresses of the three webhook routes, for the subscriptions to name."""
    base = public_url.rstrip("/")
    return WebhookAddresses(
        graph=base + GRAPH_NOTIFICATIONS,
        graph_lifecycle=base + GRAPH_LIFECYCLE,
        ringcentral=base + RINGCENTRAL_NOTIFICATIONS,
    )


def _watchers(request: web.Request) -> Watchers:
    app = request.app
    if STORE not in app or not app[STORE].opened:
        raise StoreUnavailableError("the server is still starting; try again shortly")
    return app[WATCHERS]


def _echo(token: str) -> web.Response:
    """Graph's validation handshake: the decoded token back, as plain text nobody sniffs."""
    checked = checked_text(token, "validationToken", limit=MAX_VALIDATION_TOKEN)
    return web.Response(
        text=checked, content_type="text/plain", headers={"X-Content-Type-Options": "nosniff"}
    )


def _same(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


async def _check_client_states(
    request: web.Request,
    watchers: Watchers,
    items: Iterable[ChangeNotification | LifecycleNotification],
) -> None:
    secrets = request.app[KNOWN_SECRETS]
    stored: dict[str, str | None] = {}
    for item in items:
        if secrets.known(GRAPH, item.subscription_id, item.client_state):
            continue  # matched the stored subscription moments ago: no need to read it again
        if item.subscription_id not in stored:
            sub = await watchers.store.get_subscription(GRAPH, item.subscription_id)
            stored[item.subscription_id] = sub.client_state if sub is not None else None
        expected = stored[item.subscription_id]
        if expected is not None:
            if _same(item.client_state, expected):
                secrets.remember(GRAPH, item.subscription_id, expected)
                continue
        elif any(_same(item.client_state, p) for p in list(watchers.shards.pending_states)):
            continue  # delivered while the subscription was being created and stored
        logger.warning(
            "graph notification for %s refused: clientState mismatch", item.subscription_id
        )
        raise ForbiddenError("clientState does not match the subscription")


def _open(
    items: Sequence[ChangeNotification], cert: EncryptionCertificate
) -> tuple[list[Presence], list[str]]:
    presences: list[Presence] = []
    hints: list[str] = []
    for item in items:
        if item.encrypted is not None:
            presences.append(decrypt_presence(item.encrypted, cert.private_key))
        elif item.user_id:
            hints.append(item.user_id)
    return presences, hints


async def graph_notifications(request: web.Request) -> web.Response:
    """Graph change notifications (and the validation handshake at subscription time)."""
    token = request.query.get("validationToken")
    if token is not None:
        return _echo(token)
    body = await read_body(request)
    delivery = parse_change_delivery(body)
    items = delivery.items
    watchers = _watchers(request)
    await _check_client_states(request, watchers, items)
    if delivery.rich:
        await request.app[VALIDATION_TOKENS].check(delivery.validation_tokens)
    cert = await watchers.certificate()
    if len(items) > DECRYPT_INLINE:
        presences, hints = await asyncio.to_thread(_open, items, cert)
    else:
        presences, hints = _open(items, cert)
    watchers.accept_teams(presences)
    watchers.read_soon(hints)
    return web.Response(status=202)


async def graph_lifecycle(request: web.Request) -> web.Response:
    """Graph lifecycle notifications: reauthorize, recreate, or read what was missed."""
    token = request.query.get("validationToken")
    if token is not None:
        return _echo(token)
    body = await read_body(request)
    items = parse_lifecycle_notifications(body)
    watchers = _watchers(request)
    await _check_client_states(request, watchers, items)
    for item in items:
        sub_id = item.subscription_id
        logger.info("graph lifecycle event %s for %s", item.event, sub_id)
        if item.event == "reauthorizationRequired":
            watchers.accept_job(item.event, partial(watchers.shards.reauthorize, sub_id))
        elif item.event == "subscriptionRemoved":
            watchers.accept_job(item.event, partial(_removed, watchers, sub_id))
        elif item.event == "missed":
            watchers.accept_job(item.event, partial(_missed, watchers, sub_id))
    return web.Response(status=202)


async def _removed(watchers: Watchers, subscription_id: str) -> None:
    users = await watchers.shards.users_of(subscription_id)
    await watchers.shards.removed(subscription_id)
    watchers.review_subscriptions()
    # Changes may have gone unreported while it was gone: read its users now.
    await watchers.graph_poller.read(list(users), reason="teams-missed", force=True)


async def _missed(watchers: Watchers, subscription_id: str) -> None:
    users = await watchers.shards.users_of(subscription_id)
    await watchers.graph_poller.read(list(users), reason="teams-missed", force=True)


async def ringcentral_notifications(request: web.Request) -> web.Response:
    """RingCentral presence events (and the Validation-Token handshake)."""
    validation = checked_header(request.headers.get("Validation-Token"), "Validation-Token")
    if validation is not None:
        return web.Response(
            status=200, headers={"Validation-Token": validation}, content_type="application/json"
        )
    given = checked_header(request.headers.get("Verification-Token"), "Verification-Token")
    body = await read_body(request)
    event = parse_presence_event(body)
    watchers = _watchers(request)
    secrets = request.app[KNOWN_SECRETS]
    if not secrets.known(RINGCENTRAL, "", given):
        stored = [s.client_state for s in await watchers.store.list_subscriptions(RINGCENTRAL)]
        matched = next((t for t in stored if _same(given, t)), None)
        if matched is not None:
            secrets.remember(RINGCENTRAL, "", matched)
        elif not any(_same(given, t) for t in watchers.rc_subscriptions.pending_tokens):
            logger.warning("ringcentral notification refused: verification token mismatch")
            raise ForbiddenError("Verification-Token does not match the subscription")
    if event is not None:
        watchers.accept_rc(event.presence)
    return web.Response(status=200)


def add_routes(app: web.Application) -> None:
    """Add the three webhook routes."""
    app.router.add_post(GRAPH_NOTIFICATIONS, graph_notifications)
    app.router.add_post(GRAPH_LIFECYCLE, graph_lifecycle)
    app.router.add_post(RINGCENTRAL_NOTIFICATIONS, ringcentral_notifications)
