"""Scenarios as event sequences with the commands a user or admin would see come out."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from presence_sync.domain import DEFAULT_RULES, CallRule, OrgSettings, TeamsState
from presence_sync.engine import (
    PENDING_GRACE,
    SESSION_TTL,
    CallQueueMembershipObserved,
    ClearTeamsSession,
    Command,
    Decision,
    Event,
    FailureReason,
    RingCentralObserved,
    SetRingCentralPresence,
    SetTeamsSession,
    SettingsChanged,
    SyncDisabled,
    SyncEnabled,
    TeamsObserved,
    Tick,
    UserPreferencesChanged,
    UserState,
    WriteApplied,
    WriteFailed,
    decide,
)
from tests.engine.world import World

MEETING_NO_CALLS = OrgSettings(
    call_presence_customisation=True,
    rules=DEFAULT_RULES.with_rule(TeamsState.IN_A_MEETING, CallRule.NO_CALLS),
)


class Run:
    """One user fed events by hand; remembers remote values so tests can send echoes."""

    def __init__(self, settings: OrgSettings | None = None, *, chs: bool = False) -> None:
        self.settings = settings or OrgSettings()
        self.state = UserState()
        self.now = 1_000.0
        self.teams_seq = 100
        self.rc_seq = 1
        self.chs = chs
        self.rc = {
            "user_status": "Available",
            "dnd_status": "TakeAllCalls",
            "dnd_status_personal": "TakeAllCalls",
            "accept_call_queue_calls": True,
        }
        self.telephony = "NoCall"
        self.feed(SyncEnabled())
        self.rc_event()
        self.teams("Available", "Available")

    def feed(self, event: Event, advance: float = 1.0) -> Decision:
        """Decide one event a little later than the last one."""
        self.now += advance
        decision = decide(self.state, event, self.settings, self.now)
        self.state = decision.state
        return decision

    def teams(self, availability: str, activity: str) -> Decision:
        """Graph reports a new presence."""
        self.teams_seq += 1
        return self.feed(TeamsObserved(availability, activity, str(self.teams_seq), self.now + 1))

    def rc_event(self, **changes: object) -> Decision:
        """RingCentral reports its presence after `changes` (by hand, or a call)."""
        for name, value in changes.items():
            if name == "telephony":
                self.telephony = str(value)
            else:
                self.rc[name] = value
        self.rc_seq += 1
        if self.chs:
            event = RingCentralObserved(
                user_status=str(self.rc["user_status"]),
                dnd_status_personal=str(self.rc["dnd_status_personal"]),
                accept_call_queue_calls=bool(self.rc["accept_call_queue_calls"]),
                telephony_status=self.telephony,
                sequence=self.rc_seq,
                observed_at=self.now + 1,
            )
        else:
            event = RingCentralObserved(
                user_status=str(self.rc["user_status"]),
                dnd_status=str(self.rc["dnd_status"]),
                telephony_status=self.telephony,
                sequence=self.rc_seq,
                observed_at=self.now + 1,
            )
        return self.feed(event)

    def read(self, answered: dict[str, str], late: float) -> Decision:
        """The watcher records a presence GET `late` seconds after RingCentral answered it.

        A read has no sequence number and carries the time it was recorded, not answered.
        """
        values = {**self.rc, **answered}
        return self.feed(
            RingCentralObserved(
                user_status=str(values["user_status"]),
                dnd_status=str(values["dnd_status"]),
                telephony_status=self.telephony,
                sequence=None,
                observed_at=self.now + late,
            ),
            advance=late,
        )

    def apply(self, decision: Decision) -> list[Decision]:
        """The dispatcher applies the writes; RingCentral and Graph echo them."""
        out = []
        for command in decision.commands:
            out.append(self.feed(WriteApplied(command), advance=0.1))
            if isinstance(command, SetRingCentralPresence):
                out.append(self.rc_event(**dict(command.fields())))
            elif isinstance(command, SetTeamsSession):
                out.append(self.teams(command.availability, command.activity))
        return out


def rc_writes(decision: Decision) -> list[SetRingCentralPresence]:
    """The RingCentral writes of a decision."""
    return [c for c in decision.commands if isinstance(c, SetRingCentralPresence)]


def teams_writes(decision: Decision) -> list[Command]:
    """The Teams writes of a decision."""
    return [c for c in decision.commands if not isinstance(c, SetRingCentralPresence)]


def test_meeting_with_do_not_accept_any_calls_sets_dnd_and_restores_after() -> None:
    """Issue 5 acceptance: In a meeting + "Do not accept any calls" → DND; restored after."""
    run = Run(MEETING_NO_CALLS)
    start = run.teams("Busy", "InAMeeting")
    (write,) = rc_writes(start)
    assert (write.user_status, write.dnd_status) == ("Busy", "DoNotAcceptAnyCalls")
    assert "In a meeting" in write.cause
    assert "Do not accept any calls" in write.cause
    assert all(not d.commands for d in run.apply(start)), "an echo caused a write"
    end = run.teams("Available", "Available")
    (restore,) = rc_writes(end)
    assert (restore.user_status, restore.dnd_status) == ("Available", "TakeAllCalls")
    assert all(not d.commands for d in run.apply(end))
    run.now += 10
    assert run.rc_event().commands == ()  # a later read confirms the restore landed
    assert run.state.rc_writes == ()


def test_ringcentral_call_shows_in_a_call_refreshes_and_clears() -> None:
    """A RingCentral call holds a Busy/InACall session with an expiry, renewed while it lasts."""
    run = Run()
    start = run.rc_event(telephony="CallConnected")
    (session,) = teams_writes(start)
    assert isinstance(session, SetTeamsSession)
    assert (session.availability, session.activity) == ("Busy", "InACall")
    assert 300 <= session.expires_in_seconds <= 900
    assert all(not d.commands for d in run.apply(start)), "our own session fed the rules"
    assert run.feed(Tick(), advance=60).commands == ()
    (refresh,) = run.feed(Tick(), advance=SESSION_TTL / 2).commands
    assert isinstance(refresh, SetTeamsSession)
    assert refresh.refresh
    end = run.rc_event(telephony="NoCall")
    assert [type(c) for c in end.commands] == [ClearTeamsSession]


def test_a_crash_cannot_leave_in_a_call_longer_than_one_expiry() -> None:
    """Graph drops an unrefreshed session by itself; after a restart nothing needs clearing."""
    run = Run()
    run.rc_event(telephony="CallConnected")
    session = run.state.session
    assert session is not None
    assert session.expires_at - run.now <= SESSION_TTL
    run.state = UserState.from_dict(run.state.to_dict())  # the server restarts much later
    run.now += SESSION_TTL + 5
    gone = run.rc_event(telephony="NoCall")
    assert gone.commands == (), "an expired session needs no clearPresence"
    assert run.state.session is not None
    assert not run.state.session.live(run.now)


def test_ringing_counts_as_busy_by_org_or_user_choice() -> None:
    """Ringing shows In a call only when chosen; a user's choice beats the org's."""
    run = Run()
    assert run.rc_event(telephony="Ringing").commands == ()
    chosen = run.feed(UserPreferencesChanged(ringing_counts_as_busy=True))
    assert [type(c) for c in chosen.commands] == [SetTeamsSession]
    org = Run(OrgSettings(ringing_counts_as_busy=True))
    org.feed(UserPreferencesChanged(ringing_counts_as_busy=False))
    assert org.rc_event(telephony="Ringing").commands == ()


def test_ringcentral_dnd_shows_as_teams_do_not_disturb_and_clears() -> None:
    """User-set DND in RingCentral → DoNotDisturb/Presenting session; TakeAllCalls clears it."""
    run = Run()
    on = run.rc_event(dnd_status="DoNotAcceptAnyCalls")
    (session,) = teams_writes(on)
    assert isinstance(session, SetTeamsSession)
    assert (session.availability, session.activity) == ("DoNotDisturb", "Presenting")
    assert all(not d.commands for d in run.apply(on)), "our DND session was fed back"
    off = run.rc_event(dnd_status="TakeAllCalls")
    assert [type(c) for c in off.commands] == [ClearTeamsSession]


def test_with_customisation_on_ringcentral_dnd_does_not_reach_teams_but_calls_do() -> None:
    """§4.3: rules are one-way; RingCentral calls still show In a call."""
    run = Run(OrgSettings(call_presence_customisation=True))
    assert run.rc_event(dnd_status="DoNotAcceptAnyCalls").commands == ()
    call = run.rc_event(telephony="CallConnected")
    assert [type(c) for c in call.commands] == [SetTeamsSession]


def test_teams_dnd_maps_to_ringcentral_dnd_without_looping_back() -> None:
    """Teams DND → RingCentral DoNotAcceptAnyCalls, and its echo is not a user-set DND."""
    run = Run()
    dnd = run.teams("DoNotDisturb", "DoNotDisturb")
    (write,) = rc_writes(dnd)
    assert write.dnd_status == "DoNotAcceptAnyCalls"
    assert write.user_status is None
    assert all(not d.commands for d in run.apply(dnd))
    back = run.teams("Available", "Available")
    assert [c.dnd_status for c in rc_writes(back)] == ["TakeAllCalls"]


def test_a_hand_change_during_a_rule_stands_after_the_state_ends() -> None:
    """The user set RingCentral by hand mid-meeting: no fight now, no restore later."""
    run = Run(MEETING_NO_CALLS)
    run.apply(run.teams("Busy", "InAMeeting"))
    run.now += 30  # a while into the meeting
    by_hand = run.rc_event(dnd_status="TakeAllCalls")
    assert by_hand.commands == ()
    assert any("their choice stands" in n for n in by_hand.notes)
    end = run.teams("Available", "Available")
    (restore,) = rc_writes(end)
    assert restore.user_status == "Available"
    assert restore.dnd_status is None, "the user's hand-set dndStatus was overridden"


def test_no_write_when_ringcentral_already_shows_it() -> None:
    """A write equal to the last known remote state is never emitted."""
    run = Run()
    run.rc_event(user_status="Busy")
    assert rc_writes(run.teams("Busy", "InAMeeting")) == []
    assert rc_writes(run.teams("Available", "Available")) == []


def test_duplicates_and_stale_reports_are_ignored() -> None:
    """Same or older sequence numbers change nothing; "10" is newer than "9"."""
    settings = MEETING_NO_CALLS
    state = UserState()
    for event in (
        SyncEnabled(),
        RingCentralObserved(
            user_status="Available", dnd_status="TakeAllCalls", sequence=5, observed_at=1.0
        ),
        TeamsObserved("Available", "Available", "8", 2.0),
    ):
        state = decide(state, event, settings, 3.0).state
    meeting = TeamsObserved("Busy", "InAMeeting", "9", 4.0)
    first = decide(state, meeting, settings, 5.0)
    assert rc_writes(first)
    again = decide(first.state, meeting, settings, 6.0)
    assert again.commands == ()
    assert any("ignored" in n for n in again.notes)
    newer = decide(first.state, TeamsObserved("Available", "Available", "10", 7.0), settings, 8.0)
    assert rc_writes(newer), "version order: 10 comes after 9"
    older = decide(newer.state, meeting, settings, 9.0)
    assert older.commands == ()
    stale_rc = decide(
        newer.state,
        RingCentralObserved(
            user_status="Offline", dnd_status="TakeAllCalls", sequence=4, observed_at=9.0
        ),
        settings,
        10.0,
    )
    assert stale_rc.commands == ()
    assert stale_rc.state == newer.state


def test_queue_rule_for_a_non_member_falls_back_and_is_remembered() -> None:
    """RingCentral refuses Department values for non-members: TakeAllCalls, noted, remembered."""
    run = Run(OrgSettings(call_presence_customisation=True))
    (refused,) = rc_writes(run.teams("Busy", "InAMeeting"))
    assert refused.dnd_status == "DoNotAcceptDepartmentCalls"
    fallback = run.feed(WriteFailed(refused, FailureReason.QUEUE_CALLS_NOT_ALLOWED.value))
    (write,) = rc_writes(fallback)
    assert write.user_status == "Busy"
    assert write.dnd_status is None  # TakeAllCalls is already what RingCentral shows
    assert (
        "queue rule not applicable: not a call-queue member; wrote TakeAllCalls" in fallback.notes
    )
    run.apply(fallback)
    run.apply(run.teams("Available", "Available"))
    again = run.teams("Busy", "InACall")
    assert [c.dnd_status for c in rc_writes(again)] == [None]
    assert run.state.queue_member is False


def test_queue_membership_can_be_known_up_front() -> None:
    """Known non-members never get a Department value written."""
    run = Run(OrgSettings(call_presence_customisation=True))
    run.feed(CallQueueMembershipObserved(is_member=False))
    (write,) = rc_writes(run.teams("Busy", "InAMeeting"))
    assert write.dnd_status is None


def test_communication_handling_service_accounts_get_their_own_fields() -> None:
    """Detected from dndStatusPersonal in reads; rules write dndStatusPersonal + queue flag."""
    run = Run(OrgSettings(call_presence_customisation=True), chs=True)
    assert run.state.rc_mode == "chs"
    (write,) = rc_writes(run.teams("Busy", "InAMeeting"))
    assert write.dnd_status is None
    assert write.accept_call_queue_calls is False
    assert write.user_status == "Busy"
    run.apply(Decision(run.state, (write,), ()))
    (restore,) = rc_writes(run.teams("Available", "Available"))
    assert restore.accept_call_queue_calls is True


def test_sync_disabled_gives_both_sides_back() -> None:
    """Unsync: clear our session, restore replaced values, then stay quiet."""
    run = Run(MEETING_NO_CALLS)
    run.apply(run.teams("Busy", "InAMeeting"))
    run.apply(run.rc_event(telephony="CallConnected"))
    off = run.feed(SyncDisabled("admin"))
    (restore,) = rc_writes(off)
    assert (restore.user_status, restore.dnd_status) == ("Available", "TakeAllCalls")
    assert [type(c) for c in teams_writes(off)] == [ClearTeamsSession]
    run.apply(off)
    assert run.teams("Busy", "InAMeeting").commands == ()
    assert run.rc_event(telephony="NoCall").commands == ()
    on = run.feed(SyncEnabled())
    assert [c.dnd_status for c in rc_writes(on)] == ["DoNotAcceptAnyCalls"]


def test_sync_disabled_keeps_a_value_the_user_changed_since() -> None:
    """Restore only what is still ours."""
    run = Run(MEETING_NO_CALLS)
    run.apply(run.teams("Busy", "InAMeeting"))
    run.rc_event(user_status="Offline")
    (restore,) = rc_writes(run.feed(SyncDisabled()))
    assert restore.user_status is None
    assert restore.dnd_status == "TakeAllCalls"


def test_rule_edit_applies_at_once_and_reset_restores_defaults() -> None:
    """Editing the rule of the current state rewrites RingCentral; so does Reset to default."""
    run = Run(OrgSettings(call_presence_customisation=True))
    run.feed(CallQueueMembershipObserved(is_member=True))
    run.apply(run.teams("Busy", "InAMeeting"))
    run.settings = MEETING_NO_CALLS
    (edit,) = rc_writes(run.feed(SettingsChanged("In a meeting: Do not accept any calls")))
    assert edit.dnd_status == "DoNotAcceptAnyCalls"
    assert "settings changed" in edit.cause
    run.apply(Decision(run.state, (edit,), ()))
    run.settings = OrgSettings(call_presence_customisation=True, rules=DEFAULT_RULES)
    (reset,) = rc_writes(run.feed(SettingsChanged("reset to default")))
    assert reset.dnd_status == "DoNotAcceptDepartmentCalls"


def test_preserve_during_inactivity() -> None:
    """Closing the client after a meeting leaves RingCentral alone; Appear offline does not."""
    run = Run(OrgSettings(preserve_during_inactivity=True))
    run.apply(run.teams("Busy", "InAMeeting"))
    assert run.teams("Offline", "Offline").commands == ()
    assert run.teams("Away", "Inactive").commands == ()
    (offline,) = rc_writes(run.teams("Offline", "OffWork"))
    assert offline.user_status == "Offline"


def test_failed_writes_back_off_and_retry_on_tick() -> None:
    """A refused write is retried after a back-off, not in a tight loop."""
    run = Run()
    (write,) = rc_writes(run.teams("Busy", "InAMeeting"))
    failed = run.feed(WriteFailed(write, FailureReason.UNAVAILABLE.value))
    assert failed.commands == ()
    assert run.feed(Tick(), advance=1).commands == ()
    (retry,) = rc_writes(run.feed(Tick(), advance=30))
    assert retry.user_status == "Busy"


def test_clear_of_a_session_already_gone_is_success() -> None:
    """Graph answers 404 when our session already expired: nothing to retry."""
    run = Run()
    run.apply(run.rc_event(telephony="CallConnected"))
    (clear,) = run.rc_event(telephony="NoCall").commands
    gone = run.feed(WriteFailed(clear, FailureReason.SESSION_NOT_FOUND.value))
    assert gone.commands == ()
    assert run.feed(Tick(), advance=30).commands == ()


def test_unknown_presence_never_crashes_or_writes() -> None:
    """Values Graph invents later are tolerated and leave RingCentral as it is."""
    run = Run()
    run.apply(run.teams("Busy", "InAMeeting"))
    weird = run.teams("Hibernating", "Dreaming")
    assert weird.commands == ()


ORDERS = list(itertools.product(["meeting", "call"], ["meeting", "call"]))


@pytest.mark.parametrize(("first", "ends_first"), ORDERS)
@pytest.mark.parametrize(
    "settings", [OrgSettings(), MEETING_NO_CALLS, OrgSettings(call_presence_customisation=True)]
)
@pytest.mark.parametrize("tie_prefers_app", [False, True])
def test_overlapping_call_and_meeting_end_with_both_sides_back(
    first: str, ends_first: str, settings: OrgSettings, tie_prefers_app: bool
) -> None:
    """RingCentral's documented stuck Busy/DND: a call in a meeting or a meeting in a call."""
    world = World(settings, tie_prefers_app=tie_prefers_app)
    world.set_sync(True)
    world.poll("rc")
    world.poll("teams")
    starts: dict[str, Callable[[], object]] = {
        "meeting": lambda: world.teams_action("join_meeting"),
        "call": lambda: world.rc_telephony("CallConnected"),
    }
    ends: dict[str, Callable[[], object]] = {
        "meeting": lambda: world.teams_action("leave_meeting"),
        "call": lambda: world.rc_telephony("NoCall"),
    }
    second = "call" if first == "meeting" else "meeting"
    ends_second = "call" if ends_first == "meeting" else "meeting"
    for step in (starts[first], starts[second], ends[ends_first], ends[ends_second]):
        step()
        world.advance(5)
        while world.pending:
            world.deliver(0)
    world.check_back_to_own()
    assert world.rc.values["user_status"] == "Available"
    assert world.rc.values["dnd_status"] == "TakeAllCalls"
    assert world.teams.app is None
    assert world.teams.aggregate(world.now) == ("Available", "Available")
    world.check_write_budget()


