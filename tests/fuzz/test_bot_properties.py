"""Properties of the bot's endpoint: any variation of a genuine activity is answered 2xx or 4xx.

The running product, connected to the sandbox, gets hostile variations of activities the
sandbox's Teams would send an admin (a message, two card buttons) over real HTTP at
`/api/messages`: signed by the channel with the routing kept genuine (so many reach the bot's
turn), or not signed by it at all. Never a 5xx, never a traceback in the log; an activity
without the channel's signature is always refused; and a refused activity changes nothing: no
audit entry, nothing in the store, no message in any conversation.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cards import RULE_INPUT_PREFIX, RULES_INPUT_CUSTOMISATION, RULES_INPUT_PRESERVE, Verb
from presence_sync.demo.server import ProductServer
from presence_sync.domain import DEFAULT_RULES, TeamsState
from presence_sync.store import NoticeStatus, SqliteStore
from presence_sync.web.keys import STORE
from sandbox.connector import CONNECTOR
from sandbox.server import RunningSandbox
from sandbox.teams_client import activity_for, channel_token
from tests.bot.through_teams import ADMIN
from tests.fuzz.strategies import bodies, variants
from tests.sync.through_product import connected_product
from tests.watch.harness import eventually

pytestmark = pytest.mark.timeout(120)

# An activity keeps its routing genuine when signed: the channel signs only what it routes.
ROUTING = frozenset({"serviceUrl", "conversation", "recipient", "channelId"})

# Deterministic (no example database, the same examples every run) and within ~20 s in all.
SIGNED = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
UNSIGNED = settings(SIGNED, max_examples=40)


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A small organisation: the admin who talks to the bot, and a few people to list."""
    return {"users": 6}


@dataclass(repr=False)
class Bot:
    """The running product, the sandbox as Teams, and genuine activities from the admin."""

    product: ProductServer
    sandbox: RunningSandbox
    http: aiohttp.ClientSession
    templates: dict[str, dict[str, Any]]

    def __repr__(self) -> str:
        # Hypothesis prints its arguments on failure: not the sandbox's config and secrets.
        return f"Bot({self.product.url})"

    async def snapshot(self) -> tuple[Any, ...]:
        """What an activity could change: the store's records and every conversation."""
        store = self.product.app[STORE].store
        assert isinstance(store, SqliteStore)
        audit = [(e.at, e.actor, e.action, e.user) for e in await store.list_audit(limit=100)]
        jobs = [(j.id, j.status) for j in await store.list_jobs(limit=50)]
        notices = [(n.id, n.status) for n in await store.list_notices(limit=100)]
        with sqlite3.connect(f"file:{store.path}?mode=ro", uri=True) as raw:
            refs = raw.execute("SELECT * FROM conversation_refs ORDER BY user_id").fetchall()
            held = raw.execute("SELECT key, expires_at FROM ephemeral ORDER BY key").fetchall()
        chats = {
            conversation_id: json.dumps(conversation.bot_messages, sort_keys=True)
            for conversation_id, conversation in self.sandbox.app[CONNECTOR].conversations.items()
        }
        return (
            audit,
            jobs,
            notices,
            await store.get_settings(),
            await store.count_links_by_state(),
            await store.count_synced_links(),
            refs,
            held,
            chats,
        )

    async def settled(self) -> tuple[Any, ...]:
        """The snapshot once what an earlier example set going has finished."""
        now = await self.snapshot()
        for _ in range(40):
            await asyncio.sleep(0.02)
            again = await self.snapshot()
            if again == now:
                return now
            now = again
        return now

    def unsigned(self, how: str) -> dict[str, str]:
        """Headers of an activity the channel did not sign."""
        if how == "missing":
            return {}
        if how == "not a token":
            return {"Authorization": "Bearer not.a.token"}
        # Well formed and signed, for the bot's audience, but by Entra ID, not the channel.
        token = self.sandbox.ctx.entra_tokens.issue(
            {"aud": self.sandbox.config.bot_app_id, "serviceurl": "https://smba.example/"},
            3600,
            now=self.sandbox.ctx.clock.now(),
        )
        return {"Authorization": f"Bearer {token}"}

    async def post(
        self, body: bytes, headers: dict[str, str], caplog: pytest.LogCaptureFixture
    ) -> int:
        """POST `body` to `/api/messages`; assert the properties; the status."""
        before = await self.settled()
        caplog.clear()
        async with self.http.post(
            f"{self.product.url}/api/messages",
            data=body,
            headers={"Content-Type": "application/json", **headers},
        ) as response:
            text = await response.text()
            status = response.status
        assert status < 500, text
        assert 200 <= status < 300 or 400 <= status < 500, status
        if status >= 400:
            assert await self.settled() == before, (status, text)
        assert all(r.exc_info is None for r in caplog.records), caplog.text
        assert "Traceback" not in caplog.text
        return status


