"""The faults of the soak, each applied, held, lifted, and timed until the product recovers.

Recovery is measured with two probe people who take no part in the office day: right after a
fault is lifted one joins a Teams meeting (or leaves it) and the other turns RingCentral DND on
(or off), and the fault's recovery time is how long until both show the result on the other
side, checked with the demo's own expectation (`presence_sync.demo.expect`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from presence_sync.demo.control import SandboxControl
from presence_sync.demo.expect import Activity, check_rows, replay
from presence_sync.demo.scenario import Person, Step

__all__ = ["FAULT_KINDS", "FaultResult", "Probe", "Soaking"]

POLL = 0.25


@dataclass(frozen=True)
class FaultResult:
    """One fault as it happened: when (seconds into the day), how long, how long to recover."""

    name: str
    began: float
    lasted: float
    recovery: float | None  # None: not recovered within the deadline
    note: str = ""

    def line(self) -> str:
        """`graph 429 burst        at  12.0 s, 5.0 s long, recovered in 1.3 s`."""
        healed = "NOT RECOVERED" if self.recovery is None else f"recovered in {self.recovery:.1f} s"
        note = f" ({self.note})" if self.note else ""
        return f"{self.name:<34} at {self.began:6.1f} s, {self.lasted:5.1f} s long, {healed}{note}"


@dataclass
class Probe:
    """Two people outside the day whose changes show whether sync works both ways right now."""

    control: SandboxControl
    teams_side: Person  # joins and leaves Teams meetings: RingCentral must follow
    rc_side: Person  # turns RingCentral DND on and off: Teams must follow
    baseline: dict[str, Activity]
    rc_mode: str
    started: float  # monotonic time the day began; steps are timed from it
    deadline: float
    steps: list[Step] = field(default_factory=list)
    # What was still wrong at the last check of an unrecovered fault, person by person.
    wrong: list[str] = field(default_factory=list)

    async def recovery(self) -> float | None:
        """Change both probes now; seconds until both sides are right, None past the deadline."""
        began = time.monotonic()
        await self._act(self.teams_side, "meeting-start", "meeting-end", "meeting")
        await self._act(self.rc_side, "rc-dnd-on", "rc-dnd-off", "rc_dnd")
        expected = replay(self.steps, self.baseline)
        self.wrong = ["the sandbox did not answer"]
        while time.monotonic() - began < self.deadline:
            try:
                entries = [await self._entry(p) for p in (self.teams_side, self.rc_side)]
            except (aiohttp.ClientError, TimeoutError):
                entries = []
            rows = check_rows(entries, expected, self.rc_mode) if entries else []
            if rows and all(r.ok for r in rows):
                self.wrong = []
                return time.monotonic() - began
            if rows:
                self.wrong = [f"{r.email}: {r.problem}" for r in rows if not r.ok]
            await asyncio.sleep(POLL)
        return None

    async def _act(self, person: Person, on: str, off: str, flag: str) -> None:
        now = replay(self.steps, self.baseline).get(person.teams_email.lower(), Activity())
        action = off if getattr(now, flag) else on
        step = Step(at=time.monotonic() - self.started, person=person.teams_email, action=action)
        await self.control.act(step, person, self.rc_mode)
        self.steps.append(step)

    async def _entry(self, person: Person) -> dict[str, Any]:
        entry: dict[str, Any] = await self.control.call(
            "GET", f"/_sandbox/state/{person.teams_email}"
        )
        return entry


@dataclass
class Soaking:
    """What the faults act on: the sandbox, the probe, and hooks into the soak's processes."""

    control: SandboxControl
    probe: Probe
    hold: float  # real seconds a burst, spike or chaos window lasts
    time_scale: float
    store_down: float
    stop_store: Callable[[], Awaitable[None]]
    start_store: Callable[[], Awaitable[None]]
    kill_server: Callable[[], Awaitable[None]]  # SIGKILL and start again
    start_job: Callable[[], Awaitable[str]]  # sync all through the tab API; the job id
    reconsent: Callable[[], Awaitable[None]]  # the admin grants consent again in the product
    started: float
    jobs: list[str] = field(default_factory=list)
    results: list[FaultResult] = field(default_factory=list)

    async def run(self, name: str) -> FaultResult:
        """Apply fault `name`, lift it, and time the recovery."""
        began = time.monotonic()
        note = await FAULT_KINDS[name](self)
        lifted = time.monotonic()
        recovery = await self.probe.recovery()
        if recovery is None:
            note = "; ".join(filter(None, [note, *self.probe.wrong]))
        result = FaultResult(name, began - self.started, lifted - began, recovery, note)
        self.results.append(result)
        return result

    async def add(self, *specs: dict[str, Any]) -> None:
        for spec in specs:
            await self.control.call("POST", "/_sandbox/faults", spec)

    async def clear(self) -> None:
        await self.control.call("DELETE", "/_sandbox/faults")

    async def held(self, *specs: dict[str, Any]) -> str:
        await self.add(*specs)
        await asyncio.sleep(self.hold)
        await self.clear()
        return ""


