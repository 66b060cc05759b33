"""Watching presence: Graph subscriptions in shards, polling, the RingCentral webhook."""

from presence_sync.watch.coverage import Coverage, PollPlan, plan_polling
from presence_sync.watch.graph_subscriptions import GraphShards, plan_shards
from presence_sync.watch.observe import Observer, Roster, WatchedUser, load_roster
from presence_sync.watch.service import (
    PROVIDERS,
    WATCH_OPTIONS,
    WATCHERS,
    Watchers,
    WatchersSlot,
    WatchOptions,
    setup_watchers,
)

__all__ = [
    "PROVIDERS",
    "WATCHERS",
    "WATCH_OPTIONS",
    "Coverage",
    "GraphShards",
    "Observer",
    "PollPlan",
    "Roster",
    "WatchOptions",
    "WatchedUser",
    "Watchers",
    "WatchersSlot",
    "load_roster",
    "plan_polling",
    "plan_shards",
    "setup_watchers",
]
