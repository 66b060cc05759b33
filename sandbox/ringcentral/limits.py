"""RingCentral's API usage plan: rate-limit groups per user per app, in sandbox time.

Each (app, user, group) gets a fixed 60-second window that starts with its first request.
The request that goes beyond the group's limit is answered 429 and starts a 60-second
penalty during which every request of that group is refused, as RingCentral does.
RingCentral may also cap an app as a whole, over all its users (`app_limits`, off unless set):
a request beyond that cap is refused the same way, with the group's penalty for every user.
`Retry-After` is given in real seconds (the penalty left, divided by the time scale), because
that is how long a client actually has to wait; `X-Rate-Limit-Window` stays in RingCentral's
nominal seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sandbox.context import Clock
from sandbox.ringcentral.api import RcApiError

GROUP_LIMITS = {"Light": 50, "Medium": 40, "Heavy": 10, "Auth": 5}
WINDOW_SECONDS = 60.0
PENALTY_SECONDS = 60.0


@dataclass
class _Bucket:
    window_start: float
    used: int = 0
    penalty_until: float = 0.0


@dataclass
class RateLimiter:
    """Counts requests per (app, user, group) and refuses the ones beyond the limit."""

    clock: Clock
    enabled: bool = True
    limits: dict[str, int] = field(default_factory=lambda: dict(GROUP_LIMITS))
    app_limits: dict[str, int] = field(default_factory=dict)  # group -> calls a window, all users
    _buckets: dict[tuple[str, str, str], _Bucket] = field(default_factory=dict)
    refused: int = 0
    refused_by_user: dict[str, int] = field(default_factory=dict)

    def take(self, app: str, user: str, group: str) -> dict[str, str]:
        """Count one request; its rate-limit headers, or RcApiError 429 carrying them."""
        limit = self.limits[group]
        headers = {
            "X-Rate-Limit-Group": group,
            "X-Rate-Limit-Limit": str(limit),
            "X-Rate-Limit-Window": str(int(WINDOW_SECONDS)),
        }
        if not self.enabled:
            headers["X-Rate-Limit-Remaining"] = str(limit)
            return headers
        bucket = self._charge((app, user, group), limit, headers, user)
        remaining = limit - bucket.used
        whole = self.app_limits.get(group)
        if whole is not None:
            try:
                shared = self._charge((app, "*", group), whole, headers, user)
            except RcApiError:
                bucket.used -= 1  # refused: it does not count against the user either
                raise
            # What is left to this user is what is left to the app, when that is less.
            remaining = min(remaining, whole - shared.used)
        headers["X-Rate-Limit-Remaining"] = str(remaining)
        return headers

    def _charge(
        self, key: tuple[str, str, str], limit: int, headers: dict[str, str], user: str
    ) -> _Bucket:
        now = self.clock.now()
        bucket = self._buckets.get(key)
        if bucket is not None and now < bucket.penalty_until:
            raise self._refuse(headers, bucket.penalty_until - now, user)
        if bucket is None or now - bucket.window_start >= WINDOW_SECONDS:
            bucket = _Bucket(window_start=now)
            self._buckets[key] = bucket
        if bucket.used >= limit:
            bucket.penalty_until = now + PENALTY_SECONDS
            raise self._refuse(headers, PENALTY_SECONDS, user)
        bucket.used += 1
        return bucket

    def _refuse(self, headers: dict[str, str], penalty_left: float, user: str) -> RcApiError:
        self.refused += 1
        self.refused_by_user[user] = self.refused_by_user.get(user, 0) + 1
        real_wait = max(1, math.ceil(self.clock.real_seconds(penalty_left)))
        answer = dict(headers, **{"X-Rate-Limit-Remaining": "0", "Retry-After": str(real_wait)})
        return RcApiError(
            429,
            {
                "errorCode": "CMN-301",
                "message": "Request rate exceeded",
                "errors": [{"errorCode": "CMN-301", "message": "Request rate exceeded"}],
            },
            answer,
        )

    def reset(self) -> None:
        """Forget every window, penalty and count of refusals."""
        self._buckets.clear()
        self.refused_by_user.clear()

    def snapshot(self) -> dict[str, object]:
        """JSON-ready view for the control API."""
        now = self.clock.now()
        buckets = [
            {
                "app": app,
                "user": user,
                "group": group,
                "used": bucket.used,
                "limit": self.limits[group] if user != "*" else self.app_limits.get(group),
                "penalized": now < bucket.penalty_until,
            }
            for (app, user, group), bucket in sorted(self._buckets.items())
            if now - bucket.window_start < WINDOW_SECONDS or now < bucket.penalty_until
        ]
        return {
            "enabled": self.enabled,
            "groups": dict(self.limits),
            "window_seconds": WINDOW_SECONDS,
            "penalty_seconds": PENALTY_SECONDS,
            "app_limits": dict(self.app_limits),
            "refused": self.refused,
            "refused_by_user": dict(self.refused_by_user),
            "buckets": buckets,
        }
