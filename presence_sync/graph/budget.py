"""How much of the tenant's Graph budget this process is using, as the client observes it.

Graph publishes its presence limits per app per tenant per 30 seconds but sends no remaining-
budget headers, so the only signals are our own request count and the 429s we receive. The
poller reads this to choose its interval; nothing here sleeps or refuses requests.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["BudgetSnapshot", "GraphBudget"]

WINDOW_SECONDS = 30.0


@dataclass(frozen=True)
class BudgetSnapshot:
    """The budget as seen at one moment."""

    requests_in_window: int
    window_seconds: float
    throttled_total: int
    throttled_in_window: int
    retry_after: float  # seconds until Graph said we may call again (0 when not throttled)


@dataclass
class GraphBudget:
    """Sliding 30-second count of Graph requests sent and 429s received by one client."""

    window: float = WINDOW_SECONDS
    clock: Callable[[], float] = time.monotonic
    throttled_total: int = 0
    _sent: deque[float] = field(default_factory=deque, repr=False)
    _throttled: deque[float] = field(default_factory=deque, repr=False)
    _blocked_until: float = 0.0

    def record_request(self) -> None:
        """Count one request sent (every attempt counts: Graph counts retries too)."""
        now = self.clock()
        self._sent.append(now)
        self._prune(now)

    def record_throttled(self, retry_after: float | None) -> None:
        """Count one 429 and remember how long Graph asked us to wait."""
        now = self.clock()
        self.throttled_total += 1
        self._throttled.append(now)
        if retry_after:
            self._blocked_until = max(self._blocked_until, now + retry_after)
        self._prune(now)

    def requests_in_window(self) -> int:
        """Requests sent in the last window."""
        self._prune(self.clock())
        return len(self._sent)

    def retry_after(self) -> float:
        """Seconds until Graph's last Retry-After elapses (0 when it has)."""
        return max(0.0, self._blocked_until - self.clock())

    def snapshot(self) -> BudgetSnapshot:
        """A frozen view for status reports and the poller."""
        now = self.clock()
        self._prune(now)
        return BudgetSnapshot(
            requests_in_window=len(self._sent),
            window_seconds=self.window,
            throttled_total=self.throttled_total,
            throttled_in_window=len(self._throttled),
            retry_after=max(0.0, self._blocked_until - now),
        )

    def _prune(self, now: float) -> None:
        horizon = now - self.window
        for times in (self._sent, self._throttled):
            while times and times[0] <= horizon:
                times.popleft()