def genuine_activities(sandbox: RunningSandbox) -> dict[str, dict[str, Any]]:
    """What Teams sends when the admin writes `help`, pages the users, or saves the rules."""
    user = sandbox.ctx.org.teams_user_by_email(ADMIN)
    assert user is not None
    message = activity_for(sandbox.ctx, user, "message")
    message.update(text="help", textFormat="plain")

    def button(verb: str, data: dict[str, Any]) -> dict[str, Any]:
        invoke = activity_for(sandbox.ctx, user, "invoke")
        invoke["name"] = "adaptiveCard/action"
        invoke["value"] = {
            "action": {"type": "Action.Execute", "verb": verb, "data": data},
            "trigger": "manual",
        }
        return invoke

    rules = {
        f"{RULE_INPUT_PREFIX}{state.value}": DEFAULT_RULES.rule_for(state).value
        for state in TeamsState
    }
    return {
        "message": message,
        "users page": button(Verb.USERS_PAGE, {"filter": "a", "cursor": None}),
        "rules save": button(
            Verb.RULES_SAVE,
            {"version": 0, RULES_INPUT_CUSTOMISATION: "true", RULES_INPUT_PRESERVE: "false"}
            | rules,
        ),
    }


@pytest.fixture
async def bot(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[Bot]:
    """The product connected and everyone synced, once the "you are synced" notices are out."""
    async with connected_product(sandbox, tmp_path, reconcile_interval=300.0) as product:
        store = product.app[STORE].store

        async def delivered() -> bool:
            return not await store.list_notices(status=NoticeStatus.PENDING.value, limit=1)

        await eventually(delivered, within=30)
        async with aiohttp.ClientSession() as http:
            yield Bot(product, sandbox, http, genuine_activities(sandbox))


@SIGNED
@given(case=st.sampled_from(["message", "users page", "rules save"]), data=st.data())
async def test_any_variation_of_a_signed_activity_is_answered_2xx_or_4xx(
    bot: Bot, caplog: pytest.LogCaptureFixture, case: str, data: st.DataObject
) -> None:
    template = bot.templates[case]
    if "value" in template and data.draw(st.booleans()):
        # Only the button's own value varies, sent as JSON: most reach the bot's verbs.
        only_value = frozenset(template) - {"value"}
        body = json.dumps(data.draw(variants(template, keep=only_value))).encode()
    else:
        body = data.draw(bodies(template, keep=ROUTING))
    token = channel_token(bot.sandbox.ctx)
    await bot.post(body, {"Authorization": f"Bearer {token}"}, caplog)


@UNSIGNED
@given(
    case=st.sampled_from(["message", "users page", "rules save"]),
    how=st.sampled_from(["missing", "not a token", "another issuer"]),
    data=st.data(),
)
async def test_an_activity_the_channel_did_not_sign_is_refused_and_changes_nothing(
    bot: Bot, caplog: pytest.LogCaptureFixture, case: str, how: str, data: st.DataObject
) -> None:
    body = data.draw(bodies(bot.templates[case]))
    status = await bot.post(body, bot.unsigned(how), caplog)
    assert 400 <= status < 500
