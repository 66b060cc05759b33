"""A bot activity is checked field by field before botbuilder or the store sees it."""

from __future__ import annotations

import json

import pytest

from bot.activity import checked_activity
from presence_sync.errors import ValidationError


@pytest.mark.parametrize(
    ("field", "value", "word"),
    [
        ("text", "x" * 30_000, "text"),
        ("serviceUrl", "javascript:alert(1)", "serviceUrl"),
        ("from", {"id": "29:1", "aadObjectId": "../../conversation-refs"}, "aadObjectId"),
        ("conversation", {"id": "a:1", "conversationType": "whatever"}, "conversationType"),
        ("conversation", {"id": "a:1", "conversationType": ["personal"]}, "conversationType"),
        ("type", 5, "type"),
        ("entities", "not a list", "entities"),
    ],
)
def test_a_malformed_activity_is_refused_by_name(field: str, value: object, word: str) -> None:
    activity = {
        "type": "message",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "from": {"id": "29:1", "aadObjectId": "7d1a4c2e-0000-4000-8000-00000000ada1"},
        "conversation": {"id": "a:1", "conversationType": "personal"},
        "text": "status",
    }
    assert checked_activity(activity).text == "status"

    with pytest.raises(ValidationError, match=word):
        checked_activity(json.loads(json.dumps({**activity, field: value})))
