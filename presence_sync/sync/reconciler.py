"""The reconciler: folds what the store knows about a user into `decide()` and persists the result.

Level-triggered (DESIGN §2, principle 1): whatever marked a user dirty (a notification, a
poll, a job, a timer), the reconciler reads the user's latest stored observations, sync flag
and the org settings, feeds them to the engine (stale observations are ignored there), saves
the new engine state with optimistic concurrency (a conflicting save starts over from the
fresh record) and hands the commands to the dispatcher. Outcomes come back through
`apply_result`, are folded in the same way, and recorded in the audit log with their cause.

Timers are dirty-queue entries with a due time: a session refresh before it expires, a retry
after a back-off, a re-check once an unacknowledged write can no longer be sent.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import Any

from presence_sync.domain import DEFAULT_RULES, CallPresenceRules, RulesError
from presence_sync.domain import OrgSettings as EngineSettings
from presence_sync.engine import (
    PENDING_GRACE,
    WRITE_DEADLINE,
    ClearTeamsSession,
    Command,
    Event,
    FailureReason,
    SetRingCentralPresence,
    SetTeamsSession,
    SyncDisabled,
    SyncEnabled,
    TeamsObserved,
    Tick,
    UserState,
    UserStateError,
    WriteApplied,
    WriteFailed,
    decide,
    refresh_due,
)
from presence_sync.errors import ConflictError, StoreError
from presence_sync.providers import REALTIME, RECONCILE, Providers
from presence_sync.store.base import Store
from presence_sync.store.models import (
    SYSTEM,
    AuditDetails,
    AuditEntry,
    Due,
    LinkState,
    OrgSettings,
    RcObservation,
    SyncMode,
    UserLink,
)
from presence_sync.sync.budget import ProviderBudget
from presence_sync.sync.dispatcher import Dispatcher, DispatchResult, WriteTarget, merge_rc
from presence_sync.watch.observe import rc_event

__all__ = [
    "PRESENCE_WRITES",
    "SENDING",
    "UNKNOWN_OUTCOME",
    "Reconciler",
    "Submission",
    "engine_settings",
    "target_of",
]

# The audit actions of the presence writes the product makes (see `_action`).
PRESENCE_WRITES = frozenset({"ringcentral.presence", "teams.session", "teams.session.clear"})

SENDING = "sending"
"""Audit result of a write sent (or waiting for its budget) and not answered yet."""

UNKNOWN_OUTCOME = "unknown"
"""Audit result of a write whose answer was lost: the process sending it stopped first."""

logger = logging.getLogger(__name__)

_SAVE_ATTEMPTS = 8
_OUTCOME_RETRIES = (0.5, 1.0, 2.0, 4.0, 8.0)  # seconds between tries to record a write's outcome
_MIN_TIMER = 1.0  # never schedule a timer sooner than this: no hot loop on a stuck state
# Real seconds a change handed over while our write's answer is awaited may wait for it, to
# be decided with the answer in one save (an echo often arrives before the acknowledgement).
_PARK_LIMIT = 0.5


def engine_settings(stored: OrgSettings) -> EngineSettings:
    """The engine's view of the stored org settings (unreadable rules fall back to defaults)."""
    rules = DEFAULT_RULES
    if stored.rules:
        try:
            rules = CallPresenceRules.from_mapping(stored.rules, base=DEFAULT_RULES)
        except RulesError as err:
            logger.error("stored call presence rules are unreadable, using defaults: %s", err)
    return EngineSettings(
        call_presence_customisation=stored.call_presence_customisation,
        rules=rules,
        preserve_during_inactivity=stored.preserve_during_inactivity,
    )


def target_of(link: UserLink) -> WriteTarget | None:
    """Where writes for `link` go; None unless it links a Teams user to an extension."""
    if link.state != LinkState.LINKED or not link.teams_user_id or not link.rc_extension_id:
        return None
    return WriteTarget(link.id, link.email, link.teams_user_id, link.rc_extension_id)


@dataclass(frozen=True)
class Submission:
    """What one reconciliation did: the commands handed over and the engine's notes."""

    link_id: str
    commands: tuple[Command, ...]
    notes: tuple[str, ...]
    result: asyncio.Future[DispatchResult] | None  # None when nothing was sent

    async def wait(self) -> DispatchResult:
        """The dispatcher's answer (an empty result when nothing was needed)."""
        if self.result is None:
            return DispatchResult(self.link_id)
        return await self.result


