"""The two platforms of the simulated world: Teams (Graph's aggregation) and RingCentral.

See `tests.engine.world` for how the test drives them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from presence_sync.engine import CLOCK_SKEW, RingCentralObserved, TeamsObserved

RANK = {
    "DoNotDisturb": 4,
    "Busy": 3,
    "BusyIdle": 3,
    "Available": 2,
    "AvailableIdle": 2,
    "Away": 1,
    "BeRightBack": 1,
    "Offline": 0,
}
TEAMS_STATUSES = {
    "available": ("Available", "Available"),
    "busy": ("Busy", "Busy"),
    "dnd": ("DoNotDisturb", "DoNotDisturb"),
    "brb": ("BeRightBack", "BeRightBack"),
    "away": ("Away", "Away"),
    "offwork": ("Offline", "OffWork"),
}
Pair = tuple[str, str]
TICK_EVERY = 60.0  # the reconciler's timer: well inside the engine's refresh margin
APPLY_DELAY = 0.001  # from decide() to the provider applying the write
READ_LATE_MAX = 60.0  # from RingCentral answering a GET to the product recording it, at most


@dataclass
class TeamsWorld:
    """One Teams user's presence inputs, aggregated the way Graph does."""

    preferred: Pair | None = None
    client_open: bool = True
    idle: int = 0  # 0 active, 1 AvailableIdle, 2 Away/Inactive
    in_meeting: bool = False
    presenting: bool = False
    in_call: bool = False
    in_conference: bool = False
    app: tuple[str, str, float] | None = None  # our session: availability, activity, expires_at
    tie_prefers_app: bool = False
    sequence: int = 8  # starts near 9 → 10 so version order (by length) is exercised

    def client_pair(self) -> Pair | None:
        """What the user's own Teams client session shows."""
        if not self.client_open:
            return None
        if self.in_call:
            return ("Busy", "InACall")
        if self.in_conference:
            return ("Busy", "InAConferenceCall")
        if self.in_meeting and self.presenting:
            return ("DoNotDisturb", "Presenting")
        if self.in_meeting:
            return ("Busy", "InAMeeting")
        if self.idle == 1:
            return ("AvailableIdle", "Available")
        if self.idle == 2:
            return ("Away", "Inactive")
        return ("Available", "Available")

    def own(self) -> Pair:
        """The user's own presence: the aggregate without our session."""
        client = self.client_pair()
        if client is None:
            return ("Offline", "Offline")
        return self.preferred or client

    def app_pair(self, now: float) -> Pair | None:
        """Our session's pair while Graph holds it."""
        if self.app is None or now >= self.app[2]:
            return None
        return (self.app[0], self.app[1])

    def aggregate(self, now: float) -> Pair:
        """What Graph reports."""
        client = self.client_pair()
        app = self.app_pair(now)
        sessions = [p for p in (client, app) if p is not None]
        if not sessions:
            return ("Offline", "Offline")
        if self.preferred is not None:
            return self.preferred
        if client is None or app is None:
            return sessions[0]
        if RANK[app[0]] > RANK[client[0]]:
            return app
        if RANK[app[0]] < RANK[client[0]]:
            return client
        return app if self.tie_prefers_app else client


RC_FIELDS_BY_MODE = {
    "legacy": ("user_status", "dnd_status"),
    "chs": ("user_status", "dnd_status_personal", "accept_call_queue_calls"),
}


@dataclass
class RcWorld:
    """One RingCentral extension's presence, with the user's own choices kept for the oracle."""

    mode: str = "legacy"
    queue_member: bool = True
    values: dict[str, Any] = field(
        default_factory=lambda: {
            "user_status": "Available",
            "dnd_status": "TakeAllCalls",
            "dnd_status_personal": "TakeAllCalls",
            "accept_call_queue_calls": True,
        }
    )
    telephony: str = "NoCall"
    sequence: int = 0
    # For the oracle: every value the user set by hand, and whether the engine could know it.
    manual: dict[str, list[list[Any]]] = field(default_factory=dict)  # [value, seen, at, absorbed]
    # Our writes per field: [value, applied at, applied at of the write after it (or None)].
    writes: dict[str, list[list[Any]]] = field(default_factory=dict)
    current_manual: dict[str, int | None] = field(default_factory=dict)

    def fields(self) -> tuple[str, ...]:
        """The engine fields this account mode uses."""
        return RC_FIELDS_BY_MODE[self.mode]

    def observation(self, now: float) -> RingCentralObserved:
        """What a presence GET or event shows now."""
        v = self.values
        if self.mode == "legacy":
            return RingCentralObserved(
                user_status=v["user_status"],
                dnd_status=v["dnd_status"],
                telephony_status=self.telephony,
                sequence=self.sequence,
                observed_at=now,
            )
        return RingCentralObserved(
            user_status=v["user_status"],
            dnd_status_personal=v["dnd_status_personal"],
            accept_call_queue_calls=v["accept_call_queue_calls"],
            telephony_status=self.telephony,
            sequence=self.sequence,
            observed_at=now,
        )

    def own(self, name: str, initial: Any) -> set[Any]:
        """The user's own value of a field, as far as it could be known (seen, or still showing).

        A set: a hand change our write absorbed (see `absorb`) may count either way.
        """
        return {self._own(name, initial, True), self._own(name, initial, False)}

    def _own(self, name: str, initial: Any, count_absorbed: bool) -> Any:
        changes = self.manual.get(name, [])
        current = self.current_manual.get(name)
        for index in range(len(changes) - 1, -1, -1):
            value, seen, _at, absorbed = changes[index]
            if absorbed and not count_absorbed:
                continue
            if seen or index == current or absorbed:
                return value
        return initial

    def wrote(self, name: str, value: Any, now: float) -> None:
        """Remember one of our writes, for telling which reports could be its echoes."""
        history = self.writes.setdefault(name, [])
        if history and history[-1][2] is None:
            history[-1][2] = now
        history.append([value, now, None])

    def overwritten(self, name: str, now: float) -> None:
        """The user changed the field by hand: our last write no longer shows there."""
        history = self.writes.get(name)
        if history and history[-1][2] is None:
            history[-1][2] = now

    def ours_around(self, name: str, value: Any, stamped: float) -> bool:
        """Whether we were writing `value` to `name` around the time a report was stamped.

        Such a report may be read as our echo (the engine's documented benefit of the doubt),
        so the hand change it carries counts either way.
        """
        for written, applied, superseded in self.writes.get(name, []):
            if written != value:
                continue
            if applied - CLOCK_SKEW <= stamped and (
                superseded is None or stamped <= superseded + CLOCK_SKEW
            ):
                return True
        return False

    def absorb(self, name: str, issued_at: float) -> None:
        """Our write set the very value the user had just chosen, before we saw their change.

        Within the engine's clock tolerance that hand change looks like our own echo or like the
        user's earlier choice, depending on which write of ours is current when its report
        arrives; the engine may rightly take it either way, and so does this oracle.
        """
        current = self.current_manual.get(name)
        if current is None:
            return
        change = self.manual[name][current]
        if not change[1] and not change[2] < issued_at - CLOCK_SKEW:
            change[3] = True


@dataclass
class Pending:
    """A notification on its way to the product."""

    event: TeamsObserved | RingCentralObserved
    side: str  # "teams" | "rc"
    world_seq: int
    echo: bool
    own: Pair | None = None  # Teams: the user's own pair when it was sent
    manual_ids: dict[str, int] = field(default_factory=dict)  # RC: manual changes it carries
    delivered: bool = False
    shows_app: bool = False  # Teams: what it shows is our own session
