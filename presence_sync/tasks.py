"""Stopping background tasks at shutdown, boundedly.

A loop stuck inside a driver (a MongoDB server selection, a provider call) must not keep the
process from stopping: cancel, wait a bounded time, cancel again, then give up loudly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from typing import Any

__all__ = ["finish_within", "stop_tasks"]

logger = logging.getLogger(__name__)


async def stop_tasks(tasks: Iterable[asyncio.Task[Any]], grace: float = 5.0) -> None:
    """Cancel `tasks` and wait for them, at most `grace` seconds in all."""
    tasks = list(tasks)
    pending = {task for task in tasks if not task.done()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while pending:
        for task in pending:
            task.cancel()
        left = deadline - loop.time()
        if left <= 0:
            break
        # Re-cancel now and then: a cancellation swallowed by a library (Python 3.11's
        # wait_for has such a race) must not leave the task running.
        _, pending = await asyncio.wait(pending, timeout=min(left, 0.5))
    for task in pending:
        logger.warning("background task %s did not stop within %.1f s", task.get_name(), grace)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            logger.error("background task %s failed", task.get_name(), exc_info=task.exception())


async def finish_within(seconds: float, awaitable: Awaitable[Any], what: str) -> None:
    """Await a shutdown step for at most `seconds`; past that, cancel it and go on, loudly.

    Unlike `asyncio.timeout`, this does not rely on the step honouring its cancellation: a
    driver call that swallows it is left behind instead of holding up the shutdown. An
    exception the step raises in time is raised here.
    """
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if done:
        task.result()
        return
    task.cancel()
    logger.warning("%s did not finish within %.1f s; shutting down without it", what, seconds)