def test_ringcentral_dnd_during_a_meeting_hides_the_meeting_until_it_ends() -> None:
    """Our DND session hides the user's Teams presence, so RingCentral gets its own values back;
    when the DND ends, Teams shows the meeting again and Busy returns (never stuck)."""
    run = Run()
    run.apply(run.teams("Busy", "InAMeeting"))
    dnd = run.rc_event(dnd_status="DoNotAcceptAnyCalls")
    (restore,) = rc_writes(dnd)
    assert restore.user_status == "Available"
    assert [type(c) for c in teams_writes(dnd)] == [SetTeamsSession]
    assert all(not d.commands for d in run.apply(dnd)), "the DND session's echo caused a write"
    off = run.rc_event(dnd_status="TakeAllCalls")
    (busy,) = rc_writes(off)
    assert busy.user_status == "Busy"
    assert [type(c) for c in teams_writes(off)] == [ClearTeamsSession]


def test_a_pinned_teams_status_still_shows_over_our_dnd_session() -> None:
    """A status the user pinned beats every session, so it keeps driving RingCentral."""
    run = Run()
    run.apply(run.teams("Busy", "Busy"))
    dnd = run.rc_event(dnd_status="DoNotAcceptAnyCalls")
    assert rc_writes(dnd) == []
    run.feed(WriteApplied(teams_writes(dnd)[0]), advance=0.1)
    assert run.teams("Busy", "Busy").commands == ()  # Graph: the pin, not our session