def _load(link: UserLink) -> UserState:
    if not link.engine_state:
        return UserState()
    try:
        return UserState.from_dict(link.engine_state)
    except UserStateError as err:
        # An unreadable document must not wedge the user: start over from observations.
        logger.error("engine state of %s unreadable, starting afresh: %s", link.email, err)
        return UserState()


def _observations(link: UserLink) -> list[Event]:
    events: list[Event] = []
    if link.teams is not None:
        teams = link.teams
        events.append(
            TeamsObserved(
                teams.availability, teams.activity, teams.sequence or None, teams.observed_at
            )
        )
    if link.rc is not None:
        events.append(rc_event(link.rc))
    return events


def _coalesce(commands: Sequence[Command]) -> tuple[Command, ...]:
    rc: SetRingCentralPresence | None = None
    teams: SetTeamsSession | ClearTeamsSession | None = None
    for command in commands:
        if isinstance(command, SetRingCentralPresence):
            rc = command if rc is None else merge_rc(rc, command)
        else:
            teams = command
    return tuple(c for c in (rc, teams) if c is not None)


def next_timer(state: UserState, now: float) -> float | None:
    """When the engine next needs a Tick for this user, if ever."""
    due: list[float] = []
    session = state.session
    if session is not None and session.cleared_at is None:
        due.append(refresh_due(session))
    for retry in (state.rc_retry_at, state.teams_retry_at):
        if retry is not None:
            due.append(retry)
    # A write nobody acknowledged is taken as lost once the dispatcher can no longer send it.
    lost_after = WRITE_DEADLINE + PENDING_GRACE
    due.extend(w.issued_at + lost_after for w in state.rc_writes if w.applied_at is None)
    if not due:
        return None
    return max(min(due), now + _MIN_TIMER)


