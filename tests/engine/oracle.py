"""The DESIGN §4.2/§4.3 tables written out plainly, as the world's independent expectation."""

from __future__ import annotations

from typing import Any

from presence_sync.domain import OrgSettings

Pair = tuple[str, str]

RULE_DND_LEGACY: dict[str, dict[str, Any]] = {
    "accept_all_calls": {"dnd_status": "TakeAllCalls"},
    "no_queue_calls": {"dnd_status": "DoNotAcceptDepartmentCalls"},
    "no_calls": {"dnd_status": "DoNotAcceptAnyCalls"},
}
RULE_DND_CHS: dict[str, dict[str, Any]] = {
    "accept_all_calls": {"dnd_status_personal": "TakeAllCalls", "accept_call_queue_calls": True},
    "no_queue_calls": {"dnd_status_personal": "TakeAllCalls", "accept_call_queue_calls": False},
    "no_calls": {"dnd_status_personal": "DoNotAcceptAnyCalls"},
}


def ruled_state(pair: Pair) -> str | None:
    """§4.1 for pairs without meeting context."""
    availability, activity = pair
    if activity == "InACall":
        return "in_a_call"
    if activity == "InAConferenceCall":
        return "in_a_conference_call"
    if activity == "InAMeeting":
        return "in_a_meeting"
    if availability == "Offline":
        return "offline"
    if availability in ("Busy", "BusyIdle") and activity == "Busy":
        return "busy"
    return None


def inactive(pair: Pair) -> bool:
    """§4.2 preserve: idle availabilities, Away/Inactive, Offline but not OffWork."""
    availability, activity = pair
    if availability in ("AvailableIdle", "BusyIdle"):
        return activity not in ("InACall", "InAConferenceCall", "InAMeeting", "Presenting")
    return pair == ("Away", "Inactive") or (availability == "Offline" and activity != "OffWork")


def expected_overlay(
    pair: Pair,
    settings: OrgSettings,
    mode: str,
    queue_member: bool,
    in_meeting: bool | None = None,
) -> dict[str, Any] | None:
    """RingCentral fields the Teams pair must hold; None where history decides (not checkable).

    Presenting counts as In a meeting when it follows a meeting; pass `in_meeting` when that is
    known, else the row is not checkable.
    """
    availability, activity = pair
    if activity == "Presenting":
        if in_meeting is None:
            return None
        if in_meeting:
            pair = (availability, "InAMeeting")
            availability, activity = pair
    if settings.preserve_during_inactivity and inactive(pair):
        return None  # holds whatever came before
    if settings.call_presence_customisation:
        state = ruled_state(pair)
        if state is not None:
            rule = settings.rules.to_dict()[state]
            if rule == "no_queue_calls" and not queue_member and mode == "legacy":
                rule = "accept_all_calls"
            table = RULE_DND_CHS if mode == "chs" else RULE_DND_LEGACY
            user_status = "Offline" if state == "offline" else "Busy"
            return {"user_status": user_status, **table[rule]}
    if availability in ("Busy", "BusyIdle"):
        return {"user_status": "Busy"}
    if availability == "DoNotDisturb":
        name = "dnd_status_personal" if mode == "chs" else "dnd_status"
        return {name: "DoNotAcceptAnyCalls"}
    if availability == "Offline":
        return {"user_status": "Offline"}
    return {}


def expected_session(
    own_dnd: Any, telephony: str, settings: OrgSettings, enabled: bool
) -> Pair | None:
    """The Teams session RingCentral must show (§4.2, §4.3)."""
    if not enabled:
        return None
    if own_dnd == "DoNotAcceptAnyCalls" and not settings.call_presence_customisation:
        return ("DoNotDisturb", "Presenting")
    calls = {"CallConnected", "OnHold"}
    if settings.ringing_counts_as_busy:
        calls.add("Ringing")
    if telephony in calls:
        return ("Busy", "InACall")
    return None
