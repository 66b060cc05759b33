"""Wiring of sync into the server: reconciler workers, dispatcher, jobs, notices, directory.

`setup_sync(app)` adds the `SYNC` key (the running `SyncService`, whose `admin` serves the
bot and tab) and one cleanup context that starts the background loops once the store has
opened and stops them, promptly, before the store closes. Provider clients come from
`app[PROVIDERS]` (tests) or the connections service's `CONNECTIONS`, looked up at each use,
so the loops start even before anything is connected and simply wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from presence_sync.admin import Admin
from presence_sync.connections.service import CONNECTIONS
from presence_sync.directory import DirectorySync
from presence_sync.errors import PresenceSyncError
from presence_sync.jobs import JobRunner
from presence_sync.notices.delivery import NoticeDelivery
from presence_sync.providers import NotConnectedError, Providers
from presence_sync.store.base import Store
from presence_sync.sync.budget import ProviderBudget
from presence_sync.sync.dispatcher import Dispatcher
from presence_sync.sync.reconciler import Reconciler
from presence_sync.tasks import finish_within, stop_tasks
from presence_sync.watch.coverage import Coverage
from presence_sync.watch.service import PROVIDERS, WATCHERS
from presence_sync.web.keys import CLOCK, INSTANCE_ID, SETTINGS, STORE

if TYPE_CHECKING:
    from presence_sync.graph import GraphClient
    from presence_sync.ringcentral import RingCentralClient

__all__ = ["CLOCK", "PROVIDERS", "SYNC", "SyncService", "setup_sync"]

logger = logging.getLogger(__name__)

DIRECTORY_LEASE = "directory-refresh"
# Shutdown is bounded: a store that stopped answering must not hold it up.
STOP_TIMEOUT = 20.0


@dataclass
class _AppProviders:
    """`Providers` that reads `app[PROVIDERS]` at each call (absent: not connected yet)."""

    app: web.Application

    def _find(self) -> Providers | None:
        if PROVIDERS in self.app:
            return self.app[PROVIDERS]
        return self.app.get(CONNECTIONS)

    def _get(self) -> Providers:
        providers = self._find()
        if providers is None:
            raise NotConnectedError("no provider connections are configured")
        return providers

    async def graph(self) -> GraphClient:
        """The Graph client."""
        return await self._get().graph()

    async def ringcentral(self) -> RingCentralClient:
        """The RingCentral client."""
        return await self._get().ringcentral()

    async def sync_accounts(self) -> list[str]:
        """Healthy sync accounts."""
        return await self._get().sync_accounts()

    async def report_failure(self, provider: str, error: BaseException) -> None:
        """Pass a failure on to the connection owner."""
        providers = self._find()
        if providers is not None:
            await providers.report_failure(provider, error)


@dataclass
class SyncService:
    """Everything that makes sync happen in one replica."""

    store: Store
    providers: Providers
    owner: str
    clock: Callable[[], float] = time.time
    workers: int = 2
    directory_interval: float = 300.0
    # An idle worker claims again after this long; marks made in this replica ring the
    # store's bell and wake it at once, so this only bounds how late marks made by other
    # replicas (and timers falling due) are seen.
    worker_idle: float = 0.5
    deliver_notices: bool = True
    job_lease: float = 60.0
    budget: ProviderBudget = field(default_factory=ProviderBudget)
    reconciler: Reconciler = field(init=False)
    dispatcher: Dispatcher = field(init=False)
    jobs: JobRunner = field(init=False)
    notices: NoticeDelivery = field(init=False)
    directory: DirectorySync = field(init=False)
    admin: Admin = field(init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reconciler = Reconciler(self.store, self.clock)
        self.dispatcher = Dispatcher(
            self.providers,
            on_result=self.reconciler.apply_result,
            remote=self.reconciler.remote_rc,
            clock=self.clock,
            budget=self.budget,
        )
        self.reconciler.dispatcher = self.dispatcher
        self.jobs = JobRunner(
            self.store,
            self.providers,
            self.reconciler,
            self.owner,
            self.clock,
            self.budget,
            lease=self.job_lease,
        )
        self.notices = NoticeDelivery(self.store, self.providers, self.owner, self.clock)
        self.directory = DirectorySync(self.store, self.providers, self.clock)
        self.admin = Admin(self.store, self.clock, on_job_queued=self.jobs.wake)

    def start(self) -> None:
        """Start the background loops."""
        self.dispatcher.start()
        for n in range(self.workers):
            self._spawn(self.reconciler.run(self.owner, idle=self.worker_idle), f"sync-worker-{n}")
        self._spawn(self.jobs.run(), "sync-jobs")
        if self.deliver_notices:
            self._spawn(self.notices.run(), "sync-notices")
        self._spawn(self._directory_loop(), "sync-directory")

    def _spawn(self, coro: object, name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))  # type: ignore[arg-type]

    async def stop(self) -> None:
        """Stop every loop; work in progress is picked up again from the store later."""
        await stop_tasks(self._tasks)
        self._tasks.clear()
        await self.dispatcher.stop()

    async def _directory_loop(self) -> None:
        while True:
            try:
                if await self.store.acquire_lease(
                    DIRECTORY_LEASE, self.owner, self.directory_interval * 2, self.clock()
                ):
                    await self.directory.refresh()
            except NotConnectedError as err:
                logger.debug("directory refresh waits for connections: %s", err)
            except PresenceSyncError as err:
                logger.warning("directory refresh failed, retrying later: %s", err)
            except Exception:
                logger.exception("directory refresh failed")
            await asyncio.sleep(self.directory_interval)


SYNC: web.AppKey[SyncService] = web.AppKey("sync", SyncService)


def setup_sync(app: web.Application) -> None:
    """Add sync's background loops to `app` (they start once the store is open)."""

    async def sync_ctx(app: web.Application) -> AsyncIterator[None]:
        handle = app[STORE]
        service = SyncService(
            handle.store,
            _AppProviders(app),
            app[INSTANCE_ID],
            clock=app.get(CLOCK, time.time),
            directory_interval=app[SETTINGS].watch_reconcile_interval,
        )
        app[SYNC] = service

        async def coverage() -> Coverage | None:
            slot = app.get(WATCHERS)
            return None if slot is None or slot.current is None else await slot.current.coverage()

        service.admin.coverage = coverage

        async def start_when_open() -> None:
            # The store may be down at start-up: the server serves, the loops wait.
            await handle.wait_opened()
            service.start()

        starter = asyncio.create_task(start_when_open(), name="sync-start")
        yield
        await stop_tasks([starter])
        await finish_within(STOP_TIMEOUT, service.stop(), "stopping sync")

    app.cleanup_ctx.append(sync_ctx)
