"""RingCentral presence events as the webhook reads them: checked fields, or a refusal.

Whatever a delivery holds, `parse_presence_event` returns an event whose every field the
store and the engine can take (a numeric extension id, a sequence the store's 64-bit
integers hold, word statuses, a real time), None for another topic, or a ValidationError.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from presence_sync.errors import ValidationError
from presence_sync.ringcentral.webhooks import RcPresenceEvent, parse_presence_event

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "ringcentral"
EXTENSION = "62000864101"
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp()
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC).timestamp()


def genuine() -> dict[str, Any]:
    """The extension presence fixture for one extension."""
    text = (FIXTURE / "extension_presence.json").read_text()
    text = text.replace("{subscription_id}", "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d")
    return dict(json.loads(text.replace("{extension_id}", EXTENSION)))


SURROGATES = st.sampled_from(["\ud800", "\udfff"])
TEXT = st.text(alphabet=st.characters() | SURROGATES, max_size=30)
HOSTILE = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
    | st.sampled_from(
        [
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "2026-11-27T03:00:00.000Z",
            "1999-12-31T23:59:59Z",
            2**63 - 1,
            2**63,
            2**64,
            "CallConnected",
            "62000864101\ud800",
            "Busy" * 100,
        ]
    )
    | st.lists(st.integers(), max_size=3)
    | st.dictionaries(st.text(max_size=5), st.integers(), max_size=2)
)
ENVELOPE = ("uuid", "event", "timestamp", "subscriptionId")
BODY = (
    "extensionId",
    "sequence",
    "telephonyStatus",
    "presenceStatus",
    "userStatus",
    "dndStatus",
    "dndStatusPersonal",
    "meetingStatus",
    "totalActiveCalls",
    "acceptCallQueueCalls",
    "extension",
)
CHANGES = st.dictionaries(st.sampled_from(ENVELOPE + BODY), HOSTILE, max_size=4)


def delivery(changes: dict[str, Any]) -> bytes:
    """The genuine event with `changes` applied to its envelope or its body."""
    event = genuine()
    for name, value in changes.items():
        (event if name in ENVELOPE else event["body"])[name] = value
    return json.dumps(event).encode()


def attempt(body: bytes) -> RcPresenceEvent | ValidationError | None:
    """What the webhook's parser makes of `body`: an event, None, or the refusal."""
    try:
        return parse_presence_event(body)
    except ValidationError as err:
        return err


def assert_storable(event: RcPresenceEvent) -> None:
    """Every field fits the store: bound into real SQLite as the store binds them."""
    p = event.presence
    assert p.extension_id.isdigit()
    assert len(p.extension_id) <= 20
    assert p.sequence is None or 0 <= p.sequence < 2**63
    assert p.reported_at is None or EARLIEST <= p.reported_at <= LATEST
    values = (
        event.uuid,
        event.subscription_id,
        event.event,
        p.extension_id,
        p.sequence,
        p.user_status,
        p.presence_status,
        p.telephony_status,
        p.meeting_status,
        p.dnd_status,
        p.dnd_status_personal,
        p.active_calls,
        p.reported_at,
    )
    sqlite3.connect(":memory:").execute("select " + ", ".join("?" * len(values)), values)


@settings(max_examples=400, deadline=None)
@given(CHANGES)
def test_any_event_is_parsed_into_storable_fields_or_refused(changes: dict[str, Any]) -> None:
    result = attempt(delivery(changes))

    if isinstance(result, ValidationError):
        assert str(result).startswith("the RingCentral")
    elif result is not None:
        assert_storable(result)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"extensionId": "\ud800"}, "lone surrogate"),
        ({"extensionId": "ext-1"}, "not a RingCentral id"),
        ({"sequence": 2**64}, "sequence"),
        ({"sequence": 2**63}, "sequence"),
        ({"sequence": -1}, "sequence"),
        ({"sequence": True}, "sequence"),
        ({"telephonyStatus": "On\nHold"}, "telephonyStatus"),
        ({"timestamp": "0001-01-01T00:00:00+14:00"}, "timestamp"),
        ({"timestamp": "9999-12-31T23:59:59-14:00"}, "timestamp"),
        ({"timestamp": "1999-12-31T23:59:59Z"}, "timestamp"),
        ({"subscriptionId": "a b"}, "subscriptionId"),
        ({"uuid": "x" * 600}, "uuid"),
    ],
)
def test_each_field_no_genuine_event_holds_is_named(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        parse_presence_event(delivery(changes))


def test_a_genuine_event_keeps_its_fields() -> None:
    event = parse_presence_event(delivery({"sequence": 2**63 - 1}))

    assert event is not None
    assert event.presence.extension_id == EXTENSION
    assert event.presence.sequence == 2**63 - 1
    assert event.presence.telephony_status == "CallConnected"
    assert event.presence.reported_at == dt.datetime(2026, 11, 27, 3, tzinfo=dt.UTC).timestamp()
