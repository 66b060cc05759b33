"""The dispatcher: makes the engine's writes happen, scarcely and in order of urgency.

Per user, commands waiting to be sent are coalesced: the latest Teams command replaces an
earlier one, and RingCentral commands merge field by field, keeping the newest ``write_id``
(the engine's contract, `presence_sync.engine.commands`). Users are served most urgent first
(REALTIME before RECONCILE before BULK), one write at a time per user so their order holds,
and every provider call first takes a slot from `ProviderBudget`, paced by the rate-limit
headers the provider itself returned.

Before a write leaves, `on_send` records it as under way (an open audit entry, so a write
whose answer dies with the process is still in the audit log, its outcome unknown); each
outcome goes back to the engine as `WriteApplied` / `WriteFailed` through `on_result`, with
that record's id, as soon as the provider answers; `WriteApplied.sent_at` is when the request
got its budget slot and left, however long it waited for it. A RingCentral write still unsent
`WRITE_DEADLINE` after the engine decided it is not sent at all but reported failed, so the
engine can plan it afresh (and, after a crash, take a write nobody acknowledged as lost).
Transient failures are not retried here beyond what the clients already do (three attempts
honouring Retry-After): the engine backs off and a Tick tries again, so a dead provider
cannot pile up retries in memory.

RingCentral writes go out as any of the healthy identities (`Providers.ringcentral_writers`),
each time as the one with the most budget left, so capacity grows with their number. A write
an identity was refused for its own sake (its tokens revoked, the right to edit others'
presence taken away) was not applied: it is reported (the identity is marked broken and the
admins alerted) and sent at once as the next identity, so nothing is lost or sent twice.

Under a backlog the order is: more urgent priorities first; within one, writes that change
call routing (DND, call-queue calls) before cosmetic ones (Busy / Available), and within each
class the longest waiting first. A cosmetic write that has waited more than twice the recent
p95 delay joins the routing class, so it cannot starve behind a stream of routing changes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

from presence_sync.engine import (
    CLOCK_SKEW,
    PENDING_GRACE,
    WRITE_DEADLINE,
    ClearTeamsSession,
    Command,
    FailureReason,
    SetRingCentralPresence,
    SetTeamsSession,
    WriteApplied,
    WriteFailed,
)
from presence_sync.errors import GraphNotFoundError, PresenceSyncError, ProviderError
from presence_sync.graph.errors import GraphRefusedError, GraphRequestError
from presence_sync.providers import NotConnectedError, Providers, RcWriter
from presence_sync.ringcentral.errors import (
    RingCentralPermissionError,
    RingCentralRefusedError,
    RingCentralRequestError,
    RingCentralTokenError,
)
from presence_sync.ringcentral.gate import SlotExpiredError
from presence_sync.store.models import RcObservation
from presence_sync.sync.budget import ProviderBudget
from presence_sync.tasks import Loop

__all__ = [
    "CapacityView",
    "DispatchResult",
    "Dispatcher",
    "ResultHandler",
    "WriteTarget",
    "merge_rc",
    "routes_calls",
]

logger = logging.getLogger(__name__)

_DEPARTMENT = "DoNotAcceptDepartmentCalls"
DELAY_HISTORY = 3600.0  # seconds of write delays kept for the p95 (the last hour)
_RATE_WINDOW = 60.0  # seconds over which "writes a minute used" is counted
_MEDIUM = "Medium"
# Real seconds within which a write's decision is fresh enough to skip re-reading the person.
FRESH_DECISION = 0.25


def routes_calls(command: SetRingCentralPresence) -> bool:
    """Whether a write changes who gets calls (DND, call-queue calls), not only the colour."""
    return (
        command.dnd_status is not None
        or command.dnd_status_personal is not None
        or command.accept_call_queue_calls is not None
    )


@dataclass(frozen=True)
class CapacityView:
    """RingCentral write capacity as this replica sees it (status, the tab, /metrics)."""

    identities: int  # healthy identities writes may go out as
    allowed_per_minute: int | None  # sum of their Medium limits (None before any answer)
    used_per_minute: int  # RingCentral writes sent in the last minute
    backlog: int  # people with a RingCentral write waiting
    expected_delay: float | None  # seconds a new change would wait at today's rate
    p95_delay: float | None  # decision -> write sent, over the last hour


@dataclass(frozen=True)
class WriteTarget:
    """Who a write is for: the link and its ids on both platforms."""

    link_id: str
    email: str
    teams_user_id: str
    rc_extension_id: str


@dataclass(frozen=True)
class DispatchResult:
    """What became of one submission: commands applied, failed (with reason), skipped."""

    link_id: str
    applied: tuple[Command, ...] = ()
    failed: tuple[tuple[Command, str, str], ...] = ()  # (command, FailureReason, message)
    skipped: tuple[Command, ...] = ()  # already true at the provider: nothing was sent


ResultHandler = Callable[
    [WriteTarget, WriteApplied | WriteFailed, int, str, str | None], Awaitable[None]
]
"""Called with (target, outcome event, priority, message, the `SendHandler`'s record id or
None) after every provider answer, and for every write not sent."""

SendHandler = Callable[[WriteTarget, Command, int], Awaitable[str]]
"""Called with (target, command, priority) before a write is sent (it may still wait for its
budget); records it as under way and returns the record's id. If it raises, the write is
not sent."""

RemoteReader = Callable[[str], Awaitable[RcObservation | None]]
"""The latest stored RingCentral observation of a link."""


def merge_rc(
    earlier: SetRingCentralPresence, later: SetRingCentralPresence
) -> SetRingCentralPresence:
    """One command carrying both: the later command's fields win, its id and cause are kept.

    It keeps the earlier decision time, so no field it carries outlives its own deadline.
    """
    decided = [t for t in (earlier.decided_at, later.decided_at) if t]
    return replace(
        later,
        user_status=later.user_status if later.user_status is not None else earlier.user_status,
        dnd_status=later.dnd_status if later.dnd_status is not None else earlier.dnd_status,
        dnd_status_personal=later.dnd_status_personal
        if later.dnd_status_personal is not None
        else earlier.dnd_status_personal,
        accept_call_queue_calls=later.accept_call_queue_calls
        if later.accept_call_queue_calls is not None
        else earlier.accept_call_queue_calls,
        write_id=max(earlier.write_id, later.write_id),
        decided_at=min(decided) if decided else 0.0,
    )


@dataclass
class _Pending:
    target: WriteTarget
    priority: int
    seq: int
    rc: SetRingCentralPresence | None = None
    teams: SetTeamsSession | ClearTeamsSession | None = None
    waiters: list[asyncio.Future[DispatchResult]] = field(default_factory=list)
    sending: bool = False  # a request of it has left: its outcome is RingCentral's now
    opened: dict[str, str] = field(default_factory=dict)  # "rc" / "teams" -> on_send's id
    rank: int = 0  # order of service: the priority, one less for call-routing writes
    queued_at: float = 0.0  # when its oldest waiting command was submitted
    decided: float = 0.0  # time.monotonic() of its newest submission (the freshest decision)

    def ranked(self) -> int:
        """The order of service this pending write earns from its priority and content."""
        urgent = self.rc is not None and routes_calls(self.rc)
        return self.priority - 1 if urgent else self.priority


@dataclass
class Dispatcher:
    """Coalescing, prioritised, budgeted sender of engine commands."""

    providers: Providers
    on_result: ResultHandler
    remote: RemoteReader | None = None
    on_send: SendHandler | None = None
    clock: Callable[[], float] = field(default=lambda: 0.0)
    budget: ProviderBudget = field(default_factory=ProviderBudget)
    senders: int = 8
    sent: int = 0  # provider writes sent, for status and benchmarks
    _pending: dict[str, _Pending] = field(default_factory=dict)
    _heap: list[tuple[int, int, str]] = field(default_factory=list)
    _busy: set[str] = field(default_factory=set)
    _current: dict[str, _Pending] = field(default_factory=dict)  # popped, being sent
    _deferred: set[str] = field(default_factory=set)
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _last_ack: dict[str, float] = field(default_factory=dict)
    _started_at: float = 0.0
    _aging: list[tuple[float, int, str]] = field(default_factory=list)  # cosmetic, by age
    _delays: deque[tuple[float, float]] = field(default_factory=deque)  # (sent at, waited)
    _rc_sent: deque[tuple[float, str]] = field(default_factory=deque)  # (sent at, identity)
    _rc_waiting: int = 0  # people with a RingCentral write queued or waiting for a slot
    _p95_at: tuple[float, float | None] | None = None  # (monotonic time, p95) last worked out
    _overdue_at: tuple[float, float | None] | None = None  # (monotonic time, limit) likewise

    def __post_init__(self) -> None:
        self._started_at = self.clock()

    def loops(self) -> list[Loop]:
        """The sender loops, for the server's supervisor to run."""
        return [Loop(f"sync-sender-{n}", self._sender) for n in range(self.senders)]

    async def stop(self) -> None:
        """Once the senders have stopped: writes never sent go back to the engine as failed.

        So the next start plans them again at once instead of after the engine's deadline.
        A write whose request had left may have landed: it is left to its echo.
        """
        unsent = [p for p in self._current.values() if not p.sending]
        unsent.extend(self._pending.values())
        self._current.clear()
        self._pending.clear()
        for pending in unsent:
            for waiter in pending.waiters:
                if not waiter.done():
                    waiter.cancel()
            for command in _commands(pending):
                try:
                    await self.on_result(
                        pending.target,
                        WriteFailed(command, FailureReason.UNAVAILABLE.value),
                        pending.priority,
                        "not sent: the server stopped",
                        pending.opened.get(_kind(command)),
                    )
                except Exception:  # stopping must go on; the engine's deadline covers it
                    logger.exception("could not hand back an unsent write")

    @property
    def idle(self) -> bool:
        """True when nothing waits to be sent and nothing is being sent."""
        return not self._pending and not self._busy

    def answer_due(self, link_id: str) -> bool:
        """Whether a write for this link has left and its answer is awaited now."""
        pending = self._current.get(link_id)
        return pending is not None and pending.sending

    @property
    def waiting(self) -> int:
        """Users with writes waiting to be sent."""
        return len(self._pending)

    def submit(
        self, target: WriteTarget, commands: Sequence[Command], priority: int
    ) -> asyncio.Future[DispatchResult]:
        """Queue `commands` for one user; the future resolves once they were all answered."""
        waiter: asyncio.Future[DispatchResult] = asyncio.get_running_loop().create_future()
        pending = self._pending.get(target.link_id)
        if pending is None:
            pending = _Pending(target, priority, next(self._seq), queued_at=self.clock())
            self._pending[target.link_id] = pending
        elif priority < pending.priority:
            # A more urgent wish takes the waiting writes with it: latest state wins anyway.
            pending.priority = priority
            pending.seq = next(self._seq)
        pending.target = target
        pending.decided = time.monotonic()
        for command in commands:
            if isinstance(command, SetRingCentralPresence):
                pending.rc = command if pending.rc is None else merge_rc(pending.rc, command)
            else:
                pending.teams = command
        pending.rank = min(pending.ranked(), pending.rank) if pending.waiters else pending.ranked()
        pending.waiters.append(waiter)
        if pending.rc is not None and pending.rank == pending.priority:
            heapq.heappush(self._aging, (pending.queued_at, pending.seq, target.link_id))
        if target.link_id in self._busy:
            self._deferred.add(target.link_id)
        else:
            heapq.heappush(self._heap, (pending.rank, pending.seq, target.link_id))
            self._wake.set()
        return waiter

    def _overdue_after(self) -> float | None:
        """Seconds a cosmetic write may wait before it joins the routing class: twice the
        current p95 wait (at least a second), None before anything was measured.

        The current p95 counts the writes still waiting at their age so far, with the last
        hour's sent ones: at the start of a burst the writes sent are the few that did not
        wait, and a p95 of those alone would make every queued Busy overdue within a second,
        putting them all back ahead of the Do not disturb changes behind them. Worked out at
        most once a real second."""
        now = time.monotonic()
        if self._overdue_at is not None and now - self._overdue_at[0] < 1.0:
            return self._overdue_at[1]
        at = self.clock()
        while self._delays and self._delays[0][0] < at - DELAY_HISTORY:
            self._delays.popleft()
        waits = [d for _, d in self._delays]
        for pending in (*self._pending.values(), *self._current.values()):
            if pending.rc is not None:
                waits.append(max(0.0, at - pending.queued_at))
        limit = None
        if waits:
            waits.sort()
            limit = max(2.0 * waits[min(len(waits) - 1, int(0.95 * len(waits)))], 1.0)
        self._overdue_at = (now, limit)
        return limit

    def _rank_now(self, pending: _Pending) -> int:
        """A pending write's order of service now: overdue cosmetic writes count as routing
        ones, in the queue and while waiting for an identity's slot alike."""
        if pending.rank < pending.priority:
            return pending.rank
        limit = self._overdue_after()
        if limit is not None and self.clock() - pending.queued_at > limit:
            return pending.priority - 1
        return pending.rank

    def _promote_overdue(self) -> None:
        """A cosmetic write waiting over twice the recent p95 joins the routing class."""
        limit = self._overdue_after()
        if limit is None or not self._aging:
            return
        now = self.clock()
        while self._aging:
            queued_at, seq, link_id = self._aging[0]
            pending = self._pending.get(link_id)
            if pending is None or pending.seq != seq or pending.rank < pending.priority:
                heapq.heappop(self._aging)  # sent, superseded or already urgent
                continue
            if now - queued_at <= limit:
                return
            heapq.heappop(self._aging)
            pending.rank = pending.priority - 1
            heapq.heappush(self._heap, (pending.rank, pending.seq, link_id))

    async def _next(self) -> _Pending:
        while True:
            self._promote_overdue()
            while self._heap:
                rank, seq, link_id = heapq.heappop(self._heap)
                pending = self._pending.get(link_id)
                if pending is None or pending.seq != seq or pending.rank != rank:
                    continue  # superseded heap entry
                if link_id in self._busy:
                    self._deferred.add(link_id)
                    continue
                del self._pending[link_id]
                self._busy.add(link_id)
                self._current[link_id] = pending
                return pending
            self._wake.clear()
            await self._wake.wait()

    async def _sender(self) -> None:
        while True:
            pending = await self._next()
            link_id = pending.target.link_id
            try:
                result = await self._send(pending)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # never let one user's write kill a sender
                logger.exception("dispatching writes for %s failed", pending.target.email)
                result = DispatchResult(
                    link_id,
                    failed=tuple(
                        (c, FailureReason.UNAVAILABLE.value, str(err)) for c in _commands(pending)
                    ),
                )
            finally:
                self._busy.discard(link_id)
                self._current.pop(link_id, None)
                if link_id in self._deferred:
                    self._deferred.discard(link_id)
                    again = self._pending.get(link_id)
                    if again is not None:
                        heapq.heappush(self._heap, (again.rank, again.seq, link_id))
                        self._wake.set()
            for waiter in pending.waiters:
                if not waiter.done():
                    waiter.set_result(result)

    async def _send(self, pending: _Pending) -> DispatchResult:
        applied: list[Command] = []
        failed: list[tuple[Command, str, str]] = []
        skipped: list[Command] = []
        for command in _commands(pending):
            if isinstance(command, SetRingCentralPresence) and await self._already_true(
                pending, command
            ):
                skipped.append(command)
                await self.on_result(
                    pending.target, WriteApplied(command), pending.priority, "already true", None
                )
                continue
            opened = await self._open(pending, command)
            if opened is None:
                outcome: WriteApplied | WriteFailed = WriteFailed(
                    command, FailureReason.UNAVAILABLE.value
                )
                message = "not sent: it could not be recorded in the audit log"
            else:
                outcome, message = await self._write(pending, command)
            if isinstance(outcome, WriteApplied):
                applied.append(command)
                self._last_ack[pending.target.link_id] = self.clock()
            else:
                failed.append((command, outcome.reason_code, message))
            await self.on_result(pending.target, outcome, pending.priority, message, opened or None)
            pending.opened.pop(_kind(command), None)
        return DispatchResult(pending.target.link_id, tuple(applied), tuple(failed), tuple(skipped))

    async def _open(self, pending: _Pending, command: Command) -> str | None:
        """Record `command` as under way: its record's id ("" without `on_send`), or None if
        it could not be recorded (the store is down): then it is not sent, and the engine
        plans it again, rather than making a write the audit log would not show."""
        if self.on_send is None:
            return ""
        try:
            opened = await self.on_send(pending.target, command, pending.priority)
        except PresenceSyncError as err:
            logger.warning(
                "could not record a write for %s before sending: %s", pending.target.email, err
            )
            return None
        pending.opened[_kind(command)] = opened
        return opened

    async def _already_true(self, pending: _Pending, command: SetRingCentralPresence) -> bool:
        # Only an observation made after our last write to this user (and after this
        # process started) shows the remote state; an older one may predate a write of ours.
        # RingCentral stamps its events (within CLOCK_SKEW of our clock); a read carries the
        # time we recorded it, which may be long after RingCentral answered, so it proves
        # nothing until PENDING_GRACE later (as in the engine). Sending a write that was
        # already true costs one PUT; skipping one that was not leaves the user stuck.
        # A write leaving within FRESH_DECISION of its decision was decided on the stored
        # observation itself, so reading it again costs the store a command to learn nothing.
        if self.remote is None or time.monotonic() - pending.decided < FRESH_DECISION:
            return False
        link_id = pending.target.link_id
        seen = await self.remote(link_id)
        if seen is None:
            return False
        since = self._started_at
        acked = self._last_ack.get(link_id)
        if acked is not None:
            since = max(since, acked + (CLOCK_SKEW if seen.sequence is not None else PENDING_GRACE))
        if seen.observed_at <= since:
            return False
        current = {
            "user_status": seen.user_status,
            "dnd_status": seen.dnd_status,
            "dnd_status_personal": seen.dnd_status_personal,
            "accept_call_queue_calls": seen.accept_call_queue_calls,
        }
        return all(current.get(name) == value for name, value in command.fields())

    async def _write(
        self, pending: _Pending, command: Command
    ) -> tuple[WriteApplied | WriteFailed, str]:
        target = pending.target
        sent: list[float] = []

        def granted() -> None:
            # The request leaves now (each retry is granted again; the first counts).
            if not sent:
                self.sent += 1
            pending.sending = True
            sent.append(self.clock())

        try:
            if isinstance(command, SetRingCentralPresence):
                deadline = command.decided_at + WRITE_DEADLINE if command.decided_at else None

                def expired() -> bool:
                    return deadline is not None and self.clock() >= deadline

                if expired():
                    raise SlotExpiredError("gave up waiting for a RingCentral Medium slot")
                await self._write_rc(pending, command, expired, granted)
            elif isinstance(command, SetTeamsSession):
                graph = await self.providers.graph()
                await self.budget.graph(graph)
                granted()
                await graph.set_presence(
                    target.teams_user_id,
                    command.availability,
                    command.activity,
                    dt.timedelta(seconds=command.expires_in_seconds),
                )
            else:
                graph = await self.providers.graph()
                await self.budget.graph(graph)
                granted()
                # False means the session was already gone: the goal is met all the same.
                await graph.clear_presence(target.teams_user_id)
        except SlotExpiredError:
            waited = self.clock() - (
                command.decided_at if isinstance(command, SetRingCentralPresence) else 0.0
            )
            message = f"not sent: waited {waited:.0f} s for RingCentral's budget; planned again"
            logger.warning("%s for %s", message, target.email)
            return WriteFailed(command, FailureReason.UNAVAILABLE.value), message
        except RingCentralRequestError as err:
            assert isinstance(command, SetRingCentralPresence)
            return WriteFailed(command, _rc_refusal(command, err)), str(err)
        except GraphNotFoundError as err:
            return WriteFailed(command, FailureReason.SESSION_NOT_FOUND.value), str(err)
        except GraphRequestError as err:
            refused = isinstance(err, GraphRefusedError)
            reason = FailureReason.REJECTED if refused else FailureReason.UNAVAILABLE
            return WriteFailed(command, reason.value), str(err)
        except NotConnectedError as err:
            return WriteFailed(command, FailureReason.UNAVAILABLE.value), str(err)
        except ProviderError as err:
            provider = "ringcentral" if isinstance(command, SetRingCentralPresence) else "microsoft"
            await self.providers.report_failure(provider, err)
            return WriteFailed(command, FailureReason.UNAVAILABLE.value), str(err)
        except (PresenceSyncError, TimeoutError, OSError) as err:
            return WriteFailed(command, FailureReason.UNAVAILABLE.value), str(err) or repr(err)
        if isinstance(command, SetRingCentralPresence) and sent:
            waited = sent[0] - (command.decided_at or pending.queued_at)
            self._delays.append((sent[0], max(0.0, waited)))
        return WriteApplied(command, sent_at=sent[0] if sent else None), "applied"

    async def _write_rc(
        self,
        pending: _Pending,
        command: SetRingCentralPresence,
        expired: Callable[[], bool],
        granted: Callable[[], None],
    ) -> None:
        """Send as the identity with the most budget left; on to the next if it was refused."""
        tried: set[str] = set()
        self._rc_waiting += 1
        try:
            while True:
                writers = await self.providers.ringcentral_writers()
                writer = _roomiest([w for w in writers if w.name not in tried])
                if writer is None:
                    if not writers or not tried:
                        await self.providers.ringcentral()  # raises, saying why
                    raise NotConnectedError(
                        "every RingCentral identity refused the write: see the connections"
                    )
                try:
                    with self.budget.ringcentral(
                        pending.rank,
                        expired=expired,
                        on_grant=granted,
                        rank=lambda: self._rank_now(pending),
                    ):
                        await writer.client.set_presence(
                            pending.target.rc_extension_id,
                            user_status=command.user_status,
                            dnd_status=command.dnd_status,
                            dnd_status_personal=command.dnd_status_personal,
                            accept_call_queue_calls=command.accept_call_queue_calls,
                        )
                except (RingCentralTokenError, RingCentralRequestError) as err:
                    if not _refused_the_identity(err) or len(writers) == 1:
                        raise
                    # Not applied: this identity cannot write. Tell its owner, try the next.
                    logger.warning(
                        "RingCentral identity %s refused a write (%s); sending it as another",
                        writer.name,
                        type(err).__name__,
                    )
                    await self.providers.report_failure(writer.name, err)
                    tried.add(writer.name)
                    continue
                now = self.clock()
                self._rc_sent.append((now, writer.name))
                return
        finally:
            self._rc_waiting -= 1

    def _p95(self) -> float | None:
        """The p95 of the last hour's write delays, worked out again at most once a real
        second (an hour of writes over many identities is tens of thousands of delays)."""
        now = time.monotonic()
        if self._p95_at is not None and now - self._p95_at[0] < 1.0:
            return self._p95_at[1]
        horizon = self.clock() - DELAY_HISTORY
        while self._delays and self._delays[0][0] < horizon:
            self._delays.popleft()
        value = None
        if self._delays:
            ordered = sorted(d for _, d in self._delays)
            value = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        self._p95_at = (now, value)
        return value

    async def capacity(self) -> CapacityView:
        """RingCentral write capacity in use, the backlog and the delay a change can expect.

        Allowed and used come from each identity's rate-limit headers where RingCentral has
        sent them (they count every replica's writes), else from this replica's own count."""
        try:
            writers = await self.providers.ringcentral_writers()
        except PresenceSyncError:
            writers = []
        now = self.clock()
        while self._rc_sent and self._rc_sent[0][0] < now - _RATE_WINDOW:
            self._rc_sent.popleft()
        by_identity: dict[str, int] = {w.name: 0 for w in writers}
        for _, name in self._rc_sent:
            if name in by_identity:
                by_identity[name] += 1
        allowed = 0
        used = 0
        for writer in writers:
            limits = writer.client.limits
            budget = limits.snapshot().get(_MEDIUM)
            remaining = limits.remaining(_MEDIUM)
            if budget is None or budget.limit <= 0 or remaining is None:
                used += by_identity[writer.name]
                continue
            allowed += budget.limit
            used += max(budget.limit - remaining, by_identity[writer.name])
        backlog = sum(1 for p in self._pending.values() if p.rc is not None) + self._rc_waiting
        return CapacityView(
            identities=len(writers),
            allowed_per_minute=allowed or None,
            used_per_minute=used,
            backlog=backlog,
            expected_delay=backlog * 60.0 / allowed if allowed else None,
            p95_delay=self._p95(),
        )


