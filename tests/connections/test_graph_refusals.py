"""Graph refusals reach the connections service naming the token their call was made with."""

from __future__ import annotations

import pytest

from presence_sync.connections.records import sync_account_kind
from presence_sync.graph import (
    APP_TOKEN,
    EntraError,
    GraphClient,
    GraphPermissionError,
    GraphToken,
    GraphTokenProvider,
)
from presence_sync.store import Notice
from sandbox.server import RunningSandbox
from tests.connections.product import (
    SYNC1,
    Browser,
    ProductServer,
    consent_and_authorise,
    control,
)

SYNC1_KIND = sync_account_kind(SYNC1)


@pytest.fixture
async def connected(
    sandbox: RunningSandbox, product: ProductServer, browser: Browser
) -> ProductServer:
    """A product with admin consent and one authorised sync account."""
    await consent_and_authorise(product, browser, sandbox)
    return product


async def _states(product: ProductServer) -> dict[str, str]:
    return {s.kind: s.state for s in await product.connections.status()}


async def _alerts(product: ProductServer) -> list[Notice]:
    store = await product.store()
    return [n for n in await store.list_notices() if n.kind == "health-alert"]


async def test_a_missing_graph_permission_names_its_token_and_breaks_no_connection(
    connected: ProductServer, sandbox: RunningSandbox
) -> None:
    graph = await connected.connections.graph()
    await control(sandbox, "POST", "/_sandbox/faults", {"target": "graph", "status": 403})
    with pytest.raises(GraphPermissionError) as app_refused:
        _ = [u async for u in graph.list_users()]
    with pytest.raises(GraphPermissionError) as account_refused:
        await graph.list_subscriptions(SYNC1)
    await control(sandbox, "DELETE", "/_sandbox/faults")
    assert app_refused.value.token == APP_TOKEN
    assert account_refused.value.token == GraphToken.delegated(SYNC1)

    await connected.connections.report_failure("graph", app_refused.value)
    await connected.connections.report_failure("graph", account_refused.value)

    # A permission the admin has not granted is named where it is used, not as an outage.
    states = await _states(connected)
    assert (states["microsoft"], states[SYNC1_KIND]) == ("connected", "connected")
    assert await connected.connections.sync_accounts() == [SYNC1]
    assert await _alerts(connected) == []
    assert await graph.list_subscriptions(SYNC1) == []


async def test_a_refused_sync_account_sign_in_breaks_that_account_not_the_consent(
    connected: ProductServer,
) -> None:
    settings = connected.settings
    # Token provider holding none of the account's tokens: Entra has nothing to refresh.
    stranger = GraphTokenProvider(
        client_id=settings.microsoft_client_id or "",
        client_secret=settings.microsoft_client_secret or "",
        tenant=settings.microsoft_tenant_id or "",
        authority_host=settings.microsoft_authority_host,
        ca_file=settings.ca_file,
    )
    client = GraphClient(
        connected.connections.http, stranger, settings.graph_url, settings.http_timeout
    )
    try:
        with pytest.raises(EntraError) as refused:
            await client.list_subscriptions(SYNC1)
    finally:
        await stranger.close()
    assert refused.value.breaks_connection
    assert refused.value.token == GraphToken.delegated(SYNC1)

    await connected.connections.report_failure("graph", refused.value)

    states = await _states(connected)
    assert (states["microsoft"], states[SYNC1_KIND]) == ("connected", "broken")
    assert await connected.connections.sync_accounts() == []
    assert [a.payload["connection"] for a in await _alerts(connected)] == [SYNC1_KIND]
    assert await connected.connections.graph() is not None  # the app's own calls go on
