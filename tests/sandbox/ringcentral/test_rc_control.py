"""The /_sandbox/ringcentral control API: calls, status changes in the app, call routing."""

from __future__ import annotations

import pytest
from rc_harness import RcSandbox, StartRc

from sandbox.ringcentral import describe


@pytest.mark.parametrize(
    ("dnd", "direct", "queue"),
    [
        ("TakeAllCalls", True, True),
        ("DoNotAcceptDepartmentCalls", True, False),
        ("TakeDepartmentCallsOnly", False, True),
        ("DoNotAcceptAnyCalls", False, False),
    ],
)
async def test_legacy_dnd_decides_which_calls_ring(
    rc: RcSandbox, dnd: str, direct: bool, queue: bool
) -> None:
    email = rc.ext(1).email  # a call-queue member
    status, _ = await rc.control(f"{email}/presence", {"dndStatus": dnd, "userStatus": "Busy"})
    assert status == 200
    _, direct_answer = await rc.control(f"{email}/inbound-call", {"queue": False})
    _, queue_answer = await rc.control(f"{email}/inbound-call", {"queue": True})
    assert (direct_answer["rings"], queue_answer["rings"]) == (direct, queue)
    assert direct_answer["reason"]


@pytest.mark.parametrize(
    ("change", "direct", "queue"),
    [
        ({"acceptCallQueueCalls": False}, True, False),
        ({"dndStatusPersonal": "DoNotAcceptAnyCalls"}, False, False),
        ({"userStatus": "Offline"}, True, True),
    ],
)
async def test_chs_personal_dnd_and_queue_acceptance_decide_which_calls_ring(
    start_rc: StartRc, change: dict[str, object], direct: bool, queue: bool
) -> None:
    rc = await start_rc(mode="chs")
    email = rc.ext(2).email
    await rc.control(f"{email}/presence", change)
    _, direct_answer = await rc.control(f"{email}/inbound-call", {"queue": False})
    _, queue_answer = await rc.control(f"{email}/inbound-call", {"queue": True})
    assert (direct_answer["rings"], queue_answer["rings"]) == (direct, queue)


async def test_queue_calls_never_ring_users_outside_queues(rc: RcSandbox) -> None:
    _, answer = await rc.control(f"{rc.ext(40).email}/inbound-call", {"queue": True})
    assert answer == {"rings": False, "reason": "not a member of any call queue"}


async def test_call_lifecycle_shows_in_state(rc: RcSandbox) -> None:
    user = rc.ext(9)
    _, ringing = await rc.control(f"{user.email}/call", {"action": "ring", "queue": True})
    assert (ringing["telephonyStatus"], ringing["presenceStatus"]) == ("Ringing", "Busy")
    assert user.presence.active_calls[0]["queueCall"] is True
    _, held = await rc.control(f"{user.email}/call", {"action": "hold"})
    assert held["telephonyStatus"] == "OnHold"
    _, ended = await rc.control(f"{user.email}/call", {"action": "end"})
    assert (ended["telephonyStatus"], ended["presenceStatus"]) == ("NoCall", "Available")
    assert describe(rc.ctx, user) == {
        "extensionId": user.id,
        "userStatus": "Available",
        "dndStatus": "TakeAllCalls",
        "dndStatusPersonal": "TakeAllCalls",
        "acceptCallQueueCalls": True,
        "telephonyStatus": "NoCall",
        "presenceStatus": "Available",
        "sequence": 3,
    }


@pytest.mark.parametrize(
    ("path", "body", "status", "names"),
    [
        ("call", {"action": "dial"}, 400, "action"),
        ("call", {"action": "hold"}, 400, "action"),
        ("call", {"action": "ring", "queue": "yes"}, 400, "queue"),
        ("presence", {"userStatus": "Away"}, 400, "userStatus"),
        ("presence", {"dndStatus": "DoNotAcceptDepartmentCalls"}, 400, "dndStatus"),
        ("inbound-call", {"queue": 1}, 400, "queue"),
    ],
)
async def test_bad_control_input_is_refused_naming_the_problem(
    rc: RcSandbox, path: str, body: dict[str, object], status: int, names: str
) -> None:
    user = rc.ext(60)
    answer_status, answer = await rc.control(f"{user.email}/{path}", body)
    assert answer_status == status
    assert names in answer["error"]
    assert user.presence.sequence == 0


async def test_unknown_email_is_404(rc: RcSandbox) -> None:
    status, answer = await rc.control("nobody@contoso.example/call", {"action": "ring"})
    assert status == 404
    assert "nobody@contoso.example" in answer["error"]


async def test_a_restarted_count_numbers_the_next_event_after_it(rc: RcSandbox) -> None:
    user = rc.ext(9)
    await rc.control(f"{user.email}/call", {"action": "ring"})
    await rc.control(f"{user.email}/call", {"action": "connect"})
    status, restarted = await rc.control(f"{user.email}/sequence", {"sequence": 0})
    assert (status, restarted["sequence"], restarted["telephonyStatus"]) == (
        200,
        0,
        "CallConnected",
    )
    _, ended = await rc.control(f"{user.email}/call", {"action": "end"})
    assert ended["sequence"] == 1


@pytest.mark.parametrize("sequence", [-1, "3", True, None])
async def test_a_sequence_that_is_not_a_count_is_refused(rc: RcSandbox, sequence: object) -> None:
    user = rc.ext(9)
    status, answer = await rc.control(f"{user.email}/sequence", {"sequence": sequence})
    assert status == 400
    assert "sequence" in answer["error"]
    assert user.presence.sequence == 0
