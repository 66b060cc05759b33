"""Cancelled store callers never wedge the MongoDB driver.

The server's background loops are cancelled mid-operation at every shutdown, and a stubborn
loop is cancelled again. With the server away, such operations wait in the driver's server
selection; cancelling them there must leave the store usable and closable.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from pathlib import Path

import pytest

from presence_sync.errors import StoreError
from presence_sync.secrets import SecretBox
from presence_sync.store import MongoStore
from tests.mongo_server import free_port, run_ferretdb


def _store_on(port: int) -> MongoStore:
    """A store of its own database on a FerretDB the test starts and stops at `port`."""
    return MongoStore(
        f"mongodb://127.0.0.1:{port}/",
        f"cancel_{uuid.uuid4().hex[:8]}",
        SecretBox(SecretBox.generate_key()),
        server_selection_timeout=1.0,
    )


async def test_callers_cancelled_twice_while_the_server_is_away_leave_the_store_closable(
    ferretdb_binary: Path,
) -> None:
    port = free_port()
    store = _store_on(port)
    with run_ferretdb(ferretdb_binary, port=port):
        await store.open()
        await store.ping()
    # The server is gone: operations now wait in server selection until they time out.
    rng = random.Random(7)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 4
    callers: list[asyncio.Task[object]] = []
    while loop.time() < deadline:
        for _ in range(4):
            operation = rng.choice([store.ping, store.get_settings, store.count_links_by_state])
            callers.append(asyncio.create_task(operation()))  # type: ignore[operator]
        await asyncio.sleep(rng.uniform(0.0, 0.05))
        for caller in callers[-4:]:
            caller.cancel()
        for _ in range(rng.randint(0, 2)):
            await asyncio.sleep(0)
        for caller in callers[-4:]:
            caller.cancel()  # as a shutdown re-cancels a loop that did not stop
    done, pending = await asyncio.wait(callers, timeout=10)
    assert not pending, f"{len(pending)} cancelled callers never returned"
    for caller in done:
        if not caller.cancelled():
            assert isinstance(caller.exception(), StoreError | type(None))

    # The driver is not wedged: it answers "unavailable" promptly and closes.
    with pytest.raises(StoreError):
        await asyncio.wait_for(store.ping(), 10)
    closing = asyncio.create_task(store.close())
    finished, _ = await asyncio.wait([closing], timeout=10)
    assert finished, "closing the store hung after cancelled operations"


async def test_closing_waits_for_operations_a_shutdown_cancelled_so_the_loop_can_exit(
    ferretdb_binary: Path,
) -> None:
    """A server stopping while the store is away must not leave driver work behind.

    The loops' callers are cancelled, but their operations go on in the driver's server
    selection. Were they still running when the event loop ends, its own cancel-everything
    would cancel the driver mid-wait, and the process's exit could hang on the topology lock.
    """
    port = free_port()
    store = _store_on(port)
    with run_ferretdb(ferretdb_binary, port=port):
        await store.open()
    callers = [asyncio.create_task(store.get_settings()) for _ in range(20)]
    await asyncio.sleep(0.1)
    for caller in callers:
        caller.cancel()
    await asyncio.wait(callers)

    await asyncio.wait_for(store.close(), 15)
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    assert others == [], f"the store left {len(others)} tasks running after close: {others}"
