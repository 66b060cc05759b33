"""RingCentral's OAuth sign-in: the redirect, its single-use state, refusals.

The sandbox has no RingCentral authorize page and its token endpoint no authorization-code
grant, so a successful code exchange cannot be shown here; the refusal paths can.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

from tests.connections.product import Browser, ProductServer

CALLBACK = "/connect/ringcentral/oauth/callback"


async def start_sign_in(product: ProductServer, browser: Browser) -> dict[str, list[str]]:
    """Follow the product's redirect to RingCentral; the sign-in URL's query."""
    to_ringcentral = await browser.redirect_of(f"{product.url}/connect/ringcentral/oauth")
    parts = urlsplit(to_ringcentral)
    assert to_ringcentral.startswith(product.settings.ringcentral_server_url)
    assert parts.path.endswith("/restapi/oauth/authorize")
    return parse_qs(parts.query)


async def ringcentral_state(product: ProductServer) -> str:
    """The RingCentral row of the status."""
    states = {s.kind: s.state for s in await product.connections.status()}
    return states["ringcentral"]


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
    assert await ringcentral_state(product) == "missing"


async def test_a_code_ringcentral_refuses_records_nothing(
    product: ProductServer, browser: Browser
) -> None:
    state = (await start_sign_in(product, browser))["state"][0]

    page = await browser.open(f"{product.url}{CALLBACK}?code=not-a-code&state={state}")

    assert "RingCentral was not connected" in page.text
    assert "RingCentral refused" in page.text
    assert await ringcentral_state(product) == "missing"
