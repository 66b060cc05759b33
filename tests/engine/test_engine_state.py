"""The per-user state document: JSON round trip (property-tested) and refusal of foreign ones."""

from __future__ import annotations

import json
from dataclasses import fields, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from presence_sync.domain import ACTIVITIES, AVAILABILITIES, RC_FIELDS, TeamsReading
from presence_sync.engine import (
    SCHEMA_VERSION,
    OurSession,
    RcSeen,
    RcWrite,
    TeamsSeen,
    UserState,
    UserStateError,
)

times = st.floats(min_value=0, max_value=4e9, allow_nan=False, allow_infinity=False)
maybe_times = st.none() | times
texts = st.text(max_size=12)
rc_values = st.sampled_from(["Available", "Busy", "Offline", "TakeAllCalls", "DoNotAcceptAnyCalls"])
rc_value = rc_values | st.booleans()

readings = st.builds(
    TeamsReading, st.sampled_from(AVAILABILITIES), st.sampled_from(ACTIVITIES), st.booleans()
)
sessions = st.builds(OurSession, texts, texts, times, times, maybe_times, maybe_times)
teams_seen = st.builds(TeamsSeen, texts, texts, st.none() | st.text(max_size=8), times)
rc_seen = st.builds(
    RcSeen,
    user_status=st.none() | rc_values,
    dnd_status=st.none() | rc_values,
    dnd_status_personal=st.none() | rc_values,
    accept_call_queue_calls=st.none() | st.booleans(),
    telephony_status=st.none() | texts,
    sequence=st.none() | st.integers(0, 2**53),
    observed_at=maybe_times,
)
writes = st.builds(
    RcWrite,
    name=st.sampled_from(RC_FIELDS),
    written=rc_value,
    replaced=st.none() | rc_value,
    issued_at=times,
    write_id=st.integers(0, 10**9),
    applied_at=maybe_times,
    in_flight=st.lists(rc_value, max_size=4).map(tuple),
    earlier=st.lists(st.tuples(rc_value, times, maybe_times), max_size=4).map(tuple),
)
states = st.builds(
    UserState,
    enabled=st.booleans(),
    teams_seen=st.none() | teams_seen,
    teams_user=st.none() | readings,
    teams_anchor=st.none() | readings,
    session=st.none() | sessions,
    past_sessions=st.lists(sessions, max_size=2).map(tuple),
    rc_seen=st.none() | rc_seen,
    rc_mode=st.sampled_from(["unknown", "legacy", "chs"]),
    rc_writes=st.lists(writes, max_size=4).map(tuple),
    rc_write_seq=st.integers(0, 10**9),
    rc_yields=st.lists(st.tuples(st.sampled_from(RC_FIELDS), rc_value), max_size=3).map(tuple),
    queue_member=st.none() | st.booleans(),
    ringing_counts_as_busy=st.none() | st.booleans(),
    rc_failures=st.integers(0, 50),
    rc_retry_at=maybe_times,
    teams_failures=st.integers(0, 50),
    teams_retry_at=maybe_times,
)


@settings(max_examples=300, deadline=None)
@given(states)
def test_user_state_round_trips_through_json(state: UserState) -> None:
    """The store keeps the state as a JSON document and must get the very same state back."""
    document = json.loads(json.dumps(state.to_dict()))
    assert document["schema"] == SCHEMA_VERSION
    assert UserState.from_dict(document) == state


def test_a_fresh_user_state_is_an_unsynced_user() -> None:
    """A user nobody synced yet gets no writes until sync is enabled."""
    state = UserState()
    assert not state.enabled
    assert UserState.from_dict(state.to_dict()) == state


def test_a_document_of_another_schema_is_refused() -> None:
    """A newer or older document is not guessed at."""
    document = UserState().to_dict()
    document["schema"] = SCHEMA_VERSION + 1
    with pytest.raises(UserStateError, match="schema"):
        UserState.from_dict(document)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("rc_mode", "quantum"),
        ("rc_writes", [{"name": "favourite_colour"}]),
        ("rc_yields", [["user_status", 7]]),
        ("session", {"availability": "Busy"}),
    ],
)
def test_a_malformed_document_is_refused_clearly(key: str, value: object) -> None:
    """Corrupt documents raise UserStateError instead of producing a half-read state."""
    document = UserState().to_dict()
    document[key] = value
    with pytest.raises(UserStateError):
        UserState.from_dict(document)


@given(states, states)
def test_evolve_is_replace(state: UserState, other: UserState) -> None:
    """The fast copy used by decide() changes exactly the named fields, like replace()."""
    for item in fields(UserState):
        value = getattr(other, item.name)
        assert state.evolve(**{item.name: value}) == replace(state, **{item.name: value})
    with pytest.raises(TypeError, match="favourite_colour"):
        state.evolve(favourite_colour="blue")
