"""Sync in one replica: reconciler workers, dispatcher, jobs, notices and the directory refresh.

`SyncService` builds its parts from what it is given and hands its background loops to the
server's supervisor (`loops()`); it never looks anything up. Provider clients come from
`providers` at each use, so the loops run before anything is connected and simply wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from presence_sync.errors import PresenceSyncError
from presence_sync.notices.delivery import ChatSender, NoticeDelivery
from presence_sync.providers import NotConnectedError, Providers
from presence_sync.store.base import Store
from presence_sync.sync.budget import ProviderBudget
from presence_sync.sync.directory import DirectorySync
from presence_sync.sync.dispatcher import Dispatcher
from presence_sync.sync.jobs import JobRunner
from presence_sync.sync.reconciler import Reconciler
from presence_sync.tasks import Loop

__all__ = ["DIRECTORY_LEASE", "SyncService"]

logger = logging.getLogger(__name__)

DIRECTORY_LEASE = "directory-refresh"


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
    # How often the store is asked for people due that no decision in this process is coming
    # for (what a stopped process or another replica left), and how long past due they must
    # be (clock seconds): a decision on its way here elsewhere gets that long to land.
    sweep_interval: float = 2.0
    sweep_grace: float = 2.0
    deliver_notices: bool = True
    job_lease: float = 60.0
    budget: ProviderBudget = field(default_factory=ProviderBudget)
    # Notices in Teams chat (the bot's sender); without it every notice goes by email.
    chat: ChatSender | None = None
    reconciler: Reconciler = field(init=False)
    jobs: JobRunner = field(init=False)
    notices: NoticeDelivery = field(init=False)
    directory: DirectorySync = field(init=False)

    def __post_init__(self) -> None:
        self.reconciler = Reconciler(self.store, self.clock, self.providers, self.budget)
        self.jobs = JobRunner(
            self.store,
            self.providers,
            self.reconciler,
            self.owner,
            self.clock,
            self.budget,
            lease=self.job_lease,
            notice_channel="email" if self.chat is None else "chat",
        )
        self.notices = NoticeDelivery(
            self.store, self.providers, self.owner, self.clock, chat=self.chat
        )
        self.directory = DirectorySync(self.store, self.providers, self.clock)

    @property
    def dispatcher(self) -> Dispatcher:
        """The reconciler's dispatcher (the writes on their way to the providers)."""
        dispatcher = self.reconciler.dispatcher
        assert dispatcher is not None  # built with providers, so it always has one
        return dispatcher

    def loops(self) -> list[Loop]:
        """The background loops, for the server's supervisor to run."""
        loops = [Loop(f"sync-worker-{n}", self._worker_loop) for n in range(self.workers)]
        loops.append(Loop("sync-sweep", self._sweep_loop))
        loops += self.dispatcher.loops()
        loops.append(Loop("sync-jobs", self.jobs.run))
        if self.deliver_notices:
            loops.append(Loop("sync-notices", self.notices.run))
        loops.append(Loop("sync-directory", self._directory_loop))
        return loops

    async def stop(self) -> None:
        """Once the loops have stopped: hand unsent writes back (picked up again at start)."""
        await self.dispatcher.stop()

    async def _worker_loop(self) -> None:
        await self.reconciler.run(self.owner, idle=self.worker_idle)

    async def _sweep_loop(self) -> None:
        while True:
            try:
                await self.reconciler.sweep_due(self.sweep_grace)
            except PresenceSyncError as err:
                logger.warning("could not look for people due: %s", err)
            await asyncio.sleep(self.sweep_interval)

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
            await asyncio.sleep(self.directory_interval)
