"""Graph's presence aggregation: many sessions and a preferred presence become one pair.

Pure functions over `sandbox.model.TeamsPresence`; they read no clock of their own (callers
pass `now` in sandbox seconds), so they are easy to test and to reason about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandbox.model import TeamsPresence, TeamsSession

CLIENT_SESSION = "teams-client"
FADE_TO_AWAY_AFTER = 600.0  # an Available app session not refreshed for ~10 min reads as Away

AVAILABILITIES = (
    "Available",
    "AvailableIdle",
    "Away",
    "BeRightBack",
    "Busy",
    "BusyIdle",
    "DoNotDisturb",
    "Offline",
    "PresenceUnknown",
)
ACTIVITIES = (
    "Available",
    "Away",
    "BeRightBack",
    "Busy",
    "DoNotDisturb",
    "InACall",
    "InAConferenceCall",
    "Inactive",
    "InAMeeting",
    "Offline",
    "OffWork",
    "OutOfOffice",
    "PresenceUnknown",
    "Presenting",
    "UrgentInterruptionsOnly",
)
_AVAILABILITY_BY_LOWER = {name.lower(): name for name in AVAILABILITIES}
_ACTIVITY_BY_LOWER = {name.lower(): name for name in ACTIVITIES}

SET_PRESENCE_PAIRS = frozenset(
    {
        ("Available", "Available"),
        ("Busy", "InACall"),
        ("Busy", "InAConferenceCall"),
        ("Away", "Away"),
        ("DoNotDisturb", "Presenting"),
    }
)
PREFERRED_PAIRS = frozenset(
    {
        ("Available", "Available"),
        ("Busy", "Busy"),
        ("DoNotDisturb", "DoNotDisturb"),
        ("BeRightBack", "BeRightBack"),
        ("Away", "Away"),
        ("Offline", "OffWork"),
    }
)

# Among sessions DoNotDisturb > Busy > Available > Away; idle variants rank with their base.
_AVAILABILITY_RANK = {
    "DoNotDisturb": 6,
    "Busy": 5,
    "BusyIdle": 5,
    "Available": 4,
    "AvailableIdle": 4,
    "BeRightBack": 2,
    "Away": 1,
    "Offline": 0,
}
# Ties inside one availability: a call is what people most need to see, then a meeting.
_ACTIVITY_RANK = {"Presenting": 3, "InAConferenceCall": 2, "InACall": 2, "InAMeeting": 1}

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


@dataclass(frozen=True)
class Aggregate:
    """The presence Graph shows for a user at one instant."""

    availability: str
    activity: str


@dataclass
class AppSession(TeamsSession):
    """A session set through setPresence; remembers when it was last set, for the fade to Away."""

    refreshed_at: float = 0.0


@dataclass
class ClientSession(TeamsSession):
    """The user's own Teams client; `availability`/`activity` hold what the user chose."""

    presenting: bool = False


def canonical_availability(value: str) -> str | None:
    """Graph's spelling of an availability, matched case-insensitively; None if unknown."""
    return _AVAILABILITY_BY_LOWER.get(value.strip().lower())


def canonical_activity(value: str) -> str | None:
    """Graph's spelling of an activity, matched case-insensitively; None if unknown."""
    return _ACTIVITY_BY_LOWER.get(value.strip().lower())


def parse_duration(text: str) -> float:
    """Seconds in an ISO-8601 duration such as PT5M, PT1H30M or P1D; ValueError if malformed."""
    match = _DURATION.match(text.strip().upper()) if isinstance(text, str) else None
    if not match or text.strip().upper() in ("P", "PT") or text.strip().upper().endswith("T"):
        raise ValueError(f"expirationDuration {text!r} is not an ISO-8601 duration")
    parts = match.groupdict()
    return (
        int(parts["d"] or 0) * 86400
        + int(parts["h"] or 0) * 3600
        + int(parts["m"] or 0) * 60
        + float(parts["s"] or 0)
    )


