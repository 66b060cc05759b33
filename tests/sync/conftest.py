"""Fixtures: the sandbox with consent, real clients, a real store and a running SyncService."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from presence_sync.admin import Admin
from presence_sync.secrets import SecretBox
from presence_sync.store import MongoStore, SqliteStore, Store
from presence_sync.sync.service import SyncService
from presence_sync.tasks import Supervisor
from tests.graph.client_sandbox import ClientSandbox, client_sandbox
from tests.mongo_server import MongoTarget
from tests.store.conftest import mongo_target
from tests.sync.harness import SyncHarness, sandbox_providers

__all__ = ["any_store", "client_sandbox", "harness", "make_harness", "mongo_target", "sqlite_store"]

MakeHarness = Callable[..., Awaitable[SyncHarness]]


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    """An open SQLite store in a temporary folder."""
    store = SqliteStore(tmp_path / "store.db", SecretBox(SecretBox.generate_key()))
    await store.open()
    yield store
    await store.close()


@pytest.fixture(params=["sqlite", "mongo"])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An open, empty store of each kind (SQLite, and MongoDB through FerretDB)."""
    box = SecretBox(SecretBox.generate_key())
    if request.param == "sqlite":
        store: Store = SqliteStore(tmp_path / "store.db", box)
        await store.open()
        yield store
        await store.close()
        return
    target: MongoTarget = request.getfixturevalue("mongo_target")
    mongo = MongoStore(target.uri, f"{target.prefix}{uuid.uuid4().hex[:10]}", box)
    await mongo.open()
    yield mongo
    await mongo.drop_database()
    await mongo.close()


@pytest.fixture
async def make_harness(
    client_sandbox: ClientSandbox,
) -> AsyncIterator[MakeHarness]:
    """Start a SyncService on a store (directory read first); stopped at the end."""
    started: list[SyncHarness] = []

    async def make(
        store: Store, *, owner: str = "replica-1", refresh: bool = True, **options: object
    ) -> SyncHarness:
        providers = sandbox_providers(client_sandbox)
        options.setdefault("worker_idle", 0.01)
        service = SyncService(
            store,
            providers,
            owner,
            clock=client_sandbox.ctx.clock.now,
            **options,  # type: ignore[arg-type]
        )
        if refresh:
            await service.directory.refresh()
        supervisor = Supervisor()
        supervisor.start(service.loops())
        admin = Admin(store, service.clock, on_job_queued=service.jobs.wake)
        harness = SyncHarness(client_sandbox, store, providers, service, supervisor, admin)
        started.append(harness)
        return harness

    yield make
    for harness in reversed(started):
        await harness.stop()


@pytest.fixture
async def harness(sqlite_store: Store, make_harness: MakeHarness) -> SyncHarness:
    """A running SyncService over SQLite and a 40-person sandbox."""
    return await make_harness(sqlite_store)
