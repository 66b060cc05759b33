"""Watching presence: Graph subscriptions in shards, polling, the RingCentral webhook."""

from presence_sync.watch.coverage import Coverage, PollPlan, plan_polling
from presence_sync.watch.graph_subscriptions import GraphShards, plan_shards
from presence_sync.watch.observe import Observer, Roster, WatchedUser, load_roster
from presence_sync.watch.service import Watchers, WatchOptions, WebhookAddresses

__all__ = [
    "Coverage",
    "GraphShards",
    "Observer",
    "PollPlan",
    "Roster",
    "WatchOptions",
    "WatchedUser",
    "Watchers",
    "WebhookAddresses",
    "load_roster",
    "plan_polling",
    "plan_shards",
]
