"""The mapping tables: which RingCentral values a Teams presence asks for (§4.2, §4.3), and which
Teams session a RingCentral presence asks for (§4.2).

Teams → RingCentral is expressed as an *overlay*: the fields we must hold at a value while the
Teams presence lasts. Fields outside the overlay belong to the user, so a presence with an empty
overlay (Available, Away, Be right back) means "give RingCentral back to the user", which is how
"Available → userStatus Available and the DND state we set is restored" works without ever
overriding a status the user chose in RingCentral themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from presence_sync.domain.presence import (
    NO_CALLS,
    NO_DEPARTMENT_CALLS,
    TAKE_ALL_CALLS,
    RcAccountMode,
    TeamsCategory,
    TeamsReading,
    TeamsState,
    classify_category,
    classify_state,
    is_inactivity,
    is_unknown,
)
from presence_sync.domain.rules import CallRule
from presence_sync.domain.settings import OrgSettings

RcValue = str | bool
"""A RingCentral presence field value: the string enums, or acceptCallQueueCalls' boolean."""

USER_STATUS: Final = "user_status"
DND_STATUS: Final = "dnd_status"
DND_STATUS_PERSONAL: Final = "dnd_status_personal"
ACCEPT_CALL_QUEUE_CALLS: Final = "accept_call_queue_calls"
RC_FIELDS: Final = (USER_STATUS, DND_STATUS, DND_STATUS_PERSONAL, ACCEPT_CALL_QUEUE_CALLS)
"""Every RingCentral field the engine may write, in a fixed order."""

RC_FIELD_NAMES: Final = {
    USER_STATUS: "userStatus",
    DND_STATUS: "dndStatus",
    DND_STATUS_PERSONAL: "dndStatusPersonal",
    ACCEPT_CALL_QUEUE_CALLS: "acceptCallQueueCalls",
}
"""Engine field → RingCentral API field name."""

CALL_ACTIVE_STATUSES: Final = frozenset({"CallConnected", "OnHold"})


@dataclass(frozen=True, slots=True)
class RcOverlay:
    """RingCentral values a Teams presence asks for, and why (for causes and the audit log)."""

    values: tuple[tuple[str, RcValue], ...]
    reason: str
    queue_fallback: bool = False  # a queue rule was softened because the user is not a member

    def get(self, name: str) -> RcValue | None:
        """The value asked for `name`, or None when the field is left to the user."""
        for key, value in self.values:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class TeamsSessionWish:
    """The presence session a RingCentral presence asks us to hold in Teams, and why."""

    availability: str
    activity: str
    reason: str


IN_A_CALL_SESSION: Final = ("Busy", "InACall")
DND_SESSION: Final = ("DoNotDisturb", "Presenting")
"""How RingCentral DND shows in Teams.

Graph offers two routes and both are imperfect. ``setUserPreferredPresence
DoNotDisturb/DoNotDisturb`` shows the real "Do not disturb", but the preferred presence is the
same slot the user's own Teams status picker writes: setting it overrides the user's own
choices, and clearing it could wipe a status the user set themselves after us. An app session
``setPresence DoNotDisturb/Presenting`` shows the red DND badge with the label "Presenting",
lives in our own session id (so clearing it can never touch anything of the user's), expires on
its own if we crash, and uses the same mechanism as the In a call session. We use the session:
never clobbering the user's own Teams status is worth the label.
"""


