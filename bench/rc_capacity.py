"""RingCentral write capacity at the top of the hour: delays, writes, 429s, rate use (issue 15).

For each organisation size and each number of RingCentral identities, starts the HTTPS sandbox
(its real RingCentral limits: 40 presence writes a minute per user and app; its clock
``--time-scale`` times faster) and the product in this process on the embedded store, on the
sandbox's clock; connects both platforms as an admin would, syncs everyone and adds the extra
identities (RingCentral users with the Edit Presence right, by JWT credential). Then a share
``--share`` of the linked people start a Teams meeting at random moments within 60 sandbox
seconds and end it ``--meeting-minutes`` later, while ``--realtime`` others change their own
Teams status once each at random moments of the first ten minutes.

Prints one JSON object with a run per (size, identities): p50 / p95 / max sandbox seconds from
the Teams change to the RingCentral write (the product's audit entry, recorded when RingCentral
answered) for the meetings' starts, their ends and the real-time changes; RingCentral writes
issued (at the sandbox), writes skipped because a later change made them unnecessary (a
meeting that ended before its Busy was written), 429s (target 0), writes per identity, and the
share of the allowed write rate used while a backlog existed (target ≥ 95%: the allowed rate
is the sum of the identities' limits; the backlog is the product's own, sampled ten times a
real second)::

    .venv/bin/python bench/rc_capacity.py [--sizes 500,2000,5000] [--identities 1,auto]
        [--share 0.25] [--time-scale 20] [--meeting-minutes 30] [--realtime 50]

The sandbox runs at most ``--time-scale`` times faster, slower for many identities (see
`run_scale`): a sandbox minute with 13 identities is 520 writes, more than two cores turn
around in three real seconds. ``auto`` is enough identities for the burst by the README's
sizing rule: one per 40 people expected to change within the burst's minute. Exit status 1
when a run answered any 429 or left someone wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import random
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sandboxed import synced_product
from bench.write_counts import sync_writes, write_counts
from presence_sync.demo.server import ProductServer
from presence_sync.store import ConnectionStatus, Store
from presence_sync.web.keys import CONNECTIONS, SYNC
from sandbox.server import RunningSandbox

__all__ = ["identities_for", "measure"]

PER_IDENTITY = 40  # RingCentral's Medium group: presence writes a minute per (user, app)
PEOPLE_PER_SYNC_ACCOUNT = 650  # one Graph subscription each
PUT = "ringcentral-presence-put"
REAL_WRITES_PER_SECOND = 40  # what the product and sandbox sustain together on 2 cores


def run_scale(most: float, identities: int) -> float:
    """The sandbox's speed for a run: at most `most`, and slow enough that the writes RingCentral
    allows stay within what this machine sends (about 40 a real second), so the figures measure
    RingCentral's limits, not the CPU of the machine the benchmark runs on."""
    return round(min(most, REAL_WRITES_PER_SECOND * 60 / (PER_IDENTITY * identities)), 2)


def identities_for(changes_in_a_minute: int) -> int:
    """README's sizing rule: one identity per 40 people who change within the same minute."""
    return max(1, math.ceil(changes_in_a_minute / PER_IDENTITY))


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))], 1)


def _spread(values: list[float]) -> dict[str, Any]:
    return {
        "count": len(values),
        "p50": _percentile(values, 0.5),
        "p95": _percentile(values, 0.95),
        "max": round(max(values), 1) if values else None,
    }


def _upn(person: dict[str, Any]) -> str:
    return str((person.get("teams") or {}).get("userPrincipalName", "")).lower()


async def _control(running: RunningSandbox, method: str, path: str, body: Any = None) -> Any:
    status, answer = await running.control(method, path, body)
    if status >= 400:
        raise RuntimeError(f"sandbox {method} {path}: {status} {answer}")
    return answer


async def _shown(running: RunningSandbox) -> dict[str, dict[str, Any]]:
    state = await _control(running, "GET", "/_sandbox/state")
    return {
        _upn(p): dict(p["ringcentral"]["presence"])
        for p in state["users"]
        if p.get("teams") and p.get("ringcentral")
    }


async def _add_identities(
    running: RunningSandbox, server: ProductServer, count: int, avoid: set[str]
) -> list[str]:
    """Issue JWT credentials to `count` RingCentral users and add them as identities."""
    state = await _control(running, "GET", "/_sandbox/state")
    candidates = [
        str(p["ringcentral"]["email"])
        for p in reversed(state["users"])
        if p.get("ringcentral") and p["ringcentral"].get("email") and _upn(p) not in avoid
    ]
    added = []
    for email in candidates[:count]:
        issued = await _control(
            running, "POST", "/_sandbox/ringcentral/identities", {"email": email}
        )
        # RingCentral's Auth group allows 5 token calls a minute: an admin adding many
        # identities at once waits for it, as here.
        for _ in range(10):
            result = await server.app[CONNECTIONS].identities.add_jwt(issued["jwt"], actor="bench")
            if not result.unreachable:
                break
            await asyncio.sleep(20 / running.ctx.clock.scale)
        if result.status is not ConnectionStatus.CONNECTED:
            raise RuntimeError(f"identity {email} was not added: {result.reason}")
        added.append(str(issued["extension_id"]))
    return added


