"""What the check expects of each person, and how it reports the ones that are wrong."""

from __future__ import annotations

from typing import Any

import pytest

from presence_sync.demo.expect import (
    Activity,
    Expected,
    check_rows,
    expected_for,
    format_table,
    replay,
)
from presence_sync.demo.scenario import Step


@pytest.mark.parametrize(
    ("activity", "expected"),
    [
        (Activity(), Expected("Available", "Available", "Available", "TakeAllCalls", "NoCall")),
        (Activity(meeting=True), Expected("Busy", "InAMeeting", "Busy", "TakeAllCalls", "NoCall")),
        (
            Activity(rc_call=True),
            Expected("Busy", "InACall", "Available", "TakeAllCalls", "CallConnected"),
        ),
        (
            Activity(rc_dnd=True),
            Expected("DoNotDisturb", None, "Available", "DoNotAcceptAnyCalls", "NoCall"),
        ),
        (
            Activity(teams_choice="DoNotDisturb"),
            Expected("DoNotDisturb", None, "Available", "DoNotAcceptAnyCalls", "NoCall"),
        ),
        (
            Activity(teams_choice="Offline"),
            Expected("Offline", None, "Offline", "TakeAllCalls", "NoCall"),
        ),
    ],
)
def test_each_activity_maps_to_both_sides_as_the_default_mapping_says(
    activity: Activity, expected: Expected
) -> None:
    assert expected_for(activity) == expected


def test_replay_follows_each_person_from_their_own_state() -> None:
    steps = [
        Step(1, "ann@x.example", "meeting-start"),
        Step(2, "bob@x.example", "rc-call-start"),
        Step(3, "ann@x.example", "meeting-end"),
        Step(4, "cy@x.example", "sign-in"),
    ]
    baseline = {"cy@x.example": Activity(teams_choice="Offline"), "dee@x.example": Activity()}
    end = replay(steps, baseline)
    assert end["ann@x.example"] == Activity()
    assert end["bob@x.example"] == Activity(rc_call=True)
    assert end["cy@x.example"] == Activity()
    assert end["dee@x.example"] == Activity()


def _person(email: str, teams: tuple[str, str], rc: dict[str, Any]) -> dict[str, Any]:
    presence = {
        "userStatus": "Available",
        "dndStatus": "TakeAllCalls",
        "dndStatusPersonal": "TakeAllCalls",
        "telephonyStatus": "NoCall",
        **rc,
    }
    return {
        "email": email,
        "display_name": email.split("@")[0].title(),
        "teams": {
            "userPrincipalName": email,
            "presence": {"availability": teams[0], "activity": teams[1]},
        },
        "ringcentral": {"email": email, "presence": presence},
    }


def test_a_person_stuck_in_busy_fails_the_check_and_says_why() -> None:
    people = [
        _person("ann@x.example", ("Busy", "InAMeeting"), {"userStatus": "Busy"}),
        _person("bob@x.example", ("Available", "Available"), {"userStatus": "Busy"}),
    ]
    activities = {"ann@x.example": Activity(meeting=True), "bob@x.example": Activity()}
    rows = check_rows(people, activities)
    assert [(r.email, r.ok) for r in rows] == [("bob@x.example", False), ("ann@x.example", True)]
    assert rows[0].problem == "RingCentral status Busy, expected Available"
    table = format_table(rows).splitlines()
    assert table[0].split() == ["USER", "TEAMS", "RINGCENTRAL", "EXPECTED", "OK"]
    assert table[1].startswith("bob@x.example")
    assert table[1].endswith("FAIL")
    assert table[2].startswith("ann@x.example")
    assert table[2].endswith("ok")
    assert "in a meeting: Busy/InAMeeting | Busy" in table[2]


def test_chs_accounts_are_checked_on_the_personal_dnd_field() -> None:
    person = _person(
        "ann@x.example",
        ("DoNotDisturb", "Presenting"),
        {"dndStatus": "TakeAllCalls", "dndStatusPersonal": "DoNotAcceptAnyCalls"},
    )
    activities = {"ann@x.example": Activity(rc_dnd=True)}
    assert check_rows([person], activities, "chs")[0].ok
    assert not check_rows([person], activities, "legacy")[0].ok