def test_a_report_older_than_our_write_updates_what_is_restored() -> None:
    """The user changed RingCentral just before our write landed: restore to their choice."""
    run = Run(MEETING_NO_CALLS)
    meeting = run.teams("Busy", "InAMeeting")
    (write,) = rc_writes(meeting)
    run.feed(WriteApplied(write), advance=0.1)
    late = RingCentralObserved(
        user_status="Offline",
        dnd_status="TakeAllCalls",
        sequence=run.rc_seq + 1,
        observed_at=run.now - 5,
    )
    run.rc_seq += 1
    noted = run.feed(late)
    assert noted.commands == ()
    assert any("before our write landed" in n for n in noted.notes)
    (restore,) = rc_writes(run.teams("Available", "Available"))
    assert restore.user_status == "Offline"


def test_a_queued_write_is_not_mistaken_for_a_hand_change() -> None:
    """Until the dispatcher reports the write applied, RingCentral may still show the old value."""
    run = Run()
    (write,) = rc_writes(run.teams("Busy", "InAMeeting"))
    still_old = run.rc_event(telephony="NoCall")  # reports Available: our write is queued
    assert still_old.commands == ()
    assert not any("by hand" in n for n in still_old.notes)
    run.feed(WriteApplied(write), advance=0.1)
    assert run.rc_event(user_status="Busy").commands == ()  # the echo
    run.now += 30
    by_hand = run.rc_event(user_status="Available")
    assert any("their choice stands" in n for n in by_hand.notes)
    assert by_hand.commands == ()


