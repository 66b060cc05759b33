"""Pacing provider calls from the budgets their own answers report (DESIGN §2, principle 3).

RingCentral: every call of a `RingCentralClient` already takes a slot from that identity's
`presence_sync.ringcentral.gate.CallGate` (so nothing, not even the directory refresh, is sent
into a spent group and drawn a 429 with a 60-second penalty). What sync adds is *how urgent*
its calls are: `ProviderBudget.ringcentral` runs a block of calls at a priority, optionally
giving up once the work is not worth sending any more. Graph: a running Retry-After holds
every sender back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from presence_sync.ringcentral.gate import calls_at

if TYPE_CHECKING:
    from presence_sync.graph import GraphClient

__all__ = ["RC_PRESENCE_READ", "RC_PRESENCE_WRITE", "ProviderBudget"]

logger = logging.getLogger(__name__)

RC_PRESENCE_WRITE = "Medium"
RC_PRESENCE_READ = "Light"


@dataclass
class ProviderBudget:
    """Admission control for provider calls, shared by every sender of one replica."""

    max_graph_wait: float = 120.0
    waits: int = 0  # how often a Graph call waited for a Retry-After (status pages and tests)

    @contextmanager
    def ringcentral(
        self,
        priority: int,
        *,
        share: bool = False,
        expired: Callable[[], bool] | None = None,
        on_grant: Callable[[], None] | None = None,
        rank: Callable[[], int] | None = None,
    ) -> Iterator[None]:
        """RingCentral calls made in this block wait for their slots at `priority`.

        `share` gives the block's calls one slot in ten even behind a long backlog of more
        urgent work; `expired` (checked while waiting) makes a call give up with
        `SlotExpiredError` instead of being sent once it is not wanted any more; `on_grant` is
        told the moment a request gets its slot and leaves; `rank`, when given, is asked for
        the priority each time the order of waiting calls is decided.
        """
        with calls_at(priority, share=share, expired=expired, on_grant=on_grant, rank=rank):
            yield

    async def graph(self, client: GraphClient) -> None:
        """Wait while Graph has asked us to hold back (a Retry-After still running)."""
        pause = client.budget.snapshot().retry_after
        if pause > 0:
            self.waits += 1
            await asyncio.sleep(min(pause, self.max_graph_wait))
