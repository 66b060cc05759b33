"""Webhook secrets that just matched are trusted briefly without reading the store again."""

from __future__ import annotations

from typing import Any

from presence_sync.web.keys import KNOWN_SECRETS
from tests.web.test_webhooks import (
    CLIENT_STATE,
    EXTENSION,
    GRAPH_SUB,
    RC_SUB,
    RC_TOKEN,
    USER,
    Hooks,
    fixture,
    hooks,
    post_graph,
    presence,
)

__all__ = ["hooks"]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _graph_change(hooks: Hooks, sequence: int, client_state: str = CLIENT_STATE) -> int:
    body = hooks.change(
        subscription_id=GRAPH_SUB,
        client_state=client_state,
        user_id=USER,
        encrypted_content=await hooks.sealed(presence("Busy", "InAMeeting", sequence)),
    )
    return await post_graph(hooks, body)


async def _rc_event(hooks: Hooks, token: str) -> int:
    body: dict[str, Any] = fixture(
        "ringcentral", "extension_presence", subscription_id=RC_SUB, extension_id=EXTENSION
    )
    response = await hooks.client.post(
        "/api/notifications/ringcentral", json=body, headers={"Verification-Token": token}
    )
    return response.status


def _clock(hooks: Hooks) -> Clock:
    clock = Clock()
    hooks.client.app[KNOWN_SECRETS].clock = clock
    return clock


async def test_a_matched_client_state_is_trusted_for_a_while_and_then_read_again(
    hooks: Hooks,
) -> None:
    clock = _clock(hooks)
    assert await _graph_change(hooks, 10) == 202
    # Gone from the store, but it matched moments ago: no store read, still accepted.
    assert await hooks.store.delete_subscription("graph", GRAPH_SUB)
    clock.now += 5
    assert await _graph_change(hooks, 11) == 202
    # Once the trust has run out the store is read again, and it no longer knows the state.
    clock.now += 60
    assert await _graph_change(hooks, 12) == 403


async def test_a_wrong_client_state_is_refused_while_the_right_one_is_trusted(
    hooks: Hooks,
) -> None:
    _clock(hooks)
    before = await hooks.snapshot()
    assert await _graph_change(hooks, 20) == 202
    assert await _graph_change(hooks, 21, client_state="guessed-client-state") == 403
    assert await _graph_change(hooks, 22, client_state=CLIENT_STATE[:-1]) == 403
    assert (await hooks.snapshot())[2] == before[2]  # subscriptions untouched


async def test_a_matched_verification_token_is_trusted_for_a_while_only(hooks: Hooks) -> None:
    clock = _clock(hooks)
    assert await _rc_event(hooks, RC_TOKEN) == 200
    assert await _rc_event(hooks, "guessed") == 403
    assert await hooks.store.delete_subscription("ringcentral", RC_SUB)
    clock.now += 5
    assert await _rc_event(hooks, RC_TOKEN) == 200
    clock.now += 60
    assert await _rc_event(hooks, RC_TOKEN) == 403
