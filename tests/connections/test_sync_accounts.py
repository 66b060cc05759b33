"""Step 2, sync accounts: delegated sign-in with PKCE, tokens sealed in the store, removal."""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pymongo import MongoClient
from pymongo.collection import Collection

from presence_sync.store import Store
from sandbox.entra_state import ENTRA_STATE
from sandbox.server import RunningSandbox
from tests.connections.product import SYNC1, SYNC2, Browser, ProductServer, control


async def authorise(browser: Browser, product: ProductServer, upn: str) -> str:
    """Sign a sync account in through the product's route; the final page's HTML."""
    page = await browser.open(f"{product.url}/connect/microsoft/sync-account?login_hint={upn}")
    return page.text


async def raw_connection_records(product: ProductServer) -> str:
    """Every stored connection record exactly as the database holds it, as text."""
    url = product.settings.store_url
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///") :]) as db:
            return repr(db.execute("SELECT * FROM connections").fetchall())
    parts = urlsplit(url)
    client: MongoClient[dict[str, Any]]
    with MongoClient(url) as client:
        records: Collection[dict[str, Any]] = client[parts.path.lstrip("/")]["connections"]
        return repr(list(records.find()))


@pytest.fixture
async def consented(sandbox: RunningSandbox, product: ProductServer) -> ProductServer:
    """A product whose tenant granted admin consent (detected through the check route)."""
    await control(sandbox, "POST", "/_sandbox/consent", {"granted": True})
    await product.connections.microsoft.check()
    return product


@pytest.mark.parametrize("store_kind", ["sqlite", "mongo"])
async def test_sync_account_sign_in_stores_its_tokens_sealed(
    consented: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    product = consented

    text = await authorise(browser, product, SYNC1)

    assert "Sync account authorised" in text
    assert await product.connections.sync_accounts() == [SYNC1]
    graph = await product.connections.graph()
    assert await graph.tokens.delegated_token(SYNC1)
    refresh_tokens = list(sandbox.app[ENTRA_STATE].refresh_tokens)
    assert refresh_tokens
    raw = await raw_connection_records(product)
    assert f"microsoft-sync-account:{SYNC1}" in raw
    for token in refresh_tokens:
        assert token not in raw
    store: Store = await product.store()
    record = await store.get_connection(f"microsoft-sync-account:{SYNC1}")
    assert record is not None
    assert record.secret is not None
    assert any(token in record.secret for token in refresh_tokens)


async def test_sign_in_uses_pkce_and_comes_back_as_a_form_post(
    consented: ProductServer, browser: Browser
) -> None:
    to_entra = await browser.redirect_of(
        f"{consented.url}/connect/microsoft/sync-account?login_hint={SYNC1}"
    )

    query = parse_qs(urlsplit(to_entra).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["response_mode"] == ["form_post"]
    assert query["redirect_uri"] == [f"{consented.url}/connect/microsoft/sync-account/callback"]
    assert "https://graph.microsoft.com/Presence.Read.All" in query["scope"][0].split()


async def test_two_sync_accounts_and_removing_one(
    consented: ProductServer, browser: Browser
) -> None:
    product = consented
    await authorise(browser, product, SYNC1)
    await authorise(browser, product, SYNC2)
    assert await product.connections.sync_accounts() == [SYNC1, SYNC2]

    removal = f"{product.url}/connect/microsoft/sync-account/{SYNC1}"
    assert (await browser.call("DELETE", removal))[0] == 204
    assert (await browser.call("DELETE", removal))[0] == 404

    assert await product.connections.sync_accounts() == [SYNC2]
    graph = await product.connections.graph()
    assert await graph.tokens.accounts() == [SYNC2]
    states = {s.kind: s.state for s in await product.connections.status()}
    assert f"microsoft-sync-account:{SYNC1}" not in states
    assert states[f"microsoft-sync-account:{SYNC2}"] == "connected"


async def test_sync_account_before_admin_consent_says_to_do_step_one_first(
    product: ProductServer, browser: Browser
) -> None:
    text = await authorise(browser, product, SYNC1)

    assert "The sync account was not authorised" in text
    assert "complete step 1, admin consent, first" in text
    assert await product.connections.sync_accounts() == []
    kinds = [s.kind for s in await product.connections.status()]
    assert "microsoft-sync-accounts" in kinds


async def test_a_replayed_sync_account_answer_is_refused(
    consented: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    product = consented
    to_entra = await browser.redirect_of(
        f"{product.url}/connect/microsoft/sync-account?login_hint={SYNC1}"
    )
    callback = await browser.redirect_of(to_entra.replace("form_post", "query"))
    first = await browser.open(callback)
    assert "Sync account authorised" in first.text
    before = await raw_connection_records(product)

    replay = await browser.open(callback)

    assert replay.status == 400
    assert "no longer valid" in replay.text
    assert await raw_connection_records(product) == before
