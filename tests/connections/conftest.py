"""Fixtures: the full sandbox, the product server on SQLite (or MongoDB), a headless browser."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from presence_sync.secrets import SecretBox
from sandbox.server import RunningSandbox
from tests.connections.product import (
    Browser,
    ProductServer,
    free_port,
    product_settings,
    start_product,
)
from tests.mongo_server import MongoServerError, MongoTarget, mongo_uri
from tests.sandbox.conftest import sandbox, sandbox_data_dir

__all__ = ["browser", "product", "sandbox", "sandbox_data_dir", "sandbox_options", "start"]


class StartProduct(Protocol):
    """Starts one more product server on the test's store (see the `start` fixture)."""

    def __call__(self, *, clock: Callable[[], float] = time.time) -> Awaitable[ProductServer]:
        """A running server whose timers run on `clock`."""
        ...


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A small organisation: consent and connections do not need many people."""
    return {"users": 12}


@pytest.fixture(scope="session")
def mongo_target() -> Iterator[MongoTarget]:
    """MONGODB_URI (throwaway databases) or a FerretDB started for this session."""
    try:
        with mongo_uri() as target:
            yield target
    except MongoServerError as err:
        pytest.fail(f"no MongoDB-protocol server: {err}", pytrace=False)


@pytest.fixture
def store_kind() -> str:
    """Which store the product runs on; parametrise with `indirect` to use MongoDB."""
    return "sqlite"


@pytest.fixture
def store_url(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh store for this test, kept across product restarts within it."""
    if store_kind == "sqlite":
        return f"sqlite:///{tmp_path / 'presence-sync.db'}"
    target: MongoTarget = request.getfixturevalue("mongo_target")
    return target.database_uri(f"conn_{uuid.uuid4().hex[:10]}")


@pytest.fixture
async def browser(sandbox: RunningSandbox) -> AsyncIterator[Browser]:
    """The admin's browser (trusts the sandbox CA); signed in when the first server starts."""
    admin = Browser(sandbox.ca_file)
    yield admin
    await admin.close()


@pytest.fixture
async def start(
    sandbox: RunningSandbox, store_url: str, tmp_path: Path, browser: Browser
) -> AsyncIterator[StartProduct]:
    """Start a product server on this test's store: again after a stop (a restart), or
    alongside another (a second replica). The admin signs in to the first one; sessions live
    in the shared store, so the cookie counts on every server started after it."""
    key = SecretBox.generate_key()
    servers: list[ProductServer] = []

    async def starter(*, clock: Callable[[], float] = time.time) -> ProductServer:
        # Each server its own port, so two can run at once as replicas sharing the store.
        settings = product_settings(sandbox, store_url, tmp_path / "data", free_port(), key)
        server = await start_product(settings, clock)
        servers.append(server)
        if browser.admin is None:
            await browser.sign_in(server)
        return server

    yield starter
    for server in reversed(servers):
        await server.stop()


@pytest.fixture
async def product(start: StartProduct) -> ProductServer:
    """A running product server."""
    return await start()
