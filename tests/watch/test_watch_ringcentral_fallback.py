"""When RingCentral refuses the account-level presence filter, the product subscribes to each
linked user's extension instead: everyone linked is covered, the list follows linking and
unlinking, the subscription is renewed, and the account filter is taken once it is granted."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from presence_sync.store.models import Subscription, UserLink
from presence_sync.watch.ringcentral_subscriptions import ACCOUNT_FILTER, extension_filter
from tests.graph.client_sandbox import ClientSandbox
from tests.watch.harness import Product, ProductFactory, eventually, people

TIME_SCALE = 1000.0  # the product's hour-long waits take 3.6 real seconds
LIFETIME = 7200  # product seconds: renewed when under a quarter is left, every ~5 real seconds
QUIET = {
    "graph_poll_budget_share": 0.001,
    "watch_reconcile_interval": 3_600_000.0,  # no reconciliation walk: only webhooks observe
    "ringcentral_subscription_lifetime": LIFETIME,
}


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A small org on a fast clock."""
    return {"users": 40, "time_scale": TIME_SCALE}


def rc_people(sandbox: ClientSandbox) -> list[UserLink]:
    """Links for the sandbox's people who have a RingCentral extension."""
    return [link for link in people(sandbox) if link.rc_extension_id]


async def refuse_account_filter(sandbox: ClientSandbox, refused: bool = True) -> None:
    """Withdraw (or grant) the admin's right to the account-level presence filter."""
    answer = await sandbox.control(
        "POST", "/_sandbox/ringcentral/permissions", {"account_presence": not refused}
    )
    assert answer["account_presence"] is not refused


async def sandbox_filters(sandbox: ClientSandbox) -> list[list[str]]:
    """The event filters of every subscription RingCentral holds."""
    listed = await sandbox.control("GET", "/_sandbox/ringcentral/subscriptions")
    return [sorted(record["eventFilters"]) for record in listed["records"]]


def filters_of(links: list[UserLink]) -> list[str]:
    """The extension filters that cover exactly `links`."""
    return sorted(extension_filter(str(link.rc_extension_id)) for link in links)


async def stored(product: Product) -> list[Subscription]:
    """The product's RingCentral subscription records."""
    return await product.store.list_subscriptions("ringcentral")


async def covered_exactly(sandbox: ClientSandbox, product: Product, links: list[UserLink]) -> bool:
    """One subscription at RingCentral and in the store, listing exactly `links`."""
    subs = await stored(product)
    wanted = sorted(str(link.rc_extension_id) for link in links)
    return (
        await sandbox_filters(sandbox) == [filters_of(links)]
        and len(subs) == 1
        and subs[0].details.filter == "extensions"
        and sorted(subs[0].details.extensions) == wanted
    )


async def observes_call(sandbox: ClientSandbox, product: Product, link: UserLink) -> None:
    """A call the user takes in RingCentral reaches the product's store by webhook."""
    email = sandbox.ctx.org.rc_extensions[str(link.rc_extension_id)].email
    await sandbox.control("POST", f"/_sandbox/ringcentral/{email}/call", {"action": "connect"})

    async def in_call() -> bool:
        found = await product.store.get_link(link.id)
        rc = found.rc if found is not None else None
        return rc is not None and rc.telephony_status == "CallConnected"

    await eventually(in_call, within=5)


