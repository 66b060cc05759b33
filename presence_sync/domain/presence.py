"""Presence values of both platforms, parsed leniently, and the Teams state classification (§4.1).

Graph documents its availability and activity lists inconsistently (case, newer values), so
every value is matched case-insensitively and anything unknown becomes ``PresenceUnknown``
instead of an error: a presence notification must never crash the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

UNKNOWN: Final = "PresenceUnknown"

AVAILABILITIES: Final = (
    "Available",
    "AvailableIdle",
    "Away",
    "BeRightBack",
    "Busy",
    "BusyIdle",
    "DoNotDisturb",
    "Offline",
    UNKNOWN,
)
ACTIVITIES: Final = (
    "Available",
    "Away",
    "BeRightBack",
    "Busy",
    "DoNotDisturb",
    "Focusing",
    "InACall",
    "InAConferenceCall",
    "Inactive",
    "InAMeeting",
    "Offline",
    "OffWork",
    "OutOfOffice",
    UNKNOWN,
    "Presenting",
    "UrgentInterruptionsOnly",
)

_AVAILABILITY_BY_KEY: Final = {value.lower(): value for value in AVAILABILITIES}
_ACTIVITY_BY_KEY: Final = {value.lower(): value for value in ACTIVITIES}

# RingCentral values the engine reads or writes.
USER_STATUSES: Final = ("Offline", "Busy", "Available")
DND_STATUSES: Final = (
    "TakeAllCalls",
    "DoNotAcceptDepartmentCalls",
    "TakeDepartmentCallsOnly",
    "DoNotAcceptAnyCalls",
    "Unknown",
)
DND_PERSONAL_STATUSES: Final = ("TakeAllCalls", "DoNotAcceptAnyCalls", "Unknown")
TELEPHONY_STATUSES: Final = ("NoCall", "CallConnected", "Ringing", "OnHold", "ParkedCall")

TAKE_ALL_CALLS: Final = "TakeAllCalls"
NO_DEPARTMENT_CALLS: Final = "DoNotAcceptDepartmentCalls"
NO_CALLS: Final = "DoNotAcceptAnyCalls"

RcAccountMode = Literal["unknown", "legacy", "chs"]
"""How a RingCentral account takes DND: ``legacy`` dndStatus, ``chs`` the communication
handling service's dndStatusPersonal + acceptCallQueueCalls, ``unknown`` before any read."""

_IDLE_AVAILABILITIES: Final = frozenset({"AvailableIdle", "BusyIdle"})
_ENGAGED_ACTIVITIES: Final = frozenset({"InACall", "InAConferenceCall", "InAMeeting", "Presenting"})
_DND_ACTIVITIES: Final = frozenset(
    {"DoNotDisturb", "Presenting", "Focusing", "UrgentInterruptionsOnly"}
)


def parse_availability(value: str | None) -> str:
    """Graph availability in its canonical spelling; unknown or missing → PresenceUnknown."""
    if not value:
        return UNKNOWN
    return _AVAILABILITY_BY_KEY.get(value.strip().lower(), UNKNOWN)


def parse_activity(value: str | None) -> str:
    """Graph activity in its canonical spelling; unknown or missing → PresenceUnknown."""
    if not value:
        return UNKNOWN
    return _ACTIVITY_BY_KEY.get(value.strip().lower(), UNKNOWN)


