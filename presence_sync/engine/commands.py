"""Commands: the writes `decide()` asks the dispatcher to make, each with its cause.

Dispatcher contract: commands of one user may be coalesced, latest wins per side, but
`SetRingCentralPresence` commands must be merged field by field (a later command carries only
the fields that changed since the earlier one; the merge keeps the newest ``write_id``). Report
every outcome back as `WriteApplied` / `WriteFailed` carrying the command as sent, as soon as
the provider answers: the acknowledgement time is what tells a user's hand change made just
after our write from a report of the state just before it. A `SetRingCentralPresence` still
unsent `WRITE_DEADLINE` seconds after ``decided_at`` is never sent (report it failed): from
then on the engine may take it as lost and plan it again. A merge keeps the earliest
``decided_at``, so no field of it outlives its own deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from presence_sync.domain.mapping import (
    ACCEPT_CALL_QUEUE_CALLS,
    DND_STATUS,
    DND_STATUS_PERSONAL,
    USER_STATUS,
    RcValue,
)

WRITE_DEADLINE: Final = 1800.0
"""Seconds a RingCentral write may wait for its budget before it is dropped and re-planned."""


@dataclass(frozen=True, slots=True)
class SetRingCentralPresence:
    """PUT only the given RingCentral presence fields (None: leave that field alone)."""

    user_status: str | None = None
    dnd_status: str | None = None
    dnd_status_personal: str | None = None
    accept_call_queue_calls: bool | None = None
    cause: str = ""
    write_id: int = 0  # per user, increasing; a merged command keeps the newest id
    decided_at: float = 0.0  # when the engine decided it; a merged command keeps the earliest

    def fields(self) -> tuple[tuple[str, RcValue], ...]:
        """(engine field, value) for every field this command writes."""
        out: list[tuple[str, RcValue]] = []
        if self.user_status is not None:
            out.append((USER_STATUS, self.user_status))
        if self.dnd_status is not None:
            out.append((DND_STATUS, self.dnd_status))
        if self.dnd_status_personal is not None:
            out.append((DND_STATUS_PERSONAL, self.dnd_status_personal))
        if self.accept_call_queue_calls is not None:
            out.append((ACCEPT_CALL_QUEUE_CALLS, self.accept_call_queue_calls))
        return tuple(out)

    def body(self) -> dict[str, str | bool]:
        """The JSON body of RingCentral's presence PUT."""
        body: dict[str, str | bool] = {}
        if self.user_status is not None:
            body["userStatus"] = self.user_status
        if self.dnd_status is not None:
            body["dndStatus"] = self.dnd_status
        if self.dnd_status_personal is not None:
            body["dndStatusPersonal"] = self.dnd_status_personal
        if self.accept_call_queue_calls is not None:
            body["acceptCallQueueCalls"] = self.accept_call_queue_calls
        return body


@dataclass(frozen=True, slots=True)
class SetTeamsSession:
    """Graph ``setPresence`` with the app's session id: show this pair until it expires.

    Only Graph's allowed pairs are issued: Busy/InACall for a RingCentral call and
    DoNotDisturb/Presenting for RingCentral DND (see `presence_sync.domain.mapping.DND_SESSION`).
    ``refresh`` marks a renewal of an unchanged session, which the dispatcher may rank lowest.
    """

    availability: str
    activity: str
    expires_in_seconds: int
    cause: str
    refresh: bool = False

    def body(self, session_id: str) -> dict[str, str]:
        """The JSON body of Graph's setPresence."""
        return {
            "sessionId": session_id,
            "availability": self.availability,
            "activity": self.activity,
            "expirationDuration": f"PT{self.expires_in_seconds}S",
        }


@dataclass(frozen=True, slots=True)
class ClearTeamsSession:
    """Graph ``clearPresence`` of the app's session (a 404 means it is already gone: success)."""

    cause: str


Command = SetRingCentralPresence | SetTeamsSession | ClearTeamsSession
"""Every command `decide()` can issue."""
