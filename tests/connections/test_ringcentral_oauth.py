"""RingCentral's OAuth sign-in end to end: the product's redirect, the sandbox's sign-in page
(driven headlessly), the callback, tokens sealed in the store and reused after a restart, and
every way the sign-in can be refused."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from pymongo import AsyncMongoClient

from presence_sync.connections.records import RINGCENTRAL
from presence_sync.errors import RingCentralAuthError
from presence_sync.store.models import LinkState, UserLink
from presence_sync.watch.ringcentral_subscriptions import extension_filter
from sandbox.model import RcExtension
from sandbox.server import RunningSandbox
from tests.connections.product import ADMIN, Browser, Page, ProductServer, control
from tests.watch.harness import eventually

CALLBACK = "/connect/ringcentral/oauth/callback"
RC_TOKEN_CALL = "ringcentral POST /ringcentral/restapi/oauth/token"
StartProduct = Callable[[], Awaitable[ProductServer]]


def rc_user(sandbox: RunningSandbox, index: int = 1) -> RcExtension:
    """An enabled RingCentral user with an email who is not the account's admin (index ≥ 1)."""
    users = [
        e
        for e in sandbox.ctx.org.rc_extensions.values()
        if e.type == "User" and e.status == "Enabled" and e.email
    ]
    return users[index]


async def start_sign_in(product: ProductServer, browser: Browser) -> dict[str, list[str]]:
    """Follow the product's redirect to RingCentral; the sign-in URL's query."""
    to_ringcentral = await browser.redirect_of(f"{product.url}/connect/ringcentral/oauth")
    parts = urlsplit(to_ringcentral)
    assert to_ringcentral.startswith(product.settings.ringcentral_server_url)
    assert parts.path.endswith("/restapi/oauth/authorize")
    return parse_qs(parts.query)


async def sign_in(
    product: ProductServer,
    browser: Browser,
    sandbox: RunningSandbox,
    email: str,
    decision: str = "approve",
) -> Page:
    """An admin presses Connect RingCentral (OAuth), signs in as `email` and answers."""
    await control(
        sandbox, "POST", "/_sandbox/ringcentral/oauth", {"sign_in_as": email, "decision": decision}
    )
    return await browser.open(f"{product.url}/connect/ringcentral/oauth")


async def ringcentral_row(product: ProductServer) -> tuple[str, dict[str, object]]:
    """The RingCentral row of the status: (state, details)."""
    rows = {s.kind: s for s in await product.connections.status()}
    return rows["ringcentral"].state, dict(rows["ringcentral"].details)


async def token_calls(sandbox: RunningSandbox) -> int:
    """RingCentral token calls the sandbox answered since the counts were last cleared."""
    calls = (await control(sandbox, "GET", "/_sandbox/requests"))["calls"]
    return int(calls.get(RC_TOKEN_CALL, 0))


