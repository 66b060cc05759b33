"""§4.1: parsing Graph and RingCentral values and classifying Teams presence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from presence_sync.domain import (
    TeamsCategory,
    TeamsReading,
    TeamsState,
    classify_category,
    classify_state,
    is_inactivity,
    parse_activity,
    parse_availability,
    parse_dnd_status,
    parse_dnd_status_personal,
    parse_telephony_status,
    parse_user_status,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Available", "Available"),
        ("available", "Available"),
        ("  BUSYIDLE ", "BusyIdle"),
        ("donotdisturb", "DoNotDisturb"),
        ("Sleeping", "PresenceUnknown"),
        ("", "PresenceUnknown"),
        (None, "PresenceUnknown"),
    ],
)
def test_availability_is_matched_case_insensitively_and_unknowns_are_tolerated(
    raw: str | None, expected: str
) -> None:
    """Graph's lower-case variants and values newer than ours never crash the engine."""
    assert parse_availability(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("InAConferenceCall", "InAConferenceCall"),
        ("inacall", "InACall"),
        ("OFFWORK", "OffWork"),
        ("focusing", "Focusing"),
        ("QuantumTunnelling", "PresenceUnknown"),
    ],
)
def test_activity_is_matched_case_insensitively(raw: str, expected: str) -> None:
    """Activities are canonicalised the same way as availabilities."""
    assert parse_activity(raw) == expected


def test_ringcentral_values_are_canonicalised() -> None:
    """RingCentral enums arrive in canonical case; odd case and unknowns still parse."""
    assert parse_user_status("busy") == "Busy"
    assert parse_user_status(None) is None
    assert parse_dnd_status("donotacceptdepartmentcalls") == "DoNotAcceptDepartmentCalls"
    assert parse_dnd_status("SomethingNew") == "Unknown"
    assert parse_dnd_status_personal("DoNotAcceptAnyCalls") == "DoNotAcceptAnyCalls"
    assert parse_telephony_status("callconnected") == "CallConnected"
    assert parse_telephony_status("Teleporting") is None


STATE_ROWS = [
    # (availability, activity, in_meeting context, rules-editor state)
    ("Busy", "Busy", False, TeamsState.BUSY),
    ("BusyIdle", "Busy", False, TeamsState.BUSY),
    ("Busy", "InACall", False, TeamsState.IN_A_CALL),
    ("BusyIdle", "InACall", False, TeamsState.IN_A_CALL),
    ("Busy", "InAConferenceCall", False, TeamsState.IN_A_CONFERENCE_CALL),
    ("Busy", "InAMeeting", False, TeamsState.IN_A_MEETING),
    ("DoNotDisturb", "Presenting", True, TeamsState.IN_A_MEETING),
    ("Offline", "Offline", False, TeamsState.OFFLINE),
    ("Offline", "OffWork", False, TeamsState.OFFLINE),
    ("DoNotDisturb", "Presenting", False, None),
    ("Available", "Available", False, None),
    ("AvailableIdle", "Available", False, None),
    ("Away", "Away", False, None),
    ("Away", "Inactive", False, None),
    ("BeRightBack", "BeRightBack", False, None),
    ("DoNotDisturb", "DoNotDisturb", False, None),
    ("DoNotDisturb", "Focusing", False, None),
    ("PresenceUnknown", "PresenceUnknown", False, None),
]


@pytest.mark.parametrize(("availability", "activity", "in_meeting", "state"), STATE_ROWS)
def test_every_teams_state_row(
    availability: str, activity: str, in_meeting: bool, state: TeamsState | None
) -> None:
    """The rules editor's five states match exactly the pairs §4.1 lists."""
    assert classify_state(TeamsReading(availability, activity, in_meeting)) is state


def test_presenting_counts_as_in_a_meeting_only_after_a_meeting() -> None:
    """Graph's DoNotDisturb/Presenting loses the meeting; the reading before it keeps it."""
    meeting = TeamsReading.following("Busy", "InAMeeting", None)
    presenting = TeamsReading.following("DoNotDisturb", "Presenting", meeting)
    assert classify_state(presenting) is TeamsState.IN_A_MEETING
    alone = TeamsReading.following(
        "DoNotDisturb", "Presenting", TeamsReading("Available", "Available")
    )
    assert classify_state(alone) is None
    after = TeamsReading.following("Available", "Available", presenting)
    assert not after.in_meeting


CATEGORY_ROWS = [
    ("Available", "Available", TeamsCategory.AVAILABLE),
    ("AvailableIdle", "Available", TeamsCategory.AVAILABLE),
    ("Busy", "InAMeeting", TeamsCategory.BUSY),
    ("BusyIdle", "Busy", TeamsCategory.BUSY),
    ("DoNotDisturb", "Presenting", TeamsCategory.DO_NOT_DISTURB),
    ("DoNotDisturb", "Focusing", TeamsCategory.DO_NOT_DISTURB),
    ("Away", "Away", TeamsCategory.AWAY),
    ("BeRightBack", "BeRightBack", TeamsCategory.AWAY),
    ("Offline", "OffWork", TeamsCategory.OFFLINE),
    ("PresenceUnknown", "Presenting", TeamsCategory.DO_NOT_DISTURB),
    ("PresenceUnknown", "PresenceUnknown", TeamsCategory.UNKNOWN),
]


@pytest.mark.parametrize(("availability", "activity", "category"), CATEGORY_ROWS)
def test_default_mapping_categories(
    availability: str, activity: str, category: TeamsCategory
) -> None:
    """§4.2 reads Busy with any activity as Busy and Presenting/Focusing as Do not disturb."""
    assert classify_category(TeamsReading(availability, activity)) is category


@pytest.mark.parametrize(
    ("availability", "activity", "inactive"),
    [
        ("AvailableIdle", "Available", True),
        ("BusyIdle", "Busy", True),
        ("BusyIdle", "InACall", False),
        ("Away", "Inactive", True),
        ("Away", "Away", False),
        ("Offline", "Offline", True),
        ("Offline", "OffWork", False),
        ("Available", "Available", False),
        ("Busy", "InAMeeting", False),
    ],
)
def test_inactivity_rows(availability: str, activity: str, inactive: bool) -> None:
    """Preserve-during-inactivity ignores idleness and a closed client, never Appear offline."""
    assert is_inactivity(TeamsReading(availability, activity)) is inactive


@given(st.text(max_size=30), st.text(max_size=30), st.booleans())
def test_any_strings_classify_without_crashing(
    availability: str, activity: str, flag: bool
) -> None:
    """Whatever Graph sends, parsing and classification answer."""
    reading = TeamsReading(parse_availability(availability), parse_activity(activity), flag)
    assert classify_category(reading) in set(TeamsCategory)
    assert classify_state(reading) in {*TeamsState, None}
