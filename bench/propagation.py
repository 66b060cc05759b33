"""Propagation latency: a Teams change to the RingCentral presence PUT it causes, end to end.

The sandbox runs as its own process (`python -m sandbox`, as in the demo), standing in for
Microsoft and RingCentral, which in production are remote; the product server (its real
clients, store, webhooks and sync service) runs in this process on loopback. The benchmark
connects both platforms through the consent routes, runs `sync all`, switches the sandbox's
rate limits and notification delay off, and then starts and ends Teams meetings through the
control API at a steady rate for a bounded time, one change in flight per user.

Four moments are timed per change, all on CLOCK_MONOTONIC (`time.monotonic()`, one clock for
every process on a Linux machine):
- the benchmark asks the sandbox for the Teams change (POST /_sandbox/teams/{email}/meeting);
- the sandbox starts POSTing the Graph change notification (sandbox timeline);
- the notification arrives at the product's webhook (a middleware only this benchmark adds
  in front of the product's own, stamping the request as it enters the app);
- the product's RingCentral presence PUT arrives at the sandbox and changes the presence
  (sandbox timeline).

On a MongoDB store it also counts the commands the product sends per change, by command and
collection (PyMongo's command monitoring), and the idle background rate.

    python bench/propagation.py [--users 150] [--seconds 5] [--rate 100] [--store-url URL]
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from pymongo import monitoring

# The repository root, for tests.mongo_server (FerretDB) when this runs as a script.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from presence_sync.demo.connect import admin_email, connect_all
from presence_sync.demo.control import SandboxControl, linked_people
from presence_sync.demo.jobs import refresh_directory, sync_all, synced_links
from presence_sync.demo.sandbox_process import SandboxProcess
from presence_sync.demo.server import ProductServer, demo_settings, reserve_port
from presence_sync.web.keys import STORE
from presence_sync.web.webhooks import GRAPH_NOTIFICATIONS
from tests.mongo_server import CommandCounter

__all__ = ["measure_propagation"]

# Intervals named in the JSON, so a reader knows exactly what was timed.
INTERVALS = {
    "webhook_arrival_to_rc_put": (
        "the Graph notification arrives at the product's webhook -> the product's RingCentral "
        "presence PUT for that user arrives at the sandbox (the interval issue 5 names)"
    ),
    "notification_to_rc_put": (
        "the sandbox starts POSTing the Graph change notification -> the product's "
        "RingCentral presence PUT for that user arrives at the sandbox"
    ),
    "teams_change_to_rc_put": (
        "the benchmark sends POST /_sandbox/teams/{email}/meeting -> the product's RingCentral "
        "presence PUT for that user arrives at the sandbox (includes the sandbox's 50 ms "
        "Graph notification batch window)"
    ),
}
RSS_EVERY = 0.2  # seconds between samples of the process's resident memory while driving
ANSWER_LIMIT = 10.0  # a change still unanswered after this many seconds counts as lost
SETTLE_SECONDS = 2.0  # let sync-all's writes and their echoes pass before driving
TIMELINE_POLL = 0.05  # seconds between reads of the sandbox's timeline


def rss_mb() -> float:
    """This process's resident set size (VmRSS), in MB of 2**20 bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS in /proc/self/status")


async def _sample_rss(peak: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_mb())
        await asyncio.sleep(RSS_EVERY)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


def _summary(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"count": 0}
    ms = [s * 1000 for s in seconds]
    return {
        "count": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(_percentile(ms, 0.95), 1),
        "p99_ms": round(_percentile(ms, 0.99), 1),
        "max_ms": round(max(ms), 1),
        "mean_ms": round(statistics.fmean(ms), 1),
    }


@dataclasses.dataclass
class _Change:
    """One Teams change in flight and the moments seen for it so far (monotonic seconds)."""

    email: str
    started: float
    notified: float | None = None
    arrived: float | None = None
    written: float | None = None


class _Timeline:
    """Matches stamps from the sandbox and the product's webhook to the change in flight."""

    def __init__(self, teams_to_ext: dict[str, str]) -> None:
        self.teams_to_ext = teams_to_ext
        self.changes: dict[str, _Change] = {}  # extension id -> the change in flight

    def _change(self, ext: str | None, at: float) -> _Change | None:
        change = self.changes.get(ext) if ext is not None else None
        return change if change is not None and at >= change.started else None

    def notification(self, teams_id: str, at: float) -> None:
        """The sandbox started POSTing a notification about `teams_id`."""
        change = self._change(self.teams_to_ext.get(teams_id), at)
        if change is not None and change.notified is None:
            change.notified = at

    def arrival(self, teams_ids: list[str], at: float) -> None:
        """A notification about `teams_ids` entered the product."""
        for teams_id in teams_ids:
            change = self._change(self.teams_to_ext.get(teams_id), at)
            if change is not None and change.arrived is None:
                change.arrived = at

    def put(self, ext: str, at: float) -> None:
        """A RingCentral presence PUT that changed `ext` arrived at the sandbox."""
        change = self._change(ext, at)
        if change is not None and change.written is None:
            change.written = at