async def _graph_429(s: Soaking) -> str:
    return await s.held({"target": "graph", "status": 429, "retry_after": 2})


async def _graph_503(s: Soaking) -> str:
    return await s.held({"target": "graph", "status": 503})


async def _rc_429(s: Soaking) -> str:
    return await s.held({"target": "ringcentral", "status": 429, "retry_after": 2})


async def _rc_503(s: Soaking) -> str:
    return await s.held({"target": "ringcentral", "status": 503})


async def _latency(s: Soaking) -> str:
    return await s.held(
        {"target": "graph", "delay_ms": 4000}, {"target": "ringcentral", "delay_ms": 4000}
    )


async def _chaos(s: Soaking) -> str:
    chaos = {"drop": 0.2, "duplicate": 0.2, "reorder": True}
    return await s.held(
        {"target": "graph-notifications", **chaos}, {"target": "ringcentral-notifications", **chaos}
    )


async def _consent(s: Soaking) -> str:
    await s.add({"revoke": "microsoft-consent"})
    await asyncio.sleep(300 / s.time_scale)  # five sandbox minutes
    await s.clear()
    # Healed as an admin heals it: consent granted again and the sync account signed in again
    # (its refresh token died with the revocation), through the product's own routes.
    await s.reconsent()
    return "5 sandbox minutes, then the admin consents again"


async def _blacklist(s: Soaking) -> str:
    answer = await s.control.call("GET", "/_sandbox/ringcentral/subscriptions")
    active = [r for r in answer.get("records", []) if r.get("status") == "Active"]
    if not active:
        return "no active subscription to blacklist"
    await s.control.call("POST", f"/_sandbox/ringcentral/subscriptions/{active[0]['id']}/blacklist")
    return f"subscription {active[0]['id']}"


async def _store(s: Soaking) -> str:
    await s.stop_store()
    await asyncio.sleep(s.store_down)
    await s.start_store()
    return f"{s.store_down:.0f} s down"


async def _kill(s: Soaking) -> str:
    note = ""
    if not s.jobs:
        # The first kill lands in the middle of a sync-all job, which must still finish.
        s.jobs.append(await s.start_job())
        await asyncio.sleep(0.5)
        note = f"during sync-all job {s.jobs[0]}; "
    began = time.monotonic()
    await s.kill_server()
    return f"{note}SIGKILL and restart took {time.monotonic() - began:.1f} s"


FAULT_KINDS: dict[str, Callable[[Soaking], Awaitable[str]]] = {
    "server killed and restarted": _kill,
    "Graph 429 burst": _graph_429,
    "Graph 503 burst": _graph_503,
    "RingCentral 429 burst": _rc_429,
    "RingCentral 503 burst": _rc_503,
    "4 s latency spike (both)": _latency,
    "20% dropped/duplicated/reordered": _chaos,
    "Microsoft consent revoked": _consent,
    "RingCentral subscription blacklisted": _blacklist,
    "store stopped": _store,
}
