"""The office day as data: who does what and when, paced to what RingCentral allows."""

from __future__ import annotations

from collections import defaultdict

import pytest

from presence_sync.demo.expect import Activity, replay
from presence_sync.demo.scenario import (
    HELD_ROUTINES,
    RC_WRITES_PER_MINUTE,
    TEAMS_SIDE_ACTIONS,
    Person,
    Step,
    control_request,
    office_day,
)

PEOPLE = [
    Person(f"Person {i}", f"p{i}@contoso.example", f"P{i}@Contoso.example") for i in range(30)
]


def _by_person(steps: list[Step]) -> dict[str, list[Step]]:
    grouped: dict[str, list[Step]] = defaultdict(list)
    for step in steps:
        grouped[step.person].append(step)
    return grouped


def test_the_same_seed_gives_the_same_day_and_another_seed_a_different_one() -> None:
    assert office_day(PEOPLE, 60, seed=1) == office_day(PEOPLE, 60, seed=1)
    assert office_day(PEOPLE, 60, seed=1) != office_day(PEOPLE, 60, seed=2)


@pytest.mark.parametrize("duration", [20.0, 60.0, 300.0])
def test_every_activity_that_starts_also_ends_within_the_day(duration: float) -> None:
    steps = office_day(PEOPLE, duration, seed=3)
    assert steps == sorted(steps, key=lambda s: (s.at, s.person))
    assert all(0 <= s.at <= duration for s in steps)
    end = replay(steps, {})
    assert set(end) == {p.teams_email for p in PEOPLE}
    assert all(activity == Activity() for activity in end.values()), "everyone is back"
    for person, own in _by_person(steps).items():
        assert len({s.routine for s in own}) == 1, f"{person} follows one routine"


def test_the_day_has_meetings_calls_overlaps_dnd_and_sign_outs() -> None:
    routines = {s.routine for s in office_day(PEOPLE, 120, seed=0)}
    assert {
        "meeting",
        "call",
        "call-in-meeting",
        "meeting-during-call",
        "rc-dnd",
        "teams-dnd",
        "offline",
    } <= routines


@pytest.mark.parametrize(("duration", "people"), [(60.0, 30), (60.0, 200), (30.0, 100)])
def test_writes_to_ringcentral_stay_within_its_budget(duration: float, people: int) -> None:
    crowd = [Person(f"P{i}", f"p{i}@x.example", f"p{i}@x.example") for i in range(people)]
    steps = office_day(crowd, duration, seed=5, hold_some=True)
    rc_writes = sum(1 for s in steps if s.action in TEAMS_SIDE_ACTIONS)
    assert rc_writes <= max(2, RC_WRITES_PER_MINUTE * duration / 60)
    assert len(_by_person(steps)) == people, "everyone still does something"


def test_hold_some_leaves_a_meeting_a_call_and_dnd_going_at_the_end() -> None:
    steps = office_day(PEOPLE, 60, seed=0, hold_some=True)
    held = {s.routine for s in steps if s.routine in HELD_ROUTINES}
    assert held == set(HELD_ROUTINES)
    assert not {s.routine for s in office_day(PEOPLE, 60, seed=0)} & set(HELD_ROUTINES)


def test_a_step_becomes_the_sandbox_call_that_acts_it_out() -> None:
    ann = Person("Ann Lee", "alee@contoso.example", "ann.lee@contoso.example")
    assert control_request(Step(0, ann.teams_email, "meeting-start"), ann) == (
        "POST",
        "/_sandbox/teams/alee@contoso.example/meeting",
        {"action": "start"},
    )
    assert control_request(Step(0, ann.teams_email, "rc-call-start"), ann) == (
        "POST",
        "/_sandbox/ringcentral/ann.lee@contoso.example/call",
        {"action": "connect"},
    )
    legacy = control_request(Step(0, ann.teams_email, "rc-dnd-on"), ann, "legacy")
    chs = control_request(Step(0, ann.teams_email, "rc-dnd-on"), ann, "chs")
    assert legacy[2] == {"dndStatus": "DoNotAcceptAnyCalls"}
    assert chs[2] == {"dndStatusPersonal": "DoNotAcceptAnyCalls"}
    with pytest.raises(ValueError, match="unknown scenario action 'dance'"):
        control_request(Step(0, ann.teams_email, "dance"), ann)
