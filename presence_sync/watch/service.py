"""The watchers as one service: wiring, background loops under a store lease, the inbox.

Every replica answers webhooks; only the replica holding the `watchers` lease manages
subscriptions and polls, so two replicas never renew the same subscription or poll the same
users twice. Loops log provider errors and carry on; they stop promptly on cleanup.

Webhook items are verified in the request, then queued in the inbox: the request is
answered at once and a worker writes the observations (Graph wants an answer within 3 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import cast

from aiohttp import web

from presence_sync.errors import PresenceSyncError
from presence_sync.graph.models import Presence
from presence_sync.providers import NotConnectedError, Providers
from presence_sync.ringcentral.models import RcPresence
from presence_sync.settings import Settings
from presence_sync.store.base import Store
from presence_sync.tasks import finish_within, stop_tasks
from presence_sync.watch.certificate import EncryptionCertificate, load_or_create_certificate
from presence_sync.watch.coverage import Coverage
from presence_sync.watch.graph_subscriptions import GraphShards
from presence_sync.watch.observe import Observer, Roster, load_roster
from presence_sync.watch.poller import GraphPoller, RingCentralPoller
from presence_sync.watch.ringcentral_subscriptions import RingCentralSubscriptions
from presence_sync.web.keys import INSTANCE_ID, SETTINGS, STORE

__all__ = [
    "PROVIDERS",
    "WATCHERS",
    "WATCH_OPTIONS",
    "WatchOptions",
    "Watchers",
    "WatchersSlot",
    "setup_watchers",
]

logger = logging.getLogger(__name__)

LEASE = "watchers"
# Shutdown steps are bounded: a store or provider that stopped answering must not hold it up.
STOP_TIMEOUT = 20.0
LEASE_RELEASE_TIMEOUT = 5.0
GRAPH_NOTIFICATIONS = "/api/notifications/graph"
GRAPH_LIFECYCLE = "/api/notifications/graph/lifecycle"
RINGCENTRAL_NOTIFICATIONS = "/api/notifications/ringcentral"
SUBSCRIPTION_CHECK = 60.0  # product-clock seconds between subscription reviews
INBOX_SIZE = 10_000
JOB_CONCURRENCY = 4  # lifecycle follow-ups and hint reads running at once


@dataclass(frozen=True)
class WatchOptions:
    """Timing of the loops; tests shorten `tick` and pass the sandbox clock and scale."""

    clock: Callable[[], float] = time.time
    time_scale: float = 1.0  # product-clock seconds per real second
    tick: float = 0.25  # real seconds between loop rounds
    lease_seconds: float = 15.0  # real seconds a leader holds the lease without renewing
    roster_every: float = 2.0  # real seconds between reloads of who is linked


@dataclass(frozen=True)
class _TeamsItem:
    presence: Presence


@dataclass(frozen=True)
class _RcItem:
    presence: RcPresence


@dataclass(frozen=True)
class _Job:
    run: Callable[[], Awaitable[None]]
    what: str


_Inbox = asyncio.Queue[_TeamsItem | _RcItem | _Job]


class Watchers:
    """Subscriptions, polling and the webhook inbox of one replica."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        providers: Providers,
        instance_id: str,
        options: WatchOptions | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.providers = providers
        self.instance_id = instance_id
        self.options = options or WatchOptions()
        clock = self.options.clock
        base = settings.public_url.rstrip("/")
        self.observer = Observer(store, clock)
        self.roster = Roster()
        self.shards = GraphShards(
            store=store,
            providers=providers,
            certificate=self.certificate,
            notification_url=base + GRAPH_NOTIFICATIONS,
            lifecycle_url=base + GRAPH_LIFECYCLE,
            renew_before=settings.graph_subscription_renew_before,
            clock=clock,
            catch_up=self.read_soon,
        )
        self.rc_subscriptions = RingCentralSubscriptions(
            store=store,
            providers=providers,
            address=base + RINGCENTRAL_NOTIFICATIONS,
            lifetime=settings.ringcentral_subscription_lifetime,
            clock=clock,
        )
        self.graph_poller = GraphPoller(
            providers=providers,
            observer=self.observer,
            clock=clock,
            budget_per_30s=settings.graph_presence_budget,
            share=settings.graph_poll_budget_share,
            min_interval=settings.graph_poll_min_interval,
            reconcile_interval=settings.watch_reconcile_interval,
        )
        self.rc_poller = RingCentralPoller(
            providers=providers,
            observer=self.observer,
            clock=clock,
            reconcile_interval=settings.watch_reconcile_interval,
        )
        self.inbox: _Inbox = asyncio.Queue(INBOX_SIZE)
        self._certificate: EncryptionCertificate | None = None
        self._covered: frozenset[str] = frozenset()
        self._leader = False
        self._roster_loaded = False  # until then an empty roster means "not read yet", not "nobody"
        self._roster_changed = asyncio.Event()
        self._review_now = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._jobs: set[asyncio.Task[None]] = set()
        self._job_slots = asyncio.Semaphore(JOB_CONCURRENCY)

    # -- shared state ------------------------------------------------------------------

    async def certificate(self) -> EncryptionCertificate:
        """The notification encryption certificate (loaded or made once)."""
        if self._certificate is None:
            self._certificate = await load_or_create_certificate(
                self.store, self.instance_id, self.options.clock
            )
        return self._certificate

    @property
    def leader(self) -> bool:
        """Whether this replica runs the periodic work right now."""
        return self._leader

    async def refresh_roster(self) -> Roster:
        """Reload who is linked and sync-enabled; a change triggers a subscription review."""
        roster = await load_roster(self.store)
        if roster.teams_ids != self.roster.teams_ids or roster.rc_ids != self.roster.rc_ids:
            self._roster_changed.set()
        self.roster = roster
        self.observer.use_roster(roster)
        self._roster_loaded = True
        return roster

    def review_subscriptions(self) -> None:
        """Review subscriptions on the leader's next round (lifecycle events call this)."""
        self._review_now.set()

    async def coverage(self) -> Coverage:
        """Who is watched how, and how often."""
        now = self.options.clock()
        graph_subs = [s for s in await self.store.list_subscriptions("graph") if s.expires_at > now]
        covered = {u for s in graph_subs for u in s.details.user_ids}
        everyone = self.roster.teams_ids
        by_notification = sum(1 for u in everyone if u in covered)
        plan = self.graph_poller.plan
        rc = await self.store.list_subscriptions("ringcentral")
        polled = len(everyone) - by_notification
        return Coverage(
            users=len(self.roster.users),
            by_notification=by_notification,
            by_polling=polled,
            poll_interval=plan.interval if plan is not None and (polled or plan.fast) else None,
            fast_polling=bool(plan and plan.fast),
            reconcile_interval=self.settings.watch_reconcile_interval,
            graph_subscriptions=len(graph_subs),
            ringcentral_subscription=any(s.expires_at > now for s in rc),
        )

    # -- inbox -------------------------------------------------------------------------

    def accept_teams(self, presences: Sequence[Presence]) -> None:
        """Queue Teams presence from verified notifications."""
        for presence in presences:
            self._put(_TeamsItem(presence))

    def accept_rc(self, presence: RcPresence) -> None:
        """Queue RingCentral presence from a verified webhook."""
        self._put(_RcItem(presence))

    def accept_job(self, what: str, run: Callable[[], Awaitable[None]]) -> None:
        """Queue follow-up work of a lifecycle event."""
        self._put(_Job(run, what))

    def read_soon(self, user_ids: Sequence[str]) -> None:
        """Read these Teams users' presence soon (hints without data, missed notifications)."""
        ids = list(user_ids)
        if ids:
            self._put(_Job(lambda: self._read(ids), "teams-hint"))

    async def _read(self, ids: list[str]) -> None:
        await self.graph_poller.read(ids, reason="teams-hint", force=True)

    def _put(self, item: _TeamsItem | _RcItem | _Job) -> None:
        try:
            self.inbox.put_nowait(item)
        except asyncio.QueueFull:
            # Dropping a hint is safe: polling and reconciliation read the truth again.
            logger.warning("watch inbox full; a notification was dropped")

    async def _inbox_worker(self) -> None:
        while True:
            item = await self.inbox.get()
            try:
                if isinstance(item, _TeamsItem):
                    await self.observer.teams(item.presence, reason="teams-notification")
                elif isinstance(item, _RcItem):
                    await self.observer.rc(item.presence, reason="rc-notification")
                else:
                    # Jobs read from providers: run them aside so observations keep flowing.
                    await self._job_slots.acquire()
                    task = asyncio.create_task(self._run_job(item))
                    self._jobs.add(task)
                    task.add_done_callback(self._jobs.discard)
            except (PresenceSyncError, OSError) as err:
                logger.warning("could not process a notification: %s", err)
            finally:
                self.inbox.task_done()

    async def _run_job(self, job: _Job) -> None:
        try:
            await self._guard(job.what, job.run())
        finally:
            self._job_slots.release()

    # -- loops -------------------------------------------------------------------------

    async def _guard(self, what: str, work: Awaitable[None]) -> None:
        try:
            await work
        except NotConnectedError as err:
            logger.debug("%s waits for a connection: %s", what, err)
        except (PresenceSyncError, OSError, ValueError) as err:
            logger.warning("%s failed: %s", what, err)

    async def _lease_loop(self) -> None:
        opts = self.options
        seconds = opts.lease_seconds * opts.time_scale
        while True:
            try:
                self._leader = await self.store.acquire_lease(
                    LEASE, self.instance_id, seconds, opts.clock()
                )
            except PresenceSyncError as err:
                self._leader = False
                logger.warning("watchers lease unavailable: %s", err)
            await asyncio.sleep(min(opts.tick, opts.lease_seconds / 3))

    async def _roster_loop(self) -> None:
        while True:
            await self._guard("loading linked users", self._reload())
            await asyncio.sleep(self.options.roster_every)

    async def _subscription_loop(self) -> None:
        next_review = 0.0
        while True:
            now = self.options.clock()
            due = now >= next_review or self._roster_changed.is_set() or self._review_now.is_set()
            if self._leader and self._roster_loaded and due:
                self._roster_changed.clear()
                self._review_now.clear()
                next_review = now + SUBSCRIPTION_CHECK
                roster = self.roster
                await self._guard("graph subscriptions", self.shards.run_once(roster.teams_ids))
                await self._guard(
                    "ringcentral subscription", self.rc_subscriptions.run_once(roster.rc_ids)
                )
            await asyncio.sleep(self.options.tick)

    async def _poll_loop(self) -> None:
        while True:
            if self._leader and self.roster.users:
                await self._guard("refreshing coverage", self._refresh_covered())
                roster = self.roster
                await self._guard(
                    "graph polling", self.graph_poller.tick(roster.teams_ids, self._covered)
                )
            await asyncio.sleep(self.options.tick)

    async def _walk_loop(self) -> None:
        # Its own loop: the walk waits on RingCentral's budget and must not hold up polling.
        while True:
            if self._leader and self.roster.users:
                roster = self.roster
                await self._guard("ringcentral reconciliation", self.rc_poller.tick(roster.rc_ids))
            await asyncio.sleep(self.options.tick)

    async def _reload(self) -> None:
        await self.refresh_roster()

    async def _refresh_covered(self) -> None:
        self._covered = await self.shards.covered()

    async def start(self) -> None:
        """Start the loops and the inbox worker."""
        loops = (
            self._lease_loop,
            self._roster_loop,
            self._subscription_loop,
            self._poll_loop,
            self._walk_loop,
            self._inbox_worker,
        )
        self._tasks = [
            asyncio.create_task(loop(), name=f"watchers:{loop.__name__}") for loop in loops
        ]

    async def stop(self) -> None:
        """Stop every loop and give the lease up."""
        await stop_tasks([*self._tasks, *self._jobs])
        self._tasks = []
        if self._leader:
            with contextlib.suppress(PresenceSyncError):
                # Bounded: with the store away the lease simply expires on its own.
                await finish_within(
                    LEASE_RELEASE_TIMEOUT,
                    self.store.release_lease(LEASE, self.instance_id),
                    "giving the watch lease up",
                )
            self._leader = False


