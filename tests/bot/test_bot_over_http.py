"""The Teams bot over HTTP, with real Bot Framework authentication and the sandbox as Teams.

Each test starts the product connected to the sandbox (everyone synced), points the sandbox's
Teams client at `/api/messages`, and talks to the bot as a person would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from presence_sync.demo.server import ProductServer
from presence_sync.demo.signin import signed_in_admin
from presence_sync.web.keys import CONNECTIONS, STORE
from sandbox.server import RunningSandbox
from tests.bot.through_teams import ADMIN, actions, cards, last_card, press, say, words
from tests.sync.through_product import connected_product, plain_person

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
async def product(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[ProductServer]:
    """The product, connected and everyone synced, receiving the sandbox's Teams activities."""
    async with connected_product(sandbox, tmp_path, reconcile_interval=300.0) as server:
        yield server


async def told(
    sandbox: RunningSandbox, email: str, words_seen: str, within: float = 60.0
) -> dict[str, object]:
    """The first card the bot sent `email` that says `words_seen` (fail after `within` s)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for card in await cards(sandbox, email):
            if words_seen in words(card):
                return card
        await asyncio.sleep(0.2)
    raise AssertionError(f"{email} was never told {words_seen!r}")


async def _someone(sandbox: RunningSandbox) -> str:
    return str((await plain_person(sandbox))["email"])


async def test_help_answers_with_the_commands(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    await say(sandbox, ADMIN, "Help!")

    shown = words(await last_card(sandbox, ADMIN))
    for command in ("sync all", "unsync", "disable", "rules", "users", "connect"):
        assert command in shown


async def test_a_forged_or_missing_token_is_refused_and_nothing_is_answered(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    person = await _someone(sandbox)
    activity = {
        "type": "message",
        "id": "1:forged",
        "text": "sync all",
        "serviceUrl": f"{sandbox.base_url}/connector/",
        "channelId": "msteams",
        "from": {"id": "29:forged", "aadObjectId": "00000000-0000-0000-0000-000000000000"},
        "recipient": {"id": "28:bot"},
        "conversation": {"id": "a:forged", "conversationType": "personal"},
    }
    forged = "Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJl"
    async with aiohttp.ClientSession() as http:
        for headers in ({"Authorization": forged}, {}):
            async with http.post(
                f"{product.url}/api/messages", json=activity, headers=headers
            ) as r:
                assert r.status == 401, await r.text()
        async with http.post(
            f"{product.url}/api/messages",
            data=b"{not json",
            headers={"Content-Type": "application/json"},
        ) as r:
            assert r.status == 400
            assert "must be JSON" in await r.text()
    assert await cards(sandbox, person) == []
    store = product.app[STORE].store
    jobs = await store.list_jobs(limit=5)
    assert len(jobs) == 1  # only the fixture's own sync all: the forged one changed nothing


async def test_sync_all_waits_for_the_askers_confirmation_which_works_once(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    other_admin = "teams.admin@contoso.example"
    await say(sandbox, ADMIN, "sync all")
    confirm = await last_card(sandbox, ADMIN)
    shown = words(confirm)
    assert "will be synced" in shown or "synced already" in shown
    (token,) = {a["data"]["token"] for a in actions(confirm) if a["verb"] == "confirm"}
    store = product.app[STORE].store
    before = len(await store.list_jobs(limit=10))

    refused = await press(sandbox, other_admin, "confirm", {"token": token})
    assert "Only" in words(refused)
    assert len(await store.list_jobs(limit=10)) == before  # nothing started

    started = await press(sandbox, ADMIN, "confirm", {"token": token})
    assert "sync" in words(started).lower()
    again = await press(sandbox, ADMIN, "confirm", {"token": token})
    assert "expired" in words(again).lower()


async def test_a_cancelled_disable_changes_nothing(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    store = product.app[STORE].store
    synced = await store.count_synced_links()
    await say(sandbox, ADMIN, "disable")
    card = await last_card(sandbox, ADMIN)
    (token,) = {a["data"]["token"] for a in actions(card) if a["verb"] == "cancel"}

    cancelled = await press(sandbox, ADMIN, "cancel", {"token": token})

    assert "cancel" in words(cancelled).lower()
    assert await store.count_synced_links() == synced
    settings = await store.get_settings()
    assert settings.sync_mode.value == "enabled"
    late = await press(sandbox, ADMIN, "confirm", {"token": token})
    assert "expired" in words(late).lower()
    assert (await store.get_settings()).sync_mode.value == "enabled"


async def test_someone_who_is_not_an_admin_is_refused_politely(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    person = await _someone(sandbox)
    store = product.app[STORE].store
    before = len(await store.list_jobs(limit=10))

    await say(sandbox, person, "sync all")

    assert "admin" in words(await last_card(sandbox, person)).lower()
    assert len(await store.list_jobs(limit=10)) == before
    await say(sandbox, person, "status")
    assert "synced" in words(await last_card(sandbox, person)).lower()


async def test_a_misspelt_command_gets_the_closest_one(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    await say(sandbox, ADMIN, "stauts")

    card = await last_card(sandbox, ADMIN)
    assert "status" in words(card)
    assert any(a["verb"] == "run" and a["data"]["text"] == "status" for a in actions(card))


async def test_unsync_by_name_stops_syncing_that_person(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    email = await _someone(sandbox)
    store = product.app[STORE].store
    link = await store.get_link_by_email(email)
    assert link is not None
    assert link.sync_enabled

    await say(sandbox, ADMIN, f"unsync {email}")

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        link = await store.get_link_by_email(email)
        assert link is not None
        if not link.sync_enabled:
            break
        await asyncio.sleep(0.1)
    assert not link.sync_enabled
    audit = [e for e in await store.list_audit(limit=50) if e.actor == ADMIN]
    assert audit, "the admin's change is in the audit log under their name"


async def test_status_shows_the_connections(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    await say(sandbox, ADMIN, "status")

    shown = words(await last_card(sandbox, ADMIN)).lower()
    assert "connected" in shown
    assert "ringcentral" in shown
    assert "a minute in use" in shown  # RingCentral's write budget, as its answers reported it


async def test_people_are_told_in_a_chat_the_bot_opens_for_them(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    email = await _someone(sandbox)

    # The fixture's sync all told everyone, in a chat the bot opened (they never wrote to it).
    await told(sandbox, email, "Your presence is now synced")
    _, seen = await sandbox.control("GET", f"/_sandbox/chats/{email}")
    assert seen["user_messages"] == []

    await say(sandbox, ADMIN, f"unsync {email}")

    await told(sandbox, email, "no longer")


async def _chat(sandbox: RunningSandbox, email: str) -> list[dict[str, object]]:
    _, chat = await sandbox.control("GET", f"/_sandbox/chats/{email}")
    return list(chat["messages"])


async def test_a_jobs_card_updates_in_place_and_ends_as_its_report(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    email = await _someone(sandbox)
    await say(sandbox, ADMIN, f"unsync {email}")
    first = (await _chat(sandbox, ADMIN))[-1]

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = next(m for m in await _chat(sandbox, ADMIN) if m["id"] == first["id"])
        if now["updated"]:
            break
        await asyncio.sleep(0.2)
    assert now["updated"], "the job's card was never updated"
    (attachment,) = now["attachments"]  # type: ignore[misc]
    report = words(attachment["content"])
    assert "finished" in report.lower() or "done" in report.lower(), report


async def test_rules_are_changed_in_the_card_and_a_stale_edit_overwrites_nothing(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    store = product.app[STORE].store
    await say(sandbox, ADMIN, "rules")
    card = await last_card(sandbox, ADMIN)
    (save,) = [a for a in actions(card) if a["verb"] == "rules.save"]
    version = save["data"]["version"]

    saved = await press(
        sandbox,
        ADMIN,
        "rules.save",
        {
            "version": version,
            "customisation": "true",
            "preserve": "false",
            "rule.in_a_meeting": "no_calls",
        },
    )

    assert "Saved." in words(saved)
    settings = await store.get_settings()
    assert settings.rules["in_a_meeting"] == "no_calls"
    assert settings.call_presence_customisation

    stale = await press(
        sandbox,
        ADMIN,
        "rules.save",
        {
            "version": version,
            "customisation": "true",
            "preserve": "false",
            "rule.in_a_meeting": "accept_all_calls",
        },
    )

    assert "Someone else changed the rules" in words(stale)
    assert (await store.get_settings()).rules["in_a_meeting"] == "no_calls"


async def test_an_ambiguous_name_gets_a_card_to_pick_from(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    store = product.app[STORE].store
    page = await store.list_links(search="a", limit=5)
    assert len(page.links) > 1

    await say(sandbox, ADMIN, "unsync a")

    card = await last_card(sandbox, ADMIN)
    picks = [a for a in actions(card) if a["verb"] == "pick"]
    assert len(picks) > 1
    assert {p["data"]["command"] for p in picks} == {"unsync"}
    links = [await store.get_link(p["data"]["link_id"]) for p in picks]
    before = {link.id: link.sync_enabled for link in links if link is not None}
    chosen = next(
        p["data"]
        for p, link in zip(picks, links, strict=True)
        if link is not None and link.teams_user_id and link.sync_enabled
    )

    await press(sandbox, ADMIN, "pick", chosen)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        after = await store.get_link(chosen["link_id"])
        assert after is not None
        if not after.sync_enabled:
            break
        await asyncio.sleep(0.1)
    assert not after.sync_enabled
    for link_id, synced in before.items():  # the other candidates were left as they were
        if link_id != chosen["link_id"]:
            other = await store.get_link(link_id)
            assert other is not None
            assert other.sync_enabled == synced


async def test_users_connect_and_report_answer_with_their_cards(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    await say(sandbox, ADMIN, "users")
    users = await last_card(sandbox, ADMIN)
    assert any(a["verb"] == "unsync.one" for a in actions(users))

    await say(sandbox, ADMIN, "connect")
    connect = words(await last_card(sandbox, ADMIN))
    assert "Microsoft" in connect
    assert "RingCentral" in connect

    await say(sandbox, ADMIN, "report")
    report = words(await last_card(sandbox, ADMIN)).lower()
    assert "synced" in report


@pytest.mark.parametrize("data", [{"filter": True, "cursor": None}, {"cursor": ["a"]}])
async def test_a_users_page_button_whose_filter_is_not_text_offers_the_users_list(
    sandbox: RunningSandbox,
    product: ProductServer,
    data: dict[str, object],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # No card of the bot's sends this; the turn failed on it, and Teams got a 501.
    answer = await press(sandbox, ADMIN, "users.page", data)

    assert "Did you mean **users**?" in words(answer)
    assert next(a["data"]["text"] for a in actions(answer) if a["verb"] == "run") == "users"
    assert "bot turn failed" not in caplog.text


@pytest.mark.parametrize("conversation", ["groupChat", "channel"])
async def test_in_a_shared_conversation_the_bot_points_to_its_personal_chat(
    sandbox: RunningSandbox, product: ProductServer, conversation: str
) -> None:
    store = product.app[STORE].store
    synced = await store.count_synced_links()
    status, body = await sandbox.control(
        "POST",
        f"/_sandbox/teams/{ADMIN}/say",
        {"text": "disable", "conversation": conversation},
    )
    assert status == 200, body

    _, chat = await sandbox.control("GET", f"/_sandbox/chats/{ADMIN}?conversation={conversation}")
    (answer,) = chat["messages"]
    (attachment,) = answer["attachments"]
    assert "personal chat" in words(attachment["content"]).lower()
    assert await store.count_synced_links() == synced
    assert (await store.get_settings()).sync_mode.value == "enabled"


async def test_a_throttled_connector_is_waited_out_and_the_notice_still_arrives(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    email = await _someone(sandbox)
    # The fixture's sync all notice opened their chat with the bot.
    await told(sandbox, email, "Your presence is now synced")
    await sandbox.control("DELETE", "/_sandbox/requests")
    status, _ = await sandbox.control(
        "POST",
        "/_sandbox/faults",
        {"target": "connector-sends", "status": 429, "retry_after": 1, "count": 2},
    )
    assert status in (200, 201)

    await say(sandbox, ADMIN, f"unsync {email}")

    await told(sandbox, email, "no longer")
    _, seen = await sandbox.control("GET", "/_sandbox/requests")
    assert seen["throttled"], seen  # the connector did refuse, and the bot waited and retried


async def test_disable_then_enable_and_syncing_someone_again(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    store = product.app[STORE].store
    await say(sandbox, ADMIN, "disable")
    card = await last_card(sandbox, ADMIN)
    (token,) = {a["data"]["token"] for a in actions(card) if a["verb"] == "confirm"}
    await press(sandbox, ADMIN, "confirm", {"token": token})
    assert (await store.get_settings()).sync_mode.value != "enabled"

    await say(sandbox, ADMIN, "enable")
    assert (await store.get_settings()).sync_mode.value == "enabled"

    email = await _someone(sandbox)
    await say(sandbox, ADMIN, f"unsync {email}")
    await say(sandbox, ADMIN, f"sync {email}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        link = await store.get_link_by_email(email)
        assert link is not None
        if link.sync_enabled:
            break
        await asyncio.sleep(0.1)
    assert link.sync_enabled


async def test_a_broken_connection_alerts_the_admin_in_chat_and_its_recovery_follows(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    await say(sandbox, ADMIN, "help")  # the admin's chat with the bot exists
    await sandbox.control("POST", "/_sandbox/faults", {"revoke": "ringcentral-token"})
    client = await product.app[CONNECTIONS].ringcentral()
    with pytest.raises(Exception, match="invalid_grant"):
        await client.current_extension()

    await told(sandbox, ADMIN, "needs attention")

    await sandbox.control("DELETE", "/_sandbox/faults")
    # The admin presses Connect RingCentral in the tab, signed in as they are outside Teams.
    async with signed_in_admin(product.url, sandbox.ca_file, ADMIN) as admin:
        status, answer = await admin.call("POST", "/connect/ringcentral")
    assert status == 200, answer

    await told(sandbox, ADMIN, "works again")
