"""The RingCentral presence webhook: one subscription for the account, kept alive.

The account-level filter (`/account/~/presence?detailedTelephonyState=true`, which needs the
ReadAccounts permission) watches everyone with one filter; when RingCentral refuses it, the
subscription lists one extension filter per linked user instead. Each subscription gets a
random verification token, stored sealed as the record's client state, which the webhook
compares on every delivery. Renewed when a quarter of its life is left; recreated when
RingCentral removed it or blacklisted our endpoint after failed deliveries.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from presence_sync.errors import RingCentralNotFoundError
from presence_sync.providers import Providers
from presence_sync.ringcentral.errors import RingCentralRequestError
from presence_sync.ringcentral.models import RcSubscription
from presence_sync.store.base import Store
from presence_sync.store.models import Subscription

__all__ = ["ACCOUNT_FILTER", "RINGCENTRAL", "RingCentralSubscriptions", "extension_filter"]

logger = logging.getLogger(__name__)

RINGCENTRAL = "ringcentral"
ACCOUNT_FILTER = "/restapi/v1.0/account/~/presence?detailedTelephonyState=true"
CHECK_EVERY = 300.0  # seconds between checks that RingCentral still delivers to us


def extension_filter(extension_id: str) -> str:
    """The per-extension presence filter."""
    return f"/restapi/v1.0/account/~/extension/{extension_id}/presence?detailedTelephonyState=true"


@dataclass
class RingCentralSubscriptions:
    """Keeps the product's one RingCentral presence subscription alive."""

    store: Store
    providers: Providers
    address: str
    lifetime: int
    clock: Callable[[], float]
    pending_tokens: set[str] = field(default_factory=set)
    next_check: float = 0.0

    async def current(self) -> Subscription | None:
        """The stored subscription, if any."""
        subs = await self.store.list_subscriptions(RINGCENTRAL)
        return subs[-1] if subs else None

    async def run_once(self, extension_ids: Sequence[str]) -> None:
        """Create, renew, or recreate the subscription as needed."""
        subs = await self.store.list_subscriptions(RINGCENTRAL)
        client = await self.providers.ringcentral()
        for extra in subs[:-1]:
            await self.store.delete_subscription(RINGCENTRAL, extra.id)
            await client.delete_subscription(extra.id)
        sub = subs[-1] if subs else None
        now = self.clock()
        if sub is None:
            await self._create(extension_ids)
            return
        per_extension = sub.details.get("filter") == "extensions"
        if per_extension and set(sub.details.get("extensions", ())) != set(extension_ids):
            await self._replace(sub, extension_ids)
            return
        if now >= self.next_check:
            self.next_check = now + CHECK_EVERY
            try:
                seen = await client.get_subscription(sub.id)
            except RingCentralNotFoundError:
                logger.info("ringcentral subscription %s is gone; recreating it", sub.id)
                await self.store.delete_subscription(RINGCENTRAL, sub.id)
                await self._create(extension_ids)
                return
            if not seen.usable:
                logger.warning(
                    "ringcentral subscription %s is %s; recreating it", sub.id, seen.status
                )
                await self._replace(sub, extension_ids)
                return
        if sub.expires_at - now < self.lifetime / 4:
            try:
                renewed = await client.renew_subscription(sub.id)
            except RingCentralNotFoundError:
                await self.store.delete_subscription(RINGCENTRAL, sub.id)
                await self._create(extension_ids)
                return
            await self.store.put_subscription(
                replace(sub, expires_at=self._expiry(renewed), updated_at=self.clock())
            )
            logger.info("renewed ringcentral subscription %s", sub.id)

    def _expiry(self, made: RcSubscription) -> float:
        if made.expiration is not None:
            return made.expiration.timestamp()
        return self.clock() + (made.expires_in or self.lifetime)

    async def _replace(self, sub: Subscription, extension_ids: Sequence[str]) -> None:
        client = await self.providers.ringcentral()
        await self.store.delete_subscription(RINGCENTRAL, sub.id)
        await client.delete_subscription(sub.id)
        await self._create(extension_ids)

    async def _create(self, extension_ids: Sequence[str]) -> None:
        client = await self.providers.ringcentral()
        token = secrets.token_urlsafe(32)  # 43 characters: RingCentral allows up to 64
        self.pending_tokens.add(token)
        try:
            try:
                made = await client.create_subscription(
                    [ACCOUNT_FILTER], self.address, token, self.lifetime
                )
                details: dict[str, object] = {"filter": "account"}
            except RingCentralRequestError as err:
                if not extension_ids:
                    raise
                logger.info("account presence filter refused (%s); using extension filters", err)
                made = await client.create_subscription(
                    [extension_filter(e) for e in extension_ids], self.address, token, self.lifetime
                )
                details = {"filter": "extensions", "extensions": list(extension_ids)}
            await self.store.put_subscription(
                Subscription(
                    provider=RINGCENTRAL,
                    id=made.id,
                    resource=",".join(made.event_filters)[:2000],
                    expires_at=self._expiry(made),
                    client_state=token,
                    details=details,
                    updated_at=self.clock(),
                )
            )
        finally:
            self.pending_tokens.discard(token)
        logger.info("ringcentral subscription %s created (%s filter)", made.id, details["filter"])
