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
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import itertools
import logging
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
from presence_sync.providers import NotConnectedError, Providers
from presence_sync.ringcentral.errors import RingCentralRefusedError, RingCentralRequestError
from presence_sync.ringcentral.gate import SlotExpiredError
from presence_sync.store.models import RcObservation
from presence_sync.sync.budget import ProviderBudget
from presence_sync.tasks import Loop

__all__ = ["DispatchResult", "Dispatcher", "ResultHandler", "WriteTarget", "merge_rc"]

logger = logging.getLogger(__name__)

_DEPARTMENT = "DoNotAcceptDepartmentCalls"


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
            pending = _Pending(target, priority, next(self._seq))
            self._pending[target.link_id] = pending
        elif priority < pending.priority:
            # A more urgent wish takes the waiting writes with it: latest state wins anyway.
            pending.priority = priority
            pending.seq = next(self._seq)
        pending.target = target
        for command in commands:
            if isinstance(command, SetRingCentralPresence):
                pending.rc = command if pending.rc is None else merge_rc(pending.rc, command)
            else:
                pending.teams = command
        pending.waiters.append(waiter)
        if target.link_id in self._busy:
            self._deferred.add(target.link_id)
        else:
            heapq.heappush(self._heap, (pending.priority, pending.seq, target.link_id))
            self._wake.set()
        return waiter

    async def _next(self) -> _Pending:
        while True:
            while self._heap:
                priority, seq, link_id = heapq.heappop(self._heap)
                pending = self._pending.get(link_id)
                if pending is None or pending.seq != seq or pending.priority != priority:
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
                        heapq.heappush(self._heap, (again.priority, again.seq, link_id))
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
                pending.target.link_id, command
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

    async def _already_true(self, link_id: str, command: SetRingCentralPresence) -> bool:
        # Only an observation made after our last write to this user (and after this
        # process started) shows the remote state; an older one may predate a write of ours.
        # RingCentral stamps its events (within CLOCK_SKEW of our clock); a read carries the
        # time we recorded it, which may be long after RingCentral answered, so it proves
        # nothing until PENDING_GRACE later (as in the engine). Sending a write that was
        # already true costs one PUT; skipping one that was not leaves the user stuck.
        if self.remote is None:
            return False
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
        target, priority = pending.target, pending.priority
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
                rc = await self.providers.ringcentral()
                with self.budget.ringcentral(priority, expired=expired, on_grant=granted):
                    await rc.set_presence(
                        target.rc_extension_id,
                        user_status=command.user_status,
                        dnd_status=command.dnd_status,
                        dnd_status_personal=command.dnd_status_personal,
                        accept_call_queue_calls=command.accept_call_queue_calls,
                    )
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
        return WriteApplied(command, sent_at=sent[0] if sent else None), "applied"


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
