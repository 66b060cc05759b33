"""Delivering change and lifecycle notifications, and the validation handshake before them.

Graph batches changes that happen close together into one POST, retries an endpoint that
fails (an answer slower than 3 s counts as a failure) and gives up after a bounded number of
attempts. Injected notification faults (drop, duplicate, reorder, delay) are applied through
`ctx.faults.shape_notifications` after the batch is formed.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from yarl import URL

from sandbox.context import SandboxContext
from sandbox.graph.aggregate import Aggregate, sequence_number
from sandbox.graph.crypto import encrypt_resource
from sandbox.graph.errors import iso_time
from sandbox.graph.subscriptions import Subscription, SubscriptionBook
from sandbox.model import TeamsUser
from sandbox.timeline import GRAPH_NOTIFICATION

logger = logging.getLogger(__name__)

ANSWER_TIMEOUT = 3.0  # Graph counts slower answers as failures
VALIDATION_TIMEOUT = 10.0
RETRY_DELAYS = (10.0, 60.0, 300.0)  # sandbox seconds between attempts; then give up
FAULT_TARGET = "graph-notifications"
CHANGE_TRACKING_APP_ID = "0bf30f3b-4a52-48df-9a82-234910c4a086"  # Graph's notification sender


@dataclass
class NotificationLimits:
    """Base latency of change notifications (sandbox ms) and how long a batch collects (real ms)."""

    delay_ms: tuple[float, float] = (0.0, 0.0)
    batch_window_ms: float = 50.0  # changes this close together share one POST
    rng: random.Random = field(default_factory=lambda: random.Random(11))

    def draw(self) -> float:
        """One latency in sandbox seconds."""
        low, high = self.delay_ms
        return self.rng.uniform(low, high) / 1000


def presence_resource(user: TeamsUser, agg: Aggregate) -> dict[str, Any]:
    """The presence resource carried (encrypted) in rich notifications."""
    return {
        "@odata.type": "#Microsoft.Graph.presence",
        "@odata.id": f"communications/presences('{user.id}')",
        "id": user.id,
        "availability": agg.availability,
        "activity": agg.activity,
        "statusMessage": None,
        "sequenceNumber": sequence_number(user.presence.sequence),
    }


class Notifier:
    """Turns published presence changes into POSTs to subscribers' endpoints."""

    def __init__(self, ctx: SandboxContext, book: SubscriptionBook) -> None:
        self._ctx = ctx
        self._book = book
        self.limits = NotificationLimits()
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = self._ctx.spawn(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel deliveries still waiting or retrying (the sandbox is shutting down)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- change notifications -----------------------------------------------------------------

    def presence_changed(self, user: TeamsUser, agg: Aggregate) -> None:
        """Queue a notification for every subscription watching `user`."""
        for sub in self._book.watching(user.id, self._ctx.clock.now()):
            item = self._item(sub, user, agg)
            queue = self._pending.setdefault(sub.id, [])
            queue.append(item)
            if len(queue) == 1:
                self._spawn(self._flush(sub.id))

    def _item(self, sub: Subscription, user: TeamsUser, agg: Aggregate) -> dict[str, Any]:
        item: dict[str, Any] = {
            "subscriptionId": sub.id,
            "clientState": sub.client_state,
            "changeType": "updated",
            "resource": f"communications/presences('{user.id}')",
            "resourceData": {
                "@odata.type": "#Microsoft.Graph.presence",
                "@odata.id": f"communications/presences('{user.id}')",
                "id": user.id,
            },
            "subscriptionExpirationDateTime": iso_time(sub.expires_at),
            "tenantId": self._ctx.org.tenant_id,
        }
        if sub.include_resource_data and sub.certificate is not None:
            item["encryptedContent"] = encrypt_resource(
                sub.certificate, presence_resource(user, agg)
            )
        return item

    async def _flush(self, sub_id: str) -> None:
        await asyncio.sleep(self.limits.batch_window_ms / 1000)
        items = self._pending.pop(sub_id, [])
        await self._ctx.clock.sleep(self.limits.draw())
        plan = self._ctx.faults.shape_notifications(FAULT_TARGET, items)
        groups: dict[float, list[dict[str, Any]]] = {}
        for delay, item in plan:
            groups.setdefault(round(delay, 3), []).append(item)
        for delay, group in groups.items():
            self._spawn(self._deliver_later(sub_id, delay, group))

    async def _deliver_later(self, sub_id: str, delay: float, items: list[dict[str, Any]]) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        payload: dict[str, Any] = {"value": items}
        sub = self._book.get(sub_id)
        if sub is not None and sub.include_resource_data:
            payload["validationTokens"] = [self.validation_token(sub.app_id)]
        timeline = self._ctx.recorder.timeline
        if timeline.enabled:
            for item in items:
                timeline.stamp(GRAPH_NOTIFICATION, str(item["resourceData"]["id"]))
        await self._deliver(sub_id, payload, lifecycle=False)

    def validation_token(self, app_id: str) -> str:
        """The JWT Graph adds to rich notifications so the receiver can tell they are genuine."""
        claims = {
            "aud": app_id,
            "azp": CHANGE_TRACKING_APP_ID,
            "appid": CHANGE_TRACKING_APP_ID,
            "tid": self._ctx.org.tenant_id,
        }
        return self._ctx.entra_tokens.issue(claims, 3600, now=self._ctx.clock.now())

    async def _deliver(self, sub_id: str, payload: dict[str, Any], *, lifecycle: bool) -> bool:
        """POST with bounded retries; True once the endpoint answers 2xx in time."""
        for attempt in range(len(RETRY_DELAYS) + 1):
            sub = self._book.get(sub_id)
            if sub is None:
                return False  # deleted or expired subscriptions stop delivering
            url = sub.lifecycle_url if lifecycle else sub.notification_url
            if url is None:
                return False
            if await self._post(url, payload):
                sub.delivered += len(payload["value"])
                return True
            sub.failed_attempts += 1
            if attempt < len(RETRY_DELAYS):
                await self._ctx.clock.sleep(RETRY_DELAYS[attempt])
        logger.info("gave up delivering %d notification(s) for %s", len(payload["value"]), sub_id)
        sub = self._book.get(sub_id)
        if sub is not None:
            sub.abandoned += len(payload["value"])
        return False

    async def _post(self, url: str, payload: dict[str, Any]) -> bool:
        http = self._ctx.http
        if http is None:
            logger.warning("no outbound HTTP session; notification to %s not sent", _host(url))
            return False
        try:
            async with http.post(
                url, json=payload, timeout=aiohttp.ClientTimeout(total=ANSWER_TIMEOUT)
            ) as response:
                await response.read()
                return 200 <= response.status < 300
        except (aiohttp.ClientError, TimeoutError) as err:
            logger.info("notification POST to %s failed: %s", _host(url), type(err).__name__)
            return False

    # --- lifecycle notifications --------------------------------------------------------------

    def lifecycle(self, sub: Subscription, event: str, *, removed: bool = False) -> None:
        """Send a lifecycle event (reauthorizationRequired, subscriptionRemoved, missed)."""
        if not sub.lifecycle_url:
            return
        sub.lifecycle_sent.append(event)
        item = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": iso_time(sub.expires_at),
            "tenantId": self._ctx.org.tenant_id,
            "clientState": sub.client_state,
            "lifecycleEvent": event,
            "resource": sub.resource,
        }
        if removed:
            # The subscription is already gone from the book; deliver once, without retries.
            self._spawn(self._post(sub.lifecycle_url, {"value": [item]}))
        else:
            self._spawn(self._deliver(sub.id, {"value": [item]}, lifecycle=True))

    # --- validation ---------------------------------------------------------------------------

    async def validate(self, url: str) -> str | None:
        """Graph's handshake: None if `url` echoed the token as text/plain in time, else why not."""
        http = self._ctx.http
        if http is None:
            return "the sandbox has no outbound HTTP session"
        token = (
            "Validation: Testing client application reachability for subscription"
            f" Request-Id: {uuid.uuid4()}"
        )
        try:
            target = URL(url).update_query(validationToken=token)
        except (ValueError, TypeError) as err:
            return f"notification URL {url!r} is not a valid URL ({err})"
        if target.scheme not in ("http", "https"):
            return f"notification URL {url!r} must be http(s)"
        try:
            async with http.post(
                target,
                data=b"",
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=aiohttp.ClientTimeout(total=VALIDATION_TIMEOUT),
            ) as response:
                body = await response.text()
                content_type = response.content_type
                status = response.status
        except TimeoutError:
            return f"the endpoint did not answer within {VALIDATION_TIMEOUT:.0f} seconds"
        except aiohttp.ClientError as err:
            return f"the endpoint could not be reached ({type(err).__name__})"
        if status != 200:
            return f"the endpoint answered {status}, not 200"
        if content_type != "text/plain":
            return f"the endpoint answered with Content-Type {content_type!r}, not text/plain"
        if body != token:
            return "the endpoint did not echo the validation token as the response body"
        return None


def _host(url: str) -> str:
    # Webhook addresses often carry a secret in their path or query; logs get the host only.
    try:
        return URL(url).host or "?"
    except (ValueError, TypeError):
        return "?"
