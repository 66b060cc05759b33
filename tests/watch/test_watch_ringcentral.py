"""The RingCentral webhook subscription is recreated when RingCentral drops it, and the
reconciliation walk reads every extension in batches of 30."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import pytest

from presence_sync.store.base import Store
from presence_sync.store.models import UserLink
from tests.graph.client_sandbox import ClientSandbox
from tests.watch.harness import ProductFactory, eventually, people

TIME_SCALE = 100.0  # the five-minute delivery check every 3 real seconds


async def everyone_read(store: Store, links: Sequence[UserLink]) -> bool:
    """Whether the store holds a RingCentral observation for every one of `links`."""
    for link in links:
        stored = await store.get_link(link.id)
        if stored is None or stored.rc is None:
            return False
    return True


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A small org on a faster clock."""
    return {"users": 90, "time_scale": TIME_SCALE}


async def test_a_removed_ringcentral_subscription_is_recreated_and_delivers(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    product = await products.start(
        settings={"graph_poll_budget_share": 0.001, "watch_reconcile_interval": 360_000.0}
    )
    links = [link for link in people(client_sandbox) if link.rc_extension_id]
    await product.store.upsert_links(links)

    async def one_subscription() -> bool:
        return len(await product.store.list_subscriptions("ringcentral")) == 1

    await eventually(one_subscription)
    (old,) = await product.store.list_subscriptions("ringcentral")

    await client_sandbox.control("DELETE", f"/_sandbox/ringcentral/subscriptions/{old.id}")

    async def recreated() -> bool:
        subs = await product.store.list_subscriptions("ringcentral")
        return len(subs) == 1 and subs[0].id != old.id

    await eventually(recreated, within=15)
    target = links[4]
    await client_sandbox.control(
        "POST", f"/_sandbox/ringcentral/{target.upn}/call", {"action": "connect"}
    )

    async def in_call() -> bool:
        link = await product.store.get_link(target.id)
        rc = link.rc if link is not None else None
        return rc is not None and rc.telephony_status == "CallConnected"

    await eventually(in_call, within=5)


async def test_reconciliation_reads_every_extension_in_batches_of_30(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    product = await products.start(settings={"graph_poll_budget_share": 0.001})
    links = [link for link in people(client_sandbox) if link.rc_extension_id]
    await product.store.upsert_links(links)

    await eventually(partial(everyone_read, product.store, links), within=15)
    batches = await client_sandbox.count("ringcentral", "GET", "/presence")
    assert batches >= -(-len(links) // 30)


async def test_a_slow_reconciliation_read_is_dated_when_it_was_asked_for(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    # Every RingCentral answer takes a sandbox minute (0.6 real seconds). A read recorded
    # when it arrives would look a minute newer than it is, newer than writes of ours
    # confirmed meanwhile.
    real_delay = 0.6
    delay = real_delay * TIME_SCALE
    await client_sandbox.control(
        "POST", "/_sandbox/faults", {"target": "ringcentral", "delay_ms": real_delay * 1000}
    )
    product = await products.start(settings={"graph_poll_budget_share": 0.001})
    links = [link for link in people(client_sandbox) if link.rc_extension_id]
    await product.store.upsert_links(links)
    clock = client_sandbox.ctx.clock

    await eventually(partial(everyone_read, product.store, links), within=30)
    read_by = clock.now()
    stamps = []
    for link in links:
        stored = await product.store.get_link(link.id)
        assert stored is not None
        assert stored.rc is not None
        # A numbered event (the echo of a write the product made for someone whose Teams
        # presence it read) carries RingCentral's own time; only reads are dated by us.
        if stored.rc.sequence is None:
            stamps.append(stored.rc.observed_at)
    assert len(stamps) >= len(links) // 2
    assert max(stamps) <= read_by - delay