async def _at(running: RunningSandbox, began: float, offset: float, path: str, body: Any) -> float:
    """POST `body` to `path` `offset` sandbox seconds after `began`; when it was sent."""
    scale = running.ctx.clock.scale
    await asyncio.sleep(max(0.0, began + offset / scale - time.monotonic()))
    sent = running.ctx.clock.now()
    await _control(running, "POST", path, body)
    return sent


async def measure(
    *,
    users: int,
    identities: int,
    share: float,
    time_scale: float,
    meeting_minutes: float,
    realtime: int,
    seed: int,
) -> dict[str, Any]:
    """One run (see the module docstring): JSON-ready figures."""
    accounts = max(1, math.ceil(users / PEOPLE_PER_SYNC_ACCOUNT))
    async with synced_product(
        users=users, time_scale=time_scale, sync_accounts=accounts, prefix="rc-capacity-"
    ) as (running, server, store):
        return await _run(
            running,
            server,
            store,
            users,
            identities,
            share,
            meeting_minutes,
            realtime,
            random.Random(seed),
        )


async def _run(
    running: RunningSandbox,
    server: ProductServer,
    store: Store,
    users: int,
    identities: int,
    share: float,
    meeting_minutes: float,
    realtime: int,
    rng: random.Random,
) -> dict[str, Any]:
    scale = running.ctx.clock.scale
    page = await store.list_links(sync_enabled=True, limit=1_000_000)
    synced = {(link.upn or link.email).lower() for link in page.links if link.rc_extension_id}
    state = await _control(running, "GET", "/_sandbox/state")
    signed_in = sorted(
        _upn(p)
        for p in state["users"]
        if p.get("teams")
        and (p["teams"].get("presence") or {})
        and _upn(p) in synced
        and "admin" not in _upn(p)
        and not _upn(p).startswith("sync")
    )
    rng.shuffle(signed_in)
    movers = signed_in[: round(share * users)]
    others = signed_in[len(movers) : len(movers) + realtime]
    extra = await _add_identities(running, server, identities - 1, set(movers) | set(others))
    dispatcher = server.app[SYNC].dispatcher
    running.ctx.recorder.reset()
    await _control(running, "POST", "/_sandbox/timeline", {"enabled": True, "limit": 2_000_000})
    before = {
        i["extension_id"]: int(i["writes"])
        for i in await _control(running, "GET", "/_sandbox/ringcentral/identities")
    }
    refused = int((await _control(running, "GET", "/_sandbox/ringcentral/limits"))["refused"])
    wall = running.ctx.clock.now()
    began = time.monotonic()
    length = meeting_minutes * 60

    samples: list[tuple[float, int, int | None]] = []  # (monotonic, backlog, allowed a minute)
    sampling = True

    async def sample() -> None:
        while sampling:
            view = await dispatcher.capacity()
            samples.append((time.monotonic(), view.backlog, view.allowed_per_minute))
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    starts = {p: rng.uniform(0, 60) for p in movers}
    changes = {p: rng.uniform(0, 600) for p in others}
    moods = [("Away", "Away"), ("DoNotDisturb", "DoNotDisturb"), ("BeRightBack", "BeRightBack")]
    try:
        started, ended, changed = await asyncio.gather(
            asyncio.gather(
                *(
                    _at(running, began, t, f"/_sandbox/teams/{p}/meeting", {"action": "start"})
                    for p, t in starts.items()
                )
            ),
            asyncio.gather(
                *(
                    _at(
                        running,
                        began,
                        t + length,
                        f"/_sandbox/teams/{p}/meeting",
                        {"action": "end"},
                    )
                    for p, t in starts.items()
                )
            ),
            asyncio.gather(
                *(
                    _at(
                        running,
                        began,
                        t,
                        f"/_sandbox/teams/{p}/presence",
                        dict(zip(("availability", "activity"), rng.choice(moods), strict=True)),
                    )
                    for p, t in changes.items()
                )
            ),
        )
        # Everyone back to Available (an hour of sandbox time at most), then a minute more.
        deadline = time.monotonic() + 3600 / scale
        while time.monotonic() < deadline:
            shown = await _shown(running)
            if all(shown.get(p, {}).get("userStatus") == "Available" for p in movers):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(60 / scale)
    finally:
        sampling = False
        await sampler
    shown = await _shown(running)
    wrong = sorted(p for p in movers if shown.get(p, {}).get("userStatus") != "Available")

    start_at = dict(zip(movers, started, strict=True))
    end_at = dict(zip(movers, ended, strict=True))
    change_at = dict(zip(others, changed, strict=True))
    busy: dict[str, float] = {}  # mover -> start to their Busy write
    back: dict[str, float] = {}  # mover written Busy -> end to their restoring write
    live: dict[str, float] = {}  # real-time changer -> change to its write
    for entry in await sync_writes(store, wall):
        if entry.action != "ringcentral.presence" or entry.details.get("result") != "applied":
            continue
        who = str(entry.user or "").lower()
        write = entry.details.get("write")
        status = write.get("userStatus") if isinstance(write, Mapping) else None
        if who in start_at:
            if status == "Busy" and who not in busy and entry.at < end_at[who]:
                busy[who] = entry.at - start_at[who]
            elif who in busy and who not in back and entry.at >= end_at[who]:
                back[who] = entry.at - end_at[who]
        elif who in change_at and who not in live and entry.at >= change_at[who]:
            live[who] = entry.at - change_at[who]

    after = {
        i["extension_id"]: int(i["writes"])
        for i in await _control(running, "GET", "/_sandbox/ringcentral/identities")
    }
    # The main connection's user first, then the identities in the order they were added.
    sent = {k: after[k] - before.get(k, 0) for k in after}
    main = next((k for k in sent if k not in extra and sent[k] > 0), None)
    by_identity = [sent[main] if main else 0, *(sent.get(k, 0) for k in extra)]
    stamps = (await _control(running, "GET", "/_sandbox/timeline"))["stamps"]
    puts = [s["at"] for s in stamps if s["kind"] == PUT]
    backlog_seconds, use = _rate_use(samples, puts, identities, scale)
    counts = write_counts(running.ctx)
    refused_after = int((await _control(running, "GET", "/_sandbox/ringcentral/limits"))["refused"])
    return {
        "users": users,
        "identities": identities,
        "extra_identities_added": len(extra),
        "meetings": len(movers),
        "realtime_changes": len(others),
        "start_to_busy_s": _spread(list(busy.values())),
        "end_to_available_s": _spread(list(back.values())),
        "realtime_change_to_write_s": _spread(list(live.values())),
        "ringcentral_writes_issued": counts["ringcentral"]["issued"],
        # Meetings that ended before their Busy was written: the write was never needed.
        "busy_writes_skipped": len(movers) - len(busy),
        "ringcentral_429s": refused_after - refused,
        "writes_per_identity": by_identity,
        "backlog_seconds": round(backlog_seconds, 1),
        "rate_use_while_backlogged": use,
        "left_wrong": wrong[:10],
    }


