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
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
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
        for event in (*self._waiting, *self._busy):
            event.set()

    def _rung(self, due_at: float) -> None:
        # A timer set for later needs nobody now; a mark due before the next round does.
        if due_at > self.clock() + self._horizon:
            return
        for event in self._busy:
            event.set()  # it may have just claimed without seeing this mark: claim again
        if self._waiting:
            self._waiting.pop(0).set()  # one sleeper is enough: it claims the whole batch

    async def remote_rc(self, link_id: str) -> RcObservation | None:
        """The stored RingCentral observation of a link (the dispatcher's equality check)."""
        link = await self.store.get_link(link_id)
        return None if link is None else link.rc

    async def reconcile(
        self, link_id: str, *, priority: int, cause: str = "", settings: OrgSettings | None = None
    ) -> Submission:
        """Decide for one user from everything stored and dispatch the writes it needs."""
        stored = settings or await self.store.get_settings()
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

        return await self._fold(link_id, events_for, engine_settings(stored), priority, cause)

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
                    await self._fold(
                        target.link_id,
                        _always([outcome]),
                        engine_settings(stored),
                        priority,
                        f"{result}: {command.cause}",
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
    ) -> Submission:
        for _attempt in range(_SAVE_ATTEMPTS):
            link = await self.store.get_link(link_id)
            if link is None:
                return Submission(link_id, (), ("no such user",), None)
            target = target_of(link)
            if target is None:
                return Submission(link_id, (), (link.reason or "not linked",), None)
            before = _load(link)
            events = events_for(link, before)
            if events is None:
                return Submission(link_id, (), ("not synced",), None)
            now = self.clock()
            state = before
            commands: list[Command] = []
            notes: list[str] = []
            for event in events:
                decision = decide(state, event, settings, now)
                self.decisions += 1
                state = decision.state
                commands.extend(decision.commands)
                notes.extend(decision.notes)
            if state != before or not link.engine_state:
                try:
                    await self.store.set_engine_state(link.id, state.to_dict(), link.engine_version)
                except ConflictError:
                    continue  # someone else decided for this user meanwhile: start over
            sent = _coalesce(commands)
            future: asyncio.Future[DispatchResult] | None = None
            if sent and self.dispatcher is not None:
                if notes:
                    logger.debug("decided for %s (%s): %s", link.email, cause, "; ".join(notes))
                # Handed over before the timer is stored, so the write is on its way while
                # the mark goes to the store: the state saved above already holds the write
                # as pending, and a lost timer is repaired by reconciliation either way.
                future = self.dispatcher.submit(target, sent, priority)
            timer = next_timer(state, now)
            if timer is not None:
                await self.store.mark_dirty(
                    link.id, priority=RECONCILE, due_at=timer, reason="timer"
                )
            return Submission(link_id, sent, tuple(notes), future)
        raise ConflictError(f"engine state of {link_id} kept changing under us")

    async def run(
        self, owner: str, *, batch: int = 64, lease_seconds: float = 60.0, idle: float = 0.05
    ) -> None:
        """Claim and reconcile dirty users until cancelled; store errors only pause the loop.

        Between empty claims a worker sleeps up to `idle` seconds; a mark made through this
        process's store wakes it at once (the store's bell), marks by other replicas are
        seen on the next round.
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
        try:
            while True:
                # Cleared before claiming, so a mark landing during the claim is not slept on.
                wake.clear()
                try:
                    entries = await self.store.claim_dirty(
                        owner, limit=batch, lease_seconds=lease_seconds, now=self.clock()
                    )
                except StoreError as err:
                    logger.warning("dirty queue unavailable, retrying: %s", err)
                    await asyncio.sleep(1.0)
                    continue
                if not entries:
                    await self._sleep(wake, idle)
                    continue
                settings = await self.store.get_settings()
                await asyncio.gather(
                    *(self._handle(e.user_key, e.priority, e.reason, settings) for e in entries)
                )
                try:
                    await self.store.ack_dirty(owner, [e.user_key for e in entries])
                except StoreError as err:
                    logger.warning(
                        "could not acknowledge dirty users (they will be retried): %s", err
                    )
                if len(entries) < batch:
                    # Nothing more was due when we claimed: claim again only if rung since.
                    await self._sleep(wake, idle)
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
        self, link_id: str, priority: int, reason: str, settings: OrgSettings
    ) -> None:
        try:
            await self.reconcile(link_id, priority=priority, cause=reason, settings=settings)
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
