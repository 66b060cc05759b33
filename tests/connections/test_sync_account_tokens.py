"""Sync-account tokens under refresh: revoked ones break only that account; rotation by
another replica is picked up from the store instead of being mistaken for a revocation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from presence_sync.graph import EntraError
from presence_sync.store import Store
from sandbox.server import RunningSandbox
from tests.connections.product import SYNC1, SYNC2, Browser, ProductServer, control

StartProduct = Callable[[], Awaitable[ProductServer]]


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """Sandbox time 60x faster: access tokens live a real minute, so MSAL refreshes each time."""
    return {"users": 12, "time_scale": 60}


async def set_up(product: ProductServer, browser: Browser, sandbox: RunningSandbox) -> None:
    """Consent (as given in the portal) and two sync accounts."""
    await control(sandbox, "POST", "/_sandbox/consent", {"granted": True})
    await product.connections.microsoft.check()
    for upn in (SYNC1, SYNC2):
        page = await browser.open(f"{product.url}/connect/microsoft/sync-account?login_hint={upn}")
        assert "Sync account authorised" in page.text


async def test_revoked_sync_account_tokens_break_that_account_only_until_it_signs_in_again(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    await set_up(product, browser, sandbox)
    graph = await product.connections.graph()

    await control(sandbox, "POST", "/_sandbox/faults", {"revoke": "microsoft-refresh-tokens"})
    with pytest.raises(EntraError):
        await graph.tokens.delegated_token(SYNC1)
    await control(sandbox, "DELETE", "/_sandbox/faults")

    states = {s.kind: s for s in await product.connections.status()}
    broken = states[f"microsoft-sync-account:{SYNC1}"]
    assert broken.state == "broken"
    assert "revoked the sign-in" in (broken.reason or "")
    assert states["microsoft"].state == "connected"
    assert await product.connections.sync_accounts() == [SYNC2]
    store: Store = await product.store()
    alerts = [n for n in await store.list_notices() if n.kind == "health-alert"]
    assert [a.payload["connection"] for a in alerts] == [f"microsoft-sync-account:{SYNC1}"]

    page = await browser.open(f"{product.url}/connect/microsoft/sync-account?login_hint={SYNC1}")

    assert "Sync account authorised" in page.text
    assert await product.connections.sync_accounts() == [SYNC1, SYNC2]
    assert await graph.tokens.delegated_token(SYNC1)


async def test_a_refresh_by_another_replica_is_not_taken_for_a_revocation(
    start: StartProduct, browser: Browser, sandbox: RunningSandbox
) -> None:
    first = await start()
    await set_up(first, browser, sandbox)
    second = await start()
    on_first = await first.connections.graph()
    on_second = await second.connections.graph()
    assert await on_second.tokens.delegated_token(SYNC1)  # second loads the stored tokens

    # The first replica refreshes: Entra rotates the refresh token the second one holds.
    assert await on_first.tokens.delegated_token(SYNC1)
    assert await on_first.tokens.delegated_token(SYNC1)

    assert await on_second.tokens.delegated_token(SYNC1)
    assert await second.connections.sync_accounts() == [SYNC1, SYNC2]
    assert await first.connections.sync_accounts() == [SYNC1, SYNC2]
