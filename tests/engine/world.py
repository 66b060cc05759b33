"""A small simulated world for one user: Teams and RingCentral as the engine meets them.

Vocabulary shared with the scenario tests over HTTP (the sandbox's control API acts out the
same verbs): on Teams the user *joins/leaves a meeting*, *presents*, *starts/ends a Teams call*
or *conference call*, *sets a status* (preferred presence) or *resets* it, goes *idle* or
*closes the client*; on RingCentral the user *sets* userStatus / DND / queue acceptance *by
hand* and *rings, answers, holds, hangs up* calls. Each change that alters what a platform
reports queues a notification; the test decides when each is delivered, duplicated, reordered
or dropped, and can *poll* either side (the reconciliation safety net). Engine commands are
applied a moment after they are issued, like a dispatcher with no queue, acknowledged at once,
and their echoes are queued like any other notification.

With ``queued=True`` the dispatcher is modelled as it behaves under a burst: a write is
*decided* (the engine's command goes into a per-user outbox, coalesced as the dispatcher
does), *sent* when the test says a budget slot opened (`send`: the provider applies and stamps
it, its echo is queued), and *acknowledged* when the test says the answer arrived (`ack`:
`WriteApplied` with the send time). Any amount of time, reads and echoes may pass between
those steps; a RingCentral write still unsent `WRITE_DEADLINE` after its decision is reported
failed instead, and a `crash` loses the outbox without a word, as a killed process does.

A RingCentral *read* (the watcher's presence GET) carries no sequence number and is stamped
when the product records it, not when RingCentral answered: the test starts one, lets other
things happen, and has it recorded later (at most `READ_LATE_MAX` seconds after the answer),
like a batch of 30 extensions recorded one by one on a loaded store.

Graph is modelled per PLATFORM_APIS: the user's client session, our app session (with expiry),
the user's preferred presence overriding sessions while any exists, and aggregation
DoNotDisturb > Busy > Available > Away (ties broken by ``tie_prefers_app``). RingCentral refuses
``DoNotAcceptDepartmentCalls`` for non-members of call queues (the engine gets WriteFailed).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from presence_sync.domain import OrgSettings
from presence_sync.engine import (
    PENDING_GRACE,
    SESSION_LINGER,
    WRITE_DEADLINE,
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
    UserState,
    WriteApplied,
    WriteFailed,
    decide,
    refresh_due,
)
from presence_sync.sync.dispatcher import merge_rc
from tests.engine.oracle import expected_overlay, expected_session
from tests.engine.world_model import (
    APPLY_DELAY,
    READ_LATE_MAX,
    TEAMS_STATUSES,
    TICK_EVERY,
    Pair,
    Pending,
    RcWorld,
    TeamsWorld,
)

__all__ = ["TEAMS_STATUSES", "InvariantError", "World"]

ANSWER_LATE_MAX = 30.0  # a write's answer arrives within the client's time-out and retries


def signature(command: Command) -> tuple[Any, ...]:
    """A command without its cause, for comparing what two decisions write."""
    if isinstance(command, SetRingCentralPresence):
        return ("rc", command.fields())
    if isinstance(command, SetTeamsSession):
        return ("teams-set", command.availability, command.activity)
    return ("teams-clear",)


class InvariantError(AssertionError):
    """An engine invariant broke; the message carries the world's recent history."""


