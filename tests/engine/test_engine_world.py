"""Property tests: random days in the simulated world keep the §4.4 invariants.

Each example builds a world (account mode, queue membership, org settings, how Graph breaks
ties, whether Graph sends sequence numbers), syncs
the user, then runs a random interleaving of Teams meetings/calls/status changes, RingCentral
calls and hand changes, rule edits, sync toggles, restarts and notifications delivered late,
twice, out of order or never, and RingCentral reads recorded a while after RingCentral
answered them. The world checks as it goes that no echo or duplicate causes a
write and that rules hold whenever it settles; at the end every activity stops and both sides
must be back to the user's own state, with at most one write per side per change.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, example, given, seed, settings
from hypothesis import strategies as st

from presence_sync.domain import CallPresenceRules, CallRule, OrgSettings, TeamsState
from tests.engine.world import TEAMS_STATUSES, World

CI = bool(os.environ.get("CI"))
# More examples for a deliberate hunt: ENGINE_WORLD_EXAMPLES=20000 pytest tests/engine
EXAMPLES = int(os.environ.get("ENGINE_WORLD_EXAMPLES", "1000" if CI else "2000"))
STEPS = int(os.environ.get("ENGINE_WORLD_STEPS", "120"))

TEAMS_VERBS = [
    ("join_meeting", None),
    ("leave_meeting", None),
    ("present", None),
    ("stop_presenting", None),
    ("start_call", None),
    ("end_call", None),
    ("start_conference", None),
    ("end_conference", None),
    ("reset_status", None),
    ("active", None),
    ("idle", "1"),
    ("idle", "2"),
    ("close_client", None),
    ("open_client", None),
    *[("set_status", name) for name in TEAMS_STATUSES],
]
RC_HAND = [
    ("user_status", "Available"),
    ("user_status", "Busy"),
    ("user_status", "Offline"),
    ("dnd_status", "TakeAllCalls"),
    ("dnd_status", "DoNotAcceptAnyCalls"),
    ("dnd_status", "DoNotAcceptDepartmentCalls"),
    ("dnd_status_personal", "TakeAllCalls"),
    ("dnd_status_personal", "DoNotAcceptAnyCalls"),
    ("accept_call_queue_calls", True),
    ("accept_call_queue_calls", False),
]
TELEPHONY = ["NoCall", "Ringing", "CallConnected", "OnHold"]
SETTING_EDITS = [
    ("customisation", None),
    ("preserve", None),
    ("ringing", None),
    *[("rule", (state, rule)) for state in TeamsState for rule in CallRule],
]

rules_strategy = st.builds(
    CallPresenceRules,
    **{state.value: st.sampled_from(list(CallRule)) for state in TeamsState},
)
settings_strategy = st.builds(
    OrgSettings,
    call_presence_customisation=st.booleans(),
    rules=rules_strategy,
    preserve_during_inactivity=st.booleans(),
    ringing_counts_as_busy=st.booleans(),
)
index = st.integers(0, 15)
action = st.one_of(
    st.tuples(st.just("teams"), st.sampled_from(TEAMS_VERBS)),
    st.tuples(st.just("teams"), st.sampled_from(TEAMS_VERBS)),
    st.tuples(st.just("rc_hand"), st.sampled_from(RC_HAND)),
    st.tuples(st.just("rc_call"), st.sampled_from(TELEPHONY)),
    st.tuples(st.just("deliver"), index),
    st.tuples(st.just("deliver"), index),
    st.tuples(st.just("deliver"), index),
    st.tuples(st.just("deliver_twice"), index),
    st.tuples(st.just("drop"), index),
    st.tuples(st.just("redeliver"), index),
    st.tuples(st.just("poll"), st.sampled_from(["teams", "rc"])),
    st.tuples(st.just("read_rc"), st.none()),
    st.tuples(st.just("record_read"), index),
    st.tuples(st.just("tick"), st.none()),
    st.tuples(st.just("restart"), st.none()),
    st.tuples(st.just("settings"), st.sampled_from(SETTING_EDITS)),
    st.tuples(st.just("sync"), st.booleans()),
    st.tuples(st.just("check"), st.none()),
)
step = st.tuples(action, st.sampled_from([0.05, 0.5, 3.0, 30.0, 120.0, 280.0]))
world_strategy = st.fixed_dictionaries(
    {
        "settings": settings_strategy,
        "rc_mode": st.sampled_from(["legacy", "chs"]),
        "queue_member": st.booleans(),
        "tie_prefers_app": st.booleans(),
        "teams_sequences": st.booleans(),
    }
)


def edit(current: OrgSettings, what: str, arg: Any) -> OrgSettings:
    """One admin edit of the org settings."""
    if what == "customisation":
        return OrgSettings(
            not current.call_presence_customisation,
            current.rules,
            current.preserve_during_inactivity,
            current.ringing_counts_as_busy,
        )
    if what == "preserve":
        return OrgSettings(
            current.call_presence_customisation,
            current.rules,
            not current.preserve_during_inactivity,
            current.ringing_counts_as_busy,
        )
    if what == "ringing":
        return OrgSettings(
            current.call_presence_customisation,
            current.rules,
            current.preserve_during_inactivity,
            not current.ringing_counts_as_busy,
        )
    state, rule = arg
    return OrgSettings(
        current.call_presence_customisation,
        current.rules.with_rule(state, rule),
        current.preserve_during_inactivity,
        current.ringing_counts_as_busy,
    )


# The dispatcher under a burst: decided, sent and acknowledged are separate steps, and a write
# may wait up to 30 minutes for its budget while reads and echoes keep arriving.
queued_action = st.one_of(
    action,
    st.tuples(st.just("send"), st.none()),
    st.tuples(st.just("send"), st.none()),
    st.tuples(st.just("ack"), st.none()),
    st.tuples(st.just("ack"), st.none()),
    st.tuples(st.just("crash"), st.none()),
)
# At least 0.05 s between steps, as in the other worlds: two Graph reports without sequence
# numbers stamped at the very same instant cannot be ordered by anyone.
queued_step = st.tuples(
    queued_action,
    st.sampled_from([0.05, 0.5, 3.0, 30.0, 120.0, 280.0]) | st.floats(0.05, 1800.0),
)


def run(world: World, steps: list[tuple[tuple[str, Any], float]]) -> None:
    """Act out `steps`, checking invariants along the way and at the end."""
    world.set_sync(True)
    world.poll("rc")
    world.poll("teams")
    for (kind, arg), dt in steps:
        world.advance(dt)
        if kind == "teams":
            world.teams_action(*arg)
        elif kind == "rc_hand":
            world.rc_set(*arg)
        elif kind == "rc_call":
            world.rc_telephony(arg)
        elif kind == "deliver":
            world.deliver(arg)
        elif kind == "deliver_twice":
            world.deliver(arg, keep=True)
        elif kind == "drop":
            world.drop(arg)
        elif kind == "redeliver":
            world.redeliver(arg)
        elif kind == "poll":
            world.poll(arg)
        elif kind == "read_rc":
            world.read_rc()
        elif kind == "record_read":
            world.record_read(arg)
        elif kind == "tick":
            from presence_sync.engine import Tick

            world.feed(Tick())
        elif kind == "restart":
            world.restart()
        elif kind == "settings":
            world.change_settings(edit(world.settings, *arg))
        elif kind == "sync":
            world.set_sync(arg)
        elif kind == "check":
            world.check_quiescent()
        elif kind == "send":
            world.send()
        elif kind == "ack":
            world.ack()
        elif kind == "crash":
            world.crash()
        world.track()
    world.check_quiescent()
    world.end_activity()
    world.check_back_to_own()
    world.check_write_budget()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=CI,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    config=world_strategy,
    # Half short days (shrink well), half long ones (flapping, long chains of late reports).
    steps=st.lists(step, min_size=10, max_size=40)
    | st.lists(step, min_size=STEPS // 2, max_size=STEPS),
)
def test_random_days_keep_the_invariants(config: dict[str, Any], steps: list[Any]) -> None:
    """No echo writes, no stuck Busy/DND, rules hold when settled, one write per change."""
    run(World(**config), steps)


@settings(max_examples=EXAMPLES // 4, deadline=None, derandomize=CI)
@given(
    config=world_strategy,
    steps=st.lists(
        st.tuples(
            st.one_of(
                st.tuples(st.just("teams"), st.sampled_from(TEAMS_VERBS)),
                st.tuples(st.just("rc_call"), st.sampled_from(TELEPHONY)),
                st.tuples(st.just("deliver"), index),
            ),
            st.sampled_from([0.5, 30.0]),
        ),
        min_size=5,
        max_size=40,
    ),
)
def test_meetings_and_calls_alone_never_need_a_hand_reset(
    config: dict[str, Any], steps: list[Any]
) -> None:
    """Overlapping Teams meetings and RingCentral calls, nothing lost: both sides come back."""
    run(World(**config), steps)


# One fixed seed in every checkout (derandomize seeds from the file's path, so CI's clone
# would draw other examples), until the rare corners a long random hunt still finds are
# settled: HUNT=1 HUNT_SEED=N ENGINE_WORLD_EXAMPLES=20000 pytest tests/engine -k budget.
QUEUED_EXAMPLES = int(os.environ.get("ENGINE_WORLD_EXAMPLES", "1000")) // 2
QUEUED_SEED = int(os.environ.get("HUNT_SEED", "0")) if os.environ.get("HUNT") else 20261201


# The world every pinned example below was found in: default mapping, legacy account, no
# call queue, Graph without sequence numbers.
PLAIN_WORLD: dict[str, Any] = {
    "settings": OrgSettings(
        False,
        CallPresenceRules(**{state.value: CallRule.ACCEPT_ALL_CALLS for state in TeamsState}),
        False,
        False,
    ),
    "rc_mode": "legacy",
    "queue_member": False,
    "tie_prefers_app": False,
    "teams_sequences": False,
}


@settings(
    max_examples=QUEUED_EXAMPLES,
    deadline=None,
    database=None,  # the same examples in every checkout, whatever earlier hunts saved
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    config=world_strategy,
    steps=st.lists(queued_step, min_size=10, max_size=40)
    | st.lists(queued_step, min_size=STEPS // 2, max_size=STEPS),
)
# Found in under a second against the engine that measured the grace from the decision: the
# Busy waits 120 s for its budget while reads keep showing Available, is taken for a hand
# change, and stays after the meeting (issue 8).
@example(
    config=PLAIN_WORLD,
    steps=[
        (("teams", ("join_meeting", None)), 0.05),
        (("teams", ("join_meeting", None)), 0.05),
        (("teams", ("join_meeting", None)), 0.05),
        (("read_rc", None), 0.05),
        (("read_rc", None), 0.05),
        (("deliver", 0), 0.05),
        (("read_rc", None), 0.05),
        (("read_rc", None), 120.0),
        (("check", None), 0.05),
        (("read_rc", None), 0.05),
    ],
)
# A refresh of our Do-not-disturb session held back until the moment Graph dropped the
# session: the person's own presence shows in the gap, and must not be taken as a status
# they pinned (which would write Busy, then restore it once the refresh lands).
@example(
    config=PLAIN_WORLD,
    steps=[
        (("read_rc", None), 0.05),
        (("read_rc", None), 0.05),
        (("check", None), 0.05),
        (("rc_hand", ("dnd_status", "DoNotAcceptAnyCalls")), 0.05),
        (("check", None), 0.05),
        (("teams", ("join_meeting", None)), 0.05),
        (("teams", ("join_meeting", None)), 0.05),
        (("check", None), 0.05),
        (("tick", None), 120.0),
        (("check", None), 280.0),
    ],
)
# A refresh of our In-a-call session handed back unsent at a restart: Graph still holds the
# session it refreshes, so unsyncing the person must still clear it.
@example(
    config=PLAIN_WORLD,
    steps=[
        (("read_rc", None), 0.05),
        (("teams", ("leave_meeting", None)), 0.05),
        (("rc_call", "CallConnected"), 0.05),
        (("check", None), 0.05),
        (("teams", ("join_meeting", None)), 0.05),
        (("teams", ("join_meeting", None)), 0.05),
        (("teams", ("join_meeting", None)), 0.05),
        (("restart", None), 121.0),
        (("restart", None), 0.05),
        (("sync", False), 0.05),
    ],
)
@seed(QUEUED_SEED)
def test_writes_waiting_for_their_budget_are_never_taken_for_the_users_own(
    config: dict[str, Any], steps: list[Any]
) -> None:
    """Writes sent minutes after they were decided: still no stuck status, no echo writes."""
    run(World(**config, queued=True), steps)
