"""The scenario driver and the checker against the real sandbox, with no product running."""

from __future__ import annotations

from typing import Any

import pytest

from presence_sync.demo.control import ControlError, SandboxControl, as_person, linked_people
from presence_sync.demo.driver import play
from presence_sync.demo.expect import baseline_activity, check_rows, replay
from presence_sync.demo.scenario import Person, Step
from sandbox.server import RunningSandbox


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A small org: every mismatch kind still appears in the first 25 people."""
    return {"users": 25}


async def test_a_played_day_shows_in_the_sandbox_and_the_check_sees_what_nobody_synced(
    sandbox: RunningSandbox,
) -> None:
    control = SandboxControl(sandbox.base_url, sandbox.http)
    entries = linked_people(await control.state())
    signed_in = [e for e in entries if e["teams"]["presence"]["availability"] != "Offline"]
    people = {p.teams_email.lower(): p for p in map(as_person, signed_in)}
    ann, bob, cy, dee, eve = list(people)[2:7]
    steps = [
        Step(0.0, ann, "meeting-start"),
        Step(0.1, bob, "rc-call-start"),
        Step(0.2, cy, "rc-dnd-on"),
        Step(0.3, dee, "sign-out"),
        Step(0.4, eve, "teams-dnd-on"),
        Step(0.5, eve, "teams-available"),
    ]
    said: list[str] = []
    done = await play(steps, people, control, say=lambda _t, text: said.append(text))
    assert done == steps
    assert said[0] == f"{people[ann].name} joins a Teams meeting"

    after = {e["email"]: e for e in (await control.state())["users"] if e["teams"]}
    assert after[ann]["teams"]["presence"]["activity"] == "InAMeeting"
    assert after[bob]["ringcentral"]["presence"]["telephonyStatus"] == "CallConnected"
    assert after[cy]["ringcentral"]["presence"]["dndStatus"] == "DoNotAcceptAnyCalls"
    assert after[dee]["teams"]["presence"]["availability"] == "Offline"

    # Nothing carries presence across, so exactly the people whose other side should have
    # changed fail the check; everyone else is still in their own, expected, state.
    expected = replay(
        done, {e["teams"]["userPrincipalName"]: baseline_activity(e) for e in signed_in}
    )
    rows = check_rows([after[e["email"]] for e in signed_in], expected)
    failing = {r.email: r.problem for r in rows if not r.ok}
    assert set(failing) == {ann, bob, cy, dee}
    assert failing[ann] == "RingCentral status Available, expected Busy"
    assert failing[bob] == "Teams shows Available"
    assert failing[dee] == "RingCentral status Available, expected Offline"


async def test_a_refused_step_is_reported_and_the_day_goes_on(sandbox: RunningSandbox) -> None:
    control = SandboxControl(sandbox.base_url, sandbox.http)
    entries = linked_people(await control.state())
    real = as_person(entries[3])
    ghost = Person("Ghost", "ghost@contoso.example", "ghost@contoso.example")
    people = {real.teams_email.lower(): real, ghost.teams_email: ghost}
    steps = [Step(0, ghost.teams_email, "rc-call-start"), Step(0, real.teams_email, "rc-dnd-on")]
    said: list[str] = []
    done = await play(steps, people, control, say=lambda _t, text: said.append(text))
    assert done == [steps[1]]
    assert said[0].startswith("Ghost answers a RingCentral call: refused by the sandbox")
    assert "404" in said[0]
    with pytest.raises(ControlError, match="no RingCentral extension"):
        await control.act(steps[0], ghost)


async def test_linked_people_leaves_out_one_sided_and_disabled_accounts(
    sandbox: RunningSandbox,
) -> None:
    state = await SandboxControl(sandbox.base_url, sandbox.http).state()
    chosen = [id(e) for e in linked_people(state)]
    for entry in state["users"]:
        teams, rc = entry["teams"], entry["ringcentral"]
        usable = bool(teams and rc and teams["accountEnabled"] and rc["status"] == "Enabled")
        assert (id(entry) in chosen) == usable, entry["email"]
    assert len(chosen) < len(state["users"])
    by_id = {e["teams"]["id"]: e["email"] for e in state["users"] if e["teams"]}
    some = set(list(by_id)[:3])
    assert {e["email"] for e in linked_people(state, some)} <= {by_id[i] for i in some}