def _parse_choice(value: str | None, choices: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    wanted = value.strip().lower()
    for choice in choices:
        if choice.lower() == wanted:
            return choice
    return "Unknown" if "Unknown" in choices else None


def parse_user_status(value: str | None) -> str | None:
    """RingCentral userStatus in canonical spelling; None when absent or not understood."""
    return _parse_choice(value, USER_STATUSES)


def parse_dnd_status(value: str | None) -> str | None:
    """RingCentral dndStatus in canonical spelling; unknown values read as ``Unknown``."""
    return _parse_choice(value, DND_STATUSES)


def parse_dnd_status_personal(value: str | None) -> str | None:
    """RingCentral dndStatusPersonal in canonical spelling; unknown values read as ``Unknown``."""
    return _parse_choice(value, DND_PERSONAL_STATUSES)


def parse_telephony_status(value: str | None) -> str | None:
    """RingCentral telephonyStatus in canonical spelling; None when absent or not understood."""
    return _parse_choice(value, TELEPHONY_STATUSES)


class TeamsState(StrEnum):
    """The five Teams states the call presence rules editor names (§4.1)."""

    BUSY = "busy"
    IN_A_CALL = "in_a_call"
    IN_A_CONFERENCE_CALL = "in_a_conference_call"
    IN_A_MEETING = "in_a_meeting"
    OFFLINE = "offline"

    @property
    def label(self) -> str:
        """The name admins see in the rules editor."""
        return _STATE_LABELS[self]


_STATE_LABELS: Final = {
    TeamsState.BUSY: "Busy",
    TeamsState.IN_A_CALL: "In a call",
    TeamsState.IN_A_CONFERENCE_CALL: "In a conference call",
    TeamsState.IN_A_MEETING: "In a meeting",
    TeamsState.OFFLINE: "Offline",
}


class TeamsCategory(StrEnum):
    """How the default mapping (§4.2) reads a Teams presence."""

    AVAILABLE = "available"
    BUSY = "busy"
    DO_NOT_DISTURB = "do_not_disturb"
    AWAY = "away"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class TeamsReading:
    """One Teams presence of the user's own, with the meeting context Graph's pair loses.

    Graph reports presenting as DoNotDisturb/Presenting whether or not a meeting is going on;
    ``in_meeting`` remembers that the user was In a meeting just before, so presenting in a
    meeting still counts as In a meeting for the rules (§4.1).
    """

    availability: str
    activity: str
    in_meeting: bool = False

    @classmethod
    def following(
        cls, availability: str, activity: str, before: TeamsReading | None
    ) -> TeamsReading:
        """The reading of a new pair, carrying the meeting context from the reading before it."""
        if activity == "InAMeeting":
            in_meeting = True
        elif activity == "Presenting" and before is not None:
            in_meeting = before.in_meeting
        else:
            in_meeting = False
        return cls(availability, activity, in_meeting)

    @property
    def pair(self) -> str:
        """``availability/activity`` for notes and causes."""
        return f"{self.availability}/{self.activity}"


def classify_state(reading: TeamsReading) -> TeamsState | None:
    """The rules-editor state this presence matches, or None for the states rules leave alone.

    BusyIdle/Busy counts as Busy: Teams shows it as Busy, and dropping a Busy rule the moment
    the keyboard goes quiet would flap RingCentral for no reason.
    """
    activity = reading.activity
    if activity == "InACall":
        return TeamsState.IN_A_CALL
    if activity == "InAConferenceCall":
        return TeamsState.IN_A_CONFERENCE_CALL
    if activity == "InAMeeting" or (activity == "Presenting" and reading.in_meeting):
        return TeamsState.IN_A_MEETING
    availability = reading.availability
    if availability == "Offline":
        return TeamsState.OFFLINE
    if availability in ("Busy", "BusyIdle") and activity == "Busy":
        return TeamsState.BUSY
    return None


def classify_category(reading: TeamsReading) -> TeamsCategory:
    """The default-mapping category of this presence (§4.2)."""
    availability = reading.availability
    if availability in ("Available", "AvailableIdle"):
        return TeamsCategory.AVAILABLE
    if availability in ("Busy", "BusyIdle"):
        return TeamsCategory.BUSY
    if availability == "DoNotDisturb":
        return TeamsCategory.DO_NOT_DISTURB
    if availability in ("Away", "BeRightBack"):
        return TeamsCategory.AWAY
    if availability == "Offline":
        return TeamsCategory.OFFLINE
    # Availability unknown: the activity may still say enough.
    if reading.activity in _DND_ACTIVITIES:
        return TeamsCategory.DO_NOT_DISTURB
    return TeamsCategory.UNKNOWN


def is_inactivity(reading: TeamsReading) -> bool:
    """Whether this presence only says the user is idle or their client closed (§4.2 preserve).

    Idle availabilities count only when no call or meeting activity rides along: BusyIdle
    with InACall is still a call. Offline counts unless the activity is OffWork, which is the
    user's own "Appear offline".
    """
    availability = reading.availability
    activity = reading.activity
    if availability in _IDLE_AVAILABILITIES:
        return activity not in _ENGAGED_ACTIVITIES
    if availability == "Away":
        return activity == "Inactive"
    if availability == "Offline":
        return activity != "OffWork"
    return False


def is_unknown(reading: TeamsReading) -> bool:
    """Whether Graph told us nothing usable (the engine then keeps what it had)."""
    return classify_category(reading) is TeamsCategory.UNKNOWN and classify_state(reading) is None
