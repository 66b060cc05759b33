"""The dispatcher's order under a backlog of RingCentral writes, against the sandbox's limits.

Routing writes (Do not disturb, call-queue calls) go before cosmetic ones (Busy, Available),
but a cosmetic write that has waited more than twice the recent p95 delay joins them, so a
stream of routing changes cannot keep it waiting for good. Real clients, the sandbox's real
RingCentral budget (40 presence writes a minute) on a clock ten times faster.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from presence_sync.engine import SetRingCentralPresence, WriteApplied, WriteFailed
from presence_sync.providers import REALTIME
from presence_sync.sync.dispatcher import Dispatcher, WriteTarget
from presence_sync.tasks import Supervisor
from tests.graph.client_sandbox import ClientSandbox
from tests.sync.harness import sandbox_providers


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """420 people on a clock ten times faster: a RingCentral minute is six real seconds."""
    return {"users": 420, "time_scale": 10.0}


def _targets(sb: ClientSandbox) -> list[WriteTarget]:
    by_email = {
        (u.mail or u.user_principal_name).lower(): u
        for u in sb.ctx.org.teams_users.values()
        if u.account_enabled
    }
    out = []
    for ext in sb.ctx.org.rc_extensions.values():
        teams = by_email.get((ext.email or "").lower())
        if ext.type == "User" and ext.status == "Enabled" and teams is not None:
            out.append(WriteTarget(f"link-{ext.id}", teams.user_principal_name, teams.id, ext.id))
    return out


@pytest.fixture
async def dispatched(
    client_sandbox: ClientSandbox,
) -> AsyncIterator[tuple[Dispatcher, list[str]]]:
    """A running dispatcher and the link ids of its answered RingCentral writes, in order."""
    providers = sandbox_providers(client_sandbox)
    answered: list[str] = []

    async def on_result(
        target: WriteTarget,
        outcome: WriteApplied | WriteFailed,
        priority: int,
        message: str,
        opened: str | None,
    ) -> None:
        if isinstance(outcome, WriteApplied):
            answered.append(target.link_id)

    dispatcher = Dispatcher(providers, on_result, clock=client_sandbox.ctx.clock.now)
    supervisor = Supervisor()
    supervisor.start(dispatcher.loops())
    yield dispatcher, answered
    await supervisor.stop()
    await dispatcher.stop()


async def test_a_cosmetic_write_is_not_starved_by_a_stream_of_routing_writes(
    client_sandbox: ClientSandbox, dispatched: tuple[Dispatcher, list[str]]
) -> None:
    dispatcher, answered = dispatched
    people = _targets(client_sandbox)
    assert len(people) >= 331
    refused = await client_sandbox.limits_refused()
    cosmetic, batch, stream = people[0], people[1:61], people[61:331]
    scale = client_sandbox.ctx.clock.scale
    dnd = [SetRingCentralPresence(dnd_status="DoNotAcceptAnyCalls")]

    # Sixty Do not disturb changes at once spend the first minute and queue twenty; a second
    # later a Busy write; then Do not disturb changes at 45 a minute for six sandbox minutes,
    # where RingCentral takes 40, so routing writes never stop queueing ahead of it.
    waits = [dispatcher.submit(t, dnd, REALTIME) for t in batch]
    await asyncio.sleep(1.0 / scale)
    busy = SetRingCentralPresence(user_status="Busy")
    waits.append(dispatcher.submit(cosmetic, [busy], REALTIME))
    for person in stream:
        await asyncio.sleep(60.0 / 45 / scale)
        waits.append(dispatcher.submit(person, dnd, REALTIME))
    await asyncio.wait_for(asyncio.gather(*waits), 180)

    # By class alone it would wait for the stream to end and be the last of 331. Once it
    # has waited twice the current p95 it goes in turn with the routing writes, ahead of
    # those that came after it.
    position = answered.index(cosmetic.link_id)
    assert position >= 40, "the Busy write went before the routing writes queued ahead of it"
    assert position < len(answered) - 40, (
        f"the Busy write was answered as number {position + 1} of {len(answered)}"
    )
    assert await client_sandbox.limits_refused() == refused


async def test_a_burst_of_busy_writes_does_not_overtake_a_later_routing_write(
    client_sandbox: ClientSandbox, dispatched: tuple[Dispatcher, list[str]]
) -> None:
    dispatcher, answered = dispatched
    people = _targets(client_sandbox)
    busy, focused = people[:100], people[100]
    scale = client_sandbox.ctx.clock.scale

    waits = [
        dispatcher.submit(t, [SetRingCentralPresence(user_status="Busy")], REALTIME) for t in busy
    ]
    # Ten sandbox seconds later, with sixty Busy writes still queued, one Do not disturb.
    await asyncio.sleep(10.0 / scale)
    waits.append(
        dispatcher.submit(
            focused, [SetRingCentralPresence(dnd_status="DoNotAcceptAnyCalls")], REALTIME
        )
    )
    await asyncio.wait_for(asyncio.gather(*waits), 120)

    # The queued Busy writes are older but cosmetic, and none of them is overdue yet: the
    # wait that counts is the current one, theirs included, not only the first forty's.
    position = answered.index(focused.link_id)
    assert position <= 40 + 8, f"the DND write was answered as number {position + 1} of 101"