def _roomiest(writers: Sequence[RcWriter]) -> RcWriter | None:
    """The identity a write would leave soonest as: most Medium budget left after what is in
    flight or waiting for it, or, when all are spent, the one whose window reopens first."""

    def soonest(writer: RcWriter) -> tuple[float, int]:
        gate, limits = writer.client.gate, writer.client.limits
        left = limits.remaining(_MEDIUM)
        if left is None:
            left = 1  # not learnt yet: one call at a time until RingCentral tells
        free = left - gate.in_flight(_MEDIUM) - gate.waiting(_MEDIUM)
        if free > 0:
            return (0.0, -free)
        budget = limits.snapshot().get(_MEDIUM)
        per_window = budget.limit if budget is not None and budget.limit > 0 else 1
        windows = -free // per_window
        return (limits.reset_in(_MEDIUM) + windows * _RATE_WINDOW, -free)

    return min(writers, key=soonest, default=None)


def _refused_the_identity(err: Exception) -> bool:
    """Whether RingCentral refused the identity itself (not the write): another may send it."""
    if isinstance(err, RingCentralTokenError):
        return err.breaks_connection
    return isinstance(err, RingCentralPermissionError)


def _kind(command: Command) -> str:
    return "rc" if isinstance(command, SetRingCentralPresence) else "teams"


def _commands(pending: _Pending) -> list[Command]:
    out: list[Command] = []
    if pending.rc is not None:
        out.append(pending.rc)
    if pending.teams is not None:
        out.append(pending.teams)
    return out


def _rc_refusal(command: SetRingCentralPresence, err: RingCentralRequestError) -> str:
    department = command.dnd_status == _DEPARTMENT or command.accept_call_queue_calls is False
    if department and (err.refused("dndStatus") or err.refused("acceptCallQueueCalls")):
        return FailureReason.QUEUE_CALLS_NOT_ALLOWED.value
    if isinstance(err, RingCentralRefusedError):
        return FailureReason.REJECTED.value
    return FailureReason.UNAVAILABLE.value