async def test_refused_account_filter_falls_back_to_every_linked_extension(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    await refuse_account_filter(client_sandbox)
    links = rc_people(client_sandbox)[:12]
    product = await products.start(settings=QUIET)

    await product.store.upsert_links(links)

    await eventually(lambda: covered_exactly(client_sandbox, product, links), within=10)
    for link in (links[0], links[-1]):
        await observes_call(client_sandbox, product, link)


async def test_the_filter_list_follows_linking_and_unlinking(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    await refuse_account_filter(client_sandbox)
    everyone = rc_people(client_sandbox)
    first, later = everyone[:8], everyone[8:12]
    product = await products.start(settings=QUIET)
    await product.store.upsert_links(first)
    await eventually(lambda: covered_exactly(client_sandbox, product, first), within=10)
    (before,) = await stored(product)

    unlinked = first[:3]
    await product.store.upsert_links(later)
    # The directory may have met these people already (unsynced): an admin syncs them.
    for link in later:
        await product.store.update_link(link.id, sync_enabled=True)
    for link in unlinked:
        await product.store.update_link(link.id, sync_enabled=False)
    now_linked = [*first[3:], *later]

    await eventually(lambda: covered_exactly(client_sandbox, product, now_linked), within=10)
    (after,) = await stored(product)
    assert after.id != before.id  # the old subscription is gone at RingCentral too
    await observes_call(client_sandbox, product, later[0])


async def test_no_one_linked_means_no_subscription_until_someone_is(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    await refuse_account_filter(client_sandbox)
    links = rc_people(client_sandbox)[:3]
    product = await products.start(settings=QUIET)
    await product.store.upsert_links(links)
    await eventually(lambda: covered_exactly(client_sandbox, product, links), within=10)

    for link in links:
        await product.store.update_link(link.id, sync_enabled=False)

    async def nothing_left() -> bool:
        return await sandbox_filters(client_sandbox) == [] and await stored(product) == []

    await eventually(nothing_left, within=10)
    creates = await client_sandbox.count("ringcentral", "POST", "/subscription")
    await asyncio.sleep(1.0)  # a quarter of the product's hour: ~15 subscription reviews

    # Refused once, the account filter is not asked for again every review.
    assert await client_sandbox.count("ringcentral", "POST", "/subscription") == creates
    assert await sandbox_filters(client_sandbox) == []
    await product.store.update_link(links[0].id, sync_enabled=True)
    await eventually(lambda: covered_exactly(client_sandbox, product, links[:1]), within=10)


async def test_the_extension_subscription_is_renewed_and_never_lapses(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    await refuse_account_filter(client_sandbox)
    links = rc_people(client_sandbox)[:5]
    product = await products.start(settings=QUIET)
    await product.store.upsert_links(links)
    await eventually(lambda: covered_exactly(client_sandbox, product, links), within=10)
    (first,) = await stored(product)

    async def renewed() -> bool:
        subs = await stored(product)
        return len(subs) == 1 and subs[0].expires_at > first.expires_at

    # One lifetime is 7.2 real seconds: renewal comes before three quarters of it passed.
    await eventually(renewed, within=8)
    (now,) = await stored(product)
    assert now.id == first.id
    assert await sandbox_filters(client_sandbox) == [filters_of(links)]
    await observes_call(client_sandbox, product, links[2])


async def test_the_account_filter_is_taken_once_it_is_granted(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    await refuse_account_filter(client_sandbox)
    links = rc_people(client_sandbox)[:4]
    product = await products.start(settings=QUIET)
    await product.store.upsert_links(links)
    await eventually(lambda: covered_exactly(client_sandbox, product, links), within=10)

    await refuse_account_filter(client_sandbox, refused=False)

    async def on_account_filter() -> bool:
        subs = await stored(product)
        return await sandbox_filters(client_sandbox) == [[ACCOUNT_FILTER]] and [
            s.details.filter for s in subs
        ] == ["account"]

    # The product asks again after an hour of its clock: 3.6 real seconds.
    await eventually(on_account_filter, within=10)
    await observes_call(client_sandbox, product, links[1])


async def test_a_lost_account_subscription_comes_back_per_extension_once_rights_are_gone(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    links = rc_people(client_sandbox)[:6]
    product = await products.start(settings=QUIET)
    await product.store.upsert_links(links)

    async def on_account_filter() -> bool:
        return await sandbox_filters(client_sandbox) == [[ACCOUNT_FILTER]]

    await eventually(on_account_filter, within=10)
    (old,) = await stored(product)

    # The admin's role loses company-wide presence, and RingCentral drops the subscription.
    await refuse_account_filter(client_sandbox)
    await client_sandbox.control("DELETE", f"/_sandbox/ringcentral/subscriptions/{old.id}")

    await eventually(lambda: covered_exactly(client_sandbox, product, links), within=10)
    await observes_call(client_sandbox, product, links[3])
