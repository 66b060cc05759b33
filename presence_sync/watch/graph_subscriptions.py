"""Graph presence subscriptions in shards: one subscription of up to 650 users per sync account.

Graph allows one presence subscription per app per delegated user, at most 650 ids and one
hour of life (DESIGN §4.5). `plan_shards` decides who goes where with a stable assignment:
users keep their shard while it is healthy, newcomers fill free room, so linking one user
recreates at most one subscription. `GraphShards.run_once` makes Graph match the plan:
creates, renews before expiry, recreates what Graph removed, retires shards whose sync
account went away. It is called by the watchers' loop under a store lease.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from presence_sync.errors import GraphNotFoundError, ProviderError
from presence_sync.graph.models import PRESENCE_BATCH
from presence_sync.providers import NotConnectedError, Providers
from presence_sync.store.base import Store
from presence_sync.store.models import Subscription, SubscriptionDetails
from presence_sync.watch.certificate import EncryptionCertificate

__all__ = ["GRAPH", "LIFETIME", "GraphShards", "plan_shards"]

logger = logging.getLogger(__name__)

GRAPH = "graph"
LIFETIME = 3540.0  # Graph's presence maximum is 3600 s; a minute's margin for clock skew


def plan_shards(
    accounts: Sequence[str],
    user_ids: Sequence[str],
    current: Mapping[str, Sequence[str]],
    size: int = PRESENCE_BATCH,
) -> dict[str, tuple[str, ...]]:
    """Which users each sync account's subscription watches; users beyond capacity are left out."""
    wanted = set(user_ids)
    taken: set[str] = set()
    plan: dict[str, list[str]] = {}
    for account in sorted(accounts):
        keep = [u for u in current.get(account, ()) if u in wanted and u not in taken][:size]
        plan[account] = keep
        taken.update(keep)
    rest = [u for u in user_ids if u not in taken]
    for account in sorted(accounts):
        room = size - len(plan[account])
        plan[account].extend(rest[:room])
        rest = rest[room:]
    return {account: tuple(ids) for account, ids in plan.items() if ids}


def _ids(sub: Subscription) -> tuple[str, ...]:
    return sub.details.user_ids


