"""The office-day scenario as data: timed steps per person, and the sandbox call each one makes.

A scenario is a plain list of `Step`s (seconds from the start, person, action), so the demo,
its tests and the benchmarks can replay the same day. `office_day` builds one for the people
the product linked; `control_request` turns a step into the sandbox control call that acts it
out (a Teams meeting, a RingCentral call, DND set by hand, someone signing out).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACTIONS",
    "HELD_ROUTINES",
    "ROUTINES",
    "TEAMS_SIDE_ACTIONS",
    "Person",
    "Step",
    "control_request",
    "describe_step",
    "office_day",
]

# What each action says in the demo's log, and which platform the person uses for it.
ACTIONS: dict[str, str] = {
    "meeting-start": "joins a Teams meeting",
    "meeting-end": "leaves the Teams meeting",
    "rc-call-start": "answers a RingCentral call",
    "rc-call-end": "hangs up the RingCentral call",
    "rc-dnd-on": "turns on Do not disturb in RingCentral",
    "rc-dnd-off": "turns off Do not disturb in RingCentral",
    "teams-dnd-on": "sets Do not disturb in Teams",
    "teams-available": "sets Available in Teams",
    "sign-out": "signs out of Teams",
    "sign-in": "signs back in to Teams",
}
# Actions whose effect the product carries to RingCentral with a presence write; RingCentral
# allows about 40 of those a minute, so the day is paced by them.
TEAMS_SIDE_ACTIONS = frozenset(
    {"meeting-start", "meeting-end", "teams-dnd-on", "teams-available", "sign-out", "sign-in"}
)

# A routine is what one person does during the day: (fraction of its length, action) pairs.
ROUTINES: dict[str, tuple[tuple[float, str], ...]] = {
    "meeting": ((0.0, "meeting-start"), (1.0, "meeting-end")),
    "call": ((0.0, "rc-call-start"), (1.0, "rc-call-end")),
    "call-in-meeting": (
        (0.0, "meeting-start"),
        (0.3, "rc-call-start"),
        (0.7, "meeting-end"),
        (1.0, "rc-call-end"),
    ),
    "meeting-during-call": (
        (0.0, "rc-call-start"),
        (0.3, "meeting-start"),
        (0.7, "rc-call-end"),
        (1.0, "meeting-end"),
    ),
    "rc-dnd": ((0.0, "rc-dnd-on"), (1.0, "rc-dnd-off")),
    "teams-dnd": ((0.0, "teams-dnd-on"), (1.0, "teams-available")),
    "offline": ((0.0, "sign-out"), (1.0, "sign-in")),
}
# Routines still going when the day ends, so a check also sees people mid-activity.
HELD_ROUTINES: dict[str, tuple[tuple[float, str], ...]] = {
    "still-in-meeting": ((0.0, "meeting-start"),),
    "still-on-call": ((0.0, "rc-call-start"),),
    "still-dnd": ((0.0, "rc-dnd-on"),),
}
_ORDER = (
    "meeting",
    "call",
    "call-in-meeting",
    "rc-dnd",
    "meeting-during-call",
    "teams-dnd",
    "offline",
    "meeting",
    "call",
)
# Presence writes to RingCentral the day may cause per minute (RingCentral allows 40).
RC_WRITES_PER_MINUTE = 24


@dataclass(frozen=True)
class Person:
    """Someone the scenario acts as: their Teams sign-in name and RingCentral email."""

    name: str
    teams_email: str
    rc_email: str


@dataclass(frozen=True)
class Step:
    """One timed action: `at` seconds after the scenario starts, `person` (Teams email) acts."""

    at: float
    person: str
    action: str
    routine: str = ""


def office_day(
    people: Sequence[Person], duration: float, seed: int = 0, *, hold_some: bool = False
) -> list[Step]:
    """A day of meetings, calls, overlaps, DND and sign-outs fitted into `duration` seconds.

    Each person follows at most one routine, so what everyone should show at any moment is
    plain from the steps. With `hold_some`, a few routines are still going at the end.
    """
    if duration <= 0:
        raise ValueError("duration must be positive")
    rng = random.Random(seed)
    cast = list(people)
    rng.shuffle(cast)
    # Each Teams-side action costs one RingCentral write; past the budget, people get
    # RingCentral-only routines instead (their writes go to Graph, which allows far more).
    rc_writes_left = max(2, int(RC_WRITES_PER_MINUTE * duration / 60))
    steps: list[Step] = []
    held = list(HELD_ROUTINES) if hold_some and len(cast) >= 6 else []
    for index, person in enumerate(cast):
        if held and index % 5 == 4:
            name = held.pop(0)
            start = rng.uniform(0.35, 0.6) * duration
            steps += _place(person, name, HELD_ROUTINES[name], start, 0.0)
            rc_writes_left -= _teams_side_count(HELD_ROUTINES[name])
            continue
        name = _ORDER[index % len(_ORDER)]
        if _teams_side_count(ROUTINES[name]) > rc_writes_left:
            name = "call" if index % 2 else "rc-dnd"
        rc_writes_left -= _teams_side_count(ROUTINES[name])
        length = rng.uniform(0.15, 0.35) * duration
        start = rng.uniform(0.0, 0.8 * duration - length)
        steps += _place(person, name, ROUTINES[name], start, length)
    steps.sort(key=lambda s: (s.at, s.person))
    return steps


def _teams_side_count(routine: tuple[tuple[float, str], ...]) -> int:
    return sum(1 for _, action in routine if action in TEAMS_SIDE_ACTIONS)


def _place(
    person: Person,
    name: str,
    routine: tuple[tuple[float, str], ...],
    start: float,
    length: float,
) -> list[Step]:
    return [
        Step(
            at=round(start + fraction * length, 2),
            person=person.teams_email,
            action=action,
            routine=name,
        )
        for fraction, action in routine
    ]


def control_request(
    step: Step, person: Person, rc_mode: str = "legacy"
) -> tuple[str, str, dict[str, Any]]:
    """The sandbox control call (method, path, JSON body) that acts out `step`."""
    teams = f"/_sandbox/teams/{person.teams_email}"
    rc = f"/_sandbox/ringcentral/{person.rc_email}"
    # Communication-handling accounts keep the user's own DND in dndStatusPersonal.
    dnd_field = "dndStatusPersonal" if rc_mode == "chs" else "dndStatus"
    requests: dict[str, tuple[str, dict[str, Any]]] = {
        "meeting-start": (f"{teams}/meeting", {"action": "start"}),
        "meeting-end": (f"{teams}/meeting", {"action": "end"}),
        "rc-call-start": (f"{rc}/call", {"action": "connect"}),
        "rc-call-end": (f"{rc}/call", {"action": "end"}),
        "rc-dnd-on": (f"{rc}/presence", {dnd_field: "DoNotAcceptAnyCalls"}),
        "rc-dnd-off": (f"{rc}/presence", {dnd_field: "TakeAllCalls"}),
        "teams-dnd-on": (
            f"{teams}/presence",
            {"availability": "DoNotDisturb", "activity": "DoNotDisturb"},
        ),
        "teams-available": (
            f"{teams}/presence",
            {"availability": "Available", "activity": "Available"},
        ),
        "sign-out": (f"{teams}/presence", {"availability": "Offline"}),
        "sign-in": (f"{teams}/presence", {"availability": "Available", "activity": "Available"}),
    }
    if step.action not in requests:
        raise ValueError(f"unknown scenario action {step.action!r}; one of {sorted(requests)}")
    path, body = requests[step.action]
    return "POST", path, body


def describe_step(step: Step, person: Person) -> str:
    """One readable line for the demo's log, e.g. `Ann Lee answers a RingCentral call`."""
    return f"{person.name} {ACTIONS.get(step.action, step.action)}"
