"""Graph's aggregation of sessions and preferred presence, as a table."""

from __future__ import annotations

import pytest

from sandbox.graph.aggregate import (
    CLIENT_SESSION,
    Aggregate,
    AppSession,
    ClientSession,
    aggregate,
    parse_duration,
)
from sandbox.model import PreferredPresence, TeamsPresence

NOW = 1_000_000.0


def app(name: str, availability: str, activity: str, age: float = 0.0) -> AppSession:
    return AppSession(name, availability, activity, NOW + 300, refreshed_at=NOW - age)


def client(availability: str = "Available", activity: str = "Available") -> ClientSession:
    return ClientSession(CLIENT_SESSION, availability, activity, None)


CASES = [
    ("no session at all", [], None, {}, ("Offline", "Offline")),
    ("appear offline without sessions", [], ("Offline", "OffWork"), {}, ("Offline", "OffWork")),
    ("preferred needs a session", [], ("DoNotDisturb", "DoNotDisturb"), {}, ("Offline", "Offline")),
    (
        "preferred beats every session",
        [app("a", "DoNotDisturb", "Presenting")],
        ("Available", "Available"),
        {},
        ("Available", "Available"),
    ),
    (
        "DND beats Busy",
        [app("a", "Busy", "InACall"), app("b", "DoNotDisturb", "Presenting")],
        None,
        {},
        ("DoNotDisturb", "Presenting"),
    ),
    (
        "Busy beats Available",
        [client(), app("a", "Busy", "InACall")],
        None,
        {},
        ("Busy", "InACall"),
    ),
    (
        "Available beats Away",
        [client("Away", "Away"), app("a", "Available", "Available")],
        None,
        {},
        ("Available", "Available"),
    ),
    (
        "an unrefreshed Available app session reads as Away",
        [app("a", "Available", "Available", age=601)],
        None,
        {},
        ("Away", "Away"),
    ),
    (
        "a meeting makes the client Busy",
        [client()],
        None,
        {"in_meeting": True},
        ("Busy", "InAMeeting"),
    ),
    (
        "a call during a meeting shows InACall",
        [client()],
        None,
        {"in_meeting": True, "in_call": True},
        ("Busy", "InACall"),
    ),
    (
        "a conference call",
        [client()],
        None,
        {"in_conference_call": True},
        ("Busy", "InAConferenceCall"),
    ),
    (
        "DND chosen in the client survives a meeting",
        [client("DoNotDisturb", "DoNotDisturb")],
        None,
        {"in_meeting": True},
        ("DoNotDisturb", "DoNotDisturb"),
    ),
    (
        "an expired session is gone",
        [AppSession("a", "Busy", "InACall", NOW - 1, refreshed_at=NOW - 400)],
        None,
        {},
        ("Offline", "Offline"),
    ),
]


@pytest.mark.parametrize(
    ("sessions", "preferred", "flags", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_aggregation(
    sessions: list[AppSession | ClientSession],
    preferred: tuple[str, str] | None,
    flags: dict[str, bool],
    expected: tuple[str, str],
) -> None:
    presence = TeamsPresence(sessions={s.session_id: s for s in sessions})
    for name, value in flags.items():
        setattr(presence, name, value)
    if preferred is not None:
        presence.preferred = PreferredPresence(preferred[0], preferred[1], None)
    assert aggregate(presence, NOW) == Aggregate(*expected)


def test_presenting_in_a_meeting_is_do_not_disturb() -> None:
    session = client()
    session.presenting = True
    presence = TeamsPresence(sessions={CLIENT_SESSION: session}, in_meeting=True)
    assert aggregate(presence, NOW) == Aggregate("DoNotDisturb", "Presenting")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT5M", 300), ("PT4H", 14400), ("PT1H30M", 5400), ("P1D", 86400), ("pt90s", 90)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5M", "PT", "P", "PT5X", "10 minutes"])
def test_malformed_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_duration(text)
