"""Shutdown never hangs on a background task, however stubborn."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from presence_sync.tasks import finish_within, stop_tasks


async def test_cooperative_tasks_stop_at_once() -> None:
    tasks = [asyncio.create_task(asyncio.sleep(3600), name=f"loop-{n}") for n in range(3)]
    await asyncio.sleep(0)
    async with asyncio.timeout(2):
        await stop_tasks(tasks)
    assert all(task.cancelled() for task in tasks)


async def test_a_task_that_swallows_one_cancellation_is_cancelled_again() -> None:
    async def stubborn() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(3600)
        await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    async with asyncio.timeout(3):
        await stop_tasks([task], grace=2)
    assert task.cancelled()


async def test_a_task_that_never_stops_is_reported_not_waited_for(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()

    async def deaf() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    task = asyncio.create_task(deaf(), name="deaf")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING):
        async with asyncio.timeout(3):
            await stop_tasks([task], grace=0.6)
    assert "deaf did not stop" in caplog.text
    release.set()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_shutdown_step_that_ignores_cancellation_is_left_behind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()

    async def deaf_close() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    closing = asyncio.create_task(deaf_close())
    with caplog.at_level(logging.WARNING):
        async with asyncio.timeout(3):
            await finish_within(0.5, closing, "closing the store")
    assert "closing the store did not finish within 0.5 s" in caplog.text
    assert not closing.done()
    release.set()
    closing.cancel()
    await asyncio.wait([closing])


async def test_a_shutdown_step_that_fails_in_time_reports_its_error() -> None:
    async def failing_close() -> None:
        raise OSError("socket closed")

    with pytest.raises(OSError, match="socket closed"):
        await finish_within(5, failing_close(), "closing the store")