def effective(session: TeamsSession, presence: TeamsPresence, now: float) -> Aggregate:
    """What one session contributes right now (meetings and calls colour the client session)."""
    if session.session_id == CLIENT_SESSION:
        presenting = isinstance(session, ClientSession) and session.presenting
        busy_with_something = presence.in_meeting or presence.in_call or presence.in_conference_call
        if presenting and busy_with_something:
            return Aggregate("DoNotDisturb", "Presenting")
        if session.availability == "DoNotDisturb":
            return Aggregate(session.availability, session.activity)
        if presence.in_conference_call:
            return Aggregate("Busy", "InAConferenceCall")
        if presence.in_call:
            return Aggregate("Busy", "InACall")
        if presence.in_meeting:
            return Aggregate("Busy", "InAMeeting")
        return Aggregate(session.availability, session.activity)
    if (
        session.availability == "Available"
        and isinstance(session, AppSession)
        and now - session.refreshed_at >= FADE_TO_AWAY_AFTER
    ):
        return Aggregate("Away", "Away")
    return Aggregate(session.availability, session.activity)


def live_sessions(presence: TeamsPresence, now: float) -> list[TeamsSession]:
    """Sessions that have not expired at `now`."""
    return [s for s in presence.sessions.values() if s.expires_at is None or s.expires_at > now]


def aggregate(presence: TeamsPresence, now: float) -> Aggregate:
    """Graph's aggregated presence: preferred > sessions by rank; nothing → Offline."""
    sessions = live_sessions(presence, now)
    preferred = presence.preferred
    if preferred is not None and preferred.expires_at is not None and preferred.expires_at <= now:
        preferred = None
    if preferred is not None and (sessions or preferred.activity == "OffWork"):
        return Aggregate(preferred.availability, preferred.activity)
    if not sessions:
        return Aggregate("Offline", "Offline")
    best: tuple[int, int, float, str, str] | None = None
    chosen = Aggregate("Offline", "Offline")
    for session in sessions:
        shown = effective(session, presence, now)
        refreshed = session.refreshed_at if isinstance(session, AppSession) else 0.0
        key = (
            _AVAILABILITY_RANK.get(shown.availability, -1),
            _ACTIVITY_RANK.get(shown.activity, 0),
            refreshed,
            # Full ties are broken by name so the answer never depends on dict order.
            shown.activity,
            session.session_id,
        )
        if best is None or key > best:
            best, chosen = key, shown
    return chosen


def next_deadline(presence: TeamsPresence, now: float) -> float | None:
    """The next sandbox time at which the aggregate may change by itself (expiry or fade)."""
    times: list[float] = []
    for session in presence.sessions.values():
        if session.expires_at is not None and session.expires_at > now:
            times.append(session.expires_at)
        if isinstance(session, AppSession) and session.availability == "Available":
            fade = session.refreshed_at + FADE_TO_AWAY_AFTER
            if fade > now:
                times.append(fade)
    preferred = presence.preferred
    if preferred is not None and preferred.expires_at is not None and preferred.expires_at > now:
        times.append(preferred.expires_at)
    return min(times) if times else None


def drop_expired(presence: TeamsPresence, now: float) -> bool:
    """Remove expired sessions and an expired preferred presence; True if anything went."""
    gone = [
        k for k, s in presence.sessions.items() if s.expires_at is not None and s.expires_at <= now
    ]
    for key in gone:
        del presence.sessions[key]
    preferred = presence.preferred
    expired_preferred = (
        preferred is not None and preferred.expires_at is not None and preferred.expires_at <= now
    )
    if expired_preferred:
        presence.preferred = None
    return bool(gone) or expired_preferred


def sequence_number(sequence: int) -> str:
    """Graph's `sequenceNumber`: a string that sorts in version order."""
    return f"{sequence:020d}"
