"""Polling: Graph presence reads by plan, and the reconciliation walk on both platforms.

`GraphPoller.tick` is called often by the watchers' loop; it decides from the plan in
`coverage.plan_polling` whether a read is due, backs off while Graph throttles us (the
client's `budget` shows 429s and Retry-After), and hands what it read to the `Observer`.
`RingCentralPoller` walks every extension in batches of 30 once per reconciliation cycle,
pausing whenever the Light group's budget runs low so live writes keep their share.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from presence_sync.graph.models import Presence
from presence_sync.providers import Providers
from presence_sync.watch.coverage import PollPlan, plan_polling
from presence_sync.watch.observe import Observer

__all__ = ["GraphPoller", "RingCentralPoller"]

logger = logging.getLogger(__name__)

RC_BATCH = 30
RC_LIGHT_RESERVE = 15  # Light requests per window left for everything else (renewals, reads)
MAX_BACKOFF = 8.0
WRITE_CONCURRENCY = 8  # observations written at once (MongoDB overlaps them; SQLite queues)


@dataclass
class GraphPoller:
    """Reads Teams presence of the users the plan says are due."""

    providers: Providers
    observer: Observer
    clock: Callable[[], float]
    budget_per_30s: int
    share: float
    min_interval: float
    reconcile_interval: float
    plan: PollPlan | None = None
    backoff: float = 1.0
    next_poll: float = 0.0
    next_reconcile: float = 0.0

    async def read(self, user_ids: Sequence[str], *, reason: str, force: bool) -> int:
        """Read presence of `user_ids` and record it; how many observations were applied."""
        if not user_ids:
            return 0
        graph = await self.providers.graph()
        presences = await graph.get_presences(user_ids)
        gate = asyncio.Semaphore(WRITE_CONCURRENCY)

        async def record(presence: Presence) -> bool:
            async with gate:
                return await self.observer.teams(presence, reason=reason, force=force)

        return sum(await asyncio.gather(*(record(p) for p in presences)))

    async def tick(self, everyone: Sequence[str], covered: frozenset[str]) -> None:
        """Poll if a read is due; raises the provider's errors for the caller to log."""
        now = self.clock()
        uncovered = [u for u in everyone if u not in covered]
        graph = await self.providers.graph()
        snapshot = graph.budget.snapshot()
        if snapshot.retry_after > 0:
            return
        if now >= self.next_poll:
            # Slow down while Graph throttles us; speed back up once the window is clean.
            if snapshot.throttled_in_window:
                self.backoff = min(MAX_BACKOFF, self.backoff * 2)
            else:
                self.backoff = max(1.0, self.backoff / 2)
        self.plan = plan_polling(
            total=len(everyone),
            uncovered=len(uncovered),
            budget_per_30s=self.budget_per_30s,
            share=self.share,
            min_interval=self.min_interval,
            backoff=self.backoff,
        )
        if now >= self.next_reconcile:
            self.next_reconcile = now + self.reconcile_interval
            self.next_poll = now + self.plan.interval
            await self.read(list(everyone), reason="teams-reconcile", force=True)
            return
        if now >= self.next_poll:
            self.next_poll = now + self.plan.interval
            targets = list(everyone) if self.plan.fast else uncovered
            await self.read(targets, reason="teams-poll", force=False)


@dataclass
class RingCentralPoller:
    """Re-reads every extension's presence once per reconciliation cycle, 30 at a time."""

    providers: Providers
    observer: Observer
    clock: Callable[[], float]
    reconcile_interval: float
    next_cycle: float = 0.0
    _queue: list[str] = field(default_factory=list)

    @property
    def walking(self) -> bool:
        """Whether a reconciliation walk is under way."""
        return bool(self._queue)

    async def tick(self, extension_ids: Sequence[str]) -> None:
        """Continue the walk as far as the Light budget allows."""
        now = self.clock()
        if not self._queue:
            if now < self.next_cycle:
                return
            self.next_cycle = now + self.reconcile_interval
            self._queue = list(extension_ids)
        client = await self.providers.ringcentral()
        while self._queue:
            remaining = client.limits.remaining("Light")
            if remaining is not None and remaining <= RC_LIGHT_RESERVE:
                return  # carry on next tick, after the window resets
            chunk, self._queue = self._queue[:RC_BATCH], self._queue[RC_BATCH:]
            # Stamped with when it was asked for: recorded one by one, a batch can reach the
            # store well after RingCentral answered, and must not read as newer than our
            # writes confirmed meanwhile.
            asked = self.clock()
            try:
                presences = await client.get_presences(chunk)
            except BaseException:
                self._queue = chunk + self._queue
                raise
            for presence in presences:
                await self.observer.rc(
                    replace(presence, reported_at=asked), reason="rc-reconcile", force=True
                )
