"""A presence change in the sandbox becomes an observation by notification, poll or webhook."""

from __future__ import annotations

from presence_sync.store.models import UserLink
from tests.graph.client_sandbox import ClientSandbox
from tests.watch.harness import Product, ProductFactory, eventually, people, steadily

SLOW_POLLING = {"graph_poll_budget_share": 0.001, "watch_reconcile_interval": 3600.0}


def sync_account(sandbox: ClientSandbox, n: int = 1) -> str:
    """The n-th sync account candidate's UPN."""
    return f"sync{n}@{sandbox.ctx.org.tenant_domain}"


async def link_people(
    product: Product, sandbox: ClientSandbox, count: int | None = None
) -> list[UserLink]:
    """Link the sandbox's people in the product's store."""
    links = people(sandbox, count)
    await product.store.upsert_links(links)
    return links


async def teams_of(product: Product, link_id: str) -> tuple[str, str] | None:
    """The Teams presence the store holds for a link."""
    link = await product.store.get_link(link_id)
    assert link is not None
    return (link.teams.availability, link.teams.activity) if link.teams else None


async def test_a_subscribed_users_change_arrives_by_notification(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    product = await products.start(accounts=[sync_account(client_sandbox)], settings=SLOW_POLLING)
    links = [link for link in await link_people(product, client_sandbox) if link.rc_extension_id]
    target = links[3]

    async def subscribed() -> bool:
        roster = set(product.watchers.roster.teams_ids)
        subs = await product.store.list_subscriptions("graph")
        return target.teams_user_id in roster and [set(s.details.user_ids) for s in subs] == [
            roster
        ]

    await steadily(subscribed)
    await eventually(lambda: _observed(product, target.id))

    await client_sandbox.control(
        "POST",
        f"/_sandbox/teams/{target.upn}/presence",
        {"availability": "Busy", "activity": "Busy"},
    )

    async def busy() -> bool:
        return await teams_of(product, target.id) == ("Busy", "Busy")

    # Polling reads these users only every 20 s here: seeing it sooner took the notification.
    await eventually(busy, within=5)
    listed = (await client_sandbox.control("GET", "/_sandbox/graph/subscriptions"))["value"]
    assert sum(s["delivered"] for s in listed) >= 1


async def _observed(product: Product, link_id: str) -> bool:
    return await teams_of(product, link_id) is not None


async def test_an_unsubscribed_users_change_arrives_by_polling(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    product = await products.start(accounts=[])  # no sync account: nobody can be subscribed
    links = [link for link in await link_people(product, client_sandbox) if link.rc_extension_id]
    target = links[5]
    await eventually(lambda: _observed(product, target.id))

    await client_sandbox.control(
        "POST",
        f"/_sandbox/teams/{target.upn}/presence",
        {"availability": "DoNotDisturb", "activity": "Presenting"},
    )

    async def dnd() -> bool:
        return await teams_of(product, target.id) == ("DoNotDisturb", "Presenting")

    await eventually(dnd, within=5)
    coverage = await product.watchers.coverage()
    assert coverage.users
    assert (coverage.by_notification, coverage.by_polling) == (0, coverage.users)
    assert coverage.fast_polling
    assert coverage.poll_interval == 1.0


async def test_a_ringcentral_change_arrives_by_webhook(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    product = await products.start(accounts=[], settings=SLOW_POLLING)
    links = [link for link in await link_people(product, client_sandbox) if link.rc_extension_id]
    target = links[2]

    async def subscribed() -> bool:
        return (await product.watchers.coverage()).ringcentral_subscription

    await steadily(subscribed)
    await eventually(lambda: _rc_observed(product, target.id))
    await eventually(lambda: _walk_done(product))

    await client_sandbox.control(
        "POST", f"/_sandbox/ringcentral/{target.upn}/presence", {"dndStatus": "DoNotAcceptAnyCalls"}
    )

    async def dnd() -> bool:
        link = await product.store.get_link(target.id)
        return (
            link is not None and link.rc is not None and link.rc.dnd_status == "DoNotAcceptAnyCalls"
        )

    await eventually(dnd, within=5)
    link = await product.store.get_link(target.id)
    assert link is not None
    assert link.rc is not None
    assert link.rc.sequence is not None


async def _walk_done(product: Product) -> bool:
    return not product.watchers.rc_poller.walking


async def _rc_observed(product: Product, link_id: str) -> bool:
    link = await product.store.get_link(link_id)
    return link is not None and link.rc is not None
