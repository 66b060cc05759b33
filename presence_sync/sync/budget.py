"""Pacing provider calls from the budgets their own answers report (DESIGN §2, principle 3).

RingCentral counts requests per authorising user in groups (presence PUT is Medium, 40 a
minute by default; batched presence GETs are Light, 50 a minute) and answers 429 with a penalty
once a group is spent. Rather than collect 429s, every call first takes a slot here: the gate
reads what the last answer said remains, subtracts the calls still in flight, and keeps a
reserve that only more urgent work may use, so a person's live change is never stuck behind a
bulk job that spent the budget.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from presence_sync.providers import BULK, REALTIME, RECONCILE

if TYPE_CHECKING:
    from presence_sync.graph import GraphClient
    from presence_sync.ringcentral import RingCentralClient

__all__ = ["RC_PRESENCE_READ", "RC_PRESENCE_WRITE", "ProviderBudget"]

logger = logging.getLogger(__name__)

RC_PRESENCE_WRITE = "Medium"
RC_PRESENCE_READ = "Light"

# Slots a priority must leave free for more urgent work: real-time changes may spend the
# whole budget, reconciliation leaves them a little, bulk jobs leave them more.
_RESERVE = {REALTIME: 0, RECONCILE: 2, BULK: 6}
# Before RingCentral has told us a group's budget, send one call at a time to learn it.
_UNKNOWN_CONCURRENCY = 1
_POLL = 0.05


@dataclass
class ProviderBudget:
    """Admission control for RingCentral groups and Graph, shared by every sender."""

    max_wait: float = 120.0
    _in_flight: dict[str, int] = field(default_factory=dict)
    waits: int = 0  # how often a call waited for budget (for status pages and tests)

    def _reserve(self, priority: int) -> int:
        if priority <= REALTIME:
            return _RESERVE[REALTIME]
        if priority <= RECONCILE:
            return _RESERVE[RECONCILE]
        return _RESERVE[BULK]

    @asynccontextmanager
    async def ringcentral(
        self, client: RingCentralClient, group: str, priority: int
    ) -> AsyncIterator[None]:
        """Hold one slot of `group` for the duration of a call."""
        waited = 0.0
        reserve = self._reserve(priority)
        while True:
            remaining = client.limits.remaining(group)
            busy = self._in_flight.get(group, 0)
            if remaining is None:
                allowed = busy < _UNKNOWN_CONCURRENCY
            else:
                allowed = remaining - busy > reserve
            if allowed or waited >= self.max_wait:
                break
            # Poll briefly rather than sleep until the reset: the client's clock may run
            # faster than real time, and a real-time write must not wait behind a long sleep.
            pause = _POLL
            if waited == 0.0:
                self.waits += 1
                logger.debug("waiting for ringcentral %s budget (priority %d)", group, priority)
            await asyncio.sleep(pause)
            waited += pause
        self._in_flight[group] = self._in_flight.get(group, 0) + 1
        try:
            yield
        finally:
            self._in_flight[group] -= 1

    async def graph(self, client: GraphClient) -> None:
        """Wait while Graph has asked us to hold back (a Retry-After still running)."""
        pause = client.budget.snapshot().retry_after
        if pause > 0:
            self.waits += 1
            await asyncio.sleep(min(pause, self.max_wait))
