"""Propagation latency: a Teams change to the RingCentral presence PUT it causes, end to end.

Starts the HTTPS sandbox and the product server in this process (the product's real clients,
store, webhooks and sync service on loopback), connects both platforms through the consent
routes, runs `sync all`, switches the sandbox's rate limits and notification delay off, and
then starts and ends Teams meetings through the control API at a steady rate for a bounded
time. Hooks on the in-process sandbox timestamp two moments per change: the Graph change
notification POST leaving for the product's webhook, and the RingCentral presence PUT that
changes the user's RingCentral presence.

The sandbox shares the event loop (and core) with the product, so figures on a real
deployment can only be better.
"""

from __future__ import annotations

import asyncio
import dataclasses
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

# The repository root, for tests.mongo_server (FerretDB) when this runs as a script.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from presence_sync.demo.connect import connect_all
from presence_sync.demo.control import SandboxControl, linked_people
from presence_sync.demo.jobs import refresh_directory, sync_all
from presence_sync.demo.server import ProductServer, demo_settings, reserve_port
from presence_sync.store import LinkState, Store, UserLink
from presence_sync.web.keys import STORE
from sandbox.graph.service import GRAPH_STATE
from sandbox.ringcentral.state import RC_STATE
from sandbox.server import run_sandbox

__all__ = ["measure_propagation"]

# Intervals named in the JSON, so a reader knows exactly what was timed.
FROM_NOTIFICATION = (
    "sandbox starts POSTing the Graph change notification to the product's webhook -> "
    "sandbox applies the product's RingCentral presence PUT for that user"
)
FROM_CHANGE = (
    "benchmark sends POST /_sandbox/teams/{email}/meeting -> "
    "sandbox applies the product's RingCentral presence PUT for that user "
    "(includes the sandbox's 50 ms Graph notification batch window)"
)
ANSWER_LIMIT = 10.0  # a change still unanswered after this many seconds counts as lost
SETTLE_SECONDS = 10.0


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


class _Timeline:
    """Per-user timestamps written by the sandbox hooks and read by the driver."""

    def __init__(self, teams_to_ext: dict[str, str]) -> None:
        self.teams_to_ext = teams_to_ext
        self.notified: dict[str, float] = {}  # ext id -> first notification since the change
        self.written: dict[str, float] = {}  # ext id -> first RingCentral change since then
        self.waiting: set[str] = set()

    def on_notification(self, payload: dict[str, Any]) -> None:
        now = time.perf_counter()
        for item in payload.get("value", []):
            teams_id = str((item.get("resourceData") or {}).get("id", ""))
            ext = self.teams_to_ext.get(teams_id)
            if ext in self.waiting and ext not in self.notified:
                self.notified[ext] = now

    def on_rc_change(self, ext_id: str) -> None:
        if ext_id in self.waiting and ext_id not in self.written:
            self.written[ext_id] = time.perf_counter()


def _hook(running: Any, timeline: _Timeline) -> None:
    """Wrap the in-process sandbox's notifier and RingCentral state to timestamp changes."""
    notifier = running.app[GRAPH_STATE].notifier
    deliver = notifier._deliver

    async def timed_deliver(sub_id: str, payload: dict[str, Any], *, lifecycle: bool) -> bool:
        if not lifecycle:
            timeline.on_notification(payload)
        result: bool = await deliver(sub_id, payload, lifecycle=lifecycle)
        return result

    notifier._deliver = timed_deliver
    rc_state = running.app[RC_STATE]
    changed = rc_state.presence_changed

    def timed_changed(ext: Any) -> None:
        timeline.on_rc_change(str(ext.id))
        changed(ext)

    rc_state.presence_changed = timed_changed


async def _linked(store: Store) -> list[UserLink]:
    links: list[UserLink] = []
    cursor: str | None = None
    while True:
        page = await store.list_links(
            state=LinkState.LINKED, sync_enabled=True, after=cursor, limit=500
        )
        links.extend(page.links)
        cursor = page.next_cursor
        if cursor is None:
            return links


