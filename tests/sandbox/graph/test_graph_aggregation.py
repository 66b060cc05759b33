"""Graph's aggregation of sessions and preferred presence, as a table."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sandbox.graph.aggregate import (
    CLIENT_SESSION,
    PREFERRED_PAIRS,
    SET_PRESENCE_PAIRS,
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


PAIRS = sorted(SET_PRESENCE_PAIRS | {("Away", "Away"), ("BeRightBack", "BeRightBack")})
session_lists = st.lists(
    st.tuples(st.sampled_from(PAIRS), st.sampled_from([0.0, 0.0, 300.0, 601.0, 900.0])),
    max_size=5,
)


@example(
    sessions=[(("Busy", "InACall"), 0.0), (("Busy", "InAConferenceCall"), 0.0)], preferred=None
)
@settings(max_examples=300)
@given(sessions=session_lists, preferred=st.none() | st.sampled_from(sorted(PREFERRED_PAIRS)))
def test_aggregation_properties(
    sessions: list[tuple[tuple[str, str], float]], preferred: tuple[str, str] | None
) -> None:
    built = [
        app(f"app-{n}", availability, activity, age)
        for n, ((availability, activity), age) in enumerate(sessions)
    ]
    presence = TeamsPresence(sessions={s.session_id: s for s in built})
    if preferred is not None:
        presence.preferred = PreferredPresence(preferred[0], preferred[1], None)
    shown = aggregate(presence, NOW)
    reversed_presence = TeamsPresence(sessions={s.session_id: s for s in reversed(built)})
    reversed_presence.preferred = presence.preferred
    # Order of sessions never matters.
    assert aggregate(reversed_presence, NOW) == shown
    if preferred is not None and (built or preferred == ("Offline", "OffWork")):
        assert shown == Aggregate(*preferred)
    elif not built:
        assert shown == Aggregate("Offline", "Offline")
    elif any(a == "DoNotDisturb" for (a, _), _ in sessions):
        assert shown.availability == "DoNotDisturb"
    elif any(a == "Busy" for (a, _), _ in sessions):
        assert shown.availability == "Busy"