@dataclass
class Reconciler:
    """Turns dirty users into engine decisions, saved state and dispatched writes."""

    store: Store
    clock: Callable[[], float]
    # With providers the reconciler sends what it decides through its own dispatcher, whose
    # answers come back to `apply_result`; without, it only decides and saves (tests).
    providers: Providers | None = None
    budget: ProviderBudget = field(default_factory=ProviderBudget)
    dispatcher: Dispatcher | None = field(init=False, default=None)
    decisions: int = 0
    # Each worker's wake-up: waiting ones sleep between empty claims, busy ones are claiming
    # or reconciling (a ring then only stops their next sleep).
    _waiting: list[asyncio.Event] = field(default_factory=list)
    _busy: set[asyncio.Event] = field(default_factory=set)
    _horizon: float = 0.0  # marks due within this many seconds ring a worker awake
    _stop_listening: Callable[[], None] | None = None
    _left_open_closed: bool = False  # writes a stopped process left under way are audited
    # People handed over in this process (`hand_over`), with the link as their observation
    # wrote it: decided without the store's queue, which only carries what comes from
    # elsewhere (jobs, other replicas, the sweep of what a stopped process left due).
    _ready: dict[str, tuple[int, str, UserLink | None]] = field(default_factory=dict)
    _active: dict[str, int] = field(default_factory=dict)  # decisions under way here, per link
    _marked: bool = False  # the store's queue was marked in this process since the last claim
    # The engine timers this process set: (due, link id), and each link's current one.
    _timers: list[tuple[float, str]] = field(default_factory=list)
    _timer_at: dict[str, float] = field(default_factory=dict)
    # Handed over while a write's answer is awaited: decided with that answer when it comes.
    _parked: dict[str, tuple[int, str, UserLink | None, float]] = field(default_factory=dict)
    # What the sweep queued and no decision here has taken yet: (link id -> due time).
    _swept: dict[str, float] = field(default_factory=dict)
    # The link as saved by the decision whose write is on its way, for folding its answer.
    _after: dict[str, UserLink] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.providers is not None:
            self.dispatcher = Dispatcher(
                self.providers,
                on_result=self.apply_result,
                remote=self.remote_rc,
                on_send=self.record_send,
                clock=self.clock,
                budget=self.budget,
            )

    def wake(self) -> None:
        """Look at the dirty queue now instead of at the next poll."""
        self._marked = True
        for event in (*self._waiting, *self._busy):
            event.set()

    def _rung(self, due_at: float) -> None:
        # A timer set for later needs nobody now; a mark due before the next round does.
        if due_at > self.clock() + self._horizon:
            return
        self._marked = True
        self._nudge()

    def _nudge(self) -> None:
        for event in self._busy:
            event.set()  # it may have just looked without seeing this: look again
        if self._waiting:
            self._waiting.pop(0).set()  # one sleeper is enough: it takes the whole batch

    def hand_over(self, link: UserLink, priority: int, reason: str) -> None:
        """Decide for `link` soon, in this process, starting from the link as given.

        The observation that makes it due was written with its mark (`Store.observe_teams`),
        so a stop before the decision leaves it for the sweep (`sweep_due`), not lost.
        """
        awaited = link.id in self._after  # the answer's fold has not begun
        if awaited and self.dispatcher is not None and self.dispatcher.answer_due(link.id):
            parked = self._parked.get(link.id)
            if parked is None:
                self._parked[link.id] = (priority, reason, link, time.monotonic())
            else:
                self._parked[link.id] = (min(priority, parked[0]), reason, None, parked[3])
            return
        held = self._ready.get(link.id)
        if held is not None:
            # Two observations raced: which write came last is the store's to say.
            self._ready[link.id] = (min(priority, held[0]), reason, None)
        else:
            self._ready[link.id] = (priority, reason, link)
        self._nudge()

    def has_timer(self, link_id: str) -> bool:
        """Whether this process holds the link's next timer, or is about to decide for it."""
        return (
            link_id in self._timer_at
            or link_id in self._ready
            or link_id in self._active
            or link_id in self._parked
        )

    def _unpark(self, link_id: str) -> tuple[int, str, UserLink | None] | None:
        parked = self._parked.pop(link_id, None)
        return None if parked is None else parked[:3]

    def _release_parked(self) -> None:
        """Parked changes whose answer is late are decided without it."""
        late = time.monotonic() - _PARK_LIMIT
        for link_id in [k for k, p in self._parked.items() if p[3] <= late]:
            held = self._unpark(link_id)
            if held is not None and link_id not in self._ready:
                self._ready[link_id] = held

    def _take_ready(self, limit: int) -> list[tuple[str, int, str, UserLink | None]]:
        """Up to `limit` people to decide for now: handed over, or their timer fell due."""
        taken: list[tuple[str, int, str, UserLink | None]] = []
        if self._parked:
            self._release_parked()
        for link_id in list(self._ready):
            if len(taken) >= limit:
                break
            if link_id in self._active:
                continue  # decided again once the decision under way is saved
            priority, reason, link = self._ready.pop(link_id)
            taken.append((link_id, priority, reason, link))
        now = self.clock()
        while self._timers and self._timers[0][0] <= now and len(taken) < limit:
            due, link_id = heapq.heappop(self._timers)
            if self._timer_at.get(link_id) != due:
                continue  # replaced by a later decision
            if link_id in self._active or link_id in self._ready:
                heapq.heappush(self._timers, (now + _MIN_TIMER, link_id))
                self._timer_at[link_id] = now + _MIN_TIMER
                continue
            del self._timer_at[link_id]
            taken.append((link_id, RECONCILE, "timer", None))
        return taken

    def _set_timer(self, link_id: str, due: float | None) -> None:
        if due is None:
            self._timer_at.pop(link_id, None)
            return
        if self._timer_at.get(link_id) == due:
            return
        self._timer_at[link_id] = due
        heapq.heappush(self._timers, (due, link_id))
        if len(self._timers) > 2 * len(self._timer_at) + 1024:
            # Replaced timers are dropped as they surface; compact when they pile up.
            self._timers = [(d, k) for d, k in self._timers if self._timer_at.get(k) == d]
            heapq.heapify(self._timers)

    async def sweep_due(self, grace: float, limit: int = 500) -> int:
        """Queue the people due for longer than `grace` that no decision here is coming for.

        What a stopped process left (an observation stored but not decided on, a timer it
        held), and another replica's, go to the store's queue, which hands each to one
        worker of one replica. How many were queued.
        """
        queued = 0
        for link_id, due_at in await self.store.due_links(self.clock() - grace, limit):
            if self.has_timer(link_id) or self._swept.get(link_id) == due_at:
                continue  # coming here, or queued by an earlier sweep already
            await self.store.mark_dirty(link_id, priority=REALTIME, due_at=due_at, reason="due")
            self._swept[link_id] = due_at
            queued += 1
        return queued

    async def remote_rc(self, link_id: str) -> RcObservation | None:
        """The stored RingCentral observation of a link (the dispatcher's equality check)."""
        link = await self.store.get_link(link_id)
        return None if link is None else link.rc

    async def reconcile(
        self,
        link_id: str,
        *,
        priority: int,
        cause: str = "",
        settings: OrgSettings | None = None,
        link: UserLink | None = None,
    ) -> Submission:
        """Decide for one user from everything stored and dispatch the writes it needs."""
        stored = settings or await self.store.get_settings()
        return await self._fold(
            link_id, _reconcile_events(stored), engine_settings(stored), priority, cause, link=link
        )

    async def record_send(self, target: WriteTarget, command: Command, priority: int) -> str:
        """Open the audit entry of a write about to be sent; its id, for `apply_result`."""
        entry = await self.store.open_audit(
            AuditEntry(
                at=self.clock(),
                actor=SYSTEM,
                action=_action(command),
                user=target.email,
                details=_details(command, SENDING, "sending; no answer yet", priority),
            )
        )
        return entry.id

    async def close_left_open(self) -> int:
        """Audit as unknown the writes a stopped process left under way; how many.

        Their requests may or may not have reached the provider, and the answer is lost. A
        RingCentral write goes back to the engine as lost (`FailureReason.LOST`), which writes
        the field again now rather than waiting out `WRITE_DEADLINE` for an answer that will
        never come. If the writer is in fact still running (another replica), its own answer
        replaces this entry's, and the engine takes whichever write it still expects.
        """
        closed = 0
        stored: OrgSettings | None = None
        for entry in await self.store.list_open_audit():
            details = AuditDetails(
                {
                    **entry.details,
                    "result": UNKNOWN_OUTCOME,
                    "message": "the server stopped before the answer came; it may or may not"
                    " have been applied",
                }
            )
            if not await self.store.close_audit(entry.id, details, final=False):
                continue
            closed += 1
            command = _rc_command(entry.details.get("write"))
            link = await self.store.get_link_by_email(entry.user) if entry.user else None
            if command is None or link is None:
                continue
            stored = stored or await self.store.get_settings()
            await self._fold(
                link.id,
                _always([WriteFailed(command, FailureReason.LOST.value)]),
                engine_settings(stored),
                REALTIME,
                "a write under way when the server stopped",
            )
        if closed:
            logger.warning("%d writes were under way when the server last stopped", closed)
        return closed

    async def apply_result(
        self,
        target: WriteTarget,
        outcome: WriteApplied | WriteFailed,
        priority: int,
        message: str,
        opened: str | None = None,
    ) -> None:
        """Fold a provider's answer into the engine state and audit the write.

        A write `record_send` opened an entry for is audited by closing that entry (it keeps
        the time the write was sent); any other by a new entry. This answer is the only record
        of what the provider did, so a store that does not answer is waited for a little
        (`_OUTCOME_RETRIES`) before it is given up to later observations.
        """
        now = self.clock()
        command = outcome.command
        result = "applied" if isinstance(outcome, WriteApplied) else outcome.reason_code
        details = _details(command, result, message, priority)
        audited = folded = False
        for delay in (*_OUTCOME_RETRIES, None):
            try:
                if not audited and opened:
                    if not await self.store.close_audit(opened, details):
                        logger.warning("the audit entry of a write to %s was gone", target.email)
                elif not audited:
                    entry = AuditEntry(now, SYSTEM, _action(command), target.email, details)
                    await self.store.append_audit(entry)
                audited = True
                if not folded:
                    stored = await self.store.get_settings()
                    link = self._after.pop(target.link_id, None)
                    events_for: EventsFor = _always([outcome])
                    cause = f"{result}: {command.cause}"
                    parked = self._unpark(target.link_id)
                    if parked is not None:
                        # What came in while the answer was awaited (its echo, mostly) is
                        # decided with it: one save for both.
                        priority = min(priority, parked[0])
                        cause = f"{cause}; {parked[1]}"
                        link = parked[2]
                        events_for = _with_reconcile(outcome, _reconcile_events(stored))
                    await self._fold(
                        target.link_id,
                        events_for,
                        engine_settings(stored),
                        priority,
                        cause,
                        link=link,
                    )
                    folded = True
                return
            except StoreError as err:
                if delay is None:
                    # The write happened; a later observation or Tick brings the state back
                    # in line (and a restart audits an entry left open as of unknown outcome).
                    logger.warning("could not record a write outcome for %s: %s", target.email, err)
                    return
                await asyncio.sleep(delay)

    async def _fold(
        self,
        link_id: str,
        events_for: Callable[[UserLink, UserState], list[Event] | None],
        settings: EngineSettings,
        priority: int,
        cause: str,
        link: UserLink | None = None,
    ) -> Submission:
        """Decide for one link and save what changed; `link`, when given, is read already.

        The save carries the link's due time along (`Due`): cleared, or moved to the
        engine's next timer, which this process also keeps to decide again then.
        """
        self._active[link_id] = self._active.get(link_id, 0) + 1
        try:
            for _attempt in range(_SAVE_ATTEMPTS):
                if link is None:
                    link = await self.store.get_link(link_id)
                if link is None:
                    self._set_timer(link_id, None)
                    return Submission(link_id, (), ("no such user",), None)
                try:
                    return await self._decide(link, events_for, settings, priority, cause)
                except ConflictError:
                    link = None  # someone else decided for this user meanwhile: start over
        finally:
            left = self._active.pop(link_id) - 1
            if left:
                self._active[link_id] = left
            elif link_id in self._ready:
                self._nudge()  # handed over again while this decision was under way
        raise ConflictError(f"engine state of {link_id} kept changing under us")

    async def _decide(
        self,
        link: UserLink,
        events_for: Callable[[UserLink, UserState], list[Event] | None],
        settings: EngineSettings,
        priority: int,
        cause: str,
    ) -> Submission:
        now = self.clock()
        self._swept.pop(link.id, None)
        target = target_of(link)
        before = _load(link)
        events = None if target is None else events_for(link, before)
        if target is None or events is None:
            # Nothing to decide; a mark left on the link is cleared, or the sweep keeps
            # finding it.
            if link.due_at is not None and link.due_at <= now:
                await self.store.set_engine_state(
                    link.id, link.engine_state, link.engine_version, Due(link.due_at, None)
                )
            self._set_timer(link.id, None)
            note = (link.reason or "not linked") if target is None else "not synced"
            return Submission(link.id, (), (note,), None)
        state = before
        commands: list[Command] = []
        notes: list[str] = []
        for event in events:
            decision = decide(state, event, settings, now)
            self.decisions += 1
            state = decision.state
            commands.extend(decision.commands)
            notes.extend(decision.notes)
        timer = next_timer(state, now)
        due = link.due_at
        moved = (due is not None and due <= now) or (timer is not None and due is None)
        saved = link
        if state != before or not link.engine_state or moved:
            body = state.to_dict()
            version = await self.store.set_engine_state(
                link.id, body, link.engine_version, Due(due, timer)
            )
            saved = replace(link, engine_state=body, engine_version=version, due_at=timer)
        self._set_timer(link.id, timer)
        sent = _coalesce(commands)
        future: asyncio.Future[DispatchResult] | None = None
        if sent and self.dispatcher is not None and target is not None:
            if notes:
                logger.debug("decided for %s (%s): %s", link.email, cause, "; ".join(notes))
            self._after[link.id] = saved
            future = self.dispatcher.submit(target, sent, priority)
        return Submission(link.id, sent, tuple(notes), future)

    async def run(
        self, owner: str, *, batch: int = 64, lease_seconds: float = 60.0, idle: float = 0.05
    ) -> None:
        """Decide for the people due until cancelled; store errors only pause the loop.

        Each round takes who was handed over in this process and whose timer fell due, and
        claims the store's queue when a mark was made through this process's store (its
        bell) or `idle` seconds passed: marks by other replicas are seen then.
        """
        wake = asyncio.Event()
        self._horizon = max(self._horizon, idle)
        if not self._left_open_closed:
            self._left_open_closed = True
            try:
                await self.close_left_open()
            except StoreError as err:
                self._left_open_closed = False  # the next worker (or restart) tries again
                logger.warning("could not audit the writes left under way: %s", err)
        if self._stop_listening is None:
            self._stop_listening = self.store.bell.listen(self._rung)
        self._busy.add(wake)
        next_claim = 0.0
        try:
            while True:
                # Cleared before looking, so a mark landing meanwhile is not slept on.
                wake.clear()
                ready = self._take_ready(batch)
                entries: list[Any] = []
                if self._marked or time.monotonic() >= next_claim:
                    self._marked = False
                    next_claim = time.monotonic() + idle
                    try:
                        entries = await self.store.claim_dirty(
                            owner, limit=batch, lease_seconds=lease_seconds, now=self.clock()
                        )
                    except StoreError as err:
                        logger.warning("dirty queue unavailable, retrying: %s", err)
                        await asyncio.sleep(1.0)
                        continue
                if not ready and not entries:
                    await self._sleep(wake, max(0.0, min(idle, next_claim - time.monotonic())))
                    continue
                settings = await self.store.get_settings()
                await asyncio.gather(
                    *(self._handle(k, p, r, settings, link) for k, p, r, link in ready),
                    *(self._handle(e.user_key, e.priority, e.reason, settings) for e in entries),
                )
                if entries:
                    try:
                        await self.store.ack_dirty(owner, [e.user_key for e in entries])
                    except StoreError as err:
                        logger.warning(
                            "could not acknowledge dirty users (they will be retried): %s", err
                        )
                    if len(entries) >= batch:
                        next_claim = 0.0  # more may be due: claim again at once
        finally:
            self._busy.discard(wake)
            if wake in self._waiting:
                self._waiting.remove(wake)
            if not self._busy and not self._waiting and self._stop_listening is not None:
                self._stop_listening()
                self._stop_listening = None

    async def _sleep(self, wake: asyncio.Event, idle: float) -> None:
        if wake.is_set():
            return  # rung while claiming
        self._busy.discard(wake)
        self._waiting.append(wake)
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow shutdown's cancel.
            with suppress(TimeoutError):
                async with asyncio.timeout(idle):
                    await wake.wait()
        finally:
            if wake in self._waiting:
                self._waiting.remove(wake)
            self._busy.add(wake)

    async def _handle(
        self,
        link_id: str,
        priority: int,
        reason: str,
        settings: OrgSettings,
        link: UserLink | None = None,
    ) -> None:
        try:
            await self.reconcile(
                link_id, priority=priority, cause=reason, settings=settings, link=link
            )
        except Exception:  # one user's trouble must not stop the others
            logger.exception("reconciling %s failed", link_id)


