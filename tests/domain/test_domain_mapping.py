"""Every row of the §4.2 default mapping and the §4.3 rules table, in both account modes."""

from __future__ import annotations

from typing import Any

import pytest

from presence_sync.domain import (
    DEFAULT_RULES,
    CallPresenceRules,
    CallRule,
    OrgSettings,
    RcAccountMode,
    TeamsReading,
    TeamsState,
    rc_overlay,
    teams_session_wish,
)

MEETING = TeamsReading("Busy", "InAMeeting", True)

# Teams pair → (legacy overlay, overlay when the row is inactivity and preserve is on)
HOLD = "hold"
DEFAULT_ROWS: list[tuple[str, str, Any, Any]] = [
    ("Available", "Available", {}, {}),
    ("AvailableIdle", "Available", {}, HOLD),
    ("Busy", "Busy", {"user_status": "Busy"}, {"user_status": "Busy"}),
    ("Busy", "InAMeeting", {"user_status": "Busy"}, {"user_status": "Busy"}),
    ("Busy", "InACall", {"user_status": "Busy"}, {"user_status": "Busy"}),
    ("Busy", "InAConferenceCall", {"user_status": "Busy"}, {"user_status": "Busy"}),
    ("BusyIdle", "Busy", {"user_status": "Busy"}, HOLD),
    (
        "DoNotDisturb",
        "DoNotDisturb",
        {"dnd": "DoNotAcceptAnyCalls"},
        {"dnd": "DoNotAcceptAnyCalls"},
    ),
    ("DoNotDisturb", "Presenting", {"dnd": "DoNotAcceptAnyCalls"}, {"dnd": "DoNotAcceptAnyCalls"}),
    ("DoNotDisturb", "Focusing", {"dnd": "DoNotAcceptAnyCalls"}, {"dnd": "DoNotAcceptAnyCalls"}),
    ("Away", "Away", {}, {}),
    ("Away", "Inactive", {}, HOLD),
    ("BeRightBack", "BeRightBack", {}, {}),
    ("Offline", "Offline", {"user_status": "Offline"}, HOLD),
    ("Offline", "OffWork", {"user_status": "Offline"}, {"user_status": "Offline"}),
    ("PresenceUnknown", "PresenceUnknown", HOLD, HOLD),
]


def _expand(values: dict[str, Any], mode: str) -> dict[str, Any]:
    out = dict(values)
    if "dnd" in out:
        out["dnd_status_personal" if mode == "chs" else "dnd_status"] = out.pop("dnd")
    return out


@pytest.mark.parametrize("mode", ["legacy", "chs"])
@pytest.mark.parametrize("preserve", [False, True])
@pytest.mark.parametrize(("availability", "activity", "plain", "preserved"), DEFAULT_ROWS)
def test_default_mapping_row(
    mode: RcAccountMode,
    preserve: bool,
    availability: str,
    activity: str,
    plain: Any,
    preserved: Any,
) -> None:
    """§4.2 with customisation off: Busy → Busy, DND → DND, Offline → Offline, else the user's."""
    settings = OrgSettings(preserve_during_inactivity=preserve)
    expected = preserved if preserve else plain
    reading = TeamsReading(availability, activity)
    got = dict(rc_overlay(reading, MEETING, settings, mode, None).values)
    if expected == HOLD:
        # RingCentral keeps what the last real presence (a meeting here) asked for.
        assert got == {"user_status": "Busy"}
        without_anchor = rc_overlay(reading, None, settings, mode, None)
        assert without_anchor.values == ()
    else:
        assert got == _expand(expected, mode)


RULE_ROWS: dict[tuple[str, CallRule], dict[str, Any]] = {
    ("legacy", CallRule.ACCEPT_ALL_CALLS): {"dnd_status": "TakeAllCalls"},
    ("legacy", CallRule.NO_QUEUE_CALLS): {"dnd_status": "DoNotAcceptDepartmentCalls"},
    ("legacy", CallRule.NO_CALLS): {"dnd_status": "DoNotAcceptAnyCalls"},
    ("chs", CallRule.ACCEPT_ALL_CALLS): {
        "dnd_status_personal": "TakeAllCalls",
        "accept_call_queue_calls": True,
    },
    ("chs", CallRule.NO_QUEUE_CALLS): {
        "dnd_status_personal": "TakeAllCalls",
        "accept_call_queue_calls": False,
    },
    ("chs", CallRule.NO_CALLS): {"dnd_status_personal": "DoNotAcceptAnyCalls"},
}
STATE_EXAMPLES = {
    TeamsState.BUSY: TeamsReading("Busy", "Busy"),
    TeamsState.IN_A_CALL: TeamsReading("Busy", "InACall"),
    TeamsState.IN_A_CONFERENCE_CALL: TeamsReading("Busy", "InAConferenceCall"),
    TeamsState.IN_A_MEETING: TeamsReading("Busy", "InAMeeting", True),
    TeamsState.OFFLINE: TeamsReading("Offline", "OffWork"),
}


