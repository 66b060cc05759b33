"""Stopping background tasks at shutdown, boundedly.

A loop stuck inside a driver (a MongoDB server selection, a provider call) must not keep the
process from stopping: cancel, wait a bounded time, cancel again, then give up loudly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

__all__ = ["stop_tasks"]

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
