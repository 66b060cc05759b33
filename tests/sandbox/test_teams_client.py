"""Teams users talking to a real botbuilder bot through the sandbox, authenticated both ways."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.server import RunningSandbox
from sandbox.teams_client import (
    activity_for,
    channel_token,
    chat_id_for,
    send_installation_update,
)
from sandbox.tokens import TokenIssuer

ECHO_BOT = Path(__file__).with_name("echo_bot.py")
ADMIN = "admin@contoso.example"


@pytest.fixture
async def bot_url(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[str]:
    """An echo bot process (CloudAdapter + ConfigurationBotFrameworkAuthentication)."""
    _, config = await sandbox.control("GET", "/_sandbox/config")
    config_file = tmp_path / "sandbox-config.json"
    config_file.write_text(json.dumps(config))
    env = {**os.environ, "SSL_CERT_FILE": sandbox.ca_file, "REQUESTS_CA_BUNDLE": sandbox.ca_file}
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ECHO_BOT), str(config_file), "60",
        stdout=asyncio.subprocess.PIPE, env=env, cwd=Path(__file__).parents[2],
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        port = json.loads(line)["port"]
        url = f"http://127.0.0.1:{port}/api/messages"
        status, _ = await sandbox.control("PUT", "/_sandbox/config", {"product_url": url})
        assert status == 200
        yield url
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def test_a_user_message_reaches_the_bot_and_its_reply_is_recorded(
    sandbox: RunningSandbox, bot_url: str
) -> None:
    status, said = await sandbox.control("POST", f"/_sandbox/teams/{ADMIN}/say", {"text": "hi"})
    assert status == 200, said
    assert said["status"] in (200, 201)
    _, chats = await sandbox.control("GET", f"/_sandbox/chats/{ADMIN}")
    user = sandbox.ctx.org.teams_user_by_email(ADMIN)
    assert user is not None
    assert chats["conversation_id"] == chat_id_for(sandbox.ctx, user)
    assert [m["text"] for m in chats["messages"]] == ["echo: hi"]
    assert chats["user_messages"][0]["text"] == "hi"
    _, counts = await sandbox.control("GET", "/_sandbox/requests")
    assert counts["calls"]["entra POST /entra/{tenant}/oauth2/v2.0/token"] == 1


async def test_cards_are_recorded_and_updates_replace_them(
    sandbox: RunningSandbox, bot_url: str
) -> None:
    status, _ = await sandbox.control("POST", f"/_sandbox/teams/{ADMIN}/say", {"text": "card"})
    assert status == 200
    _, chats = await sandbox.control("GET", f"/_sandbox/chats/{ADMIN}")
    [message] = chats["messages"]
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["body"][0]["text"] == "Synced 3 users"
    assert message["updated"] is not None


async def _post_to_bot(sandbox: RunningSandbox, url: str, token: str | None) -> int:
    user = sandbox.ctx.org.teams_user_by_email(ADMIN)
    assert user is not None
    activity = activity_for(sandbox.ctx, user, "message")
    activity["text"] = "forged"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with sandbox.http.post(url, json=activity, headers=headers) as response:
        return response.status


async def test_the_bot_rejects_unsigned_and_wrongly_signed_activities(
    sandbox: RunningSandbox, bot_url: str
) -> None:
    assert await _post_to_bot(sandbox, bot_url, channel_token(sandbox.ctx)) in (200, 201)
    # botbuilder answers 401 or, for some malformed headers, 500; either way nothing runs.
    assert await _post_to_bot(sandbox, bot_url, None) >= 400
    impostor = TokenIssuer(sandbox.ctx.channel_tokens.issuer)
    impostor.key.kid = sandbox.ctx.channel_tokens.key.kid  # same key id, other private key
    forged = impostor.issue(
        {"aud": sandbox.config.bot_app_id, "serviceurl": f"{sandbox.base_url}/connector/"}, 600
    )
    assert await _post_to_bot(sandbox, bot_url, forged) >= 400
    other_bot = sandbox.ctx.channel_tokens.issue(
        {"aud": "another-bot", "serviceurl": f"{sandbox.base_url}/connector/"}, 600
    )
    assert await _post_to_bot(sandbox, bot_url, other_bot) == 401
    _, chats = await sandbox.control("GET", f"/_sandbox/chats/{ADMIN}")
    assert [m["text"] for m in chats["messages"]] == ["echo: forged"]  # the signed one only


async def test_say_without_a_product_url_names_the_fix(sandbox: RunningSandbox) -> None:
    status, body = await sandbox.control("POST", f"/_sandbox/teams/{ADMIN}/say", {"text": "x"})
    assert status == 409
    assert "product_url" in body["error"]


async def test_say_for_an_unknown_email_is_404(sandbox: RunningSandbox) -> None:
    status, body = await sandbox.control(
        "POST", "/_sandbox/teams/nobody@contoso.example/say", {"text": "x"}
    )
    assert status == 404
    assert "nobody@contoso.example" in body["error"]


async def test_the_channel_keys_carry_the_msteams_endorsement(sandbox: RunningSandbox) -> None:
    _, metadata = await sandbox.control("GET", "/_botframework/v1/.well-known/openidconfiguration")
    assert metadata["issuer"] == "https://api.botframework.com"
    async with sandbox.http.get(metadata["jwks_uri"]) as response:
        keys = await response.json()
    assert keys["keys"][0]["endorsements"] == ["msteams"]


async def test_installation_and_conversation_updates_reach_the_bot(
    sandbox: RunningSandbox, bot_url: str
) -> None:
    user = sandbox.ctx.org.teams_user_by_email(ADMIN)
    assert user is not None
    await send_installation_update(sandbox.ctx, user, "add")
    status, body = await sandbox.control(
        "POST", f"/_sandbox/teams/{ADMIN}/conversation-update", {}
    )
    assert status == 200, body
    _, chats = await sandbox.control("GET", f"/_sandbox/chats/{ADMIN}")
    assert [m["text"] for m in chats["messages"]] == ["installed", "welcome"]


async def test_an_adaptive_card_submit_arrives_as_a_value(
    sandbox: RunningSandbox, bot_url: str
) -> None:
    status, body = await sandbox.control(
        "POST", f"/_sandbox/teams/{ADMIN}/say", {"value": {"action": "sync_all"}}
    )
    assert status == 200, body
    _, chats = await sandbox.control("GET", f"/_sandbox/chats/{ADMIN}")
    assert chats["user_messages"][0]["value"] == {"action": "sync_all"}
    assert [m["text"] for m in chats["messages"]] == ["echo: "]


async def test_an_action_execute_returns_the_bots_refreshed_card(
    sandbox: RunningSandbox, bot_url: str
) -> None:
    value = {
        "action": {"type": "Action.Execute", "verb": "syncAll", "data": {}},
        "trigger": "manual",
    }
    status, body = await sandbox.control(
        "POST", f"/_sandbox/teams/{ADMIN}/invoke", {"name": "adaptiveCard/action", "value": value}
    )
    assert status == 200, body
    assert body["body"]["statusCode"] == 200
    assert body["body"]["value"]["body"][0]["text"] == "done: syncAll"
