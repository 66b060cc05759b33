"""How many sign-ins one admin, or one client address, may start in a minute.

Every start leaves a single-use state in the store until it is finished or expires, so an
unbounded caller could make the store keep any number of them. Starts are counted in a
sliding window per key (an admin's object id, a client address) and refused past the limit
with `TooManyRequestsError`, whose `retry_after` is when the oldest start leaves the window.
The counts live in the store (`Store.count_start`), so the limit holds for the whole
deployment: replicas behind a load balancer share one count, not one each. Ended starts are
deleted as new ones are counted, and a scope holds at most `MAX_STARTS` at once: past that,
every new caller waits. A store that cannot count refuses the start (`StoreUnavailableError`,
503) rather than let it through unlimited.

The window runs on the product's clock (the sandbox's faster one in tests and the demo);
`Retry-After` and the wait in the message are real seconds, like every other `Retry-After`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from presence_sync.errors import TooManyRequestsError
from presence_sync.store.base import Store

__all__ = [
    "LOGINS_PER_MINUTE",
    "MAX_STARTS",
    "STARTS_PER_MINUTE",
    "StartLimit",
    "login_limit",
    "step_limit",
]

STARTS_PER_MINUTE = 10  # consent, sync-account and RingCentral sign-ins per admin
LOGINS_PER_MINUTE = 20  # tab sign-ins per client address (shared by everyone behind a NAT)
MAX_STARTS = 10_000  # starts one scope remembers at once; beyond this every new caller waits


@dataclass(frozen=True)
class StartLimit:
    """At most `limit` starts per key in any `window` seconds, counted in the store."""

    store: Store
    scope: str  # which count: "steps", "logins"
    limit: int
    what: str  # what is started, for the refusal: "sign-in steps", "sign-ins"
    who: str  # whose limit it is: "by you", "from this address"
    window: float = 60.0
    clock: Callable[[], float] = time.time
    time_scale: float = 1.0  # clock seconds per real second
    most: int = MAX_STARTS

    async def take(self, key: str) -> None:
        """Count one start for `key`; `TooManyRequestsError` when the window is full."""
        now = self.clock()
        refusal = await self.store.count_start(
            self.scope, key, limit=self.limit, most=self.most, now=now, until=now + self.window
        )
        if refusal is None:
            return
        if refusal.busy:
            raise TooManyRequestsError(
                f"too many {self.what} are being started right now; try again in a minute",
                self.window / self.time_scale,
            )
        wait = max(1, math.ceil((refusal.free_at - now) / self.time_scale))
        raise TooManyRequestsError(
            f"{self.limit} {self.what} were started {self.who} in the last minute, the most "
            f"allowed; wait {wait} second{'' if wait == 1 else 's'} before starting another",
            wait,
        )


def step_limit(store: Store, clock: Callable[[], float], time_scale: float = 1.0) -> StartLimit:
    """Consent, sync-account and RingCentral sign-ins (and their tickets), per admin."""
    return StartLimit(
        store,
        "steps",
        STARTS_PER_MINUTE,
        "sign-in steps",
        "by you",
        clock=clock,
        time_scale=time_scale,
    )


def login_limit(store: Store, clock: Callable[[], float], time_scale: float = 1.0) -> StartLimit:
    """Tab sign-ins, per client address: anyone may start one."""
    return StartLimit(
        store,
        "logins",
        LOGINS_PER_MINUTE,
        "sign-ins",
        "from this address",
        clock=clock,
        time_scale=time_scale,
    )
