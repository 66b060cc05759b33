"""Fixtures: the sandbox with consent, real clients, a real store and a running SyncService."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from presence_sync.secrets import SecretBox
from presence_sync.store import SqliteStore, Store
from presence_sync.sync.service import SyncService
from tests.graph.client_sandbox import ClientSandbox, client_sandbox
from tests.sync.harness import SyncHarness, sandbox_providers

__all__ = ["client_sandbox", "harness", "make_harness", "sqlite_store"]

MakeHarness = Callable[..., Awaitable[SyncHarness]]


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    """An open SQLite store in a temporary folder."""
    store = SqliteStore(tmp_path / "store.db", SecretBox(SecretBox.generate_key()))
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def make_harness(
    client_sandbox: ClientSandbox,
) -> AsyncIterator[MakeHarness]:
    """Start a SyncService on a store (directory read first); stopped at the end."""
    started: list[SyncService] = []

    async def make(
        store: Store, *, owner: str = "replica-1", refresh: bool = True, **options: object
    ) -> SyncHarness:
        providers = sandbox_providers(client_sandbox)
        service = SyncService(
            store,
            providers,
            owner,
            clock=client_sandbox.ctx.clock.now,
            worker_idle=0.01,
            **options,  # type: ignore[arg-type]
        )
        if refresh:
            await service.directory.refresh()
        service.start()
        started.append(service)
        return SyncHarness(client_sandbox, store, providers, service)

    yield make
    for service in reversed(started):
        await service.stop()


@pytest.fixture
async def harness(make_harness: MakeHarness, sqlite_store: Store) -> SyncHarness:
    """A running SyncService over SQLite and a 40-person sandbox."""
    return await make_harness(sqlite_store)