class World:
    """Teams + RingCentral for one user, driven by test actions, checked against §4.4."""

    def __init__(
        self,
        settings: OrgSettings,
        *,
        rc_mode: str = "legacy",
        queue_member: bool = True,
        tie_prefers_app: bool = False,
        teams_sequences: bool = True,
        queued: bool = False,
    ) -> None:
        self.now = 1_000.0
        self.settings = settings
        self.state = UserState()
        self.teams = TeamsWorld(tie_prefers_app=tie_prefers_app)
        self.rc = RcWorld(mode=rc_mode, queue_member=queue_member)
        self.initial = dict(self.rc.values)
        self.teams_sequences = teams_sequences
        self.pending: list[Pending] = []
        self.reads: list[tuple[float, Pending]] = []  # answered, not yet recorded
        self.delivered: list[Pending] = []
        self.stimuli = 0
        self.writes = {"rc": 0, "teams": 0}
        self.history: list[str] = []
        self.last_teams_seq = -1
        self.last_rc_seq = -1
        self.enabled = False
        # Oracle of "the user overrode this field by hand while the Teams state asked for X".
        self.overrides: dict[str, Any] = {}
        self.queued = queued
        self.outbox: list[Command] = []  # decided, not sent: at most one per side
        self.inflight: tuple[Command, float, WriteApplied | WriteFailed] | None = None

    # ----------------------------------------------------------------- engine plumbing

    def feed(self, event: Event) -> Decision:
        """Run one event through decide() and apply its commands to the world."""
        decision = decide(self.state, event, self.settings, self.now)
        self.state = decision.state
        self.history.append(f"{self.now:.2f} {event!r} -> {decision.commands!r}")
        self.track()
        for command in decision.commands:
            self._dispatch(command)
        return decision

    def _dispatch(self, command: Command) -> None:
        if not self.queued:
            self._apply(command)
            return
        # The dispatcher's outbox: RingCentral commands merge field by field, the latest
        # Teams command replaces an earlier one.
        for n, waiting in enumerate(self.outbox):
            if isinstance(waiting, SetRingCentralPresence) and isinstance(
                command, SetRingCentralPresence
            ):
                self.outbox[n] = merge_rc(waiting, command)
                return
            both_teams = not isinstance(waiting, SetRingCentralPresence) and not isinstance(
                command, SetRingCentralPresence
            )
            if both_teams:
                self.outbox[n] = command
                return
        self.outbox.append(command)
        self.outbox.sort(key=lambda c: not isinstance(c, SetRingCentralPresence))

    def send(self) -> None:
        """A budget slot opened: the dispatcher sends this user's next write (one at a time)."""
        if not self.queued or self.inflight is not None or not self.outbox:
            return
        command = self.outbox.pop(0)
        if (
            isinstance(command, SetRingCentralPresence)
            and command.decided_at
            and self.now >= command.decided_at + WRITE_DEADLINE
        ):
            self.history.append(f"{self.now:.2f} dropped after its deadline: {command!r}")
            self.feed(WriteFailed(command, FailureReason.UNAVAILABLE.value))
            return
        sent = self.now
        self.inflight = (command, sent, self._provider(command))

    def ack(self) -> None:
        """The provider's answer to the write in flight arrives."""
        if self.inflight is None:
            return
        _command, _sent, outcome = self.inflight
        self.inflight = None
        self.feed(outcome)

    def crash(self) -> None:
        """The process dies: writes waiting in its dispatcher are gone, nobody is told."""
        self.history.append(f"{self.now:.2f} crash, lost {self.outbox!r}")
        self.outbox.clear()
        self.state = UserState.from_dict(json.loads(json.dumps(self.state.to_dict())))

    def flush(self) -> None:
        """The dispatcher sends and gets answers for everything waiting (bounded)."""
        for _ in range(8):
            if self.inflight is None and not self.outbox:
                return
            self.send()
            self.ack()

    def _apply(self, command: Command) -> None:
        self.feed(self._provider(command))

    def _provider(self, command: Command) -> WriteApplied | WriteFailed:
        """The provider applies (and stamps) a write a moment after it was sent."""
        sent = self.now
        self.now += APPLY_DELAY
        if isinstance(command, SetRingCentralPresence):
            self.writes["rc"] += 1
            values = dict(command.fields())
            if (
                values.get("dnd_status") == "DoNotAcceptDepartmentCalls"
                and not self.rc.queue_member
            ):
                return WriteFailed(command, FailureReason.QUEUE_CALLS_NOT_ALLOWED.value)
            changed = False
            for name, value in values.items():
                if self.rc.values[name] != value:
                    changed = True
                else:
                    record = self.state.rc_write(name)
                    since = self.now if record is None else record.issued_at
                    if self.queued:
                        # Sent long after it was decided, such a write can meet a hand change
                        # the engine only learns of through a read, which may have been
                        # answered up to PENDING_GRACE before it was stamped: either way.
                        since -= PENDING_GRACE
                    self.rc.absorb(name, since)
                self.rc.values[name] = value
                self.rc.current_manual[name] = None
                self.rc.wrote(name, value, self.now)
            if changed:
                self._rc_changed(echo=True)
            return WriteApplied(command, sent_at=sent)
        before = self.teams.aggregate(self.now)
        if isinstance(command, SetTeamsSession):
            if not command.refresh:
                self.writes["teams"] += 1
            assert (command.availability, command.activity) in {
                ("Busy", "InACall"),
                ("DoNotDisturb", "Presenting"),
            }, f"pair Graph does not allow: {command!r}"
            assert 300 <= command.expires_in_seconds <= 4 * 3600
            self.teams.app = (
                command.availability,
                command.activity,
                self.now + command.expires_in_seconds,
            )
        else:
            self.writes["teams"] += 1
            self.teams.app = None
        self._teams_changed(before, echo=True)
        return WriteApplied(command, sent_at=sent)

    def _teams_changed(self, before: Pair, *, echo: bool, at: float | None = None) -> None:
        after = self.teams.aggregate(self.now)
        if after == before:
            return
        self.teams.sequence += 1
        when = self.now if at is None else at
        seq = str(self.teams.sequence) if self.teams_sequences else None
        event = TeamsObserved(after[0], after[1], seq, when)
        ours = after == self.teams.app_pair(when)
        self.pending.append(
            Pending(event, "teams", self.teams.sequence, echo, self.teams.own(), shows_app=ours)
        )

    def _rc_changed(self, *, echo: bool) -> None:
        self.rc.sequence += 1
        ids = {n: i for n, i in self.rc.current_manual.items() if i is not None}
        event = self.rc.observation(self.now)
        self.pending.append(Pending(event, "rc", self.rc.sequence, echo, manual_ids=ids))

    # ----------------------------------------------------------------- time

    def advance(self, seconds: float) -> None:
        """Let time pass, with the product's timer ticking every `TICK_EVERY` seconds.

        Graph drops our session if it expires unrefreshed.
        """
        target = self.now + seconds
        # A RingCentral write that waited for its budget until its deadline is dropped then.
        for waiting in list(self.outbox):
            if isinstance(waiting, SetRingCentralPresence) and waiting.decided_at:
                deadline = waiting.decided_at + WRITE_DEADLINE
                if deadline <= target:
                    self.now = max(self.now, deadline)
                    self.outbox.remove(waiting)
                    self.history.append(f"{self.now:.2f} dropped after its deadline: {waiting!r}")
                    self.feed(WriteFailed(waiting, FailureReason.UNAVAILABLE.value))
        # A request in flight is answered within the client's time-out and retries.
        if self.inflight is not None and self.inflight[1] + ANSWER_LATE_MAX <= target:
            self.now = max(self.now, self.inflight[1] + ANSWER_LATE_MAX)
            self.ack()
        # The watcher records every read before it is READ_LATE_MAX old.
        for answered, item in list(self.reads):
            if answered + READ_LATE_MAX <= target:
                self.reads.remove((answered, item))
                self._record(item)
        while True:
            step_to = min(target, self.now + TICK_EVERY)
            app = self.teams.app
            if app is not None and app[2] <= step_to:
                before = self.teams.aggregate(self.now)
                self.now = app[2]
                self.teams.app = None
                self._teams_changed(before, echo=True, at=app[2])
            self.now = step_to
            if step_to >= target:
                return
            self.feed(Tick())

    # ----------------------------------------------------------------- user actions

    def teams_action(self, verb: str, arg: str | None = None) -> None:
        """The user does something in Teams (see the module docstring for the verbs)."""
        self.stimuli += 1
        before = self.teams.aggregate(self.now)
        t = self.teams
        if verb == "join_meeting":
            t.in_meeting = True
        elif verb == "leave_meeting":
            t.in_meeting = False
            t.presenting = False
        elif verb == "present":
            t.presenting = t.in_meeting
        elif verb == "stop_presenting":
            t.presenting = False
        elif verb == "start_call":
            t.in_call = True
        elif verb == "end_call":
            t.in_call = False
        elif verb == "start_conference":
            t.in_conference = True
        elif verb == "end_conference":
            t.in_conference = False
        elif verb == "set_status":
            t.preferred = TEAMS_STATUSES[arg or "available"]
        elif verb == "reset_status":
            t.preferred = None
        elif verb == "idle":
            t.idle = int(arg or 1)
        elif verb == "active":
            t.idle = 0
        elif verb == "close_client":
            t.client_open = False
        elif verb == "open_client":
            t.client_open = True
        else:
            raise ValueError(verb)
        self._teams_changed(before, echo=False)

    def rc_set(self, name: str, value: Any) -> bool:
        """The user changes one RingCentral field by hand; False if that would be no change.

        A hand change to exactly the value our engine holds in that field is indistinguishable
        from our own echo, so the world does not make one (the engine documents this).
        """
        if name not in self.rc.fields() or self.rc.values[name] == value:
            return False
        record = self.state.rc_write(name)
        if record is not None and record.written == value:
            return False
        if value == "DoNotAcceptDepartmentCalls" and not self.rc.queue_member:
            return False
        self.stimuli += 1
        self.rc.values[name] = value
        # A write of ours carrying this value, decided and not yet known to have landed
        # (it may still wait in the outbox, merged into a later one): its echo and this hand
        # change look alike, so the engine may take it either way (see the engine's docstring).
        waiting = record is not None and any(
            old == value and until is None for old, _issued, until in record.earlier
        )
        self.rc.manual.setdefault(name, []).append([value, False, self.now, waiting])
        self.rc.current_manual[name] = len(self.rc.manual[name]) - 1
        self.rc.overwritten(name, self.now)
        self.overrides[name] = self._desired_for(name)
        self._rc_changed(echo=False)
        return True

    def rc_telephony(self, status: str) -> None:
        """A RingCentral call rings, connects, holds or ends."""
        if self.rc.telephony == status:
            return
        self.stimuli += 1
        self.rc.telephony = status
        self._rc_changed(echo=False)

    def change_settings(self, settings: OrgSettings) -> None:
        """An admin edits rules or toggles."""
        self.stimuli += 1
        self.settings = settings
        self.feed(SettingsChanged("edited"))

    def set_sync(self, enabled: bool) -> None:
        """An admin syncs or unsyncs the user."""
        self.stimuli += 1
        self.enabled = enabled
        self.feed(SyncEnabled() if enabled else SyncDisabled("admin"))

    def restart(self) -> None:
        """The server restarts: the state survives only as its JSON document.

        Queued, it stops gracefully: the dispatcher hands every unsent write back as failed.
        An answer already in flight is still folded in (losing it is not modelled: the echo
        then tells the engine the write landed).
        """
        unsent, self.outbox = self.outbox, []
        for command in unsent:
            self.feed(WriteFailed(command, FailureReason.UNAVAILABLE.value))
        self.state = UserState.from_dict(json.loads(json.dumps(self.state.to_dict())))

    # ----------------------------------------------------------------- notifications

    def deliver(self, index: int, *, keep: bool = False) -> None:
        """Deliver a pending notification (any order); `keep` leaves a copy to deliver again."""
        if not self.pending:
            return
        item = self.pending[index % len(self.pending)]
        if not keep:
            self.pending.remove(item)
        self._deliver(item)

    def drop(self, index: int) -> None:
        """Lose a pending notification."""
        if self.pending:
            self.pending.pop(index % len(self.pending))

    def redeliver(self, index: int) -> None:
        """Deliver an already delivered notification again (a duplicate)."""
        if self.delivered:
            self._deliver(self.delivered[index % len(self.delivered)])

    def poll(self, side: str) -> None:
        """Read one side now (a GET), as reconciliation does."""
        if side == "teams":
            pair = self.teams.aggregate(self.now)
            seq = str(self.teams.sequence) if self.teams_sequences else None
            event: TeamsObserved | RingCentralObserved = TeamsObserved(
                pair[0], pair[1], seq, self.now
            )
            self._deliver(Pending(event, "teams", self.teams.sequence, False, self.teams.own()))
        else:
            ids = {n: i for n, i in self.rc.current_manual.items() if i is not None}
            self._deliver(
                Pending(self.rc.observation(self.now), "rc", self.rc.sequence, False, None, ids)
            )

    def read_rc(self) -> None:
        """RingCentral answers a presence GET now; the product records it later (`record_read`)."""
        ids = {n: i for n, i in self.rc.current_manual.items() if i is not None}
        event = replace(self.rc.observation(self.now), sequence=None)
        self.reads.append((self.now, Pending(event, "rc", self.rc.sequence, False, None, ids)))

    def record_read(self, index: int) -> None:
        """The product records an answered read, stamped with its own clock as it does so."""
        if self.reads:
            _answered, item = self.reads.pop(index % len(self.reads))
            self._record(item)

    def _record(self, item: Pending) -> None:
        assert isinstance(item.event, RingCentralObserved)
        item.event = replace(item.event, observed_at=self.now)
        self._deliver(item)

    def _deliver(self, item: Pending) -> None:
        pure_echo = item.echo and self._knows_all_before(item)
        duplicate = item.delivered
        if pure_echo or duplicate:
            self._check_no_write_beyond_tick(item)
        before = self.state
        decision = decide(self.state, item.event, self.settings, self.now)
        self.state = decision.state
        self.history.append(f"{self.now:.2f} {item.event!r} -> {decision.commands!r}")
        item.delivered = True
        self.delivered.append(item)
        if item.side == "teams":
            if before.teams_seen != self.state.teams_seen:
                self.last_teams_seq = item.world_seq
        elif before.rc_seen != self.state.rc_seen:
            assert isinstance(item.event, RingCentralObserved)
            if self._took(item.event):
                self.last_rc_seq = item.world_seq
            seen = self.state.rc_seen
            for name, index in item.manual_ids.items():
                change = self.rc.manual[name][index]
                if change[1] or seen is None or seen.value(name) != change[0]:
                    continue  # known already, or a read the engine did not take yet
                pending = before.rc_write(name)
                unconfirmed = (
                    pending is not None
                    and pending.written == change[0]
                    and pending.applied_at is None
                )
                if unconfirmed or self.rc.ours_around(name, change[0], item.event.observed_at):
                    # We were writing that very value then (or had decided to and were waiting
                    # for the budget): either reading is right.
                    change[3] = True
                else:
                    change[1] = True
        self.track()
        for command in decision.commands:
            self._dispatch(command)

    def _took(self, event: RingCentralObserved) -> bool:
        """Whether the engine now holds everything `event` showed (a read may wait)."""
        seen = self.state.rc_seen
        if seen is None:
            return False
        shown = {
            "user_status": event.user_status,
            "dnd_status": event.dnd_status,
            "dnd_status_personal": event.dnd_status_personal,
            "accept_call_queue_calls": event.accept_call_queue_calls,
            "telephony_status": event.telephony_status,
        }
        return all(value is None or seen.value(n) == value for n, value in shown.items())

    def _knows_all_before(self, item: Pending) -> bool:
        if item.side == "rc":
            return self.last_rc_seq == item.world_seq - 1
        # A Teams echo is pure when it shows only our session or what the engine already knew
        # of the user; otherwise it reveals something about the user (e.g. a status they had
        # pinned while no session existed, which only shows once ours does).
        assert isinstance(item.event, TeamsObserved)
        pair = (item.event.availability, item.event.activity)
        user = self.state.teams_user
        known = user is not None and pair == (user.availability, user.activity)
        return self.last_teams_seq == item.world_seq - 1 and (item.shows_app or known)

    def _check_no_write_beyond_tick(self, item: Pending) -> None:
        with_event = decide(self.state, item.event, self.settings, self.now).commands
        with_tick = decide(self.state, Tick(), self.settings, self.now).commands
        extra = [signature(c) for c in with_event]
        for command in with_tick:
            if signature(command) in extra:
                extra.remove(signature(command))
        if extra:
            kind = "duplicate" if item.delivered else "echo"
            self.fail(f"a {kind} caused writes {with_event!r} (a Tick would write {with_tick!r})")

    def fail(self, message: str) -> None:
        """Raise with the recent history attached."""
        tail = "\n".join(self.history[-40:])
        raise InvariantError(f"{message}\n--- last events ---\n{tail}")

    # ----------------------------------------------------------------- settling and oracle

    def settle(self) -> None:
        """Deliver everything, poll both sides, Tick, until nothing moves (bounded)."""
        self.advance(200.0)
        for _ in range(12):
            writes_before = dict(self.writes)
            self.flush()
            while self.pending:
                self.deliver(0)
                self.flush()
            self.poll("rc")
            self.poll("teams")
            self.feed(Tick())
            self.flush()
            session = self.state.session
            lost = session is not None and session.live(self.now) and self.teams.app is None
            if lost and session is not None and not self.outbox and self.inflight is None:
                # Our session was lost unsent: the next refresh sets it again.
                self.advance(max(1.0, refresh_due(session) - self.now + 1.0))
                continue
            unacknowledged = any(w.applied_at is None for w in self.state.rc_writes)
            if unacknowledged and not self.outbox and self.inflight is None:
                # Lost with a crash: the engine plans it again once it cannot be sent any more.
                self.advance(WRITE_DEADLINE + PENDING_GRACE)
                continue
            retry = [t for t in (self.state.rc_retry_at, self.state.teams_retry_at) if t]
            if retry and max(retry) > self.now:
                # A write failed (one that waited past its deadline, say): the timer retries.
                self.advance(max(retry) - self.now + 1.0)
                continue
            if not self.pending and self.writes == writes_before and not self.outbox:
                return
            # Past every grace window, so late reports of what just happened are told apart.
            self.advance(PENDING_GRACE + SESSION_LINGER)
        self.fail("the engine did not settle")

    def rc_own(self, name: str) -> set[Any]:
        """The user's own RingCentral values of a field the oracle accepts (usually one)."""
        return self.rc.own(name, self.initial[name])

    def _sessions(self, telephony: str) -> set[Pair | None]:
        dnd_field = "dnd_status_personal" if self.rc.mode == "chs" else "dnd_status"
        return {
            expected_session(dnd, telephony, self.settings, self.enabled)
            for dnd in self.rc_own(dnd_field)
        }

    def _desired(
        self, pair: Pair | None = None, in_meeting: bool | None = None
    ) -> dict[str, Any] | None:
        if not self.enabled:
            return {}
        pair = self.teams.own() if pair is None else pair
        return expected_overlay(pair, self.settings, self.rc.mode, self.rc.queue_member, in_meeting)

    def _desired_for(self, name: str) -> Any:
        # The Teams state as the engine could see it: a meeting left and joined again while the
        # notifications crossed is, to anyone reading them, a meeting that never ended.
        desired = None
        for reading in (self.state.teams_user, self.state.teams_anchor):
            # While idle (preserve on) RingCentral holds what the last real presence asked.
            if reading is not None and desired is None:
                pair = (reading.availability, reading.activity)
                desired = self._desired(pair, reading.in_meeting)
        if self.state.teams_user is None:
            desired = self._desired()
        return "hold" if desired is None else desired.get(name, "own")

    def track(self) -> None:
        """After every action: a new desired value ends the user's hand override of a field.

        Only once the engine has seen the hand change, though: until then it cannot know the
        change came first, and it may rightly let the user's choice stand.
        """
        for name in list(self.overrides):
            current = self._desired_for(name)
            if self.overrides[name] == current:
                continue
            index = self.rc.current_manual.get(name)
            seen = index is None or self.rc.manual[name][index][1]
            if seen:
                del self.overrides[name]
            else:
                self.overrides[name] = current

    def check_quiescent(self) -> None:
        """Settle, then check that rules and the mapping hold on both sides (§4.4)."""
        self.settle()
        self.track()
        expected = self._sessions(self.rc.telephony)
        if self.teams.app_pair(self.now) not in expected:
            self.fail(f"Teams session is {self.teams.app!r}, expected one of {expected!r}")
        own = self.teams.own()
        app = self.teams.app_pair(self.now)
        visible = app is None or (self.teams.aggregate(self.now) == own and own != app)
        desired = self._desired()
        if not visible or desired is None:
            return
        for name in self.rc.fields():
            if name in self.overrides:
                continue
            want = {desired[name]} if name in desired else self.rc_own(name)
            if self.rc.values[name] not in want:
                self.fail(
                    f"RingCentral {name} is {self.rc.values[name]!r}, expected {want!r}"
                    f" (Teams own {own}, overrides {self.overrides})"
                )

    def end_activity(self) -> None:
        """Every meeting and call ends and the user resets their Teams status."""
        for verb in (
            "leave_meeting",
            "end_call",
            "end_conference",
            "reset_status",
            "active",
            "open_client",
        ):
            self.teams_action(verb)
        self.rc_telephony("NoCall")

    def check_back_to_own(self) -> None:
        """Once activity has ended both sides show exactly the user's own state."""
        self.settle()
        for name in self.rc.fields():
            if self.rc.values[name] not in self.rc_own(name):
                self.fail(
                    f"stuck: RingCentral {name} is {self.rc.values[name]!r},"
                    f" the user's own is {self.rc_own(name)!r}"
                )
        expected = self._sessions("NoCall")
        if self.teams.app_pair(self.now) not in expected:
            self.fail(f"stuck: Teams session {self.teams.app!r}, expected one of {expected!r}")

    def check_write_budget(self) -> None:
        """At most one write per side per change someone made (refreshes aside)."""
        for side, count in self.writes.items():
            if count > self.stimuli:
                self.fail(f"{count} {side} writes for {self.stimuli} changes")
