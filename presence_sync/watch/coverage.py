"""How users are watched, and how often: the polling plan and what `status` reports.

Graph's presence budget is per app per tenant per 30 s (PLATFORM_APIS: 1,500 or 10,000).
Polling may use `share` of it. When one poll of everyone fits in that share at an interval of
a second or two, everyone is fast-polled (faster than Graph's notifications, which average
several seconds); otherwise only users without a subscription are polled, as often as the
share allows, and everyone is re-read on the slower reconciliation cycle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from presence_sync.graph.models import PRESENCE_BATCH

__all__ = ["FAST_FIT_SECONDS", "Coverage", "PollPlan", "plan_polling"]

FAST_FIT_SECONDS = 2.0  # fast-poll everyone only if that keeps each user's interval this short


@dataclass(frozen=True)
class PollPlan:
    """Whom to poll and how often (seconds between two reads of the same user)."""

    fast: bool  # everyone is polled, not only users without a subscription
    interval: float
    requests_per_poll: int


def plan_polling(
    *,
    total: int,
    uncovered: int,
    budget_per_30s: int,
    share: float,
    min_interval: float,
    backoff: float = 1.0,
) -> PollPlan:
    """The polling plan for `total` users of whom `uncovered` have no subscription."""
    rate = max(budget_per_30s * share / 30.0, 1e-6)  # requests per second we may spend
    all_calls = math.ceil(total / PRESENCE_BATCH)
    all_interval = max(min_interval, all_calls / rate) * backoff
    if all_calls and all_interval <= max(FAST_FIT_SECONDS, min_interval) * backoff:
        return PollPlan(True, all_interval, all_calls)
    calls = math.ceil(uncovered / PRESENCE_BATCH)
    return PollPlan(False, max(min_interval, calls / rate) * backoff, calls)


@dataclass(frozen=True)
class Coverage:
    """What the watchers cover right now, for the admin `status` answer."""

    users: int  # linked users with sync enabled
    by_notification: int  # in an unexpired Graph subscription
    by_polling: int  # not in a subscription: polling is how their changes are seen
    poll_interval: float | None  # seconds between reads of polled users (None: nobody polled)
    fast_polling: bool  # everyone, subscribed or not, is polled at poll_interval
    reconcile_interval: float  # everyone is re-read on both platforms this often
    graph_subscriptions: int
    ringcentral_subscription: bool  # a RingCentral presence webhook is in place
