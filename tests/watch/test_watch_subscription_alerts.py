"""Subscriptions that keep failing tell the admins once, and once more when they work again.

The sandbox's clock runs 60 times faster, so the minute between subscription reviews takes a
second; Graph answers 503 to everything until the fault is lifted.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from presence_sync.store.models import Notice
from presence_sync.watch.service import SUBSCRIPTION_ALERT_AFTER
from tests.graph.client_sandbox import ClientSandbox
from tests.watch.harness import Product, ProductFactory
from tests.watch.test_watch_detection import link_people, sync_account

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A clock 60 times faster: one subscription review a second."""
    return {"time_scale": 60.0}


async def subscription_notices(product: Product) -> list[Notice]:
    """Health notices about subscriptions, oldest first."""
    found = [
        n
        for n in await product.store.list_notices(limit=100)
        if n.payload.get("connection") == "subscriptions"
    ]
    return sorted(found, key=lambda n: n.created_at)


async def until_notices(product: Product, count: int, within: float = 90.0) -> list[Notice]:
    """The subscription notices once there are `count` of them."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = await subscription_notices(product)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"fewer than {count} subscription notices within {within} s")


async def test_failing_subscriptions_alert_the_admins_once_and_then_say_they_recovered(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    await client_sandbox.control("POST", "/_sandbox/faults", {"target": "graph", "status": 503})
    product = await products.start(accounts=[sync_account(client_sandbox)], graph_timeout=1.0)
    await link_people(product, client_sandbox)

    (alert,) = await until_notices(product, 1)
    assert alert.payload["state"] == "broken"
    assert f"{SUBSCRIPTION_ALERT_AFTER} subscription reviews in a row failed" in str(
        alert.payload["reason"]
    )
    await asyncio.sleep(3.0)  # more failed reviews: still one alert for this incident
    assert len(await subscription_notices(product)) == 1

    await client_sandbox.control("DELETE", "/_sandbox/faults")

    alert, healed = await until_notices(product, 2)
    assert healed.payload["state"] == "recovered"
    assert healed.recipient == alert.recipient
    assert bool(await product.store.list_subscriptions("graph"))
