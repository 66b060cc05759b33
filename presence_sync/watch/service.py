"""The watchers as one service: background loops under a store lease, and the inbox.

Every replica answers webhooks; only the replica holding the `watchers` lease manages
subscriptions and polls, so two replicas never renew the same subscription or poll the same
users twice. Loops log provider and store errors and carry on; anything unexpected ends the
round and the server's supervisor restarts the loop (see presence_sync/tasks.py).

Webhook items are verified in the request, then queued in the inbox: the request is
answered at once and a worker writes the observations (Graph wants an answer within 3 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from presence_sync.connections.records import ConnectionBook
from presence_sync.errors import PresenceSyncError, ProviderError
from presence_sync.graph.models import Presence
from presence_sync.providers import RECONCILE, NotConnectedError, Providers
from presence_sync.ringcentral.gate import calls_at
from presence_sync.ringcentral.models import RcPresence
from presence_sync.settings import Settings
from presence_sync.store.base import Store
from presence_sync.tasks import Loop, finish_within, stop_tasks
from presence_sync.watch.certificate import EncryptionCertificate, load_or_create_certificate
from presence_sync.watch.coverage import Coverage
from presence_sync.watch.graph_subscriptions import GraphShards
from presence_sync.watch.observe import HandOver, Observer, Roster, load_roster
from presence_sync.watch.poller import GraphPoller, RingCentralPoller
from presence_sync.watch.ringcentral_subscriptions import RingCentralSubscriptions

__all__ = ["WatchOptions", "Watchers", "WebhookAddresses"]

logger = logging.getLogger(__name__)

LEASE = "watchers"
# Shutdown is bounded: a store that stopped answering must not hold it up.
LEASE_RELEASE_TIMEOUT = 5.0
SUBSCRIPTION_CHECK = 60.0  # product-clock seconds between subscription reviews
SUBSCRIPTION_ALERT_AFTER = 3  # failed reviews in a row before the admins are told
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
class WebhookAddresses:
    """Where Graph and RingCentral deliver notifications (the server's public routes)."""

    graph: str
    graph_lifecycle: str
    ringcentral: str


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
        addresses: WebhookAddresses,
        options: WatchOptions | None = None,
        hand_over: HandOver | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.providers = providers
        self.instance_id = instance_id
        self.options = options or WatchOptions()
        clock = self.options.clock
        self.observer = Observer(store, clock, verify=self.verify_rc, hand_over=hand_over)
        self.roster = Roster()
        self.shards = GraphShards(
            store=store,
            providers=providers,
            certificate=self.certificate,
            notification_url=addresses.graph,
            lifecycle_url=addresses.graph_lifecycle,
            renew_before=settings.graph_subscription_renew_before,
            clock=clock,
            catch_up=self.read_soon,
        )
        self.rc_subscriptions = RingCentralSubscriptions(
            store=store,
            providers=providers,
            address=addresses.ringcentral,
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
        self._jobs: set[asyncio.Task[None]] = set()
        self._failed_reviews = 0  # subscription reviews failed in a row
        self._job_slots = asyncio.Semaphore(JOB_CONCURRENCY)
        # RingCentral events waiting for a read before they are trusted, newest per extension,
        # and the extensions whose read is under way (one at a time per person, in order).
        self._unverified: dict[str, RcPresence] = {}
        self._verifying: set[str] = set()

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

    @property
    def verifying(self) -> int:
        """How many people have a RingCentral event waiting for a read before it is trusted."""
        return len(self._verifying)

    def verify_rc(self, presence: RcPresence) -> None:
        """Read this person's RingCentral presence before trusting an event numbered out of bounds.

        Events arriving meanwhile wait for the next read, newest first: one read answers for
        all of them, so a flood of forged numbers costs a read per person at a time.
        """
        extension_id = presence.extension_id
        self._unverified[extension_id] = presence
        if extension_id not in self._verifying:
            self._verifying.add(extension_id)
            if not self._put(_Job(lambda: self._verify(extension_id), "ringcentral-verify")):
                self._verifying.discard(extension_id)  # the next event asks again
                del self._unverified[extension_id]

    async def _verify(self, extension_id: str) -> None:
        try:
            while (event := self._unverified.pop(extension_id, None)) is not None:
                client = await self.providers.ringcentral()
                asked = self.options.clock()
                # Paced like the reconciliation walk's reads: behind live writes.
                with calls_at(RECONCILE):
                    reads = await client.get_presences([extension_id])
                await self.observer.rc_verified(event, reads[0] if reads else None, asked)
        finally:
            self._unverified.pop(extension_id, None)
            self._verifying.discard(extension_id)

    async def _read(self, ids: list[str]) -> None:
        await self.graph_poller.read(ids, reason="teams-hint", force=True)

    def _put(self, item: _TeamsItem | _RcItem | _Job) -> bool:
        try:
            self.inbox.put_nowait(item)
        except asyncio.QueueFull:
            # Dropping a hint is safe: polling and reconciliation read the truth again.
            logger.warning("watch inbox full; a notification was dropped")
            return False
        return True

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
        except Exception:  # a one-off job has no loop to restart: log it whole, go on
            logger.exception("%s failed", job.what)
        finally:
            self._job_slots.release()

    # -- loops -------------------------------------------------------------------------

    async def _guard(self, what: str, work: Awaitable[object]) -> bool:
        """Run `work`; False when it failed (waiting for a connection is not failing)."""
        try:
            await work
        except NotConnectedError as err:
            logger.debug("%s waits for a connection: %s", what, err)
        except (PresenceSyncError, OSError, ValueError) as err:
            logger.warning("%s failed: %s", what, err)
            return False
        return True

    async def _lease_loop(self) -> None:
        opts = self.options
        seconds = opts.lease_seconds * opts.time_scale
        try:
            while True:
                try:
                    self._leader = await self.store.acquire_lease(
                        LEASE, self.instance_id, seconds, opts.clock()
                    )
                except PresenceSyncError as err:
                    self._leader = False
                    logger.warning("watchers lease unavailable: %s", err)
                await asyncio.sleep(min(opts.tick, opts.lease_seconds / 3))
        except Exception:
            # Nobody renews the lease until the loop restarts: stop acting as the leader now.
            self._leader = False
            raise

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
                ok = await self._guard("graph subscriptions", self._graph_review(roster.teams_ids))
                ok &= await self._guard(
                    "ringcentral subscription", self.rc_subscriptions.run_once(roster.rc_ids)
                )
                await self._subscription_health(ok)
            await asyncio.sleep(self.options.tick)

    async def _graph_review(self, teams_ids: Sequence[str]) -> None:
        failed = await self.shards.run_once(teams_ids)
        if failed:
            raise ProviderError(f"{failed} Graph subscription(s) could not be made or renewed")

    async def _subscription_health(self, ok: bool) -> None:
        # One alert per incident: after a few failed reviews in a row, and one word when a
        # review succeeds again (people are polled meanwhile, only less often).
        if not ok:
            self._failed_reviews += 1
            if self._failed_reviews == SUBSCRIPTION_ALERT_AFTER:
                await self._tell_admins(recovered=False)
            return
        if self._failed_reviews >= SUBSCRIPTION_ALERT_AFTER:
            await self._tell_admins(recovered=True)
        self._failed_reviews = 0

    async def _tell_admins(self, *, recovered: bool) -> None:
        book = ConnectionBook(self.store, self.options.clock)
        news = "work again" if recovered else "keep failing"
        try:
            await book.tell_admins(
                "subscriptions",
                "Presence subscriptions",
                f"Presence Sync: presence subscriptions {news}",
                recovered=recovered,
                reason=f"{SUBSCRIPTION_ALERT_AFTER} subscription reviews in a row failed; "
                "changes are read by polling meanwhile, so they show later.",
                fix="Check the sync accounts and the Microsoft and RingCentral connections "
                "(status in the bot, or presence-sync doctor).",
            )
        except PresenceSyncError as err:
            logger.warning("could not tell the admins about subscriptions: %s", err)

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

    def loops(self) -> list[Loop]:
        """The background loops, for the server's supervisor to run."""
        return [
            Loop("watch-lease", self._lease_loop),
            Loop("watch-roster", self._roster_loop),
            Loop("watch-subscriptions", self._subscription_loop),
            Loop("watch-polling", self._poll_loop),
            Loop("watch-rc-walk", self._walk_loop),
            Loop("watch-inbox", self._inbox_worker),
        ]

    async def stop(self) -> None:
        """Once the loops have stopped: end lifecycle jobs and give the lease up."""
        await stop_tasks(self._jobs)
        if self._leader:
            with contextlib.suppress(PresenceSyncError):
                # Bounded: with the store away the lease simply expires on its own.
                await finish_within(
                    LEASE_RELEASE_TIMEOUT,
                    self.store.release_lease(LEASE, self.instance_id),
                    "giving the watch lease up",
                )
            self._leader = False
