"""Writes sent long after they were decided (issue 8): budgets, throttling and coalescing.

Each scenario holds a write between the engine's decision and the dispatcher's send for longer
than the engine's grace for late reports, while reports keep arriving, and checks what the
person would notice: nothing is taken for their own change, and both sides come back.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from presence_sync.domain import DEFAULT_RULES, CallRule, OrgSettings, TeamsState
from presence_sync.engine import (
    PENDING_GRACE,
    SESSION_TTL,
    ClearTeamsSession,
    FailureReason,
    RingCentralObserved,
    SetRingCentralPresence,
    SetTeamsSession,
    SyncDisabled,
    SyncEnabled,
    TeamsObserved,
    Tick,
    WriteApplied,
    WriteFailed,
    settled_echo,
)
from tests.engine.test_engine_scenarios import Run, rc_writes, teams_writes

IN_A_CALL_NO_CALLS = OrgSettings(
    call_presence_customisation=True,
    rules=DEFAULT_RULES.with_rule(TeamsState.IN_A_CALL, CallRule.NO_CALLS),
)


def _single_rc(commands: object) -> SetRingCentralPresence:
    (command,) = [c for c in commands if isinstance(c, SetRingCentralPresence)]  # type: ignore[attr-defined]
    return command


def test_a_busy_that_waited_minutes_for_its_budget_is_restored_after_the_meeting() -> None:
    run = Run()
    busy = _single_rc(run.teams("Busy", "InAMeeting").commands)
    assert busy.user_status == "Busy"
    # The write waits 15 minutes for RingCentral's budget; reads keep showing Available.
    for _ in range(3):
        assert not rc_writes(run.read({}, late=PENDING_GRACE + 180))
    # Then it is sent, acknowledged and echoed.
    sent = run.now
    assert not run.feed(WriteApplied(busy, sent_at=sent), advance=0.2).commands
    assert not run.rc_event(user_status="Busy").commands
    assert not rc_writes(run.read({}, late=PENDING_GRACE + 5))

    (restore,) = rc_writes(run.teams("Available", "Available"))
    assert restore.user_status == "Available"
    assert "restore userStatus" in restore.cause


def test_a_bulk_sync_write_waiting_behind_real_time_work_is_not_taken_for_a_hand_change() -> None:
    # "sync all" reaches someone already in a meeting; bulk writes leave a reserve for
    # real-time ones, so this one waits long while reads keep coming.
    run = Run()
    run.feed(SyncDisabled("admin"))
    run.teams("Busy", "InAMeeting")
    busy = _single_rc(run.feed(SyncEnabled()).commands)
    for _ in range(4):
        assert not rc_writes(run.read({}, late=PENDING_GRACE + 60))
    assert run.state.rc_write("user_status") is not None  # still ours, still waiting
    run.feed(WriteApplied(busy, sent_at=run.now), advance=0.3)
    run.rc_event(user_status="Busy")

    (restore,) = rc_writes(run.teams("Available", "Available"))
    assert restore.user_status == "Available"


def test_a_dnd_refresh_held_back_by_graph_throttling_writes_nothing_to_ringcentral() -> None:
    run = Run()
    # The person sets Do not disturb in RingCentral: we show it in Teams.
    decision = run.rc_event(dnd_status="DoNotAcceptAnyCalls")
    (session,) = teams_writes(decision)
    assert isinstance(session, SetTeamsSession)
    for follow in run.apply(decision):
        assert not rc_writes(follow)
    run.teams("DoNotDisturb", "Presenting")
    run.teams("DoNotDisturb", "Presenting")  # meanwhile they joined a meeting, hidden by DND
    set_at = run.state.session.held_until - SESSION_TTL  # type: ignore[union-attr]

    # The refresh is decided in time but Graph throttles us past the session's expiry.
    refresh = run.feed(Tick(), advance=set_at + SESSION_TTL - 200 - run.now)
    (renewal,) = teams_writes(refresh)
    assert isinstance(renewal, SetTeamsSession)
    assert renewal.refresh
    # Graph dropped our session: for a moment Teams shows the person's own meeting.
    gap = set_at + SESSION_TTL + 30
    run.now = gap
    assert not rc_writes(run.feed(TeamsObserved("Busy", "InAMeeting", None, gap), advance=0.0))
    assert not rc_writes(run.feed(WriteApplied(renewal, sent_at=gap + 60), advance=61.0))
    assert not rc_writes(run.feed(TeamsObserved("Busy", "InAMeeting", None, gap + 1), advance=0))
    assert not rc_writes(run.teams("DoNotDisturb", "Presenting"))


def test_a_clear_held_back_until_a_new_call_never_feeds_our_session_into_the_rules() -> None:
    run = Run(IN_A_CALL_NO_CALLS)
    # A RingCentral call: we show Busy/InACall in Teams.
    decision = run.rc_event(telephony="CallConnected")
    for follow in run.apply(decision):
        assert not rc_writes(follow)
    # The call ends: the clear waits behind Graph throttling ...
    (clear,) = teams_writes(run.rc_event(telephony="NoCall"))
    assert isinstance(clear, ClearTeamsSession)
    # ... while Graph keeps showing our session, well past the linger after our decision ...
    shown = run.now + 200
    late = TeamsObserved("Busy", "InACall", None, shown)
    assert not rc_writes(run.feed(late, advance=200.5))
    # ... and a new call starts before it was sent: the dispatcher sends only the new set.
    (again,) = teams_writes(run.rc_event(telephony="CallConnected"))
    assert isinstance(again, SetTeamsSession)
    assert not rc_writes(run.feed(WriteApplied(again, sent_at=run.now), advance=0.2))
    assert not rc_writes(run.teams("Busy", "InACall"))
    assert run.rc["dnd_status"] == "TakeAllCalls"
    assert run.state.rc_writes == ()


def test_a_read_answered_before_a_long_wait_cannot_undo_the_write() -> None:
    run = Run()
    busy = _single_rc(run.teams("Busy", "InAMeeting").commands)
    run.feed(Tick(), advance=PENDING_GRACE * 3)
    run.feed(WriteApplied(busy, sent_at=run.now), advance=0.1)
    # A read answered just before the write landed, recorded within the grace after it.
    observed = RingCentralObserved(
        user_status="Available", dnd_status="TakeAllCalls", observed_at=run.now + 30.0
    )
    assert not rc_writes(run.feed(observed, advance=30.0))
    run.rc_event(user_status="Busy")
    (restore,) = rc_writes(run.teams("Available", "Available"))
    assert restore.user_status == "Available"


def _read_asked_at(asked: float, **values: str) -> RingCentralObserved:
    """A presence GET stamped when it was asked for (as the product stamps reads)."""
    return RingCentralObserved(
        user_status=values.get("user_status", "Available"),
        dnd_status=values.get("dnd_status", "TakeAllCalls"),
        telephony_status="NoCall",
        sequence=None,
        observed_at=asked,
    )


@pytest.mark.parametrize("acknowledged_first", [True, False])
def test_a_read_asked_before_our_busy_but_answered_after_it_is_not_the_users_busy(
    acknowledged_first: bool,
) -> None:
    # A reconciliation read is asked for just before a meeting starts, then retried through a
    # RingCentral 503 burst and answered after our Busy landed; the Busy's own event was lost
    # (20% of notifications dropped). The read shows our Busy, stamped before we sent it.
    run = Run()
    asked = run.now + 0.5
    run.now += 5
    busy = _single_rc(run.teams("Busy", "InAMeeting").commands)
    applied = WriteApplied(busy, sent_at=run.now + 1.6)
    if acknowledged_first:
        run.feed(applied, advance=2)
    assert not rc_writes(run.feed(_read_asked_at(asked, user_status="Busy")))
    if not acknowledged_first:
        run.feed(applied, advance=2)
    record = run.state.rc_write("user_status")
    assert record is not None
    assert record.replaced == "Available"  # the field was Available before our Busy

    (restore,) = rc_writes(run.teams("Available", "Available"))
    assert restore.user_status == "Available"


def test_a_busy_lost_with_a_stopped_server_is_written_again_at_once_and_restored_later() -> None:
    # The server dies with the meeting's Busy sent and unanswered; the next one hands it back.
    run = Run()
    busy = _single_rc(run.teams("Busy", "InAMeeting").commands)
    # Reads showing Available meanwhile are not taken while the Busy may still land.
    assert not rc_writes(run.read({}, late=30))
    (again,) = rc_writes(run.feed(WriteFailed(busy, FailureReason.LOST.value)))
    assert again.user_status == "Busy"
    assert run.state.rc_retry_at is None  # nothing failed at RingCentral: no back-off
    run.feed(WriteApplied(again, sent_at=run.now), advance=0.2)
    run.rc_event(user_status="Busy")

    (restore,) = rc_writes(run.teams("Available", "Available"))
    assert restore.user_status == "Available"


def test_a_lost_write_that_was_written_again_since_is_left_alone() -> None:
    run = Run()
    busy = _single_rc(run.teams("Busy", "InAMeeting").commands)
    run.feed(WriteApplied(busy, sent_at=run.now), advance=0.2)
    run.rc_event(user_status="Busy")
    # An old entry handed back after the write was acknowledged changes nothing.
    decision = run.feed(WriteFailed(busy, FailureReason.LOST.value))
    assert not rc_writes(decision)
    record = run.state.rc_write("user_status")
    assert record is not None
    assert record.written == "Busy"


def _echo(run: Run, **values: str) -> RingCentralObserved:
    """The next numbered RingCentral event, showing `values` over what it showed."""
    shown = {**run.rc, **values}
    return RingCentralObserved(
        user_status=str(shown["user_status"]),
        dnd_status=str(shown["dnd_status"]),
        telephony_status=run.telephony,
        sequence=run.rc_seq + 1,
        observed_at=run.now + 0.5,
    )


def test_the_echo_of_an_acknowledged_busy_is_settled_and_deciding_on_it_changes_nothing() -> None:
    run = Run()
    busy = _single_rc(run.teams("Busy", "InAMeeting").commands)
    echo = _echo(run, user_status="Busy")
    assert not settled_echo(run.state, echo)  # not acknowledged yet: the echo dates it
    run.feed(WriteApplied(busy, sent_at=run.now), advance=0.2)
    assert settled_echo(run.state, echo)
    assert not run.feed(echo).commands


def test_an_echo_showing_anything_else_new_is_not_settled() -> None:
    run = Run()
    busy = _single_rc(run.teams("Busy", "InAMeeting").commands)
    run.feed(WriteApplied(busy, sent_at=run.now), advance=0.2)
    assert not settled_echo(run.state, _echo(run, user_status="Away"))  # not what we wrote
    assert not settled_echo(
        run.state, _echo(run, user_status="Busy", dnd_status="DoNotAcceptAnyCalls")
    )
    run.telephony = "Ringing"
    assert not settled_echo(run.state, _echo(run, user_status="Busy"))
    run.telephony = "NoCall"
    far = replace(_echo(run, user_status="Busy"), sequence=run.rc_seq + 10_000)
    assert not settled_echo(run.state, far)


def test_a_settled_echo_left_for_the_next_decision_ends_the_meeting_the_same_way() -> None:
    # Folded at once, or only with the next Teams change (as the store hands it over: the
    # Teams observation first, then the stored RingCentral one): the same restore either way.
    outcomes = []
    for deferred in (False, True):
        run = Run()
        busy = _single_rc(run.teams("Busy", "InAMeeting").commands)
        run.feed(WriteApplied(busy, sent_at=run.now), advance=0.2)
        echo = _echo(run, user_status="Busy")
        run.rc["user_status"], run.rc_seq = "Busy", run.rc_seq + 1
        if not deferred:
            run.feed(echo)
        run.now += 300
        ended = rc_writes(run.teams("Available", "Available"))
        if deferred:
            ended += rc_writes(run.feed(echo))
        outcomes.append([(c.user_status, c.dnd_status) for c in ended])
    assert outcomes[0] == outcomes[1] == [("Available", None)]
