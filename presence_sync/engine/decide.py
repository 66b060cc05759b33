"""`decide()`: the pure heart of the product (DESIGN §2.2, §4).

Level-triggered: every event first updates what we know (observations, our own writes,
settings, failures), then the desired state of both sides is computed afresh from the user's
own presence on each side and the org settings, and at most one write per side is issued to
close the gap. Duplicated, late or reordered events therefore cannot leave a user wrong for
longer than the next observation or Tick.

No I/O, no clock, no logging, no randomness: the caller passes `now` and persists the returned
state (`UserState.to_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from presence_sync.domain.mapping import (
    RcOverlay,
    TeamsSessionWish,
    rc_overlay,
    teams_session_wish,
)
from presence_sync.domain.presence import parse_activity, parse_availability
from presence_sync.domain.settings import OrgSettings
from presence_sync.engine import ringcentral_side, teams_side
from presence_sync.engine.commands import ClearTeamsSession, Command, SetRingCentralPresence
from presence_sync.engine.events import (
    CallQueueMembershipObserved,
    Event,
    FailureReason,
    RingCentralObserved,
    SettingsChanged,
    SyncDisabled,
    SyncEnabled,
    TeamsObserved,
    Tick,
    UserPreferencesChanged,
    WriteApplied,
    WriteFailed,
)
from presence_sync.engine.state import TeamsSeen, UserState

BACKOFF_FIRST: Final = 5.0
BACKOFF_MAX: Final = 300.0

_DISABLED: Final = RcOverlay((), "sync disabled: RingCentral back to the user's own values")
_HIDDEN: Final = RcOverlay(
    (), "Teams shows our Do not disturb session, hiding the user's own presence: user's own values"
)


@dataclass(frozen=True, slots=True)
class Decision:
    """The new state, the writes to make, and human-readable reasons for the audit log."""

    state: UserState
    commands: tuple[Command, ...]
    notes: tuple[str, ...]


def backoff(failures: int) -> float:
    """Seconds to wait before writing again after `failures` consecutive failed writes."""
    return float(min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, failures - 1)))


def desired_overlay(state: UserState, settings: OrgSettings) -> RcOverlay:
    """What RingCentral must show on top of the user's own values right now.

    While Teams shows our own Do-not-disturb session, the user's own Teams presence is hidden
    behind it (Graph ranks DoNotDisturb above everything but a preferred presence) for as long
    as their RingCentral DND lasts, possibly all day. Holding an overlay we can no longer see
    the reason for would leave RingCentral stuck (Busy after a meeting that ended unseen), so
    RingCentral keeps only the user's own values then; their DND already blocks every call,
    and the Teams-derived values come back when the DND ends and Teams shows the user again.
    """
    if not state.enabled:
        return _DISABLED
    if teams_side.hides_user(state):
        return _HIDDEN
    return rc_overlay(
        state.teams_user, state.teams_anchor, settings, state.rc_mode, state.queue_member
    )


def _wish(state: UserState, settings: OrgSettings) -> TeamsSessionWish | None:
    if not state.enabled:
        return None
    seen = state.rc_seen
    if seen is None:
        return None
    own_dnd = state.rc_own("dnd_status_personal" if state.rc_mode == "chs" else "dnd_status")
    ringing = state.ringing_counts_as_busy
    if ringing is None:
        ringing = settings.ringing_counts_as_busy
    return teams_session_wish(
        seen.telephony_status, own_dnd if isinstance(own_dnd, str) else None, settings, ringing
    )


def decide(state: UserState, event: Event, settings: OrgSettings, now: float) -> Decision:
    """Fold `event` into `state` and return the writes that bring both sides where they belong."""
    notes: list[str] = []
    if isinstance(event, TeamsObserved):
        stale = teams_side.is_stale(state.teams_seen, event)
        if stale is not None:
            return Decision(state, (), (f"ignored Teams observation: {stale}",))
        seen = TeamsSeen(
            parse_availability(event.availability),
            parse_activity(event.activity),
            event.sequence,
            event.observed_at,
        )
        state = teams_side.derive_user(state.evolve(teams_seen=seen), notes)
        label = "Teams presence observed"
    elif isinstance(event, RingCentralObserved):
        stale = ringcentral_side.is_stale(state.rc_seen, event)
        if stale is not None:
            return Decision(state, (), (f"ignored RingCentral observation: {stale}",))
        mode = ringcentral_side.detect_mode(state.rc_mode, event)
        if mode != state.rc_mode:
            notes.append(f"RingCentral account mode: {mode}")
            state = state.evolve(rc_mode=mode)
        state = teams_side.derive_user(state, [])
        state = ringcentral_side.observe(state, event, desired_overlay(state, settings), notes)
        label = "RingCentral presence observed"
    elif isinstance(event, Tick):
        label = "tick"
    elif isinstance(event, WriteFailed):
        state, label = _failed(state, event, notes, now)
    elif isinstance(event, WriteApplied):
        command = event.command
        if isinstance(command, SetRingCentralPresence):
            state = ringcentral_side.acknowledge(state, command, now, event.sent_at)
            if state.rc_failures:
                state = state.evolve(rc_failures=0)
        else:
            state = teams_side.acknowledge(state, command, now, event.sent_at)
            if state.teams_failures:
                state = state.evolve(teams_failures=0)
        label = "write applied"
    elif isinstance(event, SettingsChanged):
        label = f"settings changed ({event.summary})" if event.summary else "settings changed"
    elif isinstance(event, SyncEnabled):
        state = state.evolve(enabled=True, rc_failures=0, teams_failures=0)
        label = "sync enabled"
    elif isinstance(event, SyncDisabled):
        state = state.evolve(enabled=False, rc_yields=())
        label = f"sync disabled ({event.reason})" if event.reason else "sync disabled"
    elif isinstance(event, CallQueueMembershipObserved):
        state = state.evolve(queue_member=event.is_member)
        label = "call-queue membership observed"
    elif isinstance(event, UserPreferencesChanged):
        state = state.evolve(ringing_counts_as_busy=event.ringing_counts_as_busy)
        label = "user preferences changed"
    else:  # pragma: no cover - the Event union is closed
        raise TypeError(f"not an engine event: {event!r}")
    return _reconcile(state, settings, now, label, notes)


def _failed(
    state: UserState, event: WriteFailed, notes: list[str], now: float
) -> tuple[UserState, str]:
    command = event.command
    reason = event.reason_code
    label = f"write failed ({reason})"
    if isinstance(command, SetRingCentralPresence):
        if reason == FailureReason.LOST.value:
            # Nothing went wrong at RingCentral: no back-off, the next plan writes it anew.
            return ringcentral_side.lose(state, command, now, notes), label
        state = ringcentral_side.revert(state, command)
        if reason == FailureReason.QUEUE_CALLS_NOT_ALLOWED.value:
            notes.append("RingCentral refused a queue-call value: the user is in no call queue")
            return state.evolve(queue_member=False), label
        failures = state.rc_failures + 1
        notes.append(f"RingCentral write failed ({reason}); retrying in {backoff(failures):.0f} s")
        return state.evolve(rc_failures=failures, rc_retry_at=now + backoff(failures)), label
    if isinstance(command, ClearTeamsSession) and reason == FailureReason.SESSION_NOT_FOUND.value:
        notes.append("our Teams session was already gone")
        return state, label
    state = teams_side.acknowledge_failure(state, command, now)
    failures = state.teams_failures + 1
    notes.append(f"Teams write failed ({reason}); retrying in {backoff(failures):.0f} s")
    return state.evolve(teams_failures=failures, teams_retry_at=now + backoff(failures)), label


def _reconcile(
    state: UserState, settings: OrgSettings, now: float, label: str, notes: list[str]
) -> Decision:
    # Re-derived every time: what explains the last observation may have changed since.
    state = teams_side.derive_user(state, [])
    state = ringcentral_side.expire(state, now, notes)
    commands: list[Command] = []
    # Teams first: a Do-not-disturb session set now already hides the user's Teams presence.
    teams_command = None
    if state.teams_retry_at is not None and now < state.teams_retry_at:
        notes.append("Teams writes paused after a failure")
    else:
        state, teams_command = teams_side.plan(state, _wish(state, settings), now, label)
    overlay = desired_overlay(state, settings)
    if state.rc_retry_at is not None and now < state.rc_retry_at:
        notes.append("RingCentral writes paused after a failure")
    else:
        state, rc_command = ringcentral_side.plan(state, overlay, now, label)
        if rc_command is not None:
            commands.append(rc_command)
            if overlay.queue_fallback:
                notes.append(
                    "queue rule not applicable: not a call-queue member; wrote TakeAllCalls"
                )
    if teams_command is not None:
        commands.append(teams_command)
    return Decision(state, tuple(commands), tuple(notes))