def _details(command: Command, result: str, message: str, priority: int) -> AuditDetails:
    return AuditDetails(
        write=_describe(command),
        cause=command.cause,
        result=result,
        message=message,
        priority=priority,
    )


EventsFor = Callable[[UserLink, UserState], list[Event] | None]


def _reconcile_events(stored: OrgSettings) -> EventsFor:
    """The events of a reconciliation: what is stored of the person, their sync, a Tick."""
    org_on = stored.sync_mode == SyncMode.ENABLED

    def events_for(link: UserLink, state: UserState) -> list[Event] | None:
        enabled = link.sync_enabled and org_on
        if not enabled and not state.enabled:
            return None  # unsynced and already handed back: nothing to decide
        events = _observations(link)
        if enabled and not state.enabled:
            events.append(SyncEnabled())
        elif not enabled and state.enabled:
            reason = "sync turned off for the organisation" if not org_on else "unsynced"
            events.append(SyncDisabled(reason))
        events.append(Tick())
        return events

    return events_for


def _with_reconcile(outcome: WriteApplied | WriteFailed, reconcile: EventsFor) -> EventsFor:
    """A write's answer folded first, then a reconciliation's events."""

    def events_for(link: UserLink, state: UserState) -> list[Event]:
        return [outcome, *(reconcile(link, state) or [])]

    return events_for


