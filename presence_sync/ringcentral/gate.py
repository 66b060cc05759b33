"""Admission to RingCentral's rate-limit groups, per identity: every call takes a slot first.

RingCentral counts requests per (authorising user, app) in groups and answers 429 with a
60-second penalty once a group is spent, which stalls every call of that group, the urgent
ones too. So no call is sent without a slot: the gate reads what the identity's last answer
said remains (`RateLimits`), subtracts the calls still in flight, and grants the slot to the
most urgent waiter (lowest priority number, then the longest waiting). Less urgent work leaves
a reserve that only more urgent work may use, so a person's live change never waits behind a
bulk job that spent the budget.

A waiter marked as *sharing* (the directory refresh) goes first once `SHARE_EVERY` - 1 calls
were granted ahead of it, and may then use the reserve: during a long backlog of real-time
writes it still gets one call in `SHARE_EVERY`, so it cannot starve.

The priority of a call comes from the caller's context (`calls_at`), so code far from the
dispatcher (watchers, jobs, the directory) needs no extra parameter: `RingCentralClient`
asks the gate for every request it sends.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Final

from presence_sync.errors import PresenceSyncError
from presence_sync.ringcentral.limits import RateLimits

__all__ = [
    "SHARE_EVERY",
    "CallContext",
    "CallGate",
    "SlotExpiredError",
    "calls_at",
    "current_call",
]

logger = logging.getLogger(__name__)

SHARE_EVERY: Final = 10
"""A sharing waiter gets at least one slot in this many of its group's grants."""

_POLL: Final = 0.05  # real seconds between looks at the budget: the clock may run faster
_UNKNOWN_CONCURRENCY: Final = 1  # before RingCentral told a group's budget, learn it one by one


class SlotExpiredError(PresenceSyncError):
    """A call gave up waiting for a slot (its deadline passed); nothing was sent."""


@dataclass(frozen=True)
class CallContext:
    """How urgent the calls made in this context are, and whether they share (see module)."""

    priority: int = 10
    share: bool = False
    expired: Callable[[], bool] | None = None  # True once the call is not worth sending
    on_grant: Callable[[], None] | None = None  # told when a request gets its slot and leaves
    rank: Callable[[], int] | None = None  # the priority now, when it can change while waiting


_DEFAULT: Final = CallContext()
_CONTEXT: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar(
    "ringcentral_call", default=None
)


def current_call() -> CallContext:
    """The context of calls made here."""
    return _CONTEXT.get() or _DEFAULT


@contextmanager
def calls_at(
    priority: int,
    *,
    share: bool = False,
    expired: Callable[[], bool] | None = None,
    on_grant: Callable[[], None] | None = None,
    rank: Callable[[], int] | None = None,
) -> Iterator[None]:
    """RingCentral calls made inside this block wait for slots at `priority` (or at what
    `rank` answers each time the order is decided, for a call that grows more urgent)."""
    token = _CONTEXT.set(CallContext(priority, share, expired, on_grant, rank))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


@dataclass(eq=False)
class _Waiter:
    priority: int
    seq: int
    share: bool
    passed: int = 0  # grants made to others while this one waited
    rank: Callable[[], int] | None = None


@dataclass
class CallGate:
    """One identity's admission control; `reserves` maps a priority ceiling to slots kept free.

    With the defaults, real-time work (priority ≤ 0) may spend the whole budget,
    reconciliation (≤ 10) leaves 2 slots, and everything less urgent leaves 6.
    """

    limits: RateLimits
    reserves: tuple[tuple[int, int], ...] = ((0, 0), (10, 2))
    default_reserve: int = 6
    waits: int = 0  # calls that had to wait for a slot (status pages, tests)
    granted: int = 0
    _in_flight: dict[str, int] = field(default_factory=dict)
    _waiting: dict[str, list[_Waiter]] = field(default_factory=dict)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def reserve(self, priority: int) -> int:
        """Slots a call at `priority` must leave free for more urgent calls."""
        for ceiling, kept in self.reserves:
            if priority <= ceiling:
                return kept
        return self.default_reserve

    def waiting(self, group: str | None = None) -> int:
        """Calls waiting for a slot (of one group, or of all)."""
        if group is not None:
            return len(self._waiting.get(group, ()))
        return sum(len(w) for w in self._waiting.values())

    def in_flight(self, group: str) -> int:
        """Calls of `group` sent and not answered yet."""
        return self._in_flight.get(group, 0)

    @asynccontextmanager
    async def slot(self, group: str) -> AsyncIterator[None]:
        """Hold one slot of `group` (at the context's priority) for the duration of a call."""
        context = current_call()
        me = _Waiter(context.priority, next(self._seq), context.share, rank=context.rank)
        waiters = self._waiting.setdefault(group, [])
        waiters.append(me)
        try:
            first = True
            while not self._grant(group, me):
                if context.expired is not None and context.expired():
                    raise SlotExpiredError(f"gave up waiting for a RingCentral {group} slot")
                if first:
                    self.waits += 1
                    first = False
                    logger.debug(
                        "waiting for a ringcentral %s slot (priority %d)", group, me.priority
                    )
                await asyncio.sleep(_POLL)
        except BaseException:
            if me in waiters:
                waiters.remove(me)
            raise
        self._in_flight[group] = self._in_flight.get(group, 0) + 1
        if context.on_grant is not None:
            context.on_grant()
        try:
            yield
        finally:
            self._in_flight[group] -= 1

    def _grant(self, group: str, me: _Waiter) -> bool:
        waiters = self._waiting[group]
        head = min(waiters, key=_turn)
        if head is not me:
            return False
        busy = self._in_flight.get(group, 0)
        remaining = self.limits.remaining(group)
        if remaining is None:
            allowed = busy < _UNKNOWN_CONCURRENCY
        else:
            turn = me.share and me.passed >= SHARE_EVERY - 1
            reserve = 0 if turn else self.reserve(me.priority)
            allowed = remaining - busy > reserve
        if not allowed:
            return False
        waiters.remove(me)
        for other in waiters:
            other.passed += 1
        self.granted += 1
        return True


def _turn(waiter: _Waiter) -> tuple[bool, int, int]:
    """Order of service: a sharing waiter whose turn came, then by priority, then by age."""
    due = waiter.share and waiter.passed >= SHARE_EVERY - 1
    priority = waiter.rank() if waiter.rank is not None else waiter.priority
    return (not due, priority, waiter.seq)
