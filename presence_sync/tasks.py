"""Background loops: supervised while they run, stopped boundedly at shutdown.

Every loop of the server runs under one `Supervisor`, so a bug in one loop is logged, counted
and survived instead of silently ending propagation. A loop stuck inside a driver (a MongoDB
server selection, a provider call) must not keep the process from stopping: cancel, wait a
bounded time, cancel again, then give up loudly.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Loop", "LoopHealth", "LoopPolicy", "Supervisor", "finish_within", "stop_tasks"]

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


@dataclass(frozen=True)
class Loop:
    """A background loop: a name for logs, metrics and readiness, and the coroutine to run."""

    name: str
    run: Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class LoopHealth:
    """How one supervised loop is doing."""

    name: str
    restarts: int  # since the process started
    recent: int  # within the supervisor's window
    last_error: str | None


@dataclass(frozen=True)
class LoopPolicy:
    """When a failed loop restarts, and when its failures make the server unready."""

    first_backoff: float = 1.0  # seconds before the first restart
    max_backoff: float = 60.0  # the backoff doubles up to this
    unhealthy_after: int = 5  # more restarts than this within `window` ...
    window: float = 300.0  # ... seconds make the loop unhealthy


class Supervisor:
    """Runs every background loop, restarting any that fails, and says which ones keep failing.

    A loop that raises anything but cancellation is logged with its traceback and its name,
    reported to `on_restart` (the server counts it in /metrics; `on_start` hears each loop
    start, so the count shows 0 before anything failed), and started again after a jittered
    backoff: `policy.first_backoff` seconds, doubling up to `policy.max_backoff`. A loop that
    then runs for `max_backoff` seconds without failing starts from `first_backoff` again.
    More than `policy.unhealthy_after` restarts within `policy.window` seconds make it
    *unhealthy* (readiness fails and names it) until those restarts are older than the window.
    A loop that returns has finished its work and is not restarted.
    """

    def __init__(
        self,
        policy: LoopPolicy | None = None,
        *,
        on_start: Callable[[str], None] | None = None,
        on_restart: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy or LoopPolicy()
        self._on_start = on_start
        self._on_restart = on_restart
        self._clock = clock
        self._jitter = jitter
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._restarts: dict[str, list[float]] = {}
        self._totals: dict[str, int] = {}
        self._errors: dict[str, str] = {}

    @property
    def names(self) -> list[str]:
        """Every loop started, in start order."""
        return list(self._tasks)

    def start(self, loops: Iterable[Loop]) -> None:
        """Start `loops` (each name once: starting a running name again is a mistake)."""
        for loop in loops:
            if loop.name in self._tasks and not self._tasks[loop.name].done():
                raise ValueError(f"background loop {loop.name!r} is already running")
            self._totals.setdefault(loop.name, 0)
            if self._on_start is not None:
                self._on_start(loop.name)
            self._tasks[loop.name] = asyncio.create_task(self._supervise(loop), name=loop.name)

    async def stop(self, grace: float = 5.0) -> None:
        """Cancel every loop and wait for them (bounded, see `stop_tasks`)."""
        await stop_tasks(self._tasks.values(), grace)

    def health(self) -> list[LoopHealth]:
        """Each loop's restarts, in start order."""
        cutoff = self._clock() - self.policy.window
        out = []
        for name in self._tasks:
            recent = [t for t in self._restarts.get(name, ()) if t >= cutoff]
            self._restarts[name] = recent
            out.append(LoopHealth(name, self._totals[name], len(recent), self._errors.get(name)))
        return out

    def unhealthy(self) -> list[LoopHealth]:
        """Loops restarted more than `unhealthy_after` times within the policy's window."""
        return [h for h in self.health() if h.recent > self.policy.unhealthy_after]

    async def _supervise(self, loop: Loop) -> None:
        policy = self.policy
        backoff = policy.first_backoff
        while True:
            started = self._clock()
            try:
                await loop.run()
                return
            except Exception as err:
                now = self._clock()
                if now - started >= policy.max_backoff:
                    backoff = policy.first_backoff  # it had been running well: start over
                delay = min(policy.max_backoff, backoff * (1.0 + 0.25 * self._jitter()))
                self._restarts.setdefault(loop.name, []).append(now)
                self._totals[loop.name] = self._totals.get(loop.name, 0) + 1
                self._errors[loop.name] = f"{type(err).__name__}: {err}"
                logger.exception(
                    "background loop %s failed; restarting it in %.1f s", loop.name, delay
                )
                if self._on_restart is not None:
                    self._on_restart(loop.name)
            await asyncio.sleep(delay)
            backoff = min(policy.max_backoff, backoff * 2)
