"""RingCentral sequence numbers are trusted on their own only a little ahead of the last one.

A far jump or any step back waits for a read that confirms it; once confirmed, the engine
takes its number as the count from then on, so the person's next genuine events apply.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from presence_sync.domain import OrgSettings
from presence_sync.engine import (
    SEQUENCE_JUMP,
    RingCentralObserved,
    SyncEnabled,
    UserState,
    decide,
    needs_verifying,
    read_confirms,
)

COUNTS = st.integers(0, 2**63 - 1)
VALUES = (
    st.none() | st.sampled_from(["Available", "Busy", "CallConnected", "NoCall"]) | st.booleans()
)


@given(COUNTS, COUNTS)
def test_only_a_bounded_step_ahead_is_trusted_without_a_read(last: int, sequence: int) -> None:
    trusted = last <= sequence <= last + SEQUENCE_JUMP
    assert needs_verifying(last, sequence) is not trusted


@given(COUNTS, st.integers(1, SEQUENCE_JUMP))
def test_every_step_within_the_bound_is_trusted(last: int, step: int) -> None:
    assert not needs_verifying(last, last + step)
    assert needs_verifying(last, last + SEQUENCE_JUMP + step)
    assert needs_verifying(last + step, last)


@given(COUNTS)
def test_the_first_number_ever_seen_is_trusted(sequence: int) -> None:
    assert not needs_verifying(None, sequence)


@given(st.lists(st.tuples(VALUES, VALUES), min_size=5, max_size=5))
def test_a_read_confirms_an_event_when_it_shows_every_value_the_event_carried(
    pairs: list[tuple[object | None, object | None]],
) -> None:
    event = [said for said, _ in pairs]
    read = [seen for _, seen in pairs]
    expected = any(said is not None for said in event) and all(
        said == seen for said, seen in pairs if said is not None
    )
    assert read_confirms(event, read) is expected
    assert read_confirms(read, read) is any(v is not None for v in read)


def busy(sequence: int, at: float, *, verified: bool = False) -> RingCentralObserved:
    """A RingCentral event: in a call, numbered `sequence`, stamped `at`."""
    return RingCentralObserved(
        user_status="Available",
        dnd_status="TakeAllCalls",
        telephony_status="CallConnected" if sequence % 2 else "NoCall",
        sequence=sequence,
        observed_at=at,
        verified=verified,
    )


@given(st.integers(0, 10**6), st.integers(1, 10**12))
def test_the_engine_takes_an_out_of_bounds_number_only_once_confirmed(
    last: int, distance: int
) -> None:
    settings = OrgSettings()
    state = decide(UserState(), SyncEnabled(), settings, 1.0).state
    state = decide(state, busy(last, 2.0), settings, 2.0).state
    for sequence in (last + SEQUENCE_JUMP + distance, max(0, last - distance)):
        if sequence == last:
            continue
        unconfirmed = decide(state, busy(sequence, 3.0), settings, 3.0)
        assert unconfirmed.state == state
        assert any("ignored RingCentral observation" in n for n in unconfirmed.notes)
        confirmed = decide(state, busy(sequence, 3.0, verified=True), settings, 3.0).state
        assert confirmed.rc_seen is not None
        assert confirmed.rc_seen.sequence == sequence
        # The next genuine event counts on from the confirmed number.
        following = decide(confirmed, busy(sequence + 1, 4.0), settings, 4.0).state
        assert following.rc_seen is not None
        assert following.rc_seen.sequence == sequence + 1
        assert following.rc_seen.telephony_status == busy(sequence + 1, 4.0).telephony_status
