"""Graph answers and shared HTTP headers read without a server."""

from __future__ import annotations

import datetime as dt
import email.utils
import random

import pytest

from presence_sync.errors import GraphError
from presence_sync.graph.models import (
    GraphUser,
    Presence,
    Subscription,
    parse_time,
    presence_resource,
    session_duration,
)
from presence_sync.http import backoff_delay, parse_retry_after


def test_graph_timestamps_with_seven_digits_parse_as_utc() -> None:
    moment = parse_time("2026-11-27T02:30:00.1234567Z")

    assert moment == dt.datetime(2026, 11, 27, 2, 30, 0, 123456, tzinfo=dt.UTC)
    with pytest.raises(GraphError):
        parse_time("yesterday")


def test_subscription_resource_names_its_users_in_order() -> None:
    ids = ["a-1", "b-2", "c-3"]
    sub = Subscription.from_json(
        {
            "id": "s",
            "resource": presence_resource(ids),
            "notificationUrl": "https://x/hook",
            "expirationDateTime": "2026-11-27T03:00:00Z",
        }
    )

    assert sub.user_ids == tuple(ids)
    assert presence_resource(["only"]) == "/communications/presences/only"


def test_unknown_presence_values_are_kept_and_missing_ones_are_unknown() -> None:
    presence = Presence.from_json(
        {"id": "u", "availability": "FocusTime", "sequenceNumber": "C3D4"}
    )

    assert (presence.availability, presence.activity) == ("FocusTime", "PresenceUnknown")
    assert presence.sequence_number == "C3D4"


def test_user_emails_are_matched_case_insensitively() -> None:
    user = GraphUser.from_json(
        {"id": "u", "userPrincipalName": "Alice@Contoso.example", "mail": "a.smith@contoso.example"}
    )

    assert user.emails == {"alice@contoso.example", "a.smith@contoso.example"}


def test_set_presence_durations_stay_within_graphs_range() -> None:
    assert session_duration(dt.timedelta(minutes=1)) == "PT5M"
    assert session_duration(dt.timedelta(minutes=90)) == "PT1H30M"
    assert session_duration(dt.timedelta(hours=9)) == "PT4H"


def test_retry_after_as_seconds_or_as_a_date() -> None:
    now = 1_800_000_000.0
    later = email.utils.formatdate(now + 30, usegmt=True)

    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(later, now=now) == pytest.approx(30.0)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, rng=rng) for n in range(10)]

    assert 0.25 <= delays[0] <= 0.5
    assert 1.0 <= delays[2] <= 2.0
    assert all(d <= 30.0 for d in delays)
    assert delays[-1] >= 15.0
