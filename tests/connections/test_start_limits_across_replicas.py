"""Sign-in start limits hold for the whole deployment: two replicas sharing one store give an
admin ten starts a minute between them, not ten each, and the minute slides on the product's
clock. SQLite (one file) and MongoDB (the FerretDB the tests run)."""

from __future__ import annotations

import pytest

from sandbox.server import RunningSandbox
from tests.connections.conftest import StartProduct
from tests.connections.product import Browser, ProductServer

CONSENT = "/connect/microsoft/consent"
RINGCENTRAL = "/connect/ringcentral/oauth"


class SteppedClock:
    """The sandbox's clock, moved on by hand: the product's minute passes when a test says."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self._sandbox = sandbox
        self.ahead = 0.0

    def now(self) -> float:
        """Sandbox time plus what the test moved on."""
        return self._sandbox.ctx.clock.now() + self.ahead


async def started(browser: Browser, product: ProductServer, path: str) -> None:
    """Start a sign-in step on `product`; it sends the browser on to sign in."""
    await browser.redirect_of(f"{product.url}{path}")


async def refused(browser: Browser, product: ProductServer, path: str = CONSENT) -> int:
    """Start a step that the limit refuses; its Retry-After."""
    async with browser.http.get(f"{product.url}{path}", allow_redirects=False) as response:
        assert response.status == 429, await response.text()
        message = (await response.json())["error"]["message"]
        assert "10 sign-in steps were started by you in the last minute" in message
        return int(response.headers["Retry-After"])


@pytest.mark.parametrize("store_kind", ["sqlite", "mongo"])
async def test_an_admins_eleventh_start_in_a_minute_is_refused_on_the_other_replica(
    start: StartProduct, browser: Browser
) -> None:
    first, second = await start(), await start()
    for _ in range(6):
        await started(browser, first, CONSENT)
    for _ in range(4):
        await started(browser, second, RINGCENTRAL)

    assert 1 <= await refused(browser, second, CONSENT) <= 60
    assert 1 <= await refused(browser, first, RINGCENTRAL) <= 60
    # Refusing a start is not refusing the admin: both replicas still answer them.
    for product in (first, second):
        status, _ = await browser.call("GET", f"{product.url}/api/connections")
        assert status == 200


@pytest.mark.parametrize("store_kind", ["sqlite", "mongo"])
async def test_a_start_is_allowed_again_once_the_oldest_leaves_the_minute(
    start: StartProduct, browser: Browser, sandbox: RunningSandbox
) -> None:
    clock = SteppedClock(sandbox)
    first, second = await start(clock=clock.now), await start(clock=clock.now)
    for _ in range(5):
        await started(browser, first, CONSENT)
    clock.ahead = 30.0
    for _ in range(5):
        await started(browser, second, CONSENT)

    # The oldest five end 60 s after they were made: 30 s from now, on either replica.
    assert 25 <= await refused(browser, first) <= 30
    clock.ahead = 61.0
    for _ in range(5):
        await started(browser, second, CONSENT)
    # A sliding minute, not a fresh one: the five made at 30 s still count.
    assert 25 <= await refused(browser, first) <= 30