def _always(events: list[Event]) -> Callable[[UserLink, UserState], list[Event]]:
    """An `events_for` of `Reconciler._fold` that folds `events` whatever the state."""
    return lambda _link, _state: events


def _rc_command(write: object) -> SetRingCentralPresence | None:
    """The RingCentral write an audit entry's ``write`` (the PUT's body) describes, if any."""
    if not isinstance(write, Mapping):
        return None
    text = {k: v if isinstance(v, str) else None for k, v in write.items()}
    queue_calls = write.get("acceptCallQueueCalls")
    command = SetRingCentralPresence(
        user_status=text.get("userStatus"),
        dnd_status=text.get("dndStatus"),
        dnd_status_personal=text.get("dndStatusPersonal"),
        accept_call_queue_calls=queue_calls if isinstance(queue_calls, bool) else None,
        cause="under way when the server stopped",
    )
    return command if command.fields() else None


def _action(command: Command) -> str:
    if isinstance(command, SetRingCentralPresence):
        return "ringcentral.presence"
    if isinstance(command, SetTeamsSession):
        return "teams.session"
    return "teams.session.clear"


def _describe(command: Command) -> dict[str, Any]:
    if isinstance(command, SetRingCentralPresence):
        return dict(command.body())
    if isinstance(command, SetTeamsSession):
        return {
            "availability": command.availability,
            "activity": command.activity,
            "expires_in": command.expires_in_seconds,
        }
    return {"clear": True}
