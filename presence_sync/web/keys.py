"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import ClientSession, web

if TYPE_CHECKING:
    from presence_sync.settings import Settings
    from presence_sync.web.health import ServerMetrics
    from presence_sync.web.readiness import StoreHandle

__all__ = ["HTTP", "INSTANCE_ID", "METRICS", "SETTINGS", "STORE"]

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
STORE: web.AppKey[StoreHandle] = web.AppKey("store")
METRICS: web.AppKey[ServerMetrics] = web.AppKey("metrics")
# One outbound session for every provider client: shared connection pool, the configured CA.
HTTP: web.AppKey[ClientSession] = web.AppKey("http", ClientSession)
# Identifies this replica as the owner of leases, claimed jobs and dirty users.
INSTANCE_ID: web.AppKey[str] = web.AppKey("instance_id", str)
