"""RingCentral's rate-limit budget per group, as its `X-Rate-Limit-*` headers report it.

RingCentral counts requests per user per app in groups (Light 50, Medium 40, Heavy 10, Auth 5
a minute by default) and, past a group's limit, refuses that group for a penalty period. Every
answer names its group, the limit, what remains and the window; the dispatcher reads
`remaining(group)` and `reset_in(group)` to pace writes so they rarely reach a 429.

RingCentral does not say when a window began, so it is estimated conservatively: a window is
taken to start at the first answer whose `Remaining` went up (or at the first answer seen), and
`reset_in` is measured from there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["GroupBudget", "RateLimits", "call_group"]


def call_group(method: str, path: str) -> str:
    """The rate-limit group RingCentral counts a call in (its API reference, per endpoint).

    Presence writes, extension and call-queue lists and subscription changes are Medium;
    single reads, batched presence reads and renewals are Light; the account-wide presence
    list is Heavy. Unknown calls are taken as Medium, the group presence writes need.
    """
    method = method.upper()
    route = urlsplit(path).path.rstrip("/")
    parts = route.split("/")
    last = parts[-1] if parts else ""
    if route.endswith("/account/~/presence"):
        return "Heavy"
    if last == "presence":
        return "Medium" if method == "PUT" else "Light"
    if "subscription" in parts:
        if method == "POST" and last == "renew":
            return "Light"
        if method == "GET":
            return "Light"
        return "Medium"
    if method == "GET":
        if last in ("extension", "call-queues"):
            return "Medium"
        return "Light"
    return "Medium"


@dataclass(frozen=True)
class GroupBudget:
    """One group's budget as last reported."""

    group: str
    limit: int
    remaining: int
    window: float
    window_started: float  # clock seconds
    penalty_until: float = 0.0  # clock seconds; refused until then after a 429


@dataclass
class RateLimits:
    """The latest budget of every rate-limit group seen in answers."""

    clock: Callable[[], float] = time.monotonic
    # Clock seconds per real second: Retry-After is in real seconds, the clock may run faster.
    time_scale: float = 1.0
    _groups: dict[str, GroupBudget] = field(default_factory=dict)

    def record(
        self, headers: Mapping[str, str], status: int, retry_after: float | None = None
    ) -> str | None:
        """Update from one answer's headers; the group it belonged to, if it named one."""
        group = headers.get("X-Rate-Limit-Group")
        if not group:
            return None
        now = self.clock()
        before = self._groups.get(group)
        limit = _int(headers.get("X-Rate-Limit-Limit"), before.limit if before else 0)
        remaining = _int(headers.get("X-Rate-Limit-Remaining"), before.remaining if before else 0)
        window = float(_int(headers.get("X-Rate-Limit-Window"), 60))
        started = now
        # Same window unless it has passed or the budget went back up (a new one started).
        same_window = before is not None and now < before.window_started + before.window
        if before is not None and same_window and remaining <= before.remaining:
            started = before.window_started
        penalty = before.penalty_until if before else 0.0
        if status == 429:
            remaining = 0
            wait = retry_after * self.time_scale if retry_after is not None else window
            penalty = max(penalty, now + wait)
        self._groups[group] = GroupBudget(group, limit, remaining, window, started, penalty)
        return group

    def remaining(self, group: str) -> int | None:
        """Requests left in `group` now (None when never seen; 0 while penalised)."""
        budget = self._groups.get(group)
        if budget is None:
            return None
        now = self.clock()
        if now < budget.penalty_until:
            return 0
        if now >= budget.window_started + budget.window:
            return budget.limit  # the window has passed: a fresh budget
        return budget.remaining

    def reset_in(self, group: str) -> float:
        """Seconds until `group` has its full budget again (0 when it has, or is unknown)."""
        budget = self._groups.get(group)
        if budget is None:
            return 0.0
        now = self.clock()
        if now < budget.penalty_until:
            return budget.penalty_until - now
        return max(0.0, budget.window_started + budget.window - now)

    def snapshot(self) -> dict[str, GroupBudget]:
        """Every group's last report, for status pages."""
        return dict(self._groups)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