async def _until(check: Callable[[], Awaitable[bool]], within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise TimeoutError("the product did not become ready in time")


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
    started: dict[str, float] = {}
    from_change: list[float] = []
    from_notification: list[float] = []
    counts = {"sent": 0, "lost": 0, "skipped_no_idle_user": 0, "write_before_notification": 0}
    tasks: set[asyncio.Task[None]] = set()

    def harvest(now: float) -> None:
        for ext in list(started):
            written = timeline.written.get(ext)
            if written is None and now - started[ext] < ANSWER_LIMIT:
                continue
            begun = started.pop(ext)
            notified = timeline.notified.pop(ext, None)
            timeline.written.pop(ext, None)
            timeline.waiting.discard(ext)
            if written is None:
                counts["lost"] += 1
            else:
                from_change.append(written - begun)
                if notified is not None and notified <= written:
                    from_notification.append(written - notified)
                else:
                    counts["write_before_notification"] += 1
            idle.append(actors_by_ext[ext])

    actors_by_ext = {ext: email for email, ext in actors.items()}

    async def change(email: str) -> None:
        action = "end" if in_meeting[email] else "start"
        in_meeting[email] = not in_meeting[email]
        await control.call("POST", f"/_sandbox/teams/{email}/meeting", {"action": action})

    period = 1.0 / rate
    begin = time.perf_counter()
    total = int(rate * duration)
    for n in range(total):
        await asyncio.sleep(max(0.0, begin + n * period - time.perf_counter()))
        harvest(time.perf_counter())
        if not idle:
            counts["skipped_no_idle_user"] += 1
            continue
        email = idle.pop(rng.randrange(len(idle)))
        ext = actors[email]
        timeline.waiting.add(ext)
        started[ext] = time.perf_counter()
        counts["sent"] += 1
        task = asyncio.get_running_loop().create_task(change(email))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    driven = time.perf_counter() - begin
    deadline = time.perf_counter() + ANSWER_LIMIT + 1
    while started and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
        harvest(time.perf_counter())
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "target_changes_per_second": rate,
        "achieved_changes_per_second": round(counts["sent"] / driven, 1),
        "drive_seconds": round(driven, 1),
        **counts,
        "notification_to_rc_put": _summary(from_notification),
        "teams_change_to_rc_put": _summary(from_change),
    }


async def measure_propagation(
    users: int,
    rate: float = 100.0,
    duration: float = 15.0,
    store_url: str | None = None,
    seed: int = 5,
) -> dict[str, Any]:
    """One run over a sandbox org of `users` people; latencies and counts as JSON-ready data."""
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
                    store_url=store_url,
                    log_level="ERROR",
                )
                # Notifications, not fast polling, should carry each change to the product.
                settings = dataclasses.replace(settings, graph_poll_budget_share=0.0001)
                server = await ProductServer.start(settings, sock)
                await control.set_product_url(f"{server.url}/api/messages")
                store = await asyncio.wait_for(server.app[STORE].wait_opened(), 30)
                admin = next(
                    str(a["email"])
                    for a in config["admins"]
                    if "Global Administrator" in a.get("roles", [])
                )
                accounts = list(config.get("sync_account_candidates", []))[:1]
                await connect_all(
                    server.url, store, control, running.ca_file, admin=admin, sync_accounts=accounts
                )
                await refresh_directory(server.app)
                job = await sync_all(server.app, admin)
                await control.call("POST", "/_sandbox/ringcentral/limits", {"enabled": False})
                await control.call(
                    "POST",
                    "/_sandbox/graph/limits",
                    {"requests_per_30s": None, "notification_delay_ms": [0, 0]},
                )
                links = await _linked(store)
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
                teams_to_ext = {
                    str(link.teams_user_id): str(link.rc_extension_id)
                    for link in links
                    if link.rc_extension_id
                }
                timeline = _Timeline(teams_to_ext)
                _hook(running, timeline)
                await asyncio.sleep(SETTLE_SECONDS / 5)  # let sync-all's echoes pass
                driven = await _drive(control, actors, timeline, rate, duration, seed)
            finally:
                if server is not None:
                    await server.stop()
                await control.close()
    return {
        "store": "sqlite" if store_url is None else store_url.split(":", 1)[0],
        "sandbox_users": users,
        "linked_and_synced": job.synced + job.already,
        "actors": len(actors),
        "rate_limits": "off (RingCentral limits disabled, Graph requests_per_30s null)",
        "notification_delay_ms": 0,
        "intervals": {
            "notification_to_rc_put": FROM_NOTIFICATION,
            "teams_change_to_rc_put": FROM_CHANGE,
        },
        **driven,
    }


if __name__ == "__main__":
    import json

    logging.basicConfig(level=logging.ERROR)
    print(json.dumps(asyncio.run(measure_propagation(150, duration=5.0)), indent=2))
