"""Writes needed: the ground truth the engine benchmark divides by (bench/needed.py)."""

from __future__ import annotations

import pytest

from bench.needed import DND, TAKE_ALL, Doing, NeededWrites, needed_writes
from presence_sync.demo.scenario import ROUTINES, Person, Step, office_day

ANN = "ann@contoso.example"
AVAILABLE = (Doing(), ("Available", TAKE_ALL))


def _routine(name: str, person: str = ANN) -> list[Step]:
    return [Step(at=10.0 * i, person=person, action=a) for i, (_, a) in enumerate(ROUTINES[name])]


@pytest.mark.parametrize(
    ("routine", "rc", "teams"),
    [
        ("meeting", 2, 0),  # Busy, then Available again
        ("call", 0, 2),  # In a call session set, then cleared
        ("call-in-meeting", 2, 2),
        ("meeting-during-call", 2, 2),
        ("rc-dnd", 0, 2),  # the person's own DND shows in RingCentral already
        ("teams-dnd", 2, 0),  # DND written to RingCentral, then their own value back
        ("offline", 2, 0),  # Offline, then Available
    ],
)
def test_each_routine_needs_its_writes(routine: str, rc: int, teams: int) -> None:
    assert needed_writes(_routine(routine), {ANN: AVAILABLE}) == {ANN: NeededWrites(rc, teams)}


def test_repeated_steps_need_nothing_more() -> None:
    steps = _routine("meeting")
    doubled = [*steps, Step(1.0, ANN, "meeting-start"), Step(25.0, ANN, "meeting-end")]
    assert needed_writes(doubled, {ANN: AVAILABLE}) == {ANN: NeededWrites(2, 0)}


def test_steps_count_in_time_order_whatever_order_they_are_given() -> None:
    steps = list(reversed(_routine("call-in-meeting")))
    assert needed_writes(steps, {ANN: AVAILABLE}) == {ANN: NeededWrites(2, 2)}


def test_a_meeting_over_dnd_set_by_hand_keeps_their_dnd() -> None:
    steps = [
        Step(0.0, ANN, "rc-dnd-on"),
        Step(1.0, ANN, "meeting-start"),  # Busy is written; their DND stays
        Step(2.0, ANN, "meeting-end"),  # Available is written back; DND still theirs
        Step(3.0, ANN, "rc-dnd-off"),
    ]
    assert needed_writes(steps, {ANN: AVAILABLE}) == {ANN: NeededWrites(2, 2)}


def test_someone_already_dnd_in_ringcentral_needs_no_write_for_teams_dnd() -> None:
    start = {ANN: (Doing(), ("Available", DND))}
    steps = [Step(0.0, ANN, "teams-dnd-on"), Step(1.0, ANN, "teams-available")]
    assert needed_writes(steps, start) == {ANN: NeededWrites(0, 0)}


def test_a_whole_office_day_needs_what_its_routines_need() -> None:
    people = [Person(f"P{i}", f"p{i}@contoso.example", f"p{i}@contoso.example") for i in range(30)]
    steps = office_day(people, 30.0, seed=0)
    start = {p.teams_email: AVAILABLE for p in people}
    per_routine = {name: needed_writes(_routine(name), {ANN: AVAILABLE})[ANN] for name in ROUTINES}
    expected_rc = expected_teams = 0
    for person in people:
        mine = [s for s in steps if s.person == person.teams_email]
        if mine:
            expected_rc += per_routine[mine[0].routine].ringcentral
            expected_teams += per_routine[mine[0].routine].teams
    needed = needed_writes(steps, start)
    assert sum(n.ringcentral for n in needed.values()) == expected_rc > 0
    assert sum(n.teams for n in needed.values()) == expected_teams > 0
    assert set(needed) == {p.teams_email for p in people}


def test_a_step_for_someone_without_a_start_state_is_refused() -> None:
    with pytest.raises(KeyError, match=r"bob@contoso\.example"):
        needed_writes([Step(0.0, "bob@contoso.example", "meeting-start")], {ANN: AVAILABLE})