def test_a_read_answered_before_our_write_landed_leaves_no_stuck_busy() -> None:
    """Issue 5 under a faster clock: a GET answered just before our Busy landed, recorded a few
    seconds after it was acknowledged, is not the user setting Available by hand; when the
    meeting ends Busy is restored to Available."""
    run = Run()
    meeting = run.teams("Busy", "InAMeeting")
    (busy,) = rc_writes(meeting)
    run.feed(WriteApplied(busy), advance=0.1)
    stale = run.read({"user_status": "Available"}, late=5.0)
    assert stale.commands == ()
    assert not any("by hand" in note for note in stale.notes)
    run.rc_event(user_status="Busy")  # the echo, numbered by RingCentral
    (restore,) = rc_writes(run.teams("Available", "Available"))
    assert restore.user_status == "Available"


def test_a_read_answered_before_our_restore_landed_does_not_become_the_users_own() -> None:
    """A GET still showing our Busy, recorded after the restore landed, must not become the
    value a later write replaces (which would bring Busy back when that ends)."""
    run = Run()
    run.apply(run.teams("Busy", "InAMeeting"))
    run.apply(run.teams("Available", "Available"))
    run.now += 10
    run.rc_event()  # a numbered report confirms the restore
    run.read({"user_status": "Busy"}, late=5.0)
    (offline,) = rc_writes(run.teams("Offline", "Offline"))  # the Teams client closed
    assert offline.user_status == "Offline"
    run.apply(run.teams("Offline", "Offline"))
    (back,) = rc_writes(run.teams("Available", "Available"))
    assert back.user_status == "Available"


