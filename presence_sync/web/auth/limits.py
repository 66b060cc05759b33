"""How many sign-ins one admin, or one client address, may start in a minute.

Every start leaves a single-use state in the store until it is finished or expires, so an
unbounded caller could make the store keep any number of them. Starts are counted in a
sliding window per key (an admin's object id, a client address) and refused past the limit
with `TooManyRequestsError`, whose `retry_after` is when the oldest start leaves the window.
The counts live in this process: each replica bounds what it is sent, which is what bounds
the records one caller can create.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from presence_sync.errors import TooManyRequestsError

__all__ = ["LOGINS_PER_MINUTE", "STARTS_PER_MINUTE", "StartLimit"]

STARTS_PER_MINUTE = 10  # consent, sync-account and RingCentral sign-ins per admin
LOGINS_PER_MINUTE = 20  # tab sign-ins per client address (shared by everyone behind a NAT)
MAX_KEYS = 10_000  # callers tracked at once; beyond this every new caller waits


@dataclass
class StartLimit:
    """At most `limit` starts per key in any `window` seconds."""

    limit: int
    what: str  # what is started, for the refusal: "sign-in steps", "sign-ins"
    who: str  # whose limit it is: "by you", "from this address"
    window: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _starts: dict[str, deque[float]] = field(default_factory=dict, init=False)

    def take(self, key: str) -> None:
        """Count one start for `key`; `TooManyRequestsError` when the window is full."""
        now = self.clock()
        starts = self._starts.get(key)
        if starts is None:
            if len(self._starts) >= MAX_KEYS:
                self._forget_idle(now)
            if len(self._starts) >= MAX_KEYS:
                raise TooManyRequestsError(
                    f"too many {self.what} are being started right now; try again in a minute",
                    self.window,
                )
            starts = self._starts[key] = deque()
        while starts and starts[0] <= now - self.window:
            starts.popleft()
        if len(starts) >= self.limit:
            wait = max(1, math.ceil(starts[0] + self.window - now))
            raise TooManyRequestsError(
                f"{self.limit} {self.what} were started {self.who} in the last minute, the most "
                f"allowed; wait {wait} seconds before starting another",
                wait,
            )
        starts.append(now)

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, s in self._starts.items() if not s or s[-1] <= now - self.window]
        for key in idle:
            del self._starts[key]