@dataclass
class GraphShards:
    """Keeps one presence subscription per healthy sync account in line with the plan."""

    store: Store
    providers: Providers
    certificate: Callable[[], Awaitable[EncryptionCertificate]]
    notification_url: str
    lifecycle_url: str
    renew_before: float
    clock: Callable[[], float]
    # Called with a new subscription's users: changes while it was being made went unreported.
    catch_up: Callable[[Sequence[str]], None] = lambda ids: None
    # Client states of subscriptions being created: Graph may deliver before we stored them.
    pending_states: set[str] = field(default_factory=set)

    async def stored(self) -> list[Subscription]:
        """The Graph subscriptions the store holds."""
        return await self.store.list_subscriptions(GRAPH)

    async def covered(self) -> frozenset[str]:
        """Teams user ids watched by an unexpired subscription."""
        now = self.clock()
        return frozenset(
            u for sub in await self.stored() if sub.expires_at > now for u in _ids(sub)
        )

    async def run_once(self, user_ids: Sequence[str]) -> int:
        """Create, renew, recreate or retire subscriptions so Graph matches the plan; how many
        sync accounts' subscriptions could not be made or renewed this time."""
        failed = 0
        accounts = sorted(set(await self.providers.sync_accounts()))
        stored = await self.stored()
        by_account: dict[str, Subscription] = {}
        for sub in stored:
            account = sub.owner or ""
            if account in by_account or account not in accounts:
                await self._retire(sub)
            else:
                by_account[account] = sub
        plan = plan_shards(accounts, user_ids, {a: _ids(s) for a, s in by_account.items()})
        for account, sub in by_account.items():
            if account not in plan:
                await self._retire(sub)
        for account, ids in plan.items():
            held = by_account.get(account)
            try:
                if held is None or set(_ids(held)) != set(ids):
                    if held is not None:
                        await self._retire(held)
                    await self._create(account, ids)
                elif held.expires_at - self.clock() < self.renew_before:
                    await self._renew(held)
            except NotConnectedError:
                raise
            except ProviderError as err:
                logger.warning(
                    "graph subscription for sync account %s failed: %s",
                    account,
                    err,
                    extra={"provider": "graph"},
                )
                await self.providers.report_failure("graph", err)
                failed += 1
        return failed

    async def _create(self, account: str, ids: Sequence[str]) -> None:
        graph = await self.providers.graph()
        cert = await self.certificate()
        # A subscription made before a crash, never stored, would block ours (one per account).
        for orphan in await graph.list_subscriptions(account):
            if orphan.notification_url == self.notification_url:
                await graph.delete_subscription(orphan.id, account)
        client_state = secrets.token_urlsafe(32)
        self.pending_states.add(client_state)
        try:
            made = await graph.create_subscription(
                user_ids=list(ids),
                notification_url=self.notification_url,
                lifecycle_notification_url=self.lifecycle_url,
                client_state=client_state,
                expiration=dt.datetime.fromtimestamp(self.clock() + LIFETIME, dt.UTC),
                account_upn=account,
                include_resource_data=True,
                certificate=cert.certificate_b64,
                certificate_id=cert.certificate_id,
            )
            record = Subscription(
                provider=GRAPH,
                id=made.id,
                resource=made.resource,
                expires_at=made.expiration.timestamp(),
                shard_key=account,
                client_state=client_state,
                owner=account,
                details=SubscriptionDetails(user_ids=tuple(ids)),
                updated_at=self.clock(),
            )
            await self.store.put_subscription(record)
        finally:
            self.pending_states.discard(client_state)
        logger.info("graph subscription %s watches %d users for %s", made.id, len(ids), account)
        self.catch_up(ids)

    async def _renew(self, sub: Subscription) -> None:
        graph = await self.providers.graph()
        account = sub.owner or ""
        expiry = dt.datetime.fromtimestamp(self.clock() + LIFETIME, dt.UTC)
        try:
            renewed = await graph.renew_subscription(sub.id, expiry, account)
        except GraphNotFoundError:
            logger.info("graph subscription %s is gone; recreating it", sub.id)
            await self.store.delete_subscription(GRAPH, sub.id)
            await self._create(account, _ids(sub))
            return
        await self.store.put_subscription(
            replace(sub, expires_at=renewed.expiration.timestamp(), updated_at=self.clock())
        )
        logger.info("renewed graph subscription %s", sub.id)

    async def _retire(self, sub: Subscription) -> None:
        await self.store.delete_subscription(GRAPH, sub.id)
        try:
            graph = await self.providers.graph()
            await graph.delete_subscription(sub.id, sub.owner or "")
        except ProviderError as err:
            # Graph lets it lapse within the hour anyway; nothing else depends on this.
            logger.info("could not delete graph subscription %s: %s", sub.id, err)

    async def reauthorize(self, subscription_id: str) -> None:
        """Answer reauthorizationRequired; a subscription Graph no longer knows is recreated."""
        sub = await self.store.get_subscription(GRAPH, subscription_id)
        if sub is None:
            return
        graph = await self.providers.graph()
        try:
            await graph.reauthorize_subscription(sub.id, sub.owner or "")
        except GraphNotFoundError:
            await self.removed(subscription_id)
        # Renewal stays with the lease holder's timer: any replica may take this event, and
        # renewing here too would renew the same subscription twice.

    async def removed(self, subscription_id: str) -> None:
        """Forget a subscription Graph removed; the next run recreates its shard."""
        await self.store.delete_subscription(GRAPH, subscription_id)

    async def users_of(self, subscription_id: str) -> tuple[str, ...]:
        """The Teams user ids a stored subscription watches."""
        sub = await self.store.get_subscription(GRAPH, subscription_id)
        return _ids(sub) if sub is not None else ()