def _rule_values(
    rule: CallRule, state: TeamsState, mode: RcAccountMode, queue_member: bool | None
) -> tuple[tuple[tuple[str, RcValue], ...], bool]:
    user_status = "Offline" if state is TeamsState.OFFLINE else "Busy"
    fallback = False
    rc: tuple[tuple[str, RcValue], ...]
    if rule is CallRule.NO_QUEUE_CALLS and queue_member is False:
        # RingCentral refuses department values for non-members (400); accept all instead.
        rule = CallRule.ACCEPT_ALL_CALLS
        fallback = True
    if mode == "chs":
        if rule is CallRule.ACCEPT_ALL_CALLS:
            rc = ((DND_STATUS_PERSONAL, TAKE_ALL_CALLS), (ACCEPT_CALL_QUEUE_CALLS, True))
        elif rule is CallRule.NO_QUEUE_CALLS:
            rc = ((DND_STATUS_PERSONAL, TAKE_ALL_CALLS), (ACCEPT_CALL_QUEUE_CALLS, False))
        else:
            rc = ((DND_STATUS_PERSONAL, NO_CALLS),)
    elif rule is CallRule.ACCEPT_ALL_CALLS:
        rc = ((DND_STATUS, TAKE_ALL_CALLS),)
    elif rule is CallRule.NO_QUEUE_CALLS:
        rc = ((DND_STATUS, NO_DEPARTMENT_CALLS),)
    else:
        rc = ((DND_STATUS, NO_CALLS),)
    return ((USER_STATUS, user_status), *rc), fallback


@lru_cache(maxsize=4096)
def rc_overlay(
    reading: TeamsReading | None,
    anchor: TeamsReading | None,
    settings: OrgSettings,
    mode: RcAccountMode,
    queue_member: bool | None,
) -> RcOverlay:
    """What RingCentral must show for the user's own Teams presence (§4.2, §4.3).

    ``reading`` is the user's current Teams presence; ``anchor`` the last one that was neither
    inactivity nor unknown, which stands in for it while Teams reports nothing usable or, with
    *preserve during inactivity*, only idleness. Preserve is checked before the Offline rule:
    a closed client says nothing about whether the user can take calls.
    """
    if reading is None:
        return RcOverlay((), "no Teams presence seen yet")
    note = ""
    unknown = is_unknown(reading)
    if unknown or (settings.preserve_during_inactivity and is_inactivity(reading)):
        why = "unknown" if unknown else "inactivity, preserved"
        if anchor is None:
            return RcOverlay((), f"Teams {reading.pair} ({why}): RingCentral left unchanged")
        note = f"Teams {reading.pair} ({why}), holding for {anchor.pair}: "
        reading = anchor
    if settings.call_presence_customisation:
        state = classify_state(reading)
        if state is not None:
            rule = settings.rules.rule_for(state)
            values, fallback = _rule_values(rule, state, mode, queue_member)
            reason = f"{note}Teams {state.label} ({reading.pair}): rule {rule.label}"
            if fallback:
                reason += "; queue rule not applicable: not a call-queue member; wrote TakeAllCalls"
            return RcOverlay(values, reason, fallback)
    category = classify_category(reading)
    prefix = f"{note}Teams {reading.pair}: default mapping"
    if category is TeamsCategory.BUSY:
        return RcOverlay(((USER_STATUS, "Busy"),), f"{prefix} Busy → userStatus Busy")
    if category is TeamsCategory.DO_NOT_DISTURB:
        name = DND_STATUS_PERSONAL if mode == "chs" else DND_STATUS
        return RcOverlay(((name, NO_CALLS),), f"{prefix} Do not disturb → {NO_CALLS}")
    if category is TeamsCategory.OFFLINE:
        return RcOverlay(((USER_STATUS, "Offline"),), f"{prefix} Offline → userStatus Offline")
    return RcOverlay((), f"{prefix}: RingCentral is the user's own")


def teams_session_wish(
    telephony_status: str | None,
    own_dnd: str | None,
    settings: OrgSettings,
    ringing_counts_as_busy: bool,
) -> TeamsSessionWish | None:
    """The Teams session RingCentral asks for: In a call during a call, DND during user-set DND.

    With call presence customisation on, RingCentral presence does not update Teams (§4.3)
    except that calls still show as In a call. A user in a call with DND on shows DND: it is
    the state they chose and Teams ranks DoNotDisturb above Busy anyway.
    """
    dnd = own_dnd == NO_CALLS and not settings.call_presence_customisation
    if dnd:
        return TeamsSessionWish(*DND_SESSION, "RingCentral Do not disturb set by the user")
    if telephony_status in CALL_ACTIVE_STATUSES or (
        ringing_counts_as_busy and telephony_status == "Ringing"
    ):
        return TeamsSessionWish(*IN_A_CALL_SESSION, f"RingCentral call ({telephony_status})")
    return None
