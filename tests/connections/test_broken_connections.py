"""Revoked consent and revoked tokens: broken with a reason, an alert, recovery without restart."""

from __future__ import annotations

import pytest

from presence_sync.errors import GraphAuthError, RingCentralAuthError
from presence_sync.providers import NotConnectedError
from presence_sync.store import SYSTEM, Notice, Store
from sandbox.server import RunningSandbox
from tests.connections.product import ADMIN, Browser, ProductServer, control


async def health_alerts(product: ProductServer) -> list[Notice]:
    """Health alerts waiting in the outbox."""
    store: Store = await product.store()
    return [n for n in await store.list_notices() if n.kind == "health-alert"]


async def consent(product: ProductServer, browser: Browser, sandbox: RunningSandbox) -> None:
    """Admin consent by the Global Administrator through the product's route."""
    await control(sandbox, "POST", "/_sandbox/consent", {"admin_decision": "approve"})
    page = await browser.open(f"{product.url}/connect/microsoft/consent?login_hint={ADMIN}")
    assert "Microsoft is connected" in page.text


async def test_revoked_consent_breaks_microsoft_alerts_the_admin_and_re_consent_recovers(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    await consent(product, browser, sandbox)
    graph = await product.connections.graph()
    assert [u async for u in graph.list_users()]

    await control(sandbox, "POST", "/_sandbox/faults", {"revoke": "microsoft-consent"})
    with pytest.raises(GraphAuthError):
        _ = [u async for u in graph.list_users()]

    states = {s.kind: s for s in await product.connections.status()}
    broken = states["microsoft"]
    assert broken.state == "broken"
    assert broken.reason is not None
    assert "no longer" in broken.reason
    assert "admin consent" in broken.fix
    with pytest.raises(NotConnectedError, match="Microsoft connection is broken"):
        await product.connections.graph()
    alerts = await health_alerts(product)
    assert [(a.recipient, a.channel) for a in alerts] == [(ADMIN, "chat")]
    assert alerts[0].payload["connection"] == "microsoft"
    assert alerts[0].payload["reason"] == broken.reason
    # A caller reporting the same failure again raises no second alert.
    await product.connections.report_failure("graph", GraphAuthError("refused"))
    assert len(await health_alerts(product)) == 1

    await consent(product, browser, sandbox)

    recovered = await product.connections.graph()
    assert recovered is graph  # whoever kept the client has a working one again
    assert [u async for u in recovered.list_users()]
    assert {s.kind: s.state for s in await product.connections.status()}["microsoft"] == (
        "connected"
    )
    # One alert for the incident, and one word to the same admin when it healed.
    notices = sorted(await health_alerts(product), key=lambda n: n.created_at)
    assert [(n.recipient, n.payload["state"]) for n in notices] == [
        (ADMIN, "broken"),
        (ADMIN, "recovered"),
    ]


async def test_ringcentral_jwt_connection_is_tested_by_a_real_call(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    with pytest.raises(NotConnectedError, match="Connect RingCentral"):
        await product.connections.ringcentral()
    await control(sandbox, "DELETE", "/_sandbox/requests")

    status, body = await browser.call("POST", f"{product.url}/connect/ringcentral")
    assert status == 200, body

    calls = (await control(sandbox, "GET", "/_sandbox/requests"))["calls"]
    assert calls["ringcentral POST /ringcentral/restapi/oauth/token"] == 1
    extension = (
        "ringcentral GET /ringcentral/restapi/v1.0/account/{accountId}/extension/{extensionId}"
    )
    assert calls[extension] == 1
    assert body["state"] == "connected"
    owner = (await control(sandbox, "GET", f"/_sandbox/state/{ADMIN}"))["ringcentral"]
    assert body["details"]["extension_id"] == owner["id"]
    client = await product.connections.ringcentral()
    assert (await client.current_extension()).id == owner["id"]


async def test_revoked_ringcentral_tokens_break_the_connection_until_it_logs_in_again(
    product: ProductServer, sandbox: RunningSandbox
) -> None:
    await consent_granted(sandbox)
    await product.connections.microsoft.check()
    await product.connections.rc.connect(actor=SYSTEM)
    client = await product.connections.ringcentral()

    await control(sandbox, "POST", "/_sandbox/faults", {"revoke": "ringcentral-token"})
    with pytest.raises(RingCentralAuthError):
        await client.current_extension()

    states = {s.kind: s for s in await product.connections.status()}
    assert states["ringcentral"].state == "broken"
    assert "Press Connect RingCentral again" in (states["ringcentral"].reason or "")
    with pytest.raises(NotConnectedError, match="RingCentral connection is broken"):
        await product.connections.ringcentral()
    alerts = await health_alerts(product)
    assert [a.payload["connection"] for a in alerts] == ["ringcentral"]

    # The periodic re-check logs in with the JWT again by itself (no restart, no admin).
    await product.connections.recheck()

    again = await product.connections.ringcentral()
    assert again is client
    assert (await again.current_extension()).id
    assert {s.kind: s.state for s in await product.connections.status()}["ringcentral"] == (
        "connected"
    )


async def consent_granted(sandbox: RunningSandbox) -> None:
    """The tenant's consent, as if given in the Azure portal."""
    await control(sandbox, "POST", "/_sandbox/consent", {"granted": True})