def _rate_use(
    samples: list[tuple[float, int, int | None]], puts: list[float], identities: int, scale: float
) -> tuple[float, float | None]:
    """Sandbox seconds with a backlog, and the share of the allowed rate used meanwhile.

    A backlog is more people waiting than the identities have writes in flight (one each):
    below that there is nothing to fill the budget with."""
    busy_time = 0.0
    sent = 0
    allowed = 0.0
    for (t0, backlog, per_minute), (t1, _, _) in itertools.pairwise(samples):
        if backlog <= identities:
            continue
        span = (t1 - t0) * scale  # sandbox seconds
        busy_time += span
        allowed += (per_minute or PER_IDENTITY * identities) * span / 60
        sent += sum(1 for at in puts if t0 <= at < t1)
    if busy_time < 60:  # under a RingCentral minute, windows' edges decide: not a figure
        return busy_time, None
    return busy_time, round(sent / allowed, 3) if allowed else None


def _sizes(raw: str) -> list[int]:
    return [int(x) for x in raw.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    """Run every (size, identities) and print the JSON; 1 on any 429 or anyone left wrong."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=[500, 2000, 5000])
    parser.add_argument(
        "--identities", default="1,auto", help="comma-separated counts, or auto (README's rule)"
    )
    parser.add_argument("--share", type=float, default=0.25)
    parser.add_argument("--time-scale", type=float, default=20.0)
    parser.add_argument("--meeting-minutes", type=float, default=30.0)
    parser.add_argument("--realtime", type=int, default=50)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args(argv)
    runs: list[dict[str, Any]] = []
    for size in args.sizes:
        for choice in args.identities.split(","):
            count = (
                identities_for(round(args.share * size))
                if choice.strip() == "auto"
                else int(choice)
            )
            scale = run_scale(args.time_scale, count)
            print(
                f"{size} people, {count} identities, time x{scale:g}", file=sys.stderr, flush=True
            )
            began = time.monotonic()
            run = asyncio.run(
                measure(
                    users=size,
                    identities=count,
                    share=args.share,
                    time_scale=scale,
                    meeting_minutes=args.meeting_minutes,
                    realtime=args.realtime,
                    seed=args.seed,
                )
            )
            run["time_scale"] = scale
            run["seconds"] = round(time.monotonic() - began, 1)
            runs.append(run)
    result = {
        "benchmark": "rc_capacity",
        "share": args.share,
        "time_scale_at_most": args.time_scale,
        "meeting_minutes": args.meeting_minutes,
        "runs": runs,
    }
    print(json.dumps(result, indent=2))
    bad = any(r["ringcentral_429s"] or r["left_wrong"] for r in runs)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
