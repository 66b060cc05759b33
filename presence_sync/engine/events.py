"""Events: everything that can happen to one synced user, as `decide()` consumes it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from presence_sync.engine.commands import Command


@dataclass(frozen=True, slots=True)
class TeamsObserved:
    """Graph reported the user's aggregated Teams presence (notification or poll).

    ``sequence`` is Graph's ``sequenceNumber`` when present; ``observed_at`` is when the
    presence was true, on our own clock (epoch seconds): the read time of a poll, the receive
    time of a notification. Ordering relies on ``sequence``; a notification delayed by more than
    `presence_sync.engine.teams_side.SESSION_LINGER` and carrying no sequence number may be
    taken for the user's own presence even if it only showed our session.
    """

    availability: str
    activity: str
    sequence: str | None
    observed_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RingCentralObserved:
    """RingCentral reported the user's presence (webhook event or GET).

    Fields are None where the payload omits them; the account mode is detected from which of
    ``dnd_status`` / ``dnd_status_personal`` + ``accept_call_queue_calls`` are present.
    ``observed_at`` is RingCentral's event timestamp; it may differ from our clock by up to
    `presence_sync.engine.ringcentral_side.CLOCK_SKEW`. A GET has no ``sequence`` and is
    stamped on our clock when it was asked for (or recorded): RingCentral may have answered it
    later, after a retry or a wait for its budget. ``verified`` is set on an event
    whose number was out of bounds (see `presence_sync.engine.sequence`) and which a read then
    confirmed: its number is RingCentral's count from now on, lower or far higher as it is.
    """

    user_status: str | None = None
    dnd_status: str | None = None
    dnd_status_personal: str | None = None
    accept_call_queue_calls: bool | None = None
    telephony_status: str | None = None
    sequence: int | None = None
    observed_at: float
    verified: bool = False


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed: refresh or drop our Teams session, retry after a back-off, re-check."""


@dataclass(frozen=True, slots=True)
class SettingsChanged:
    """The org settings changed (rules edited, toggles flipped); ``summary`` is for the audit."""

    summary: str = ""


@dataclass(frozen=True, slots=True)
class SyncEnabled:
    """Sync was turned on for this user."""


@dataclass(frozen=True, slots=True)
class SyncDisabled:
    """Sync was turned off: give both sides back to the user."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class CallQueueMembershipObserved:
    """We learned whether the user belongs to any RingCentral call queue."""

    is_member: bool


@dataclass(frozen=True, slots=True)
class UserPreferencesChanged:
    """The user's own options changed; None means "use the org setting"."""

    ringing_counts_as_busy: bool | None = None


class FailureReason(StrEnum):
    """Why a write failed for good (the dispatcher already retried transient failures)."""

    QUEUE_CALLS_NOT_ALLOWED = "queue-calls-not-allowed"  # RingCentral 400 on a Department value
    SESSION_NOT_FOUND = "session-not-found"  # Graph 404 on clearPresence: already gone
    REJECTED = "rejected"  # any other 4xx
    UNAVAILABLE = "unavailable"  # retries exhausted, auth broken, ...
    LOST = "lost"  # the process sending it stopped first: it may or may not have landed


@dataclass(frozen=True, slots=True)
class WriteFailed:
    """A command could not be applied; ``reason_code`` is a `FailureReason` value."""

    command: Command
    reason_code: str


@dataclass(frozen=True, slots=True)
class WriteApplied:
    """A command was applied (the provider answered 2xx).

    ``sent_at`` is when the dispatcher sent it, after whatever time it waited for the
    provider's budget (None when nothing was sent because it was already true); the time the
    event is folded in is when it was acknowledged.
    """

    command: Command
    sent_at: float | None = None


Event = (
    TeamsObserved
    | RingCentralObserved
    | Tick
    | SettingsChanged
    | SyncEnabled
    | SyncDisabled
    | CallQueueMembershipObserved
    | UserPreferencesChanged
    | WriteFailed
    | WriteApplied
)
"""Every event `decide()` accepts."""
