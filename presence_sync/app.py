"""The composition root: the aiohttp application, its services, routes and middlewares.

`create_app` adds the routes of every face and one cleanup context that, once the server
starts, opens the outbound HTTP session, builds every service (`presence_sync.services`),
registers each under its typed key (`presence_sync.web.keys`) and starts the background
loops; at shutdown it stops them before the store and the session close.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from presence_sync.http import ssl_context
from presence_sync.providers import Providers
from presence_sync.services import Services, Timing, build_services
from presence_sync.settings import Settings
from presence_sync.tasks import LoopPolicy
from presence_sync.watch import WatchOptions
from presence_sync.web import (
    about,
    consent,
    health,
    messages,
    openapi,
    tab_api,
    tab_static,
    webhooks,
)
from presence_sync.web.auth import routes as auth_routes
from presence_sync.web.errors import error_middleware, quiet_malformed_requests
from presence_sync.web.keys import (
    ADMIN,
    AUTH,
    BOT,
    CONNECTIONS,
    INSTANCE_ID,
    KNOWN_SECRETS,
    METRICS,
    SETTINGS,
    STORE,
    SUPERVISOR,
    SYNC,
    VALIDATION_TOKENS,
    WATCHERS,
)

__all__ = ["create_app"]

# Webhook bodies are small; a 5 MB "notification" is an attack, not a notification.
MAX_BODY_BYTES = 1024 * 1024


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], float] = time.time,
    time_scale: float = 1.0,
    providers: Providers | None = None,
    watch_options: WatchOptions | None = None,
    loop_policy: LoopPolicy | None = None,
) -> web.Application:
    """The product's web application for `settings`.

    `clock` and `time_scale` run the product's timers on a faster clock (the sandbox's, in
    tests and the demo); `providers` replaces the real connections, `watch_options` the
    watchers' timing and `loop_policy` the background loops' restart backoff (tests only).
    """
    quiet_malformed_requests()
    app = web.Application(
        middlewares=[health.metrics_middleware, error_middleware],
        client_max_size=MAX_BODY_BYTES,
    )
    metrics = health.ServerMetrics()
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[INSTANCE_ID] = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    timing = Timing(clock, time_scale)

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(ssl=ssl_context(settings.ca_file), limit=200)
        timeout = aiohttp.ClientTimeout(total=settings.http_timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            services = build_services(
                settings,
                http,
                instance_id=app[INSTANCE_ID],
                timing=timing,
                providers=providers,
                watch_options=watch_options,
                loop_policy=loop_policy,
                on_start=metrics.loop_started,
                on_restart=metrics.loop_restarted,
            )
            _register(app, services)
            await services.start()
            try:
                yield
            finally:
                await services.stop()

    app.cleanup_ctx.append(services_ctx)
    auth_routes.add_routes(app)
    consent.add_routes(app)
    tab_api.add_routes(app)
    openapi.add_routes(app)
    webhooks.add_routes(app)
    messages.add_routes(app)
    health.add_routes(app, metrics_enabled=settings.metrics_enabled)
    about.add_routes(app)
    tab_static.add_routes(app)  # last: /tab/{path} must not shadow the sign-in routes
    return app


def _register(app: web.Application, services: Services) -> None:
    app[STORE] = services.store
    app[CONNECTIONS] = services.connections
    app[SYNC] = services.sync
    app[WATCHERS] = services.watchers
    app[ADMIN] = services.admin
    app[AUTH] = services.auth
    app[BOT] = services.bot
    app[SUPERVISOR] = services.supervisor
    app[VALIDATION_TOKENS] = services.validation_tokens
    app[KNOWN_SECRETS] = services.known_secrets
