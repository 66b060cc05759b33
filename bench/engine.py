"""Engine benchmarks; prints one JSON object, one key per measurement.

    python bench/engine.py [--users 200] [--events 200000]
                           [--propagation-users 150] [--propagation-seconds 15] [--rate 100]
                           [--stores sqlite ferretdb] [--no-propagation]
                           [--writes-users 40] [--writes-seconds 30] [--no-writes]

``decide`` measures `decide()` calls per second on one core over a realistic event mix: a
population of synced users living an office day (Teams meetings and calls, RingCentral calls,
hand-set DND, echoes of our own writes, acknowledgements, duplicated notifications, Ticks).
``calls_per_second`` counts CPU time inside `decide()` only; ``..._with_harness`` also counts
making the events and applying the commands.

``propagation`` (one entry per store) starts the sandbox as its own process and the product
in this one, links and syncs a modest org, turns rate limits and notification delay off, and
starts and ends Teams meetings at ``--rate`` per second for ``--propagation-seconds``; it
reports p50/p95/p99 from the Graph notification arriving at the product's webhook to the
product's RingCentral presence PUT arriving at the sandbox, and two wider intervals (see
bench/propagation.py; each entry names its intervals). ``ferretdb`` runs FerretDB through
tests/mongo_server.py.

``writes`` is writes issued ÷ writes needed (target 1.00) over the product's office-day
scenario, played twice on one sandbox org of ``--writes-users`` people with the real server
and its embedded SQLite store, for ``--writes-seconds`` each: once with notifications as sent
(``clean``), once with every Graph and RingCentral notification possibly duplicated (50%) and
delayed at random by 2.5-7.8 s so a person's notifications overtake each other
(``duplicated_and_reordered``). Rate limits stay on. *Issued* counts the presence writes the
sandbox received (RingCentral presence PUTs; Graph setPresence / clearPresence / preferred
presence); *needed* is the fewest writes a perfect syncer makes for the scenario's ground truth,
computed from the steps alone without the engine. Per run and side: issued, needed, ratio,
429s, and the people who got more or fewer writes than needed with their audited causes (see
bench/writes.py and bench/needed.py for the definitions). It takes about 75 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from presence_sync.domain import OrgSettings
from presence_sync.engine import (
    Event,
    RingCentralObserved,
    SetRingCentralPresence,
    SetTeamsSession,
    SyncEnabled,
    TeamsObserved,
    Tick,
    UserState,
    WriteApplied,
    decide,
)

TEAMS_PAIRS = [
    ("Available", "Available"),
    ("Busy", "InAMeeting"),
    ("Busy", "InACall"),
    ("Busy", "Busy"),
    ("DoNotDisturb", "Presenting"),
    ("Away", "Away"),
    ("AvailableIdle", "Available"),
    ("Offline", "OffWork"),
]
TEAMS_WEIGHTS = [40, 20, 10, 6, 4, 8, 8, 4]
TELEPHONY = ["NoCall", "CallConnected", "Ringing", "OnHold"]


class _User:
    """One user's remote values, so echoes and duplicates look like the real ones."""

    def __init__(self, rng: random.Random) -> None:
        self.state = UserState()
        self.teams_seq = 10
        self.rc_seq = 1
        self.rc: dict[str, Any] = {"user_status": "Available", "dnd_status": "TakeAllCalls"}
        self.telephony = "NoCall"
        self.last_teams: TeamsObserved | None = None
        self.rng = rng

    def rc_event(self, now: float) -> RingCentralObserved:
        self.rc_seq += 1
        return RingCentralObserved(
            user_status=self.rc["user_status"],
            dnd_status=self.rc["dnd_status"],
            telephony_status=self.telephony,
            sequence=self.rc_seq,
            observed_at=now,
        )


def _events(users: list[_User], count: int, rng: random.Random) -> list[tuple[int, str]]:
    """The kinds of event each step delivers, drawn once so timing excludes the draw."""
    kinds = ["teams", "rc_call", "rc_dnd", "duplicate", "tick"]
    weights = [45, 15, 5, 10, 25]
    return [(rng.randrange(len(users)), rng.choices(kinds, weights)[0]) for _ in range(count)]


