"""The aiohttp application: wiring of settings, store, routes and middlewares."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from cryptography.fernet import Fernet

from presence_sync.settings import Settings
from presence_sync.store import open_store
from presence_sync.web import health
from presence_sync.web.errors import error_middleware
from presence_sync.web.keys import METRICS, SETTINGS, STORE
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


def create_app(settings: Settings) -> web.Application:
    """The product's web application for `settings`."""
    app = web.Application(
        middlewares=[health.metrics_middleware, error_middleware],
        client_max_size=MAX_BODY_BYTES,
    )
    app[SETTINGS] = settings
    app[METRICS] = health.ServerMetrics()
    app.cleanup_ctx.append(_store_ctx)
    health.add_routes(app, metrics_enabled=settings.metrics_enabled)
    return app
