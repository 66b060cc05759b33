"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
if TYPE_CHECKING:
    from presence_sync.settings import Settings
    from presence_sync.web.health import ServerMetrics
    from presence_sync.web.readiness import StoreHandle

__all__ = ["METRICS", "SETTINGS", "STORE"]

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
STORE: web.AppKey[StoreHandle] = web.AppKey("store")
METRICS: web.AppKey[ServerMetrics] = web.AppKey("metrics")
