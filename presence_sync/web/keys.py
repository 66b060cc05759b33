"""Typed keys for everything the aiohttp application holds, declared in this one place.

`presence_sync.app` registers each service under its key as it builds them; handlers read
them with `request.app[KEY]`. Nothing is looked up by name or imported at call time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bot.service import TeamsBot
    from presence_sync.admin import Admin
    from presence_sync.connections import Connections
    from presence_sync.graph.validation import ValidationTokens
    from presence_sync.settings import Settings
    from presence_sync.sync import SyncService
    from presence_sync.tasks import Supervisor
    from presence_sync.watch import Watchers
    from presence_sync.web.auth.guard import TabAuth
    from presence_sync.web.health import ServerMetrics
    from presence_sync.web.known_secrets import KnownSecrets
    from presence_sync.web.readiness import StoreHandle

__all__ = [
    "ADMIN",
    "AUTH",
    "BOT",
    "CONNECTIONS",
    "INSTANCE_ID",
    "KNOWN_SECRETS",
    "METRICS",
    "SETTINGS",
    "STORE",
    "SUPERVISOR",
    "SYNC",
    "VALIDATION_TOKENS",
    "WATCHERS",
]

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
METRICS: web.AppKey[ServerMetrics] = web.AppKey("metrics")
# Identifies this replica as the owner of leases, claimed jobs and dirty users.
INSTANCE_ID: web.AppKey[str] = web.AppKey("instance_id", str)
STORE: web.AppKey[StoreHandle] = web.AppKey("store")
CONNECTIONS: web.AppKey[Connections] = web.AppKey("connections")
SYNC: web.AppKey[SyncService] = web.AppKey("sync")
WATCHERS: web.AppKey[Watchers] = web.AppKey("watchers")
ADMIN: web.AppKey[Admin] = web.AppKey("admin")
BOT: web.AppKey[TeamsBot] = web.AppKey("bot")
# Runs every background loop; readiness asks it which loops keep failing.
SUPERVISOR: web.AppKey[Supervisor] = web.AppKey("supervisor")
# The webhooks' checks: Graph's validation-token keys, and secrets matched moments ago.
VALIDATION_TOKENS: web.AppKey[ValidationTokens] = web.AppKey("graph_validation_tokens")
KNOWN_SECRETS: web.AppKey[KnownSecrets] = web.AppKey("webhook_known_secrets")
# Who is calling an admin route: Teams SSO tokens, tab sessions, pop-up step tickets.
AUTH: web.AppKey[TabAuth] = web.AppKey("tab_auth")
