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
    """120 people on a clock ten times faster: a RingCentral minute is six real seconds."""
    return {"users": 120, "time_scale": 10.0}


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
    assert len(people) >= 82
    # Twenty Busy writes go at once: the recent p95 wait is about nothing, so a cosmetic write
    # is overdue after a second. They spend half of this RingCentral minute.
    await asyncio.gather(
        *(
            dispatcher.submit(t, [SetRingCentralPresence(user_status="Busy")], REALTIME)
            for t in people[:20]
        )
    )
    refused = await client_sandbox.limits_refused()
    answered.clear()
    cosmetic = people[20]
    stream = people[21:82]

    waits = [dispatcher.submit(cosmetic, [SetRingCentralPresence(user_status="Busy")], REALTIME)]
    waits += [
        dispatcher.submit(t, [SetRingCentralPresence(dnd_status="DoNotAcceptAnyCalls")], REALTIME)
        for t in stream
    ]
    await asyncio.wait_for(asyncio.gather(*waits), 120)

    # Without ageing the Busy write would be the last of the 62; it went out in the next
    # minute's first batch, ahead of most of the routing writes still queued.
    position = answered.index(cosmetic.link_id)
    assert position < len(answered) - 20, f"the Busy write was answered as number {position + 1} of 62"
    assert position >= 20, "the routing writes went first while the Busy write was young"
    assert await client_sandbox.limits_refused() == refused