async def test_sign_in_redirect_carries_state_and_a_pkce_challenge(
    product: ProductServer, browser: Browser
) -> None:
    query = await start_sign_in(product, browser)

    assert query["response_type"] == ["code"]
    assert query["client_id"] == [product.settings.ringcentral_client_id]
    assert query["redirect_uri"] == [f"{product.url}{CALLBACK}"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 32


async def test_signing_in_connects_ringcentral_as_the_user_who_signed_in(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    user = rc_user(sandbox)

    page = await sign_in(product, browser, sandbox, str(user.email))

    assert page.status == 200
    assert "RingCentral is connected" in page.text
    assert f"acts on RingCentral as {user.email}" in page.text
    state, details = await ringcentral_row(product)
    assert state == "connected"
    assert details["method"] == "oauth"
    assert details["extension_id"] == user.id
    assert details["authorised_by"] == user.email
    client = await product.connections.ringcentral()
    assert (await client.current_extension()).id == user.id
    # The audit names the signed-in admin who pressed Connect, not the RingCentral user.
    entries = await (await product.store()).list_audit(limit=10)
    connected = [e for e in entries if e.action == "ringcentral-connected"]
    assert [(e.actor, e.details["signed_in_as"]) for e in connected] == [(ADMIN, user.email)]


async def test_a_sign_in_answer_brought_to_another_browser_connects_nothing(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    user = rc_user(sandbox)
    await control(
        sandbox,
        "POST",
        "/_sandbox/ringcentral/oauth",
        {"sign_in_as": user.email, "decision": "approve"},
    )
    to_ringcentral = await browser.redirect_of(f"{product.url}/connect/ringcentral/oauth")
    answer = await browser.redirect_of(to_ringcentral)  # RingCentral's redirect, code and state

    other = Browser(sandbox.ca_file)
    try:
        page = await other.open(answer)
    finally:
        await other.close()

    assert page.status == 400
    assert "not started in this browser" in page.text
    assert await (await product.store()).get_connection(RINGCENTRAL) is None
    assert await (await product.store()).list_audit(limit=10) == []


async def stored_record_as_written(store_url: str) -> str:
    """The RingCentral connection record exactly as the database holds it."""
    if store_url.startswith("sqlite"):
        database = sqlite3.connect(Path(urlsplit(store_url).path))
        try:
            rows = database.execute("SELECT * FROM connections WHERE kind = ?", (RINGCENTRAL,))
            return repr(rows.fetchall())
        finally:
            database.close()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(store_url)
    try:
        doc = await client.get_default_database()["connections"].find_one({"_id": RINGCENTRAL})
        return repr(doc)
    finally:
        await client.close()


@pytest.mark.parametrize("store_kind", ["sqlite", "mongo"])
async def test_tokens_are_sealed_and_a_restart_reuses_them(
    start: StartProduct, browser: Browser, sandbox: RunningSandbox, store_url: str
) -> None:
    user = rc_user(sandbox, 2)
    first = await start()
    await control(sandbox, "DELETE", "/_sandbox/requests")
    await sign_in(first, browser, sandbox, str(user.email))
    record = await (await first.store()).get_connection(RINGCENTRAL)
    assert record is not None
    assert record.secret is not None
    access_token = str(json.loads(record.secret)["access_token"])
    await first.stop()

    second = await start()
    extension = await (await second.connections.ringcentral()).current_extension()

    assert extension.id == user.id
    assert await token_calls(sandbox) == 1  # the code redemption; nothing after the restart
    raw = await stored_record_as_written(store_url)
    assert user.id in raw  # the record is there, but its tokens are not readable in it
    assert access_token not in raw


async def test_cancelling_the_sign_in_refuses_clearly_and_stores_nothing(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    page = await sign_in(product, browser, sandbox, str(rc_user(sandbox).email), "deny")

    assert "RingCentral was not connected" in page.text
    assert "cancelled or refused" in page.text
    assert (await ringcentral_row(product))[0] == "missing"
    assert await (await product.store()).get_connection(RINGCENTRAL) is None


async def test_a_replayed_callback_and_a_replayed_code_are_refused(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    user = rc_user(sandbox)
    signed_in = await sign_in(product, browser, sandbox, str(user.email))
    code = parse_qs(urlsplit(signed_in.url).query)["code"][0]

    replayed = await browser.open(signed_in.url)
    fresh_state = (await start_sign_in(product, browser))["state"][0]
    reused = await browser.open(
        f"{product.url}{CALLBACK}?{urlencode({'code': code, 'state': fresh_state})}"
    )

    assert replayed.status == 400
    assert "no longer valid" in replayed.text
    assert "RingCentral did not accept the sign-in" in reused.text
    # The connection made by the genuine sign-in stands.
    state, details = await ringcentral_row(product)
    assert (state, details["extension_id"]) == ("connected", user.id)


async def test_a_forged_state_is_refused_and_stores_nothing(
    product: ProductServer, browser: Browser
) -> None:
    forged = urlencode({"code": "some-code", "state": "not-a-state-we-issued"})

    page = await browser.open(f"{product.url}{CALLBACK}?{forged}")

    assert page.status == 400
    assert "no longer valid" in page.text
    assert await (await product.store()).get_connection(RINGCENTRAL) is None


async def test_a_declined_sign_in_records_nothing_and_its_state_works_once(
    product: ProductServer, browser: Browser
) -> None:
    state = (await start_sign_in(product, browser))["state"][0]
    answer = urlencode({"error": "access_denied", "state": state})

    declined = await browser.open(f"{product.url}{CALLBACK}?{answer}")
    replayed = await browser.open(f"{product.url}{CALLBACK}?{answer}")

    assert "cancelled or refused" in declined.text
    assert replayed.status == 400
    assert "no longer valid" in replayed.text
    assert (await ringcentral_row(product))[0] == "missing"


async def test_a_code_ringcentral_refuses_records_nothing(
    product: ProductServer, browser: Browser
) -> None:
    state = (await start_sign_in(product, browser))["state"][0]

    page = await browser.open(f"{product.url}{CALLBACK}?code=not-a-code&state={state}")

    assert "RingCentral did not accept the sign-in" in page.text
    assert (await ringcentral_row(product))[0] == "missing"
    assert await (await product.store()).get_connection(RINGCENTRAL) is None


async def test_a_callback_without_a_code_is_refused_clearly(
    product: ProductServer, browser: Browser
) -> None:
    state = (await start_sign_in(product, browser))["state"][0]

    page = await browser.open(f"{product.url}{CALLBACK}?state={state}")

    assert page.status == 200  # a page for the admin, not a server error
    assert "RingCentral was not connected" in page.text
    assert "no sign-in code" in page.text
    assert (await ringcentral_row(product))[0] == "missing"


async def test_a_user_without_company_rights_is_watched_extension_by_extension(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    signed_in = rc_user(sandbox, 3)
    watched = [rc_user(sandbox, i) for i in (4, 5, 6)]
    await sign_in(product, browser, sandbox, str(signed_in.email))

    # Three people synced: RingCentral refuses this user the account-wide presence filter.
    await (await product.store()).upsert_links(
        UserLink(
            id=f"rc:{ext.id}",
            email=str(ext.email),
            rc_extension_id=ext.id,
            sync_enabled=True,
            state=LinkState.LINKED,
        )
        for ext in watched
    )

    async def subscriptions() -> list[tuple[str, list[str]]]:
        listed = await control(sandbox, "GET", "/_sandbox/ringcentral/subscriptions")
        return [(str(r["ownerId"]), sorted(r["eventFilters"])) for r in listed["records"]]

    # One subscription, made with the signed-in user's tokens, listing exactly those three.
    wanted = [(signed_in.id, sorted(extension_filter(ext.id) for ext in watched))]

    async def listed_exactly() -> bool:
        return await subscriptions() == wanted

    await eventually(listed_exactly, within=15)


async def test_revoked_oauth_tokens_stay_broken_until_the_admin_signs_in_again(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    user = rc_user(sandbox, 2)
    await sign_in(product, browser, sandbox, str(user.email))
    client = await product.connections.ringcentral()

    await control(sandbox, "POST", "/_sandbox/faults", {"revoke": "ringcentral-token"})
    with pytest.raises(RingCentralAuthError):
        await client.current_extension()

    state, _ = await ringcentral_row(product)
    reason = {s.kind: s.reason for s in await product.connections.status()}["ringcentral"]
    assert state == "broken"
    assert f"sign-in of {user.email}" in str(reason)
    assert "RINGCENTRAL_JWT" not in str(reason)  # this connection never used the JWT
    # The re-check must not quietly log in with the JWT: that would act as someone else.
    await control(sandbox, "DELETE", "/_sandbox/requests")
    await product.connections.recheck()
    assert await token_calls(sandbox) == 0
    assert (await ringcentral_row(product))[0] == "broken"

    page = await sign_in(product, browser, sandbox, str(user.email))

    assert "RingCentral is connected" in page.text
    again = await product.connections.ringcentral()
    assert (await again.current_extension()).id == user.id