@pytest.mark.parametrize("mode", ["legacy", "chs"])
@pytest.mark.parametrize("rule", list(CallRule))
@pytest.mark.parametrize("state", list(TeamsState))
def test_rules_table_row(mode: RcAccountMode, rule: CallRule, state: TeamsState) -> None:
    """§4.3: each rule writes its DND values and Busy (Offline for the Offline state)."""
    settings = OrgSettings(
        call_presence_customisation=True, rules=DEFAULT_RULES.with_rule(state, rule)
    )
    overlay = rc_overlay(STATE_EXAMPLES[state], None, settings, mode, True)
    user_status = "Offline" if state is TeamsState.OFFLINE else "Busy"
    assert dict(overlay.values) == {"user_status": user_status, **RULE_ROWS[(mode, rule)]}
    assert state.label in overlay.reason
    assert rule.label in overlay.reason


@pytest.mark.parametrize("mode", ["legacy", "chs"])
def test_queue_rule_falls_back_to_accept_all_for_non_members(mode: RcAccountMode) -> None:
    """RingCentral refuses queue values for non-members, so the rule writes TakeAllCalls."""
    settings = OrgSettings(call_presence_customisation=True)
    overlay = rc_overlay(STATE_EXAMPLES[TeamsState.IN_A_MEETING], None, settings, mode, False)
    assert dict(overlay.values) == {
        "user_status": "Busy",
        **RULE_ROWS[(mode, CallRule.ACCEPT_ALL_CALLS)],
    }
    assert overlay.queue_fallback
    assert "not a call-queue member; wrote TakeAllCalls" in overlay.reason


@pytest.mark.parametrize(
    ("availability", "activity"),
    [("Available", "Available"), ("DoNotDisturb", "Focusing"), ("Away", "Away")],
)
def test_rules_leave_other_states_to_the_default_mapping(availability: str, activity: str) -> None:
    """Rules override §4.2 for the five states only."""
    on = OrgSettings(call_presence_customisation=True, rules=CallPresenceRules())
    off = OrgSettings()
    reading = TeamsReading(availability, activity)
    assert rc_overlay(reading, None, on, "legacy", True).values == (
        rc_overlay(reading, None, off, "legacy", True).values
    )


def test_preserve_wins_over_the_offline_rule_for_a_closed_client() -> None:
    """A closed client says nothing about calls; Appear offline (OffWork) still applies."""
    settings = OrgSettings(
        call_presence_customisation=True,
        rules=DEFAULT_RULES.with_rule(TeamsState.OFFLINE, CallRule.NO_CALLS),
        preserve_during_inactivity=True,
    )
    closed = rc_overlay(TeamsReading("Offline", "Offline"), None, settings, "legacy", True)
    assert closed.values == ()
    off_work = rc_overlay(TeamsReading("Offline", "OffWork"), None, settings, "legacy", True)
    assert dict(off_work.values) == {"user_status": "Offline", "dnd_status": "DoNotAcceptAnyCalls"}


SESSION_ROWS = [
    # telephony, ringing counts, user's own DND, customisation → session pair
    ("NoCall", False, "TakeAllCalls", False, None),
    ("CallConnected", False, "TakeAllCalls", False, ("Busy", "InACall")),
    ("OnHold", False, "TakeAllCalls", False, ("Busy", "InACall")),
    ("Ringing", False, "TakeAllCalls", False, None),
    ("Ringing", True, "TakeAllCalls", False, ("Busy", "InACall")),
    ("ParkedCall", True, "TakeAllCalls", False, None),
    ("NoCall", False, "DoNotAcceptAnyCalls", False, ("DoNotDisturb", "Presenting")),
    ("CallConnected", False, "DoNotAcceptAnyCalls", False, ("DoNotDisturb", "Presenting")),
    ("NoCall", False, "DoNotAcceptDepartmentCalls", False, None),
    ("NoCall", False, "DoNotAcceptAnyCalls", True, None),
    ("CallConnected", False, "DoNotAcceptAnyCalls", True, ("Busy", "InACall")),
    ("Ringing", True, "TakeAllCalls", True, ("Busy", "InACall")),
]


@pytest.mark.parametrize(("telephony", "ringing", "own_dnd", "custom", "pair"), SESSION_ROWS)
def test_ringcentral_to_teams_row(
    telephony: str, ringing: bool, own_dnd: str, custom: bool, pair: tuple[str, str] | None
) -> None:
    """Calls show In a call; user DND shows Do not disturb, except with customisation on."""
    settings = OrgSettings(call_presence_customisation=custom)
    wish = teams_session_wish(telephony, own_dnd, settings, ringing)
    assert (None if wish is None else (wish.availability, wish.activity)) == pair
