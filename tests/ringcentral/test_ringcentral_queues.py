"""Call queues and their members through RingCentralClient, against the sandbox over HTTPS."""

from __future__ import annotations

import asyncio

import pytest

from presence_sync.errors import RingCentralNotFoundError, RingCentralUnavailableError
from presence_sync.ringcentral.limits import RateLimits
from presence_sync.ringcentral.models import CallQueue, CallQueueMember
from presence_sync.ringcentral.queues import QUEUE_READ_RESERVE, QueueWalk
from tests.graph.client_sandbox import ClientSandbox

QUEUES_ROUTE = "/call-queues"
MEMBERS_ROUTE = "/members"


async def test_queues_and_members_match_the_account(client_sandbox: ClientSandbox) -> None:
    client = client_sandbox.rc_client(client_sandbox.product_session())
    org = client_sandbox.ctx.org

    queues = [q async for q in client.list_call_queues()]

    assert all(isinstance(q, CallQueue) for q in queues)
    assert {q.id: (q.name, q.extension_number) for q in queues} == {
        q.id: (q.name, q.extension_number) for q in org.call_queues.values()
    }
    for queue in queues:
        members = [m async for m in client.list_call_queue_members(queue.id)]
        assert all(isinstance(m, CallQueueMember) for m in members)
        expected = org.call_queues[queue.id].member_ids
        assert [m.id for m in members] == expected
        assert [m.extension_number for m in members] == [
            org.rc_extensions[i].extension_number for i in expected
        ]
    budgets = client.limits.snapshot()
    assert set(budgets) == {"Medium", "Light"}
    assert budgets["Light"].limit - budgets["Light"].remaining == len(queues)


async def test_small_pages_are_followed_to_the_end(client_sandbox: ClientSandbox) -> None:
    client = client_sandbox.rc_client(client_sandbox.product_session(), page_size=1)
    org = client_sandbox.ctx.org
    biggest = max(org.call_queues.values(), key=lambda q: len(q.member_ids))
    before_lists = await client_sandbox.count("ringcentral", "GET", QUEUES_ROUTE)
    before_members = await client_sandbox.count("ringcentral", "GET", MEMBERS_ROUTE)

    queues = [q.id async for q in client.list_call_queues()]
    members = [m.id async for m in client.list_call_queue_members(biggest.id)]

    assert sorted(queues) == sorted(org.call_queues)
    assert members == biggest.member_ids
    assert await client_sandbox.count("ringcentral", "GET", QUEUES_ROUTE) - before_lists == len(
        queues
    )
    assert await client_sandbox.count("ringcentral", "GET", MEMBERS_ROUTE) - before_members == len(
        members
    )


async def test_members_of_an_unknown_queue_is_not_found(client_sandbox: ClientSandbox) -> None:
    client = client_sandbox.rc_client(client_sandbox.product_session())

    with pytest.raises(RingCentralNotFoundError):
        _ = [m async for m in client.list_call_queue_members("999999")]


@pytest.mark.parametrize("sandbox_options", [{"users": 2000, "time_scale": 20.0}])
async def test_walk_spreads_over_steps_within_the_light_budget(
    client_sandbox: ClientSandbox,
) -> None:
    clock = client_sandbox.ctx.clock
    client = client_sandbox.rc_client(
        client_sandbox.product_session(), limits=RateLimits(clock=clock.now)
    )
    org = client_sandbox.ctx.org
    walk = QueueWalk()
    assert len(org.call_queues) > 50 - QUEUE_READ_RESERVE  # more than one window can read

    first = await walk.step(client)

    assert first is None  # paused: nobody may be called a non-member yet
    assert walk.walking
    done, total = walk.progress
    assert 0 < done < total == len(org.call_queues)
    assert client.limits.remaining("Light") == QUEUE_READ_RESERVE
    # A queue deleted while the walk is paused has nobody in it any more.
    gone = max(org.call_queues.values(), key=lambda q: q.extension_number)  # read last
    del org.call_queues[gone.id]

    membership = None
    for _ in range(200):
        membership = await walk.step(client)
        if membership is not None:
            break
        await asyncio.sleep(0.05)  # a sandbox minute is 3 s here

    assert membership is not None
    assert walk.walks == 1
    assert not walk.walking
    assert client_sandbox.ctx.recorder.snapshot()["total_throttled"] == 0
    for ext in org.rc_extensions.values():
        queues = {q.id for q in org.call_queues.values() if ext.id in q.member_ids}
        assert set(membership.queues_of(ext.id)) == queues, ext.id
        assert membership.is_member(ext.id) is bool(queues)


async def test_walk_resumes_after_an_error_where_it_stopped(client_sandbox: ClientSandbox) -> None:
    client = client_sandbox.rc_client(client_sandbox.product_session(), max_retries=0)
    org = client_sandbox.ctx.org
    walk = QueueWalk(reserve=49)  # Light allows 50 a minute: pause after the first queue

    assert await walk.step(client) is None
    assert walk.progress == (1, len(org.call_queues))
    await client_sandbox.fault({"target": "ringcentral", "status": 503, "count": 1})
    walk.reserve = 0
    with pytest.raises(RingCentralUnavailableError):
        await walk.step(client)
    before = await client_sandbox.count("ringcentral", "GET", MEMBERS_ROUTE)

    membership = await walk.step(client)

    assert membership is not None
    # Only the queues not read yet were asked for again.
    read_again = await client_sandbox.count("ringcentral", "GET", MEMBERS_ROUTE) - before
    assert read_again == len(org.call_queues) - 1
    for queue in org.call_queues.values():
        assert all(membership.is_member(m) for m in queue.member_ids)
