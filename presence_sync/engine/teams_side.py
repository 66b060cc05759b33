"""The Teams half of `decide()`: ordering Graph observations, telling the user's own presence
from our session's, and planning our session (set, refresh, clear).

Graph only reports the *aggregated* presence, in which our session takes part. An observation
that shows exactly our session's pair, stamped while the session was showing (or up to
`SESSION_LINGER` seconds after it ended, because Graph and Teams catch up slowly), is our own
session's doing: the user's own presence is then the last one that was not (§4.4). That rule
reads the observation's own timestamp, never the current time, so a late Tick cannot turn our
own echo into a rule.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from presence_sync.domain.mapping import DND_SESSION, TeamsSessionWish
from presence_sync.domain.presence import TeamsReading, is_inactivity, is_unknown
from presence_sync.engine.commands import ClearTeamsSession, SetTeamsSession
from presence_sync.engine.events import TeamsObserved
from presence_sync.engine.state import OurSession, TeamsSeen, UserState

SESSION_TTL: Final = 600
"""Seconds each setPresence lasts (Graph allows 5 min to 4 h): a crash shows at most this long."""

REFRESH_MARGIN: Final = 300.0
"""Refresh a session still wanted once it has less than this many seconds left."""

SESSION_LINGER: Final = 90.0
"""Seconds after our session ended during which Graph may still report it."""


def sequence_key(sequence: str) -> tuple[int, str]:
    """Sort key for Graph's ``sequenceNumber``: version order, i.e. by length, then by text.

    Graph documents the value as a string that sorts in version order; its digits (or hex
    characters) grow in length as the count grows, so "10" comes after "9".
    """
    return (len(sequence), sequence)


def is_stale(seen: TeamsSeen | None, event: TeamsObserved) -> str | None:
    """Why `event` is older than (or a repeat of) the last Graph observation, or None."""
    if seen is None:
        return None
    if event.sequence is not None and seen.sequence is not None:
        key, last = sequence_key(event.sequence), sequence_key(seen.sequence)
        if key < last:
            return f"sequence {event.sequence} < {seen.sequence} already seen"
        # The same sequence read later (a poll) says "still so at this time": worth keeping.
        if key == last and event.observed_at <= seen.observed_at:
            return f"repeat of sequence {event.sequence}"
        return None
    if event.observed_at < seen.observed_at:
        return "older than the last Teams observation"
    return None


def explained_by_session(seen: TeamsSeen, session: OurSession | None) -> bool:
    """Whether this observation only shows this session of ours (§4.4)."""
    if session is None:
        return False
    if seen.availability != session.availability or seen.activity != session.activity:
        return False
    return session.since <= seen.observed_at < session.ended_at() + SESSION_LINGER


def explained(seen: TeamsSeen, state: UserState) -> bool:
    """Whether this observation only shows our current session or one that ended lately."""
    if explained_by_session(seen, state.session):
        return True
    return any(explained_by_session(seen, past) for past in state.past_sessions)


PINNED_PAIRS: Final = frozenset(
    {
        ("Busy", "Busy"),
        ("DoNotDisturb", "DoNotDisturb"),
        ("BeRightBack", "BeRightBack"),
        ("Offline", "OffWork"),
    }
)
"""Pairs Teams shows only for a status the user pinned (a preferred presence)."""


def hides_user(state: UserState) -> bool:
    """Whether our Do-not-disturb session hides the user's own Teams presence right now.

    Graph ranks DoNotDisturb above every session, so it hides the user unless they pinned a
    status (a preferred presence beats every session). An observation made after Graph took the
    session tells which; until one arrives, the user's last pair predicts it, so the write this
    implies goes out with the session instead of waiting for its echo.
    """
    session = state.session
    if session is None or session.cleared_at is not None:
        return False  # once we cleared it, late reports of it say nothing about the user
    if (session.availability, session.activity) != DND_SESSION:
        return False
    seen = state.teams_seen
    if seen is not None and explained_by_session(seen, session):
        return True
    # Only while Graph surely held our session: a refresh held back past its expiry leaves a
    # gap in which Teams shows the user without any pinned status.
    landed = (
        seen is not None
        and session.applied_at is not None
        and seen.observed_at > session.applied_at
        and (
            session.held_from is None
            or session.held_until is None
            or session.held_from <= seen.observed_at < session.held_until
        )
    )
    if landed:
        return False  # Teams shows the user despite our session: they pinned a status
    if seen is not None and explained(seen, state):
        return True  # Teams showed a session of ours, so nothing of the user's is pinned
    user = state.teams_user
    return user is None or (user.availability, user.activity) not in PINNED_PAIRS


def derive_user(state: UserState, notes: list[str]) -> UserState:
    """Update the user's own Teams presence from the latest observation, unless it is ours."""
    seen = state.teams_seen
    if seen is None:
        return state
    if explained(seen, state):
        notes.append(
            f"Teams {seen.availability}/{seen.activity} is our own session; not fed to the rules"
        )
        return state
    user = state.teams_user
    if (
        user is not None
        and user.availability == seen.availability
        and (user.activity == seen.activity)
    ):
        return state
    reading = TeamsReading.following(seen.availability, seen.activity, user)
    anchor = state.teams_anchor
    if not is_inactivity(reading) and not is_unknown(reading):
        anchor = reading
    return state.evolve(teams_user=reading, teams_anchor=anchor)


