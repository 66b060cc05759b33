"""One forged sequence number cannot mute a person's RingCentral events.

Events are delivered to the product's real webhook, either by the sandbox (genuine) or by the
test with the subscription's real verification token (forged, as a leaked token would allow).
An event numbered far ahead of the last one the product took, or behind it, is trusted only
once a read of that person's presence (through the real client, from the sandbox) confirms it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import partial
from typing import Any

import pytest

from presence_sync.engine import SEQUENCE_JUMP
from presence_sync.store.models import UserLink
from tests.graph.client_sandbox import ClientSandbox
from tests.watch.harness import Product, ProductFactory, eventually, people
from tests.watch.test_watch_ringcentral import everyone_read

# The reconciliation walk reads everyone at start and then not for 100 sandbox hours: what
# the product takes after that came from events and the reads that verify them.
QUIET = {"graph_poll_budget_share": 0.001, "watch_reconcile_interval": 360_000.0}
WEBHOOK = "/api/notifications/ringcentral"
# What an event carries in each account mode, as RingCentral sends it.
FIELDS = {
    "legacy": ("extensionId", "telephonyStatus", "presenceStatus", "userStatus", "dndStatus"),
    "chs": (
        "extensionId",
        "telephonyStatus",
        "presenceStatus",
        "userStatus",
        "dndStatusPersonal",
        "acceptCallQueueCalls",
    ),
}


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A small org."""
    return {"users": 12}


async def watching(products: ProductFactory, sandbox: ClientSandbox) -> tuple[Product, UserLink]:
    """A product watching everyone, subscribed and read once; the person the test follows."""
    product = await products.start(settings=QUIET)
    links = [link for link in people(sandbox) if link.rc_extension_id]
    await product.store.upsert_links(links)

    async def subscribed() -> bool:
        return len(await product.store.list_subscriptions("ringcentral")) == 1

    await eventually(subscribed, within=15)
    await eventually(lambda: everyone_read(product.store, links), within=15)
    return product, links[0]


async def ringing_person(
    products: ProductFactory, sandbox: ClientSandbox
) -> tuple[Product, UserLink, dict[str, Any]]:
    """`watching`, and the person's phone rings: the product took that event and its number."""
    product, person = await watching(products, sandbox)
    ringing = await call(sandbox, person, "ring")
    await eventually(lambda: taken(product, person, "Ringing", ringing["sequence"]), within=5)
    return product, person, ringing


async def call(sandbox: ClientSandbox, person: UserLink, action: str) -> dict[str, Any]:
    """The person's phone (the sandbox sends the genuine event); their presence after it."""
    shown: dict[str, Any] = await sandbox.control(
        "POST", f"/_sandbox/ringcentral/{person.upn}/call", {"action": action}
    )
    return shown


async def taken(product: Product, person: UserLink, telephony: str, sequence: int) -> bool:
    """Whether the product holds this event of the person's: its telephony and its number."""
    link = await product.store.get_link(person.id)
    return (
        link is not None
        and link.rc is not None
        and link.rc.telephony_status == telephony
        and link.rc_sequence == sequence
    )


async def forge(
    product: Product, sandbox: ClientSandbox, shown: dict[str, Any], sequence: int
) -> None:
    """Deliver an event showing `shown`, numbered `sequence`, with the real verification token."""
    (sub,) = await product.store.list_subscriptions("ringcentral")
    ext = shown["extensionId"]
    carried = {k: v for k, v in shown.items() if k in FIELDS[sandbox.ctx.org.rc_mode]}
    body = {
        "uuid": str(uuid.uuid4()),
        "event": f"/restapi/v1.0/account/~/extension/{ext}/presence?detailedTelephonyState=true",
        "timestamp": dt.datetime.fromtimestamp(sandbox.ctx.clock.now(), dt.UTC).isoformat(),
        "subscriptionId": sub.id,
        "body": {"sequence": sequence, **carried},
    }
    async with sandbox.http.post(
        product.base_url + WEBHOOK, json=body, headers={"Verification-Token": sub.client_state}
    ) as answer:
        assert answer.status == 200, await answer.text()


