"""Who belongs to which RingCentral call queue, read a little at a time within the budget.

RingCentral accepts the Department values of `dndStatus` (DoNotAcceptDepartmentCalls,
TakeDepartmentCallsOnly) only for call-queue members and answers 400 for anyone else. Knowing
membership up front lets the engine write TakeAllCalls for non-members at once instead of
learning it from a refused write.

RingCentral has no "queues of every user" call: the account's queues are listed (Medium group,
paged) and then each queue's members (Light group, one call per queue and page). Light is
also the group of presence reads, which live changes and reconciliation depend on, and an
organisation of 5,000 people has over a hundred queues, more than a whole minute's Light
budget. So `QueueWalk` never waits for budget: each `step()` (one per directory refresh)
reads queues while the group has more than `reserve` requests left in its window and carries
on from there next time. Only a walk that read every queue may call anyone a non-member, so a
step returns membership only when it completes a walk; the next step starts a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from presence_sync.errors import RingCentralNotFoundError
from presence_sync.ringcentral.client import RingCentralClient
from presence_sync.ringcentral.models import CallQueue

__all__ = ["QUEUE_READ_RESERVE", "QueueMembership", "QueueWalk"]

logger = logging.getLogger(__name__)

QUEUE_LIST_GROUP = "Medium"
QUEUE_MEMBERS_GROUP = "Light"
QUEUE_READ_RESERVE = 25
"""Requests per window the walk leaves to presence reads and writes, in either group."""


@dataclass(frozen=True)
class QueueMembership:
    """Every call queue of the account, and which queues each member extension is in."""

    queues: tuple[CallQueue, ...]
    by_extension: Mapping[str, tuple[str, ...]]  # extension id -> ids of its queues

    @classmethod
    def of(
        cls, queues: Iterable[CallQueue], members: Mapping[str, Iterable[str]]
    ) -> QueueMembership:
        """Membership from the queues and each queue's member extension ids."""
        listed = tuple(queues)
        found: dict[str, list[str]] = {}
        for queue in listed:
            for ext_id in members.get(queue.id, ()):
                found.setdefault(str(ext_id), []).append(queue.id)
        return cls(listed, MappingProxyType({e: tuple(q) for e, q in found.items()}))

    def queues_of(self, extension_id: str) -> tuple[str, ...]:
        """Ids of the queues the extension belongs to (empty when none)."""
        return self.by_extension.get(str(extension_id), ())

    def is_member(self, extension_id: str) -> bool:
        """Whether the extension belongs to at least one call queue."""
        return bool(self.queues_of(extension_id))


@dataclass
class QueueWalk:
    """Reads every queue's members across as many steps as the Light budget needs."""

    reserve: int = QUEUE_READ_RESERVE
    walks: int = 0  # walks completed
    _queues: tuple[CallQueue, ...] = ()
    _pending: list[CallQueue] = field(default_factory=list)
    _members: dict[str, list[str]] = field(default_factory=dict)
    _walking: bool = False

    @property
    def walking(self) -> bool:
        """Whether a walk has started and not yet read every queue."""
        return self._walking

    @property
    def progress(self) -> tuple[int, int]:
        """Queues read and queues listed in the current walk."""
        return len(self._queues) - len(self._pending), len(self._queues)

    def _admitted(self, client: RingCentralClient, group: str) -> bool:
        remaining = client.limits.remaining(group)
        return remaining is None or remaining > self.reserve

    async def step(self, client: RingCentralClient) -> QueueMembership | None:
        """Read on as far as the budget allows; the membership if this step ended a walk.

        RingCentral errors propagate; the walk resumes where it stopped at the next step.
        """
        if not self._walking:
            if not self._admitted(client, QUEUE_LIST_GROUP):
                logger.debug("call-queue walk waits for RingCentral's Medium budget")
                return None
            self._queues = tuple([q async for q in client.list_call_queues()])
            self._pending = list(self._queues)
            self._members = {}
            self._walking = True
        while self._pending:
            if not self._admitted(client, QUEUE_MEMBERS_GROUP):
                done, total = self.progress
                logger.debug("call-queue walk paused at %d of %d queues for budget", done, total)
                return None
            queue = self._pending[0]
            try:
                members = [m.id async for m in client.list_call_queue_members(queue.id)]
            except RingCentralNotFoundError:
                members = []  # deleted since it was listed: nobody is in it any more
            self._members[queue.id] = members
            self._pending.pop(0)
        self._walking = False
        self.walks += 1
        return QueueMembership.of(self._queues, self._members)
