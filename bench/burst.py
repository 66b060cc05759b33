"""A top-of-the-hour burst under RingCentral's real limits: delays, writes and 429s (issue 8).

Starts the HTTPS sandbox (``--users`` people, its real RingCentral rate limits, its clock
``--time-scale`` times faster) and the product server in this process on the embedded store,
with the product on the sandbox's clock, connects both platforms through the consent routes
and syncs everyone. Then ``--meetings`` people start a Teams meeting within a second; once
every synced one of them shows Busy in RingCentral, all meetings end within a second, and the
run waits until every one shows Available again, then ``--hold`` more sandbox seconds to see
that nobody changes back.

Prints one JSON object: for the start and the end of the meetings, p50 / p95 / max seconds
(sandbox time) from the Teams change to the product's RingCentral write (its audit entry,
recorded when RingCentral answered), how many people were moved, RingCentral presence writes
issued and needed (one Busy and one restore per synced person), 429s the sandbox answered,
and people left wrong at the end (should be none)::

    .venv/bin/python bench/burst.py [--users 300] [--meetings 150] [--time-scale 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sandboxed import synced_product
from bench.write_counts import sync_writes, write_counts
from presence_sync.store import Store
from sandbox.server import RunningSandbox

__all__ = ["measure_burst"]


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return round(ordered[index], 1)


def _spread(values: list[float]) -> dict[str, float | None]:
    return {
        "p50": _percentile(values, 0.5),
        "p95": _percentile(values, 0.95),
        "max": round(max(values), 1) if values else None,
    }


def _upn(person: dict[str, Any]) -> str:
    return str((person.get("teams") or {}).get("userPrincipalName", "")).lower()


async def _shown(running: RunningSandbox) -> dict[str, dict[str, Any]]:
    _, state = await running.control("GET", "/_sandbox/state")
    return {
        _upn(p): dict(p["ringcentral"]["presence"])
        for p in state["users"]
        if p.get("teams") and p.get("ringcentral")
    }


async def _until(
    running: RunningSandbox, people: set[str], status: str, real_seconds: float
) -> set[str]:
    """Who does not show `status` once all do or `real_seconds` passed."""
    deadline = time.monotonic() + real_seconds
    while True:
        shown = await _shown(running)
        wrong = {p for p in people if shown.get(p, {}).get("userStatus") != status}
        if not wrong or time.monotonic() > deadline:
            return wrong
        await asyncio.sleep(0.2)


async def _meetings(running: RunningSandbox, people: list[str], action: str) -> float:
    began = running.ctx.clock.now()
    await asyncio.gather(
        *(
            running.control("POST", f"/_sandbox/teams/{p}/meeting", {"action": action})
            for p in people
        )
    )
    return began


def _delays(entries: list[Any], began: float, people: set[str], wrote: str) -> list[float]:
    first: dict[str, float] = {}
    for entry in entries:
        who = str(entry.user or "").lower()
        write = entry.details.get("write") or {}
        if entry.details.get("result") != "applied" or write.get("userStatus") != wrote:
            continue
        if who not in first and entry.at >= began:
            first[who] = entry.at - began
    return [first[p] for p in people if p in first]


async def measure_burst(
    *, users: int, meetings: int, time_scale: float, hold: float
) -> dict[str, Any]:
    """Run one burst; the JSON-ready figures (see the module docstring)."""
    async with synced_product(users=users, time_scale=time_scale, prefix="burst-") as (
        running,
        _server,
        store,
    ):
        return await _burst(running, store, users, meetings, time_scale, hold)


async def _burst(
    running: RunningSandbox,
    store: Store,
    users: int,
    meetings: int,
    time_scale: float,
    hold: float,
) -> dict[str, Any]:
    page = await store.list_links(sync_enabled=True, limit=1_000_000)
    synced = {(link.upn or link.email).lower() for link in page.links if link.rc_extension_id}
    _, state = await running.control("GET", "/_sandbox/state")
    signed_in = [
        _upn(p) for p in state["users"] if p.get("teams") and (p["teams"].get("presence") or {})
    ]
    chosen = signed_in[:meetings]
    moved = set(chosen) & synced
    running.ctx.recorder.reset()
    _, limits = await running.control("GET", "/_sandbox/ringcentral/limits")
    refused = int(limits["refused"])
    wall = running.ctx.clock.now()
    patience = 3600 / time_scale  # an hour of sandbox time at most for each phase

    started = await _meetings(running, chosen, "start")
    not_busy = await _until(running, moved, "Busy", patience)
    ended = await _meetings(running, chosen, "end")
    not_back = await _until(running, moved, "Available", patience)
    await asyncio.sleep(hold / time_scale)
    changed = await _until(running, moved, "Available", 0)

    audit = await sync_writes(store, wall)
    rc_audit = [e for e in audit if e.action == "ringcentral.presence"]
    _, limits = await running.control("GET", "/_sandbox/ringcentral/limits")
    counts = write_counts(running.ctx)
    return {
        "benchmark": "burst",
        "users": users,
        "meetings": len(chosen),
        "synced_people_moved": len(moved),
        "time_scale": time_scale,
        "start_to_busy_s": _spread(_delays(rc_audit, started, moved, "Busy")),
        "end_to_available_s": _spread(_delays(rc_audit, ended, moved, "Available")),
        "ringcentral_writes_issued": counts["ringcentral"]["issued"],
        "ringcentral_writes_needed": 2 * len(moved),
        "ringcentral_429s": int(limits["refused"]) - refused,
        "never_busy": sorted(not_busy)[:10],
        "not_back_to_available": sorted(not_back)[:10],
        "changed_again_after": sorted(changed)[:10],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON; exit 1 if anyone was left wrong or a 429 came."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--meetings", type=int, default=150)
    parser.add_argument("--time-scale", type=float, default=30.0)
    parser.add_argument("--hold", type=float, default=600.0, help="sandbox seconds to watch after")
    args = parser.parse_args(argv)
    result = asyncio.run(
        measure_burst(
            users=args.users, meetings=args.meetings, time_scale=args.time_scale, hold=args.hold
        )
    )
    print(json.dumps(result, indent=2))
    wrong = result["never_busy"] or result["not_back_to_available"] or result["changed_again_after"]
    return 1 if wrong or result["ringcentral_429s"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
