"""Playing the office day: bounded and checked (`--check`), or open-ended until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping

from presence_sync.demo.console import EXIT_CHECK_FAILED, Console, DemoFailedError
from presence_sync.demo.control import SandboxControl
from presence_sync.demo.driver import play
from presence_sync.demo.expect import Activity, Row, check_rows, format_table, replay
from presence_sync.demo.observer import PresenceObserver
from presence_sync.demo.scenario import Person, Step, office_day

__all__ = ["CHECK_DURATION", "ROUND_SECONDS", "SETTLE_SECONDS", "check_day", "run_days"]

CHECK_DURATION = 60.0  # seconds of office day under --check unless --duration says otherwise
ROUND_SECONDS = 120.0  # without --check the day repeats in rounds of this length
SETTLE_SECONDS = 45.0
SETTLE_FIRST_LOOK = 5.0


async def check_day(
    say: Console,
    control: SandboxControl,
    *,
    people: Mapping[str, Person],
    actors: Mapping[str, Person],
    baseline: Mapping[str, Activity],
    rc_mode: str,
    duration: float = CHECK_DURATION,
    settle: float = SETTLE_SECONDS,
    seed: int = 0,
    scenario: bool = True,
) -> int:
    """Play a day of `duration` seconds, let it settle, check everyone; the exit status."""
    if not people:
        raise DemoFailedError("nobody is linked and synced, so there is nothing to check")
    steps: list[Step] = []
    observer = PresenceObserver(control, people, say=say.timed, started=time.monotonic())
    watching = asyncio.get_running_loop().create_task(observer.run())
    try:
        if scenario and actors:
            steps = office_day(list(actors.values()), duration, seed, hold_some=True)
            say.heading(f"Office day: {len(steps)} actions over {duration:.0f} s")
            steps = await play(
                steps, actors, control, rc_mode=rc_mode, say=say.timed, acted=observer.acted
            )
        expected = replay(steps, baseline)
        say.heading(f"Letting presence settle (up to {settle:.0f} s)")
        rows = await _settle(control, set(people), expected, rc_mode, settle)
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
    say.line(observer.propagation.summary())
    say.heading("Check")
    for line in format_table(rows).splitlines():
        say.line(line)
    failed = [r for r in rows if not r.ok]
    if failed:
        say.heading(f"FAILED: {len(failed)} of {len(rows)} people are not in the expected state")
        for row in failed:
            say.line(f"{row.email}: {row.problem}")
        return EXIT_CHECK_FAILED
    say.heading(f"OK: all {len(rows)} linked people show the expected state on both sides")
    return 0


async def _settle(
    control: SandboxControl,
    emails: set[str],
    expected: Mapping[str, Activity],
    rc_mode: str,
    settle: float,
) -> list[Row]:
    # Give the last actions time to travel, and pass only on two right readings in a row, so a
    # state that is right for a moment on its way elsewhere does not count.
    await asyncio.sleep(min(settle, SETTLE_FIRST_LOOK))
    deadline = time.monotonic() + settle
    right_in_a_row = 0
    while True:
        state = await control.state()
        entries = [
            e
            for e in state.get("users", [])
            if e.get("teams") and str(e["teams"]["userPrincipalName"]).lower() in emails
        ]
        rows = check_rows(entries, expected, rc_mode)
        right_in_a_row = right_in_a_row + 1 if all(r.ok for r in rows) else 0
        if right_in_a_row >= 2 or time.monotonic() >= deadline:
            return rows
        await asyncio.sleep(1.0)


async def run_days(
    say: Console,
    control: SandboxControl,
    *,
    actors: Mapping[str, Person],
    rc_mode: str,
    total: float | None = None,
    seed: int = 0,
    scenario: bool = True,
) -> None:
    """Play office days in rounds (for `total` seconds, or on and on), then wait for Ctrl-C."""
    if not scenario or not actors:
        say.heading("Presence is yours to drive now (sandbox control API or live page)")
        say.line("Ctrl-C stops the demo")
        await asyncio.Event().wait()
        return
    say.heading("Office day (Ctrl-C stops the demo)")
    began = time.monotonic()
    observer = PresenceObserver(control, actors, say=say.timed, started=began)
    watching = asyncio.get_running_loop().create_task(observer.run())
    round_number = 0
    try:
        while total is None or time.monotonic() - began < total:
            length = ROUND_SECONDS if total is None else min(ROUND_SECONDS, total)
            steps = office_day(list(actors.values()), length, seed + round_number)
            offset = time.monotonic() - began

            def timed(elapsed: float, text: str, offset: float = offset) -> None:
                say.timed(offset + elapsed, text)

            await play(steps, actors, control, rc_mode=rc_mode, say=timed, acted=observer.acted)
            round_number += 1
            say.line(f"round {round_number} over: {observer.propagation.summary()}")
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
    say.heading("The office day is over; presence is yours to drive (Ctrl-C stops the demo)")
    await asyncio.Event().wait()
