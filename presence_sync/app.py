"""The aiohttp application: wiring of settings, store, routes and middlewares."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography.fernet import Fernet

from presence_sync.http import ssl_context
from presence_sync.settings import Settings
from presence_sync.store import open_store
from presence_sync.sync import setup_sync
from presence_sync.watch import setup_watchers
from presence_sync.web import health
from presence_sync.web.consent import setup_connections
from presence_sync.web.errors import error_middleware
from presence_sync.web.keys import HTTP, INSTANCE_ID, METRICS, SETTINGS, STORE
from presence_sync.web.readiness import StoreHandle

__all__ = ["create_app", "resolve_secret_key"]

logger = logging.getLogger(__name__)

# Webhook bodies are small; a 5 MB "notification" is an attack, not a notification.
MAX_BODY_BYTES = 1024 * 1024


def resolve_secret_key(settings: Settings) -> bytes:
    """The key that encrypts secrets at rest: SECRET_KEY, else a key file in the data folder."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / "secret.key"
    if path.is_file():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # Create with 0600 from the start: the key must never be readable by other users.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    if not settings.store_url.startswith("sqlite"):
        logger.warning(
            "SECRET_KEY is not set: generated %s; every replica sharing this store needs the "
            "same key, so set SECRET_KEY explicitly",
            path,
        )
    return key


def _ensure_sqlite_folder(settings: Settings) -> None:
    if settings.store_url.startswith("sqlite:///"):
        target = settings.store_url[len("sqlite:///") :]
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)


async def _store_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    _ensure_sqlite_folder(settings)
    handle = StoreHandle(open_store(settings.store_url, resolve_secret_key(settings)))
    app[STORE] = handle
    await handle.start()
    yield
    await handle.close()


async def _http_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    connector = aiohttp.TCPConnector(ssl=ssl_context(settings.ca_file), limit=200)
    timeout = aiohttp.ClientTimeout(total=settings.http_timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        app[HTTP] = session
        yield


def create_app(settings: Settings) -> web.Application:
    """The product's web application for `settings`."""
    app = web.Application(
        middlewares=[health.metrics_middleware, error_middleware],
        client_max_size=MAX_BODY_BYTES,
    )
    app[SETTINGS] = settings
    app[METRICS] = health.ServerMetrics()
    app[INSTANCE_ID] = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    # Order matters: later contexts (services, background loops) use the store and HTTP session,
    # and cleanup runs in reverse, so loops stop before the store closes.
    app.cleanup_ctx.append(_http_ctx)
    app.cleanup_ctx.append(_store_ctx)
    # Services add their routes, keys and cleanup contexts here, one line each.
    setup_sync(app)
    setup_connections(app)
    setup_watchers(app)
    health.add_routes(app, metrics_enabled=settings.metrics_enabled)
    return app
