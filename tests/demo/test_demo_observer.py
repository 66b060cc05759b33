"""The observer reports the other platform catching up after each action, with its delay."""

from __future__ import annotations

from typing import Any

import aiohttp

from presence_sync.demo.control import SandboxControl
from presence_sync.demo.observer import PresenceObserver, Propagation
from presence_sync.demo.scenario import Person, Step

ANN = Person("Ann Lee", "ann@x.example", "ann@x.example")
BOB = Person("Bob Roe", "bob@x.example", "bob@x.example")


def _state(**people: tuple[tuple[str, str], str, str]) -> dict[str, Any]:
    users = []
    for key, (teams, status, telephony) in people.items():
        email = f"{key}@x.example"
        users.append(
            {
                "email": email,
                "teams": {
                    "userPrincipalName": email,
                    "presence": {"availability": teams[0], "activity": teams[1]},
                },
                "ringcentral": {
                    "email": email,
                    "presence": {
                        "userStatus": status,
                        "dndStatus": "TakeAllCalls",
                        "dndStatusPersonal": "TakeAllCalls",
                        "acceptCallQueueCalls": True,
                        "telephonyStatus": telephony,
                    },
                },
            }
        )
    return {"users": users}


async def test_changes_on_the_other_side_are_reported_once_with_their_delay() -> None:
    now = [100.0]
    said: list[str] = []
    async with aiohttp.ClientSession() as session:
        observer = PresenceObserver(
            SandboxControl("https://unused.invalid", session),
            {"ann@x.example": ANN, "bob@x.example": BOB},
            say=lambda _t, text: said.append(text.strip()),
            clock=lambda: now[0],
            started=100.0,
        )
        idle = (("Available", "Available"), "Available", "NoCall")
        observer.observe(_state(ann=idle, bob=idle))
        observer.acted(Step(0, "ann@x.example", "meeting-start"))
        observer.acted(Step(0, "bob@x.example", "rc-call-start"))
        now[0] = 100.5
        # The sandbox shows what each person did themselves: not the product's doing.
        observer.observe(
            _state(
                ann=(("Busy", "InAMeeting"), "Available", "NoCall"),
                bob=(("Available", "Available"), "Available", "CallConnected"),
            )
        )
        assert said == []
        now[0] = 101.25
        observer.observe(
            _state(
                ann=(("Busy", "InAMeeting"), "Busy", "NoCall"),
                bob=(("Busy", "InACall"), "Available", "CallConnected"),
            )
        )
        now[0] = 102.0
        observer.observe(
            _state(
                ann=(("Busy", "InAMeeting"), "Available", "NoCall"),
                bob=(("Busy", "InACall"), "Available", "CallConnected"),
            )
        )
    assert said == [
        "-> Ann Lee: RingCentral Busy, TakeAllCalls (1.2 s)",
        "-> Bob Roe: Teams shows Busy/InACall (1.2 s)",
    ]
    assert observer.propagation == Propagation((1.25, 1.25))


def test_the_summary_gives_median_tail_and_slowest() -> None:
    delays = Propagation(tuple(float(n) / 10 for n in range(1, 21)))
    assert delays.summary() == (
        "20 changes carried across: median 1.1 s, 95th percentile 2.0 s, slowest 2.0 s"
    )
    assert Propagation(()).summary() == "no changes carried across were seen"