def bench_decide(user_count: int, event_count: int, seed: int = 5) -> dict[str, Any]:
    """decide() calls per second on one core, with echoes and acks fed back like production."""
    rng = random.Random(seed)
    settings = OrgSettings(call_presence_customisation=True)
    users = [_User(rng) for _ in range(user_count)]
    plan = _events(users, event_count, rng)
    now = 1_000_000.0
    calls = 0
    in_decide = 0.0  # CPU seconds spent inside decide() alone
    clock = time.process_time  # CPU time of this one thread: "on one core"
    mix: Counter[str] = Counter()
    commands = 0
    wall_start = time.perf_counter()
    start = clock()
    for user in users:
        for start_event in (SyncEnabled(), user.rc_event(now)):
            before = clock()
            user.state = decide(user.state, start_event, settings, now).state
            in_decide += clock() - before
            calls += 1
    for index, kind in plan:
        user = users[index]
        now += 0.05
        event: Event
        if kind == "teams":
            user.teams_seq += 1
            pair = rng.choices(TEAMS_PAIRS, TEAMS_WEIGHTS)[0]
            observed = TeamsObserved(pair[0], pair[1], str(user.teams_seq), now)
            user.last_teams = observed
            event = observed
        elif kind == "rc_call":
            user.telephony = rng.choice(TELEPHONY)
            event = user.rc_event(now)
        elif kind == "rc_dnd":
            user.rc["dnd_status"] = rng.choice(["TakeAllCalls", "DoNotAcceptAnyCalls"])
            event = user.rc_event(now)
        elif kind == "duplicate" and user.last_teams is not None:
            event = user.last_teams
        else:
            event = Tick()
        mix[type(event).__name__] += 1
        before = clock()
        decision = decide(user.state, event, settings, now)
        in_decide += clock() - before
        calls += 1
        user.state = decision.state
        for command in decision.commands:
            commands += 1
            follow_ups: list[Event] = [WriteApplied(command)]
            if isinstance(command, SetRingCentralPresence):
                user.rc.update({k: v for k, v in command.fields() if k in user.rc})
                follow_ups.append(user.rc_event(now))  # the echo of our own write
            elif isinstance(command, SetTeamsSession):
                user.teams_seq += 1
                follow_ups.append(
                    TeamsObserved(command.availability, command.activity, str(user.teams_seq), now)
                )
            for follow_up in follow_ups:
                mix[type(follow_up).__name__] += 1
                before = clock()
                user.state = decide(user.state, follow_up, settings, now).state
                in_decide += clock() - before
                calls += 1
    elapsed = clock() - start
    wall = time.perf_counter() - wall_start
    return {
        "calls": calls,
        "calls_per_second": round(calls / in_decide),
        "calls_per_second_with_harness": round(calls / elapsed),
        "cpu_seconds_in_decide": round(in_decide, 3),
        "cpu_seconds_total": round(elapsed, 3),
        "wall_seconds": round(wall, 3),
        "target_calls_per_second": 50_000,
        "users": user_count,
        "commands_issued": commands,
        "event_mix": dict(sorted(mix.items())),
    }


def _propagation(store: str, users: int, rate: float, seconds: float) -> dict[str, Any]:
    """One propagation run on `store` ("sqlite" or "ferretdb")."""
    from bench.propagation import measure_propagation

    if store == "sqlite":
        return asyncio.run(measure_propagation(users, rate, seconds))
    from tests.mongo_server import run_ferretdb

    with run_ferretdb() as uri:
        run = asyncio.run(measure_propagation(users, rate, seconds, store_url=f"{uri}presence"))
    run["store"] = "ferretdb"
    return run


def _writes(users: int, seconds: float) -> dict[str, Any]:
    """Writes issued ÷ writes needed over two office days (clean, then with chaos)."""
    from bench.writes import measure_writes

    return asyncio.run(measure_writes(users, duration=seconds))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print their JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--propagation-users", type=int, default=150)
    parser.add_argument("--propagation-seconds", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=100.0, help="Teams changes per second")
    parser.add_argument("--stores", nargs="+", choices=["sqlite", "ferretdb"], default=["sqlite"])
    parser.add_argument("--no-propagation", action="store_true")
    parser.add_argument("--writes-users", type=int, default=40, help="people in the sandbox org")
    parser.add_argument("--writes-seconds", type=float, default=30.0, help="length of each day")
    parser.add_argument("--no-writes", action="store_true")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {
        "python": platform.python_version(),
        "decide": bench_decide(args.users, args.events),
    }
    if not (args.no_propagation and args.no_writes):
        logging.basicConfig(level=logging.ERROR)
    if not args.no_propagation:
        result["propagation"] = {
            "target_p99_ms": 50,
            "runs": [
                _propagation(store, args.propagation_users, args.rate, args.propagation_seconds)
                for store in args.stores
            ],
        }
    if not args.no_writes:
        result["writes"] = _writes(args.writes_users, args.writes_seconds)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
