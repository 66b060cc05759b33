"""Graph's per-tenant request budget, counted in fixed windows of sandbox time."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sandbox.context import Clock

WINDOW_SECONDS = 30.0
DEFAULT_BUDGET = 10_000  # Graph publishes 1,500 or 10,000 presence requests per 30 s


@dataclass
class TenantBudget:
    """Admits at most `limit` requests per tenant per 30 s window; None turns throttling off."""

    clock: Clock
    limit: int | None = DEFAULT_BUDGET
    _window_start: dict[str, float] = field(default_factory=dict)
    _used: dict[str, int] = field(default_factory=dict)

    def admit(self, tenant: str) -> float | None:
        """Count one request; None when admitted, else the Retry-After in real seconds."""
        if self.limit is None:
            return None
        now = self.clock.now()
        start = math.floor(now / WINDOW_SECONDS) * WINDOW_SECONDS
        if self._window_start.get(tenant) != start:
            self._window_start[tenant] = start
            self._used[tenant] = 0
        if self._used[tenant] >= self.limit:
            # Clients wait in real seconds, so the sandbox-time remainder is scaled down.
            remaining = self.clock.real_seconds(start + WINDOW_SECONDS - now)
            return float(max(1, math.ceil(remaining)))
        self._used[tenant] += 1
        return None

    def used(self, tenant: str) -> int:
        """Requests admitted for `tenant` in the current window."""
        now = self.clock.now()
        start = math.floor(now / WINDOW_SECONDS) * WINDOW_SECONDS
        if self._window_start.get(tenant) != start:
            return 0
        return self._used.get(tenant, 0)
