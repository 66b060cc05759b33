"""Watches the sandbox while the day plays and reports each change the product carried across.

After a person acts on one platform (joins a Teams meeting, answers a RingCentral call), the
observer waits for their *other* platform to change, prints it with how long it took, and
keeps the delays for the summary. Changes on the side the person acted on are the sandbox's
own and not reported.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from presence_sync.demo.control import ControlError, SandboxControl
from presence_sync.demo.scenario import TEAMS_SIDE_ACTIONS, Person, Step

__all__ = ["PresenceObserver", "Propagation"]

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Propagation:
    """Delays from an action on one platform to the change showing on the other, in seconds."""

    delays: tuple[float, ...]

    def summary(self) -> str:
        """`12 changes carried across: median 1.1 s, 95th percentile 2.0 s, slowest 2.4 s`."""
        if not self.delays:
            return "no changes carried across were seen"
        ordered = sorted(self.delays)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        return (
            f"{len(ordered)} changes carried across: median {statistics.median(ordered):.1f} s, "
            f"95th percentile {p95:.1f} s, slowest {ordered[-1]:.1f} s"
        )


@dataclass
class PresenceObserver:
    """Polls `/_sandbox/state` and reports other-side changes that follow scenario steps."""

    control: SandboxControl
    people: Mapping[str, Person]
    say: Callable[[float, str], None] | None = None
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    _last: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    _waiting: dict[str, tuple[str, float]] = field(default_factory=dict)
    _delays: list[float] = field(default_factory=list)

    def acted(self, step: Step) -> None:
        """Note that `step` was just acted out: its person's other side should follow."""
        other = "ringcentral" if step.action in TEAMS_SIDE_ACTIONS else "teams"
        self._waiting[step.person.lower()] = (other, self.clock())

    @property
    def propagation(self) -> Propagation:
        """The delays seen so far."""
        return Propagation(tuple(self._delays))

    async def run(self) -> None:
        """Poll until cancelled; a failed poll is logged and retried."""
        while True:
            try:
                self.observe(await self.control.state())
            except (ControlError, aiohttp.ClientError, TimeoutError) as err:
                logger.warning("sandbox state unavailable: %s", err)
            await asyncio.sleep(POLL_SECONDS)

    def observe(self, state: Mapping[str, Any]) -> None:
        """Compare one `/_sandbox/state` reading with the previous one and report changes."""
        now = self.clock()
        for entry in state.get("users", []):
            teams, rc = entry.get("teams"), entry.get("ringcentral")
            if not teams or not rc:
                continue
            key = str(teams["userPrincipalName"]).lower()
            person = self.people.get(key)
            if person is None:
                continue
            current = (_teams_view(teams), _rc_view(rc))
            before = self._last.get(key)
            self._last[key] = current
            waiting = self._waiting.get(key)
            if before is None or waiting is None:
                continue
            side, since = waiting
            index = 0 if side == "teams" else 1
            if current[index] != before[index]:
                del self._waiting[key]
                delay = now - since
                self._delays.append(delay)
                if self.say is not None:
                    shown = _describe(side, current[index])
                    self.say(now - self.started, f"  -> {person.name}: {shown} ({delay:.1f} s)")


def _teams_view(teams: Mapping[str, Any]) -> tuple[str, ...]:
    presence = teams.get("presence") or {}
    return (str(presence.get("availability")), str(presence.get("activity")))


def _rc_view(rc: Mapping[str, Any]) -> tuple[str, ...]:
    presence = rc.get("presence") or {}
    return (
        str(presence.get("userStatus")),
        str(presence.get("dndStatus")),
        str(presence.get("dndStatusPersonal")),
        str(presence.get("acceptCallQueueCalls")),
    )


def _describe(side: str, view: tuple[str, ...]) -> str:
    if side == "teams":
        availability, activity = view
        shown = availability if activity == availability else f"{availability}/{activity}"
        return f"Teams shows {shown}"
    status, dnd, personal, _queue = view
    dnd_shown = personal if dnd == "TakeAllCalls" and personal not in ("None", dnd) else dnd
    return f"RingCentral {status}, {dnd_shown}"
