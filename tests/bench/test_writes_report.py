"""The writes benchmark's list of people who got writes they did not need (bench/writes.py)."""

from __future__ import annotations

import json
from collections import Counter

from bench.needed import NeededWrites
from bench.writes import people_differing
from presence_sync.demo.scenario import Step
from presence_sync.store import AuditEntry
from presence_sync.store.models import AuditDetails

ANN = "ann@contoso.example"


def test_a_person_with_an_extra_write_is_listed_as_json_with_the_write_and_its_cause() -> None:
    busy = {"userStatus": "Busy", "dndStatus": "TakeAllCalls"}
    sent = [
        AuditEntry(
            at=100.0 + n,
            actor="system",
            action="ringcentral.presence",
            user=ANN,
            details=AuditDetails(write=busy, cause="teams", result="applied"),
        )
        for n in range(2)
    ]
    listed = people_differing(
        [Step(at=1.0, person=ANN, action="meeting-start")],
        {ANN: NeededWrites(ringcentral=1)},
        {ANN: Counter(ringcentral=2)},
        sent,
        {},
        100.0,
        more=True,
    )
    assert json.loads(json.dumps(listed)) == [
        {
            "person": ANN,
            "needed": {"ringcentral": 1, "teams": 0},
            "sent": {"ringcentral": 2, "teams": 0},
            "steps": ["1.0 s meeting-start"],
            "writes": [
                {"at": f"{n}.0 s", "write": busy, "cause": "teams", "result": "applied"}
                for n in range(2)
            ],
        }
    ]