def test_a_hand_change_seen_only_by_reads_stands_once_reads_are_past_the_grace() -> None:
    """With RingCentral's event lost, the next read after the grace still tells a hand change."""
    run = Run()
    run.apply(run.teams("Busy", "InAMeeting"))
    run.rc["user_status"] = "Available"  # set by hand; its event never arrives
    early = run.read({}, late=5.0)
    assert not any("their choice stands" in note for note in early.notes)
    later = run.read({}, late=PENDING_GRACE)
    assert any("their choice stands" in note for note in later.notes)
    assert rc_writes(run.teams("Available", "Available")) == []


def test_an_event_older_than_a_read_already_taken_is_ignored() -> None:
    """RingCentral's event held back for minutes cannot undo what a later read showed."""
    run = Run()
    run.rc["user_status"] = "Offline"  # set by hand; its event is held back
    held = RingCentralObserved(
        user_status="Offline",
        dnd_status="TakeAllCalls",
        telephony_status="NoCall",
        sequence=run.rc_seq + 1,
        observed_at=run.now,
    )
    run.rc["user_status"] = "Busy"  # and again, seen by a read long after
    run.read({}, late=PENDING_GRACE + 60)
    assert run.state.rc_seen is not None
    assert run.state.rc_seen.user_status == "Busy"
    late = run.feed(held)
    assert any("older than a RingCentral read" in note for note in late.notes)
    assert run.state.rc_seen.user_status == "Busy"
