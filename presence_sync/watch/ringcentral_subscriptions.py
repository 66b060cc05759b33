"""The RingCentral presence webhook: one subscription for the account, kept alive.

The account-level filter (`/account/~/presence?detailedTelephonyState=true`) watches everyone
with one filter, but RingCentral grants it only to users with company-wide presence rights (an
account admin; 403 CMN-408 for anyone else, e.g. a non-admin who connected through OAuth). When
it is refused, the subscription lists one extension filter per linked user instead, and:

- the list follows the roster: when users are linked or unlinked a new subscription with the
  new list is made first and the old one deleted after, so there is no moment without one; at
  most once every FILTER_CHANGE_EVERY, because each change costs two Medium-group calls, the
  group presence writes need (the reconciliation walk reads newly linked users meanwhile);
- the account filter is asked for again once every ACCOUNT_RETRY_EVERY, in case the rights
  were granted since, and the subscription moves to it when it is.

Each subscription gets a random verification token, stored sealed as the record's client state,
which the webhook compares on every delivery. Renewed when a quarter of its life is left;
recreated when RingCentral removed it or blacklisted our endpoint after failed deliveries.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from presence_sync.errors import RingCentralNotFoundError
from presence_sync.providers import Providers
from presence_sync.ringcentral.client import RingCentralClient
from presence_sync.ringcentral.errors import RingCentralPermissionError, RingCentralRequestError
from presence_sync.ringcentral.models import RcSubscription
from presence_sync.store.base import Store
from presence_sync.store.models import Subscription, SubscriptionDetails

__all__ = [
    "ACCOUNT_FILTER",
    "RINGCENTRAL",
    "RingCentralSubscriptions",
    "account_filter_refused",
    "extension_filter",
]

logger = logging.getLogger(__name__)

RINGCENTRAL = "ringcentral"
ACCOUNT_FILTER = "/restapi/v1.0/account/~/presence?detailedTelephonyState=true"
CHECK_EVERY = 300.0  # seconds between checks that RingCentral still delivers to us
FILTER_CHANGE_EVERY = 30.0  # seconds between re-listings of the extension filters
ACCOUNT_RETRY_EVERY = 3600.0  # seconds before a refused account filter is asked for again


def extension_filter(extension_id: str) -> str:
    """The per-extension presence filter."""
    return f"/restapi/v1.0/account/~/extension/{extension_id}/presence?detailedTelephonyState=true"


def account_filter_refused(err: RingCentralRequestError) -> bool:
    """Whether RingCentral refused the account-level filter itself, not the request."""
    # Refused permission: the user lacks company-wide presence rights; eventFilters refused:
    # the account does not offer the filter. A refused webhook address or the subscription
    # quota are other problems, which extension filters would not solve.
    return isinstance(err, RingCentralPermissionError) or err.refused("eventFilters")


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
    next_filter_change: float = 0.0
    account_refused_at: float | None = None  # when RingCentral last refused the account filter

    async def current(self) -> Subscription | None:
        """The stored subscription, if any."""
        subs = await self._stored()
        return subs[-1] if subs else None

    async def _stored(self) -> list[Subscription]:
        # Oldest first: after a crash between making a new subscription and deleting the old
        # one, the newer is kept.
        subs = await self.store.list_subscriptions(RINGCENTRAL)
        return sorted(subs, key=lambda s: s.updated_at)

    def _account_refused_recently(self, now: float) -> bool:
        refused = self.account_refused_at
        return refused is not None and now - refused < ACCOUNT_RETRY_EVERY

    async def run_once(self, extension_ids: Sequence[str]) -> None:
        """Create, renew, re-list or recreate the subscription as needed."""
        subs = await self._stored()
        client = await self.providers.ringcentral()
        for extra in subs[:-1]:
            await self._forget(client, extra)
        sub = subs[-1] if subs else None
        now = self.clock()
        wanted = sorted(set(extension_ids))
        if sub is None:
            if wanted or not self._account_refused_recently(now):
                await self._create(wanted, account=not self._account_refused_recently(now))
            return
        if sub.details.filter == "extensions":
            self.account_refused_at = max(
                self.account_refused_at or 0.0, sub.details.account_refused_at or 0.0
            )
            if not wanted:
                logger.info("no linked RingCentral users left; deleting subscription %s", sub.id)
                await self._forget(client, sub)
                return
            if not self._account_refused_recently(now) and await self._upgrade(sub):
                return
            listed = set(sub.details.extensions)
            if listed != set(wanted) and now >= self.next_filter_change:
                self.next_filter_change = now + FILTER_CHANGE_EVERY
                logger.info(
                    "ringcentral subscription %s: %d extensions in, %d out",
                    sub.id,
                    len(set(wanted) - listed),
                    len(listed - set(wanted)),
                )
                await self._replace(sub, wanted, account=False)
                return
        if now >= self.next_check:
            self.next_check = now + CHECK_EVERY
            try:
                seen = await client.get_subscription(sub.id)
            except RingCentralNotFoundError:
                logger.info("ringcentral subscription %s is gone; recreating it", sub.id)
                await self.store.delete_subscription(RINGCENTRAL, sub.id)
                await self._create(wanted, account=not self._account_refused_recently(now))
                return
            if not seen.usable:
                logger.warning(
                    "ringcentral subscription %s is %s; recreating it", sub.id, seen.status
                )
                await self._replace(sub, wanted, account=not self._account_refused_recently(now))
                return
        if sub.expires_at - now < self.lifetime / 4:
            try:
                renewed = await client.renew_subscription(sub.id)
            except RingCentralNotFoundError:
                await self.store.delete_subscription(RINGCENTRAL, sub.id)
                await self._create(wanted, account=not self._account_refused_recently(now))
                return
            await self.store.put_subscription(
                replace(sub, expires_at=self._expiry(renewed), updated_at=self.clock())
            )
            logger.info("renewed ringcentral subscription %s", sub.id)

    def _expiry(self, made: RcSubscription) -> float:
        if made.expiration is not None:
            return made.expiration.timestamp()
        return self.clock() + (made.expires_in or self.lifetime)

    async def _forget(self, client: RingCentralClient, sub: Subscription) -> None:
        await self.store.delete_subscription(RINGCENTRAL, sub.id)
        await client.delete_subscription(sub.id)

    async def _replace(self, sub: Subscription, wanted: Sequence[str], *, account: bool) -> None:
        # The new one first: deliveries never stop, and a failed create leaves the old in place.
        await self._create(wanted, account=account)
        await self._forget(await self.providers.ringcentral(), sub)

    async def _upgrade(self, sub: Subscription) -> bool:
        """Ask for the account filter again; move to it when granted, else note the refusal."""
        made = await self._create((), account=True, fallback=False)
        if made is None:
            details = replace(sub.details, account_refused_at=self.account_refused_at)
            await self.store.put_subscription(replace(sub, details=details))
            return False
        logger.info("account presence filter granted; dropping extension filters")
        await self._forget(await self.providers.ringcentral(), sub)
        return True

    async def _create(
        self, wanted: Sequence[str], *, account: bool, fallback: bool = True
    ) -> Subscription | None:
        """Subscribe with the account filter (if `account`), else or on refusal per extension.

        None when nothing was made: the account filter was refused and there is nobody to
        list, or `fallback` is off.
        """
        client = await self.providers.ringcentral()
        token = secrets.token_urlsafe(32)  # 43 characters: RingCentral allows up to 64
        self.pending_tokens.add(token)
        try:
            made: RcSubscription | None = None
            details = SubscriptionDetails(filter="account")
            if account:
                try:
                    made = await client.create_subscription(
                        [ACCOUNT_FILTER], self.address, token, self.lifetime
                    )
                except RingCentralRequestError as err:
                    if not account_filter_refused(err):
                        raise
                    self.account_refused_at = self.clock()
                    logger.info(
                        "account presence filter refused (%s); using extension filters",
                        err.error_code,
                    )
            if made is None:
                if not fallback or not wanted:
                    return None
                made = await client.create_subscription(
                    [extension_filter(e) for e in wanted], self.address, token, self.lifetime
                )
                details = SubscriptionDetails(
                    filter="extensions",
                    extensions=tuple(wanted),
                    account_refused_at=self.account_refused_at or self.clock(),
                )
            stored = Subscription(
                provider=RINGCENTRAL,
                id=made.id,
                resource=",".join(made.event_filters)[:2000],
                expires_at=self._expiry(made),
                client_state=token,
                details=details,
                updated_at=self.clock(),
            )
            await self.store.put_subscription(stored)
        finally:
            self.pending_tokens.discard(token)
        logger.info("ringcentral subscription %s created (%s filter)", made.id, details.filter)
        return stored