async def reads(sandbox: ClientSandbox) -> int:
    """Presence reads the sandbox answered so far."""
    return await sandbox.count("ringcentral", "GET", "/presence")


async def settled(product: Product) -> bool:
    """Whether the product's inbox and its verification reads are all done."""
    return product.watchers.inbox.empty() and product.watchers.verifying == 0


async def test_a_forged_high_number_does_not_mute_the_genuine_events_after_it(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    product, person, ringing = await ringing_person(products, client_sandbox)
    forged = ringing["sequence"] + 10**9

    # A forged event saying what is true anyway: the read confirms it and its number is taken.
    await forge(product, client_sandbox, ringing, forged)
    await eventually(lambda: taken(product, person, "Ringing", forged), within=5)
    # Every genuine event after it, numbered far below, is read, confirmed and applied.
    for action, telephony in (("connect", "CallConnected"), ("hold", "OnHold"), ("end", "NoCall")):
        shown = await call(client_sandbox, person, action)
        await eventually(partial(taken, product, person, telephony, shown["sequence"]), within=5)

    # A forged event saying what is not true is read, contradicted and never taken.
    before = await reads(client_sandbox)
    await forge(product, client_sandbox, {**shown, "telephonyStatus": "CallConnected"}, forged)
    await eventually(lambda: _more(client_sandbox, before))
    await eventually(lambda: settled(product))
    assert await taken(product, person, "NoCall", shown["sequence"])


async def _more(sandbox: ClientSandbox, before: int) -> bool:
    return await reads(sandbox) > before


async def test_a_genuine_counter_reset_still_applies(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    product, person, ringing = await ringing_person(products, client_sandbox)
    assert ringing["sequence"] == 1, "the restart reaches the same number again"

    await client_sandbox.control(
        "POST", f"/_sandbox/ringcentral/{person.upn}/sequence", {"sequence": 0}
    )
    before = await reads(client_sandbox)
    restarted = await call(client_sandbox, person, "connect")
    assert restarted["sequence"] == 1
    await eventually(lambda: taken(product, person, "CallConnected", 1), within=5)
    assert await reads(client_sandbox) == before + 1, "the step back was read once"
    # From the restarted count on, events are trusted again without a read.
    ended = await call(client_sandbox, person, "end")
    await eventually(lambda: taken(product, person, "NoCall", ended["sequence"]), within=5)
    assert await reads(client_sandbox) == before + 1


async def test_a_step_back_applies_when_the_read_confirms_it_and_not_otherwise(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    product, person, ringing = await ringing_person(products, client_sandbox)
    older = ringing["sequence"] - 1

    # Numbered one behind and contradicted by the read: nothing changes.
    before = await reads(client_sandbox)
    await forge(product, client_sandbox, {**ringing, "telephonyStatus": "NoCall"}, older)
    await eventually(lambda: _more(client_sandbox, before))
    await eventually(lambda: settled(product))
    assert await taken(product, person, "Ringing", ringing["sequence"])

    # The person answers while RingCentral's event is lost on the way; one numbered behind
    # that the read confirms is taken, and restarts the count there.
    await client_sandbox.fault({"target": "ringcentral-notifications", "drop": 1.0})
    connected = await call(client_sandbox, person, "connect")
    await client_sandbox.clear_faults()
    await forge(product, client_sandbox, connected, older)
    await eventually(lambda: taken(product, person, "CallConnected", older), within=5)


async def test_a_jump_within_the_bound_needs_no_read(
    client_sandbox: ClientSandbox, products: ProductFactory
) -> None:
    product, person, ringing = await ringing_person(products, client_sandbox)
    before = await reads(client_sandbox)

    ahead = ringing["sequence"] + SEQUENCE_JUMP
    await forge(product, client_sandbox, ringing, ahead)
    await eventually(lambda: taken(product, person, "Ringing", ahead), within=5)
    assert await reads(client_sandbox) == before