@functools.cache
def _mongo_commands() -> CommandCounter:
    # PyMongo's listeners are process-wide and apply to clients created afterwards.
    listener = CommandCounter(callers=True)
    monitoring.register(listener)
    return listener


def _command_summary(
    counted: tuple[dict[str, int], dict[str, int]], changes: int, seconds: float
) -> dict[str, Any]:
    counts, callers = counted
    total = sum(counts.values())

    def top(by: dict[str, int]) -> dict[str, float]:
        ranked = sorted(by.items(), key=lambda kv: -kv[1])[:12]
        return {name: round(n / max(changes, 1), 2) for name, n in ranked}

    return {
        "total": total,
        "per_change": round(total / max(changes, 1), 1),
        "per_second": round(total / max(seconds, 1e-9), 1),
        "by_command": top(counts),
        "by_store_method": top(callers),
    }


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _arrival_middleware(timeline: _Timeline) -> Any:
    """Stamp Graph notifications as they enter the product app (outermost middleware)."""

    @web.middleware
    async def stamp(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST" or request.path != GRAPH_NOTIFICATIONS:
            return await handler(request)
        at = time.monotonic()
        response = await handler(request)
        # After the product's handler: the body is cached by then and parsing it here does
        # not delay the product's own work on this request.
        try:
            items = json.loads(await request.read()).get("value", [])
            ids = [str(i["resourceData"]["id"]) for i in items if "resourceData" in i]
        except (ValueError, TypeError, KeyError, AttributeError):
            ids = []
        timeline.arrival(ids, at)
        return response

    return stamp


async def _follow(control: SandboxControl, timeline: _Timeline, stop: asyncio.Event) -> None:
    """Read the sandbox's timeline until `stop`, feeding stamps to `timeline`."""
    cursor = 0
    while True:
        answer = await control.call("GET", f"/_sandbox/timeline?after={cursor}")
        cursor = int(answer["next"])
        for stamp in answer["stamps"]:
            if stamp["kind"] == "graph-notification":
                timeline.notification(stamp["subject"], stamp["at"])
            elif stamp["kind"] == "ringcentral-presence-put" and stamp["detail"] == "changed":
                timeline.put(stamp["subject"], stamp["at"])
        if stop.is_set():
            return
        await asyncio.sleep(TIMELINE_POLL)


async def _drive(
    control: SandboxControl,
    actors: dict[str, str],
    timeline: _Timeline,
    rate: float,
    duration: float,
    seed: int,
) -> dict[str, Any]:
    """Meetings at `rate` per second for `duration` s; one change in flight per user."""
    rng = random.Random(seed)
    in_meeting: dict[str, bool] = dict.fromkeys(actors, False)
    idle = list(actors)
    samples: dict[str, list[float]] = {name: [] for name in INTERVALS}
    by_start: list[tuple[float, float]] = []  # (sent at, Teams change -> PUT), for the backlog
    counts = {"sent": 0, "lost": 0, "skipped_no_idle_user": 0, "write_without_stamps": 0}
    tasks: set[asyncio.Task[None]] = set()

    def harvest(now: float) -> None:
        for ext, change in list(timeline.changes.items()):
            if change.written is None and now - change.started < ANSWER_LIMIT:
                continue
            del timeline.changes[ext]
            idle.append(change.email)
            if change.written is None:
                counts["lost"] += 1
                continue
            samples["teams_change_to_rc_put"].append(change.written - change.started)
            by_start.append((change.started, change.written - change.started))
            if change.notified is None or change.arrived is None:
                counts["write_without_stamps"] += 1
                continue
            samples["notification_to_rc_put"].append(change.written - change.notified)
            samples["webhook_arrival_to_rc_put"].append(change.written - change.arrived)

    async def change(email: str) -> None:
        action = "end" if in_meeting[email] else "start"
        in_meeting[email] = not in_meeting[email]
        await control.call("POST", f"/_sandbox/teams/{email}/meeting", {"action": action})

    stop = asyncio.Event()
    follower = asyncio.create_task(_follow(control, timeline, stop))
    period = 1.0 / rate
    begin = time.monotonic()
    total = int(rate * duration)
    try:
        for n in range(total):
            await asyncio.sleep(max(0.0, begin + n * period - time.monotonic()))
            harvest(time.monotonic())
            if not idle:
                counts["skipped_no_idle_user"] += 1
                continue
            email = idle.pop(rng.randrange(len(idle)))
            timeline.changes[actors[email]] = _Change(email, time.monotonic())
            counts["sent"] += 1
            task = asyncio.get_running_loop().create_task(change(email))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        driven = time.monotonic() - begin
        deadline = time.monotonic() + ANSWER_LIMIT + 1
        while timeline.changes and time.monotonic() < deadline:
            await asyncio.sleep(TIMELINE_POLL)
            harvest(time.monotonic())
    finally:
        stop.set()
        await asyncio.gather(follower, *tasks, return_exceptions=True)
    return {
        "target_changes_per_second": rate,
        "achieved_changes_per_second": round(counts["sent"] / driven, 1),
        "drive_seconds": round(driven, 1),
        **counts,
        **{name: _summary(values) for name, values in samples.items()},
        "backlog": _backlog(by_start),
    }


def _backlog(by_start: list[tuple[float, float]]) -> dict[str, Any]:
    """Whether changes waited longer as the run went on: the first and last thirds' p50.

    Growing means the last third's p50 (Teams change -> PUT) is more than half as long again
    as the first third's and 50 ms longer: the product fell behind the offered rate.
    """
    ordered = [latency for _, latency in sorted(by_start)]
    third = len(ordered) // 3
    if third == 0:
        return {"first_third_p50_ms": None, "last_third_p50_ms": None, "growing": None}
    first = statistics.median(ordered[:third]) * 1000
    last = statistics.median(ordered[-third:]) * 1000
    return {
        "first_third_p50_ms": round(first, 1),
        "last_third_p50_ms": round(last, 1),
        "growing": last > 1.5 * first and last - first > 50.0,
    }


async def measure_propagation(
    users: int,
    rate: float = 100.0,
    duration: float = 15.0,
    store_url: str | None = None,
    seed: int = 5,
    rc_echo_delay_ms: float = 0.0,
    bulk_limits_off: bool = False,
) -> dict[str, Any]:
    """One run over a sandbox org of `users` people; latencies and counts as JSON-ready data.

    `rc_echo_delay_ms` holds RingCentral's notifications back that long (real time), as
    RingCentral's own webhooks arrive some time after the PUT: it decides whether the echo of
    our write comes before or after its acknowledgement is stored, not the timed interval.
    `bulk_limits_off` switches the sandbox's limits off before `sync all` too (its wall time
    with limits off is a figure of its own); by default `sync all` runs under them.

    The process's resident memory is reported before the product starts, once it is synced
    and idle, and at its peak while the changes are driven: the product runs in this process,
    the sandbox in its own, so what the product holds is most of it.
    """
    # Registered before the product's client exists: listeners apply to later clients only.
    commands = _mongo_commands() if store_url is not None else None
    rss: dict[str, float] = {"before_product": rss_mb()}
    bulk: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        sandbox = await SandboxProcess.start(data / "sandbox", port=0, users=users)
        control = SandboxControl.open(sandbox.base_url, sandbox.ca_file)
        server: ProductServer | None = None
        try:
            config = await control.config()
            sock = reserve_port(0)
            port = sock.getsockname()[1]
            sock.close()
            settings = demo_settings(
                config,
                port=port,
                data_dir=data / "server",
                store_url=store_url,
                log_level="ERROR",
            )
            # Notifications, not fast polling, should carry each change to the product.
            settings = dataclasses.replace(settings, graph_poll_budget_share=0.0001)
            timeline = _Timeline({})
            server = await ProductServer.start(
                settings,
                reserve_port(settings.port),
                middlewares=[_arrival_middleware(timeline)],
            )
            await control.set_product_url(f"{server.url}/api/messages")
            if bulk_limits_off:
                await _limits_off(control)
            store, job, bulk = await _connect_and_time_sync_all(
                server, control, config, sandbox.ca_file
            )
            await _limits_off(control)
            if rc_echo_delay_ms:
                await control.call(
                    "POST",
                    "/_sandbox/faults",
                    {
                        "target": "ringcentral-notifications",
                        "delay_notifications_ms": rc_echo_delay_ms,
                    },
                )
            links = await synced_links(store)
            by_teams = {link.teams_user_id: link for link in links if link.teams_user_id}
            state = await control.state()
            actors: dict[str, str] = {}
            for entry in linked_people(state, set(by_teams)):
                teams = entry["teams"]
                link = by_teams[str(teams["id"])]
                presence = teams.get("presence") or {}
                if presence.get("availability") == "Offline" or not link.rc_extension_id:
                    continue  # a meeting would sign them in: not a plain change
                actors[str(teams["userPrincipalName"])] = str(link.rc_extension_id)
            timeline.teams_to_ext.update(
                {
                    str(link.teams_user_id): str(link.rc_extension_id)
                    for link in links
                    if link.rc_extension_id
                }
            )
            await asyncio.sleep(SETTLE_SECONDS)
            rss["idle"] = rss_mb()
            if commands is not None:
                # What the product sends with nothing changing: its loops' background load.
                commands.take()
                await asyncio.sleep(SETTLE_SECONDS)
                idle = _command_summary(commands.take_both(), 0, SETTLE_SECONDS)
            await control.call("POST", "/_sandbox/timeline", {"enabled": True})
            began = time.monotonic()
            peak, sampled = [rss["idle"]], asyncio.Event()
            sampler = asyncio.create_task(_sample_rss(peak, sampled))
            try:
                driven = await _drive(control, actors, timeline, rate, duration, seed)
            finally:
                sampled.set()
                await sampler
            rss["drive_peak"] = peak[0]
            if commands is not None:
                seconds = time.monotonic() - began
                summary = _command_summary(commands.take_both(), driven["sent"], seconds)
                background = idle["per_second"] * seconds
                summary["per_change_less_idle"] = round(
                    (summary["total"] - background) / max(driven["sent"], 1), 1
                )
                summary["idle_per_second"] = idle["per_second"]
                driven["mongo_commands"] = summary
        finally:
            if server is not None:
                await server.stop()
            await control.close()
            await sandbox.stop()
    return {
        "store": "sqlite" if store_url is None else store_url.split(":", 1)[0],
        "sandbox_users": users,
        "sandbox": "its own process (python -m sandbox); the product in the benchmark's",
        "linked_and_synced": job.synced + job.already,
        "sync_all": {**bulk, "limits": "off" if bulk_limits_off else "on"},
        "rss_mb": rss,
        "actors": len(actors),
        "rate_limits": "off (RingCentral limits disabled, Graph requests_per_30s null)",
        "notification_delay_ms": 0,
        "ringcentral_notification_delay_ms": rc_echo_delay_ms,
        "intervals": INTERVALS,
        **driven,
    }


async def _limits_off(control: SandboxControl) -> None:
    await control.call("POST", "/_sandbox/ringcentral/limits", {"enabled": False})
    await control.call(
        "POST",
        "/_sandbox/graph/limits",
        {"requests_per_30s": None, "notification_delay_ms": [0, 0]},
    )


async def _connect_and_time_sync_all(
    server: ProductServer, control: SandboxControl, config: dict[str, Any], ca_file: str
) -> tuple[Any, Any, dict[str, Any]]:
    """`connect_and_sync_all`, with the directory refresh and `sync all` timed apart."""
    store = await asyncio.wait_for(server.app[STORE].wait_opened(), 30)
    admin = admin_email(config)
    # Every sync account the org has (one per Graph subscription of 650 people), so everyone
    # is in a subscription and each change notifies.
    accounts = list(config.get("sync_account_candidates", []))
    await connect_all(server.url, store, control, ca_file, admin=admin, sync_accounts=accounts)
    began = time.monotonic()
    await refresh_directory(server.app)
    directory = time.monotonic() - began
    began = time.monotonic()
    job = await sync_all(server.app, admin)
    took = time.monotonic() - began
    return (
        store,
        job,
        {
            "directory_refresh_seconds": round(directory, 2),
            "seconds": round(took, 2),
            "people": job.total,
            "synced": job.synced + job.already,
            "failed": job.failed,
            "people_per_second": round(job.total / took, 1) if took else None,
        },
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=150)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--store-url", default=None)
    parser.add_argument(
        "--bulk-limits-off", action="store_true",
        help="switch the sandbox's limits off before sync all too (its wall time, limits off)",
    )  # fmt: skip
    parser.add_argument(
        "--rc-echo-delay-ms", type=float, default=0.0,
        help="hold RingCentral's notifications back this long (real ms); 0: at once",
    )  # fmt: skip
    cli = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    result = asyncio.run(
        measure_propagation(
            cli.users,
            cli.rate,
            cli.seconds,
            cli.store_url,
            rc_echo_delay_ms=cli.rc_echo_delay_ms,
            bulk_limits_off=cli.bulk_limits_off,
        )
    )
    print(json.dumps(result, indent=2))
