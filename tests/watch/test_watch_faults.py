"""Faults: a removed subscription comes back, lost and duplicated notifications are
reconciled, and a provider that stops answering wedges nothing."""

from __future__ import annotations

import random

from tests.graph.client_sandbox import ClientSandbox
from tests.watch.harness import Product, ProductFactory, eventually, people, steadily

PAIRS = [
    ("Available", "Available"),
    ("Busy", "Busy"),
    ("DoNotDisturb", "DoNotDisturb"),
    ("Away", "Away"),
    ("BeRightBack", "BeRightBack"),
]


def sync_account(sandbox: ClientSandbox) -> str:
    """The first sync account candidate."""
    return f"sync1@{sandbox.ctx.org.tenant_domain}"


async def sandbox_teams(sandbox: ClientSandbox, email: str) -> tuple[str, str]:
    """The user's aggregated Teams presence as the sandbox holds it."""
    person = await sandbox.control("GET", f"/_sandbox/state/{email}")
    presence = person["teams"]["presence"]
    return presence["availability"], presence["activity"]


async def stored_teams(product: Product, link_id: str) -> tuple[str, str] | None:
    """The Teams presence the product's store holds."""
    link = await product.store.get_link(link_id)
    if link is None or link.teams is None:
        return None
    return link.teams.availability, link.teams.activity


async def subscribed(product: Product) -> bool:
    """Whether one stored subscription watches exactly the roster."""
    roster = set(product.watchers.roster.teams_ids)
    subs = await product.store.list_subscriptions("graph")
    return bool(roster) and [set(s.details.user_ids) for s in subs] == [roster]


async def test_a_removed_subscription_is_recreated(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    product = await products.start(
        accounts=[sync_account(client_sandbox)],
        settings={"graph_poll_budget_share": 0.001, "watch_reconcile_interval": 3600.0},
    )
    links = [link for link in people(client_sandbox) if link.rc_extension_id]
    await product.store.upsert_links(links)
    await steadily(lambda: subscribed(product))
    (old,) = await product.store.list_subscriptions("graph")

    await client_sandbox.control("DELETE", f"/_sandbox/graph/subscriptions/{old.id}")

    async def recreated() -> bool:
        subs = await product.store.list_subscriptions("graph")
        return bool(subs) and subs[0].id != old.id and await subscribed(product)

    await eventually(recreated)
    listed = (await client_sandbox.control("GET", "/_sandbox/graph/subscriptions"))["value"]
    assert [s["id"] for s in listed] == [(await product.store.list_subscriptions("graph"))[0].id]

    target = links[1]
    await client_sandbox.control(
        "POST",
        f"/_sandbox/teams/{target.upn}/presence",
        {"availability": "Busy", "activity": "Busy"},
    )

    async def seen() -> bool:
        return await stored_teams(product, target.id) == ("Busy", "Busy")

    await eventually(seen, within=5)


async def test_dropped_and_duplicated_notifications_end_correct_after_reconciliation(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    product = await products.start(
        accounts=[sync_account(client_sandbox)],
        # No fast polling: notifications and the 3-second reconciliation are all there is.
        settings={"graph_poll_budget_share": 0.001, "watch_reconcile_interval": 3.0},
    )
    links = [link for link in people(client_sandbox) if link.rc_extension_id]
    await product.store.upsert_links(links)
    await steadily(lambda: subscribed(product))
    await client_sandbox.fault({"target": "graph-notifications", "drop": 0.2, "duplicate": 0.2})

    rng = random.Random(4)
    for _ in range(3):
        for link in links:
            availability, activity = rng.choice(PAIRS)
            await client_sandbox.control(
                "POST",
                f"/_sandbox/teams/{link.upn}/presence",
                {"availability": availability, "activity": activity},
            )

    async def all_correct() -> bool:
        for link in links:
            assert link.upn is not None
            if await stored_teams(product, link.id) != await sandbox_teams(
                client_sandbox, link.upn
            ):
                return False
        return True

    await eventually(all_correct, within=15, interval=0.3)
    listed = (await client_sandbox.control("GET", "/_sandbox/graph/subscriptions"))["value"]
    assert listed[0]["delivered"] > 0, "notifications were delivered, some dropped or doubled"


async def test_a_provider_that_stops_answering_wedges_nothing(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    product = await products.start(accounts=[], graph_timeout=1.0)
    links = [link for link in people(client_sandbox) if link.rc_extension_id]
    await product.store.upsert_links(links)
    target = links[2]

    async def observed() -> bool:
        return await stored_teams(product, target.id) is not None

    await eventually(observed)
    await client_sandbox.fault({"target": "graph", "delay_ms": 4000})
    await client_sandbox.control(
        "POST",
        f"/_sandbox/teams/{target.upn}/presence",
        {"availability": "Away", "activity": "Away"},
    )
    # While Graph hangs, the webhook routes still answer at once.
    response = await client_sandbox.http.post(
        f"{product.base_url}/api/notifications/ringcentral", headers={"Validation-Token": "t"}
    )
    assert response.status == 200
    await client_sandbox.clear_faults()

    async def away() -> bool:
        return await stored_teams(product, target.id) == ("Away", "Away")

    await eventually(away, within=10)


async def test_lifecycle_events_reauthorize_and_read_what_was_missed(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    product = await products.start(
        accounts=[sync_account(client_sandbox)],
        settings={"graph_poll_budget_share": 0.001, "watch_reconcile_interval": 3600.0},
    )
    links = [link for link in people(client_sandbox) if link.rc_extension_id]
    await product.store.upsert_links(links)
    await steadily(lambda: subscribed(product))
    (sub,) = await product.store.list_subscriptions("graph")
    reads = await client_sandbox.count("graph", "POST", "/communications/getPresencesByUserId")

    await client_sandbox.control(
        "POST", f"/_sandbox/graph/subscriptions/{sub.id}/lifecycle", {"event": "missed"}
    )

    async def read_again() -> bool:
        now = await client_sandbox.count("graph", "POST", "/communications/getPresencesByUserId")
        return now > reads

    await eventually(read_again, within=5)

    await client_sandbox.control(
        "POST",
        f"/_sandbox/graph/subscriptions/{sub.id}/lifecycle",
        {"event": "reauthorizationRequired"},
    )

    async def reauthorized() -> bool:
        return await client_sandbox.count("graph", "POST", "/subscriptions/{id}/reauthorize") == 1

    await eventually(reauthorized, within=5)
    assert [s.id for s in await product.store.list_subscriptions("graph")] == [sub.id]
