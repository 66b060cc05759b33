"""Commands as the dispatcher sends them: only the fields that change, Graph's allowed pairs."""

from __future__ import annotations

from presence_sync.engine import (
    SESSION_TTL,
    SetRingCentralPresence,
    SetTeamsSession,
    backoff,
)


def test_ringcentral_body_carries_only_the_fields_that_change() -> None:
    """A PUT never resets fields the engine did not decide about."""
    command = SetRingCentralPresence(user_status="Busy", accept_call_queue_calls=False, cause="x")
    assert command.body() == {"userStatus": "Busy", "acceptCallQueueCalls": False}
    assert command.fields() == (("user_status", "Busy"), ("accept_call_queue_calls", False))
    legacy = SetRingCentralPresence(dnd_status="DoNotAcceptAnyCalls", cause="x")
    assert legacy.body() == {"dndStatus": "DoNotAcceptAnyCalls"}


def test_teams_body_is_graph_set_presence_with_an_expiry() -> None:
    """setPresence needs the app's session id and an ISO 8601 duration within PT5M to PT4H."""
    command = SetTeamsSession("Busy", "InACall", SESSION_TTL, "call")
    assert command.body("app-id") == {
        "sessionId": "app-id",
        "availability": "Busy",
        "activity": "InACall",
        "expirationDuration": f"PT{SESSION_TTL}S",
    }
    assert 5 * 60 <= SESSION_TTL <= 4 * 3600


def test_backoff_grows_and_is_bounded() -> None:
    """Retries slow down after repeated failures but never wait longer than five minutes."""
    waits = [backoff(n) for n in range(1, 12)]
    assert waits == sorted(waits)
    assert waits[0] >= 1
    assert max(waits) == 300