def plan(
    state: UserState, wish: TeamsSessionWish | None, now: float, label: str
) -> tuple[UserState, SetTeamsSession | ClearTeamsSession | None]:
    """The session write (if any) that makes Teams show `wish`, refreshed before it expires."""
    session = state.session
    live = session is not None and session.live(now)
    if wish is None:
        if session is None or session.cleared_at is not None:
            return state, None
        if not live:
            # It expired on its own; Graph already dropped it, so there is nothing to clear.
            ended = replace(session, cleared_at=session.expires_at, end_landed=session.expires_at)
            return state.evolve(session=ended), None
        cleared = replace(session, cleared_at=now)
        return state.evolve(session=cleared), ClearTeamsSession(
            cause=f"{label}: no RingCentral call or DND any more; clear our Teams session"
        )
    same = (
        session is not None
        and session.cleared_at is None
        and session.availability == wish.availability
        and session.activity == wish.activity
    )
    if same and session is not None:
        if live and now < refresh_due(session):
            return state, None
        # A late Tick may find it expired already: setting it again is still a renewal.
        refreshed = replace(session, expires_at=now + SESSION_TTL)
        return state.evolve(session=refreshed), SetTeamsSession(
            wish.availability,
            wish.activity,
            SESSION_TTL,
            f"{label}: refresh, {wish.reason} continues",
            refresh=True,
        )
    fresh = OurSession(wish.availability, wish.activity, now, now + SESSION_TTL)
    past = state.past_sessions
    if session is not None:
        # Reports of the one before (even of the same pair, cleared a moment ago) may still
        # arrive; the new one hides the user only from now on.
        ended = session if session.cleared_at is not None else replace(session, cleared_at=now)
        past = _ended(past, ended, state.teams_seen)
    return state.evolve(session=fresh, past_sessions=past), SetTeamsSession(
        wish.availability,
        wish.activity,
        SESSION_TTL,
        f"{label}: {wish.reason} → show {wish.availability}/{wish.activity}",
    )


def refresh_due(session: OurSession) -> float:
    """When a wanted session must be set again to keep showing.

    Counted from when Graph surely holds it till, if that is sooner than what we decided: a
    refresh that never landed (lost in a restart, or still held back) is sent again in time.
    """
    expires = session.expires_at
    if session.held_until is not None:
        expires = min(expires, session.held_until)
    return expires - REFRESH_MARGIN


PAST_SESSIONS_KEPT: Final = 6
"""Ended sessions remembered while late reports of them may still arrive."""


def _ended(
    past: tuple[OurSession, ...], ended: OurSession, seen: TeamsSeen | None
) -> tuple[OurSession, ...]:
    """Remember an ended session; flapping between the same pair widens one window.

    A window can go once an observation stamped after it (plus the linger) was accepted:
    reports older than that observation are dropped by ordering anyway.
    """
    kept: list[OurSession] = []
    for old in past:
        same = (old.availability, old.activity) == (ended.availability, ended.activity)
        if same and old.ended_at() + SESSION_LINGER >= ended.since:
            ended = replace(ended, since=min(old.since, ended.since))
        elif seen is None or old.ended_at() + SESSION_LINGER > seen.observed_at:
            kept.append(old)
    return (*kept, ended)[-PAST_SESSIONS_KEPT:]


def acknowledge(
    state: UserState,
    command: SetTeamsSession | ClearTeamsSession,
    now: float,
    sent_at: float | None = None,
) -> UserState:
    """Note when Graph took our session (later reports reflect it) and until when it holds it."""
    session = state.session
    if isinstance(command, ClearTeamsSession):
        return _end_landed(state, now)
    if (
        session is None
        or session.cleared_at is not None
        or (session.availability, session.activity) != (command.availability, command.activity)
    ):
        return state
    # Graph took the new set: the session it replaced stopped showing now.
    state = _end_landed(state, now, current=False)
    session = state.session
    if session is None:  # pragma: no cover - _end_landed keeps the current session
        return state
    # Graph counts the expiry from when it got the request, not from when we decided it.
    sent = sent_at if sent_at is not None else now
    held_from, held_until = session.held_from, session.held_until
    if held_from is None or held_until is None or sent >= held_until:
        # The first set, or a refresh that came after the session lapsed: it shows again
        # once Graph has taken it (answered), not when we sent it.
        held_from = now
    held_until = max(held_until or 0.0, sent + command.expires_in_seconds)
    applied = session.applied_at if session.applied_at is not None else now
    return state.evolve(
        session=replace(session, applied_at=applied, held_from=held_from, held_until=held_until)
    )


def _end_landed(state: UserState, now: float, *, current: bool = True) -> UserState:
    """Graph confirmed the end of our latest ended session (a clear, or a set replacing it)."""
    session = state.session
    if current and session is not None and session.cleared_at is not None:
        if session.end_landed is None:
            return state.evolve(session=replace(session, end_landed=now))
        return state
    past = list(state.past_sessions)
    for index in range(len(past) - 1, -1, -1):
        if past[index].end_landed is None:
            past[index] = replace(past[index], end_landed=now)
            return state.evolve(past_sessions=tuple(past))
    return state


def acknowledge_failure(
    state: UserState, command: SetTeamsSession | ClearTeamsSession, now: float
) -> UserState:
    """Fold a failed session write into what we believe Graph holds."""
    session = state.session
    if session is None:
        return state
    if isinstance(command, SetTeamsSession):
        if session.availability == command.availability and session.activity == command.activity:
            held = session.held_until
            if session.cleared_at is None and held is not None and now < held:
                # A refresh that failed: Graph still holds the last set until it expires.
                return state.evolve(session=replace(session, expires_at=held))
            # Not set: treat it as gone; the next plan sets it again.
            return state.evolve(session=replace(session, cleared_at=now, end_landed=now))
        return state
    if session.cleared_at is not None:
        # The clear did not happen: the session shows until it expires.
        return state.evolve(session=replace(session, cleared_at=None))
    return state
