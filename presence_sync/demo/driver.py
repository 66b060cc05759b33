"""Plays a scenario against the sandbox in real time, one short log line per action."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence

import aiohttp

from presence_sync.demo.control import ControlError, SandboxControl
from presence_sync.demo.scenario import Person, Step, describe_step

__all__ = ["play"]

logger = logging.getLogger(__name__)


async def play(
    steps: Sequence[Step],
    people: Mapping[str, Person],
    control: SandboxControl,
    *,
    rc_mode: str = "legacy",
    say: Callable[[float, str], None] | None = None,
    acted: Callable[[Step], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[Step]:
    """Act out `steps` at their times (seconds from now); the steps the sandbox accepted.

    A refused step is reported and skipped rather than ending the day: the check then expects
    only what really happened. `acted` hears of each step the sandbox accepted, as it happens.
    """
    start = clock()
    done: list[Step] = []
    for step in sorted(steps, key=lambda s: s.at):
        wait = step.at - (clock() - start)
        if wait > 0:
            await asyncio.sleep(wait)
        person = people.get(step.person.lower())
        if person is None:
            raise KeyError(f"scenario step for unknown person {step.person}")
        elapsed = clock() - start
        try:
            await control.act(step, person, rc_mode)
        except (ControlError, aiohttp.ClientError, TimeoutError) as err:
            logger.warning("scenario step %s for %s refused: %s", step.action, step.person, err)
            if say is not None:
                say(elapsed, f"{describe_step(step, person)}: refused by the sandbox ({err})")
            continue
        done.append(step)
        if acted is not None:
            acted(step)
        if say is not None:
            say(elapsed, describe_step(step, person))
    return done
