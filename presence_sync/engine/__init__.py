"""The pure sync engine: `decide(state, event, settings, now) -> Decision`.

The caller (reconciler) loads a user's `UserState` (``UserState.from_dict`` of the stored
document; a fresh ``UserState()`` for a new user), feeds one `Event`, stores
``decision.state.to_dict()``, hands ``decision.commands`` to the dispatcher and writes
``decision.notes`` and each command's ``cause`` to the audit log. The dispatcher reports every
outcome back as `WriteApplied` / `WriteFailed`; a timer sends `Tick` at least once a minute.
"""

from presence_sync.engine.commands import (
    WRITE_DEADLINE,
    ClearTeamsSession,
    Command,
    SetRingCentralPresence,
    SetTeamsSession,
)
from presence_sync.engine.decide import Decision, backoff, decide, desired_overlay
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
from presence_sync.engine.ringcentral_side import CLOCK_SKEW, PENDING_GRACE, settled_echo
from presence_sync.engine.sequence import SEQUENCE_JUMP, needs_verifying, read_confirms
from presence_sync.engine.state import (
    SCHEMA_VERSION,
    OurSession,
    RcSeen,
    RcWrite,
    TeamsSeen,
    UserState,
    UserStateError,
)
from presence_sync.engine.teams_side import (
    REFRESH_MARGIN,
    SESSION_LINGER,
    SESSION_TTL,
    refresh_due,
    sequence_key,
)

__all__ = [
    "CLOCK_SKEW",
    "PENDING_GRACE",
    "REFRESH_MARGIN",
    "SCHEMA_VERSION",
    "SEQUENCE_JUMP",
    "SESSION_LINGER",
    "SESSION_TTL",
    "WRITE_DEADLINE",
    "CallQueueMembershipObserved",
    "ClearTeamsSession",
    "Command",
    "Decision",
    "Event",
    "FailureReason",
    "OurSession",
    "RcSeen",
    "RcWrite",
    "RingCentralObserved",
    "SetRingCentralPresence",
    "SetTeamsSession",
    "SettingsChanged",
    "SyncDisabled",
    "SyncEnabled",
    "TeamsObserved",
    "TeamsSeen",
    "Tick",
    "UserPreferencesChanged",
    "UserState",
    "UserStateError",
    "WriteApplied",
    "WriteFailed",
    "backoff",
    "decide",
    "desired_overlay",
    "needs_verifying",
    "read_confirms",
    "refresh_due",
    "sequence_key",
    "settled_echo",
]
