"""Hostile OAuth callback parameters, refused at the edge.

A callback whose parameters are malformed answers 400 with one log line naming the parameter,
and does not spend the sign-in it names: the genuine answer can still finish it.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from presence_sync.connections.starts import StartedBy
from presence_sync.web.keys import CONNECTIONS
from tests.web.test_hostile_webhooks import assert_one_clean_line
from tests.web.test_webhooks import Hooks, hooks

__all__ = ["hooks"]

CONSENT_CALLBACK = "/connect/microsoft/consent/callback"

HOSTILE = {
    "a newline in error": ("error", "access_denied\nforged log line", "error"),
    "a lone surrogate in state": ("state", "\ud800", "state"),
    "a state of 5,000 characters": ("state", "s" * 5000, "state"),
    "a space in code": ("code", "abc def", "code"),
    "a tenant that is a path": ("tenant", "../../etc", "tenant"),
    "admin_consent that is not a boolean": ("admin_consent", "yes please", "admin_consent"),
}


def query(pairs: list[tuple[str, str]]) -> str:
    """A query string, lone surrogates sent as the bytes a browser would send."""
    return "&".join(f"{k}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in pairs)


async def started_consent(hooks: Hooks) -> str:
    """The state of an admin consent started as the product starts one."""
    admin = StartedBy("admin@contoso.example", "7d1a4c2e-0000-4000-8000-00000000ada1", "cookie")
    start = await hooks.client.app[CONNECTIONS].microsoft.begin_admin_consent(
        CONSENT_CALLBACK, None, admin
    )
    return parse_qs(urlsplit(start.url).query)["state"][0]


async def still_started(hooks: Hooks, state: str) -> bool:
    """Whether the sign-in `state` names is still waiting for its answer (taken to look)."""
    return await hooks.store.take_ephemeral(f"microsoft-consent:{state}", time.time()) is not None


@pytest.mark.parametrize("case", list(HOSTILE))
async def test_a_malformed_callback_parameter_is_refused_and_spends_nothing(
    hooks: Hooks, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    name, value, word = HOSTILE[case]
    state = await started_consent(hooks)
    genuine = {"state": state, "admin_consent": "True", "tenant": "contoso.example"}
    caplog.clear()
    caplog.set_level(logging.INFO)

    refused = await hooks.client.get(
        f"{CONSENT_CALLBACK}?{query(list({**genuine, name: value}.items()))}"
    )

    assert refused.status == 400
    assert word in (await refused.json())["error"]["message"]
    assert_one_clean_line(caplog, word)
    assert "forged log line" not in caplog.text.replace("\\n", " ")
    # The sign-in is still there for Entra's genuine answer.
    assert await still_started(hooks, state)


async def test_a_parameter_given_twice_is_refused(
    hooks: Hooks, caplog: pytest.LogCaptureFixture
) -> None:
    state = await started_consent(hooks)
    caplog.set_level(logging.INFO)
    caplog.clear()

    refused = await hooks.client.get(
        f"{CONSENT_CALLBACK}?{query([('state', state), ('state', 'other-state-0000000')])}"
    )

    assert refused.status == 400
    assert "more than once" in (await refused.json())["error"]["message"]
    assert_one_clean_line(caplog, "state")
    assert await still_started(hooks, state)


async def test_a_callback_form_that_is_not_utf8_is_refused(hooks: Hooks) -> None:
    refused = await hooks.client.post(
        "/connect/microsoft/sync-account/callback",
        data=b"state=%ff%fe&code=abc",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert refused.status == 400
    assert "URL-encoded" in (await refused.json())["error"]["message"]
