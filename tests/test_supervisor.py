"""Background loops that fail are logged, counted, restarted with backoff, and named when sick."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from presence_sync.tasks import Loop, LoopPolicy, Supervisor


class Flaky:
    """A loop that raises `error` on its first `failures` runs, then works until cancelled."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or KeyError("link-17")
        self.starts: list[float] = []
        self.working = asyncio.Event()

    async def run(self) -> None:
        self.starts.append(time.monotonic())
        if len(self.starts) <= self.failures:
            raise self.error
        self.working.set()
        await asyncio.sleep(3600)


async def run_until_working(supervisor: Supervisor, flaky: Flaky, *loops: Loop) -> None:
    """Start `loops`, wait until `flaky` works (10 s at most), then stop them all."""
    supervisor.start(loops)
    try:
        async with asyncio.timeout(10):
            await flaky.working.wait()
    finally:
        await supervisor.stop()


async def test_a_failing_loop_restarts_after_a_doubling_backoff_and_then_runs() -> None:
    flaky = Flaky(failures=3)
    restarted: list[str] = []
    policy = LoopPolicy(first_backoff=0.1, max_backoff=5.0)
    supervisor = Supervisor(policy, on_restart=restarted.append, jitter=lambda: 0.0)
    await run_until_working(supervisor, flaky, Loop("watch-inbox", flaky.run))

    gaps = [b - a for a, b in zip(flaky.starts, flaky.starts[1:], strict=False)]
    assert len(gaps) == 3
    for gap, backoff in zip(gaps, (0.1, 0.2, 0.4), strict=True):
        assert backoff <= gap < backoff + 0.3
    assert restarted == ["watch-inbox"] * 3
    (health,) = supervisor.health()
    assert (health.name, health.restarts, health.recent) == ("watch-inbox", 3, 3)
    assert health.last_error == "KeyError: 'link-17'"


async def test_the_jitter_adds_at_most_a_quarter_and_the_backoff_stops_at_its_cap() -> None:
    flaky = Flaky(failures=5)
    policy = LoopPolicy(first_backoff=0.05, max_backoff=0.1)
    supervisor = Supervisor(policy, jitter=lambda: 1.0)
    await run_until_working(supervisor, flaky, Loop("sync-jobs", flaky.run))

    gaps = [b - a for a, b in zip(flaky.starts, flaky.starts[1:], strict=False)]
    assert 0.0625 <= gaps[0] < 0.0625 + 0.2  # 0.05 and a quarter more
    assert all(0.1 <= gap < 0.1 + 0.2 for gap in gaps[1:])  # capped, jitter included


async def test_each_failure_is_logged_with_the_loops_name_and_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flaky = Flaky(failures=1, error=TypeError("'NoneType' object is not subscriptable"))
    supervisor = Supervisor(LoopPolicy(first_backoff=0.01))
    with caplog.at_level(logging.ERROR, logger="presence_sync.tasks"):
        await run_until_working(supervisor, flaky, Loop("watch-polling", flaky.run))

    (record,) = [r for r in caplog.records if "watch-polling" in r.getMessage()]
    assert "background loop watch-polling failed; restarting it in" in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[0] is TypeError


async def test_more_than_five_restarts_in_the_window_make_the_loop_unhealthy_until_they_age() -> (
    None
):
    flaky = Flaky(failures=6)
    steady = Flaky(failures=0)
    policy = LoopPolicy(first_backoff=0.01, max_backoff=0.02, window=1.5)
    supervisor = Supervisor(policy)
    supervisor.start([Loop("sync-notices", flaky.run), Loop("sync-directory", steady.run)])
    try:
        async with asyncio.timeout(5):
            await flaky.working.wait()
        assert [h.name for h in supervisor.unhealthy()] == ["sync-notices"]
        assert [h.recent for h in supervisor.unhealthy()] == [6]

        await asyncio.sleep(1.6)  # the restarts leave the window; the loop has been fine since

        assert supervisor.unhealthy() == []
        assert [(h.name, h.restarts, h.recent) for h in supervisor.health()] == [
            ("sync-notices", 6, 0),
            ("sync-directory", 0, 0),
        ]
    finally:
        await supervisor.stop()


async def test_five_restarts_are_still_healthy() -> None:
    flaky = Flaky(failures=5)
    supervisor = Supervisor(LoopPolicy(first_backoff=0.01, max_backoff=0.02))
    supervisor.start([Loop("watch-roster", flaky.run)])
    try:
        async with asyncio.timeout(5):
            await flaky.working.wait()
        assert supervisor.unhealthy() == []
    finally:
        await supervisor.stop()


async def test_a_loop_that_ran_well_for_a_while_restarts_from_the_first_backoff() -> None:
    starts: list[float] = []
    done = asyncio.Event()

    async def run() -> None:
        starts.append(time.monotonic())
        if len(starts) == 1:
            raise KeyError("first")
        if len(starts) == 2:
            await asyncio.sleep(0.35)  # longer than max_backoff: a healthy stretch
            raise KeyError("after a while")
        done.set()
        await asyncio.sleep(3600)

    supervisor = Supervisor(LoopPolicy(first_backoff=0.1, max_backoff=0.3), jitter=lambda: 0.0)
    supervisor.start([Loop("connection-checks", run)])
    try:
        async with asyncio.timeout(5):
            await done.wait()
    finally:
        await supervisor.stop()

    assert 0.1 <= starts[1] - starts[0] < 0.3
    # Failed again after 0.35 s of work: waits the first backoff (0.1 s), not the doubled 0.2 s.
    assert 0.1 <= starts[2] - starts[1] - 0.35 < 0.18


async def test_stopping_is_not_a_failure_and_a_finished_loop_is_not_restarted() -> None:
    runs: list[str] = []
    restarted: list[str] = []

    async def once() -> None:
        runs.append("once")

    forever = Flaky(failures=0)
    supervisor = Supervisor(LoopPolicy(first_backoff=0.01), on_restart=restarted.append)
    supervisor.start([Loop("start-when-store-opens", once), Loop("sync-worker-0", forever.run)])
    async with asyncio.timeout(5):
        await forever.working.wait()
    await asyncio.sleep(0.1)
    await supervisor.stop()

    assert runs == ["once"]
    assert restarted == []
    assert all(h.restarts == 0 for h in supervisor.health())


async def test_starting_a_running_loop_twice_is_refused() -> None:
    forever = Flaky(failures=0)
    supervisor = Supervisor()
    supervisor.start([Loop("watch-lease", forever.run)])
    try:
        with pytest.raises(ValueError, match="'watch-lease' is already running"):
            supervisor.start([Loop("watch-lease", forever.run)])
    finally:
        await supervisor.stop()
