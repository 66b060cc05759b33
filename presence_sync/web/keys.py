"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import ClientSession, web

if TYPE_CHECKING:
    from presence_sync.settings import Settings
    from presence_sync.web.health import ServerMetrics
    from presence_sync.web.readiness import StoreHandle

__all__ = ["CLOCK", "HTTP", "INSTANCE_ID", "METRICS", "SETTINGS", "STORE", "TIME_SCALE"]

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
STORE: web.AppKey[StoreHandle] = web.AppKey("store")
METRICS: web.AppKey[ServerMetrics] = web.AppKey("metrics")
# One outbound session for every provider client: shared connection pool, the configured CA.
HTTP: web.AppKey[ClientSession] = web.AppKey("http", ClientSession)
# Identifies this replica as the owner of leases, claimed jobs and dirty users.
INSTANCE_ID: web.AppKey[str] = web.AppKey("instance_id", str)
# Tests and the demo run the server on the sandbox's faster clock; production uses time.time.
CLOCK: web.AppKey[Callable[[], float]] = web.AppKey("clock")
# Clock seconds per real second on that clock (Retry-After headers count real seconds).
TIME_SCALE: web.AppKey[float] = web.AppKey("time_scale", float)
