"""1,400 linked users and two sync accounts: two full shards, 100 polled, an hour of renewals.

Two product replicas share one store: the lease lets only one of them manage subscriptions,
so each subscription is renewed once in the hour, never twice.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.graph.client_sandbox import ClientSandbox
from tests.watch.harness import ProductFactory, eventually, people

TIME_SCALE = 300.0  # an hour of sandbox time in 12 real seconds
LINKED = 1400


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A sandbox big enough for 1,400 people on both sides, on a fast clock."""
    return {"users": 1900, "time_scale": TIME_SCALE}


async def test_two_shards_of_650_and_100_polled_renewed_through_an_hour_by_one_replica(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    accounts = [f"sync{n}@{client_sandbox.ctx.org.tenant_domain}" for n in (1, 2)]
    quiet = {
        "watch_reconcile_interval": 36_000.0,  # keep the reconciliation walk out of this test
        "graph_poll_min_interval": 60.0,  # sandbox seconds: 0.2 real seconds at this scale
    }
    first = await products.start(accounts=accounts, settings=quiet, tick=0.1)
    second = await products.start(accounts=accounts, settings=quiet, tick=0.1)
    links = [link for link in people(client_sandbox) if link.rc_extension_id][:LINKED]
    assert len(links) == LINKED
    await first.store.upsert_links(links)

    async def sharded() -> bool:
        subs = await first.store.list_subscriptions("graph")
        return sorted(len(s.details.user_ids) for s in subs) == [650, 650]

    await eventually(sharded, within=30)
    leader = first if first.watchers.leader else second
    assert leader.watchers.leader
    assert not (first.watchers.leader and second.watchers.leader)

    coverage = await leader.watchers.coverage()
    assert (coverage.users, coverage.by_notification, coverage.by_polling) == (LINKED, 1300, 100)
    assert coverage.graph_subscriptions == 2
    assert coverage.poll_interval is not None
    listed = (await client_sandbox.control("GET", "/_sandbox/graph/subscriptions"))["value"]
    assert sorted(s["users"] for s in listed) == [650, 650]
    created = {s["id"] for s in listed}
    renewals = await client_sandbox.count("graph", "PATCH", "/subscriptions/{id}")

    start = client_sandbox.ctx.clock.now()

    async def an_hour_passed() -> bool:
        return client_sandbox.ctx.clock.now() - start >= 3600

    await eventually(an_hour_passed, within=30, interval=0.2)

    listed = (await client_sandbox.control("GET", "/_sandbox/graph/subscriptions"))["value"]
    assert {s["id"] for s in listed} == created, "renewed, not recreated"
    assert all(s["secondsLeft"] > 0 for s in listed), "none expired"
    # One renewal each: the replica without the lease never renewed a second time.
    assert await client_sandbox.count("graph", "PATCH", "/subscriptions/{id}") - renewals == 2
