"""Writes issued ÷ writes needed over the office-day scenario, clean and with notification chaos.

Starts the HTTPS sandbox and the product server in this process (embedded SQLite store; the
product's real clients, webhooks, watchers and sync service on loopback; the demo's settings),
connects both platforms through the consent routes, runs `sync all`, waits until no presence
write has been made for ``QUIET_SECONDS``, and then plays the product's own office day
(`presence_sync.demo.scenario.office_day`, nothing held at the end) twice with the same seed:

1. ``clean``: notifications as the sandbox sends them by default;
2. ``duplicated_and_reordered``: every Graph and RingCentral change notification is duplicated
   with probability ``DUPLICATE`` and delivered after a random 0.5-1.5 x ``DELAY_MS`` plus the
   sandbox's reorder jitter, so one person's notifications can overtake each other (the
   sandbox faults `graph-notifications` and `ringcentral-notifications`). The JSON counts the
   duplicates and overtakings the sandbox planned.

The sandbox's rate limits stay on (RingCentral presence PUT 40 a minute; the day is paced
below that, and the JSON reports any 429). A day ends when everyone shows the expected state on
both sides (the demo's `--check` expectation) and no write has been made for
``QUIET_SECONDS``, or after ``settle`` seconds.

*Writes issued*: presence writes the sandbox received from the first step to the end of the
day, per side: RingCentral presence PUTs; Graph setPresence, clearPresence and (preferred)
presence writes (bench/write_counts.py). *Writes needed*: the fewest writes a perfect syncer
makes for the same steps, computed from the scenario alone (bench/needed.py). The ratio is
issued ÷ needed; above 1 means unneeded writes, below 1 means a change never reached the other
side (or reached it only after it was already over). People who got more or fewer writes than
they needed are listed with their steps and their writes from the product's audit log, each
with its cause. ``decided_already_true`` counts writes the engine decided that the dispatcher
did not send, because the last observation already showed them.

The day is an office day squeezed into ``duration`` seconds: routines last seconds, not
minutes, so the chaos run's delays of up to 7.8 s can outlast a short state, which the product
then rightly never writes (it was over before anyone could know).

    .venv/bin/python bench/writes.py [--users 40] [--seconds 30]
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# The repository root, so `bench.needed` imports when this runs as a script.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.needed import Doing, NeededWrites, needed_writes
from bench.write_counts import (
    ALREADY_TRUE,
    SIDES,
    ChaosTally,
    quiet,
    side_of_audit,
    sync_writes,
    write_counts,
)
from presence_sync.demo.connect import connect_and_sync_all
from presence_sync.demo.control import SandboxControl, as_person, linked_people
from presence_sync.demo.driver import play
from presence_sync.demo.expect import Activity, check_rows, replay
from presence_sync.demo.jobs import synced_links
from presence_sync.demo.scenario import Person, Step, office_day
from presence_sync.demo.server import ProductServer, demo_settings, reserve_port
from presence_sync.store import AuditEntry, Store
from presence_sync.store.codec import audit_details_to_json
from sandbox.context import SandboxContext
from sandbox.server import RunningSandbox, run_sandbox

__all__ = ["CHAOS", "measure_writes", "people_differing"]

DUPLICATE = 0.5
DELAY_MS = 5000
CHAOS: tuple[dict[str, Any], ...] = tuple(
    {"target": target, "duplicate": DUPLICATE, "reorder": True, "delay_notifications_ms": DELAY_MS}
    for target in ("graph-notifications", "ringcentral-notifications")
)
QUIET_SECONDS = 4.0
SETTLE_SECONDS = 15.0  # after the first look; with the days and set-up, under 2 minutes in all
FIRST_LOOK = 8.0  # the longest chaos delay: 5 s x 1.5 + 0.3 s jitter + batching
LISTED = 5  # people listed per run with more or fewer writes than needed



def _ratio(issued: int, needed: int) -> float | None:
    return round(issued / needed, 3) if needed else None


async def _day(
    running: RunningSandbox,
    control: SandboxControl,
    store: Store,
    tally: ChaosTally,
    *,
    label: str,
    faults: tuple[dict[str, Any], ...],
    actors: Mapping[str, Person],
    people: Mapping[str, Person],
    email_of_link: Mapping[str, str],
    duration: float,
    settle: float,
    seed: int,
) -> dict[str, Any]:
    """One office day; issued and needed writes per side, and who got writes they did not need."""
    state = await control.state()
    start: dict[str, tuple[Doing, tuple[str, str]]] = {}
    baseline: dict[str, Activity] = {}
    for entry in linked_people(state):
        key = str(entry["teams"]["userPrincipalName"]).lower()
        if key not in people:
            continue
        rc = entry["ringcentral"]["presence"]
        signed_out = (entry["teams"].get("presence") or {}).get("availability") == "Offline"
        choice = "Offline" if signed_out else "Available"
        start[key] = (Doing(teams_choice=choice), (rc["userStatus"], rc["dndStatus"]))
        baseline[key] = Activity(teams_choice=choice)
    steps = office_day(list(actors.values()), duration, seed)
    running.ctx.recorder.reset()
    tally.reset()
    for fault in faults:
        running.ctx.faults.add(dict(fault))
    began_wall, began = time.time(), time.monotonic()
    try:
        done: list[Step] = await play(steps, actors, control)
        played = time.monotonic() - began
        await asyncio.sleep(FIRST_LOOK if faults else 1.0)
        rows = await _settled(control, running.ctx, set(people), replay(done, baseline), settle)
    finally:
        running.ctx.faults.clear()
    counts = write_counts(running.ctx)
    needed = needed_writes(done, start)
    audit = await sync_writes(store, began_wall)
    sent = [e for e in audit if e.details.get("message") != ALREADY_TRUE]
    by_person: dict[str, Counter[str]] = {}
    for write in sent:
        person = email_of_link.get(str(write.user).lower(), str(write.user).lower())
        by_person.setdefault(person, Counter())[str(side_of_audit(write))] += 1
    needed_total = {
        "ringcentral": sum(n.ringcentral for n in needed.values()),
        "teams": sum(n.teams for n in needed.values()),
    }
    sides: dict[str, dict[str, Any]] = {}
    for side in SIDES:
        skipped = [e for e in audit if e.details.get("message") == ALREADY_TRUE]
        sides[side] = {
            **counts[side],
            "needed": needed_total[side],
            "ratio": _ratio(counts[side]["issued"], needed_total[side]),
            "audited": sum(c[side] for c in by_person.values()),
            "decided_already_true": sum(1 for e in skipped if side_of_audit(e) == side),
        }
    issued_all = sum(counts[side]["issued"] for side in SIDES)
    needed_all = sum(needed_total.values())
    more = people_differing(done, needed, by_person, sent, email_of_link, began_wall, more=True)
    fewer = people_differing(done, needed, by_person, sent, email_of_link, began_wall, more=False)
    return {
        "run": label,
        "faults": list(faults),
        "steps": len(done),
        "steps_refused": len(steps) - len(done),
        "play_seconds": round(played, 1),
        "settle_seconds": round(time.monotonic() - began - played, 1),
        "people_right_at_end": sum(1 for r in rows if r.ok),
        "people": len(rows),
        "notifications": tally.snapshot(),
        "writes": {
            "issued": issued_all,
            "needed": needed_all,
            "ratio": _ratio(issued_all, needed_all),
            **sides,
        },
        "people_with_more_writes_than_needed": len(more),
        "people_with_fewer_writes_than_needed": len(fewer),
        "more_than_needed": more[:LISTED],
        "fewer_than_needed": fewer[:LISTED],
    }


def people_differing(
    steps: list[Step],
    needed: Mapping[str, NeededWrites],
    by_person: Mapping[str, Counter[str]],
    sent: list[AuditEntry],
    email_of_link: Mapping[str, str],
    since: float,
    *,
    more: bool,
) -> list[dict[str, Any]]:
    """People sent more (or, with `more` False, fewer) writes than needed: steps and writes."""
    found = []
    for person in sorted(set(by_person) | set(needed)):
        want = needed.get(person, NeededWrites())
        got = by_person.get(person, Counter())
        excess = (got["ringcentral"] - want.ringcentral, got["teams"] - want.teams)
        if (max(excess) <= 0) if more else (min(excess) >= 0):
            continue
        found.append(
            {
                "person": person,
                "needed": dataclasses.asdict(want),
                "sent": {side: got[side] for side in SIDES},
                "steps": [f"{s.at:.1f} s {s.action}" for s in steps if s.person.lower() == person],
                "writes": [
                    {
                        "at": f"{e.at - since:.1f} s",
                        # As stored: the audit's frozen mappings are not JSON themselves.
                        "write": json.loads(audit_details_to_json(e.details)).get("write"),
                        "cause": e.details.get("cause"),
                        "result": e.details.get("result"),
                    }
                    for e in sent
                    if email_of_link.get(str(e.user).lower(), str(e.user).lower()) == person
                ],
            }
        )
    return found


async def _settled(
    control: SandboxControl,
    ctx: SandboxContext,
    emails: set[str],
    expected: Mapping[str, Activity],
    settle: float,
) -> list[Any]:
    """Rows of the final check once everyone is right twice and writes are quiet, or at the end."""
    deadline = time.monotonic() + settle
    right_in_a_row = 0
    rows: list[Any] = []
    while time.monotonic() < deadline:
        state = await control.state()
        entries = [
            e
            for e in state.get("users", [])
            if e.get("teams") and str(e["teams"]["userPrincipalName"]).lower() in emails
        ]
        rows = check_rows(entries, expected)
        right_in_a_row = right_in_a_row + 1 if all(r.ok for r in rows) else 0
        if right_in_a_row >= 2:
            left = max(0.0, deadline - time.monotonic())
            if await quiet(ctx, QUIET_SECONDS, left):
                return rows
        await asyncio.sleep(1.0)
    return rows


async def measure_writes(
    users: int = 40, duration: float = 30.0, seed: int = 0, settle: float = SETTLE_SECONDS
) -> dict[str, Any]:
    """Both office days over a sandbox org of `users` people; JSON-ready results."""
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        async with run_sandbox(data / "sandbox", users=users) as running:
            control = SandboxControl.open(running.base_url, running.ca_file)
            server: ProductServer | None = None
            try:
                config = await control.config()
                sock = reserve_port(0)
                settings = demo_settings(
                    config,
                    port=sock.getsockname()[1],
                    data_dir=data / "server",
                    log_level="ERROR",
                )
                server = await ProductServer.start(settings, sock)
                await control.set_product_url(f"{server.url}/api/messages")
                store, job = await connect_and_sync_all(server, control, config, running.ca_file)
                links = await synced_links(store)
                tally = ChaosTally(running.ctx)
                calm = await quiet(running.ctx, QUIET_SECONDS, 60.0)
                state = await control.state()
                linked_ids = {link.teams_user_id for link in links if link.teams_user_id}
                entries = linked_people(state, linked_ids)
                people = {p.teams_email.lower(): p for p in map(as_person, entries)}
                # People signed out of Teams stay so, as in the demo: a meeting would sign them in.
                actors = {
                    str(e["teams"]["userPrincipalName"]).lower(): as_person(e)
                    for e in entries
                    if (e["teams"].get("presence") or {}).get("availability") != "Offline"
                }
                upn_of_id = {
                    str(e["teams"]["id"]): str(e["teams"]["userPrincipalName"]) for e in entries
                }
                email_of_link = {
                    link.email.lower(): upn_of_id.get(str(link.teams_user_id), link.email).lower()
                    for link in links
                }
                runs = []
                for label, faults in (("clean", ()), ("duplicated_and_reordered", CHAOS)):
                    runs.append(
                        await _day(
                            running,
                            control,
                            store,
                            tally,
                            label=label,
                            faults=faults,
                            actors=actors,
                            people=people,
                            email_of_link=email_of_link,
                            duration=duration,
                            settle=settle,
                            seed=seed,
                        )
                    )
            finally:
                if server is not None:
                    await server.stop()
                await control.close()
    return {
        "store": "sqlite",
        "sandbox_users": users,
        "linked_and_synced": job.synced + job.already,
        "actors": len(actors),
        "day_seconds": duration,
        "seed": seed,
        "quiet_before_first_day": calm,
        "rate_limits": "on (the sandbox's RingCentral and Graph limits)",
        "target_ratio": 1.0,
        "runs": runs,
    }


if __name__ == "__main__":
    import argparse
    import logging

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=40, help="people in the sandbox org")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each day")
    cli = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(json.dumps(asyncio.run(measure_writes(cli.users, duration=cli.seconds)), indent=2))