@dataclass
class WatchersSlot:
    """Holds the running watchers once the store has opened (None until then)."""

    current: Watchers | None = None


PROVIDERS: web.AppKey[Providers] = web.AppKey("providers")
WATCHERS: web.AppKey[WatchersSlot] = web.AppKey("watchers", WatchersSlot)
WATCH_OPTIONS: web.AppKey[WatchOptions] = web.AppKey("watch_options", WatchOptions)


def _providers(app: web.Application) -> Providers | None:
    if PROVIDERS in app:
        return app[PROVIDERS]
    # The connections service registers its Providers implementation under its own key.
    try:
        module = importlib.import_module("presence_sync.connections.service")
    except ImportError:
        return None
    key = getattr(module, "CONNECTIONS", None)
    found = app.get(key) if isinstance(key, web.AppKey) else None
    return cast("Providers | None", found)


async def _start_when_ready(app: web.Application, slot: WatchersSlot) -> None:
    store = await app[STORE].wait_opened()
    providers = _providers(app)
    while providers is None:
        # Other services finish starting after us; without connections there is nothing to watch.
        await asyncio.sleep(0.5)
        providers = _providers(app)
    options = app.get(WATCH_OPTIONS)
    watchers = Watchers(store, app[SETTINGS], providers, app[INSTANCE_ID], options)
    await watchers.start()
    slot.current = watchers


async def _watchers_ctx(app: web.Application) -> AsyncIterator[None]:
    slot = app[WATCHERS]
    # The store may be down at start-up: wait for it in the background, not in start-up.
    starting = asyncio.create_task(_start_when_ready(app, slot))
    yield
    await stop_tasks([starting])
    if slot.current is not None:
        await finish_within(STOP_TIMEOUT, slot.current.stop(), "stopping the watchers")
        slot.current = None


def setup_watchers(app: web.Application) -> None:
    """Add the webhook routes and the watchers' background loops to `app`."""
    from presence_sync.web.webhooks import add_routes

    app[WATCHERS] = WatchersSlot()
    add_routes(app)
    app.cleanup_ctx.append(_watchers_ctx)
