"""How long a Teams presence change takes to reach the store; prints JSON.

For each organisation size, starts the HTTPS sandbox and the product server (real clients,
real SQLite store, real webhooks on loopback), links that many people, signs in enough sync
accounts for every user to be in a subscription, and makes the sandbox deliver change
notifications the way Graph does: several seconds late (`notification_delay_ms`
2000-9000). It then changes the presence of random users through the sandbox's control API
and measures the time until each change is an observation in the store. A baseline run with
fast polling switched off shows what notifications alone achieve. Usage:

    .venv/bin/python bench/detection.py [--sizes 500 5000] [--changes 30] [--no-baseline]

The sandbox runs in the same process and event loop as the product, so it competes with it
for one core; figures on a real deployment can only be better.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402

from presence_sync.http import ssl_context  # noqa: E402
from sandbox.server import run_sandbox  # noqa: E402
from tests.graph.client_sandbox import ClientSandbox  # noqa: E402
from tests.watch.harness import ProductFactory, eventually, people  # noqa: E402

PAIRS = [
    ("Busy", "Busy"),
    ("DoNotDisturb", "DoNotDisturb"),
    ("Away", "Away"),
    ("BeRightBack", "BeRightBack"),
    ("Available", "Available"),
]
GRAPH_DELAY_MS = [2000, 9000]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


async def measure(size: int, changes: int, fast: bool, seed: int) -> dict[str, Any]:
    """One run: `size` linked users, `changes` presence changes; latencies in seconds."""
    rng = random.Random(seed)
    users = int(size * 1.35) + 20  # about three in four people are on both sides
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        async with run_sandbox(data / "sandbox", users=users) as running:
            http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_context(running.ca_file))
            )
            sandbox = ClientSandbox(running.ctx, running.base_url, running.ca_file, http)
            sandbox.closers.append(http.close)
            factory = ProductFactory(sandbox, data)
            try:
                await sandbox.grant_consent()
                await sandbox.control(
                    "POST", "/_sandbox/graph/limits", {"notification_delay_ms": GRAPH_DELAY_MS}
                )
                links = [link for link in people(sandbox) if link.rc_extension_id][:size]
                domain = running.ctx.org.tenant_domain
                accounts = [f"sync{n}@{domain}" for n in range(1, math.ceil(size / 650) + 1)]
                settings: dict[str, Any] = {"watch_reconcile_interval": 3600.0}
                if not fast:
                    settings["graph_poll_budget_share"] = 0.0001
                product = await factory.start(accounts=accounts, settings=settings, tick=0.05)
                await product.store.upsert_links(links)

                async def ready() -> bool:
                    cov = await product.watchers.coverage()
                    return cov.users == len(links) and cov.by_notification == len(links)

                begun = time.perf_counter()
                await eventually(ready, within=120, interval=0.2)

                async def populated() -> bool:
                    # The first full read writes every user's observation once.
                    return await _observed(product.store) >= len(links)

                await eventually(populated, within=600, interval=0.5)
                first_read = time.perf_counter() - begun
                await asyncio.sleep(2.0)
                coverage = await product.watchers.coverage()
                latencies = await _changes(sandbox, product, links, changes, rng)
            finally:
                await factory.close()
                await sandbox.close()
    return {
        "linked_users": size,
        "fast_polling": coverage.fast_polling,
        "poll_interval_s": coverage.poll_interval,
        "graph_subscriptions": coverage.graph_subscriptions,
        "watched_by_notification": coverage.by_notification,
        "notification_delay_ms": GRAPH_DELAY_MS,
        "first_full_read_s": round(first_read, 1),
        "changes": len(latencies),
        "p50_s": round(statistics.median(latencies), 3),
        "p90_s": round(_percentile(latencies, 0.9), 3),
        "max_s": round(max(latencies), 3),
        "mean_s": round(statistics.fmean(latencies), 3),
    }


async def _observed(store: Any) -> int:
    count, cursor = 0, None
    while True:
        page = await store.list_links(sync_enabled=True, after=cursor, limit=1000)
        count += sum(1 for link in page.links if link.teams is not None)
        if page.next_cursor is None:
            return count
        cursor = page.next_cursor


async def _changes(
    sandbox: ClientSandbox, product: Any, links: list[Any], count: int, rng: random.Random
) -> list[float]:
    targets = rng.sample(links, count)
    latencies: list[float] = []

    async def one(link: Any, delay: float) -> None:
        await asyncio.sleep(delay)
        stored = await product.store.get_link(link.id)
        current = (stored.teams.availability, stored.teams.activity) if stored.teams else None
        pair = rng.choice([p for p in PAIRS if p != current])
        started = time.perf_counter()
        await sandbox.control(
            "POST",
            f"/_sandbox/teams/{link.upn}/presence",
            {"availability": pair[0], "activity": pair[1]},
        )
        deadline = started + 90
        while time.perf_counter() < deadline:
            seen = await product.store.get_link(link.id)
            if seen.teams and (seen.teams.availability, seen.teams.activity) == pair:
                latencies.append(time.perf_counter() - started)
                return
            await asyncio.sleep(0.01)
        latencies.append(float("inf"))

    # Changes spread over a few seconds, as people change presence independently.
    await asyncio.gather(*(one(link, i * 0.3) for i, link in enumerate(targets)))
    return latencies


async def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--changes", type=int, default=30)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    runs = []
    for size in args.sizes:
        runs.append(
            {
                "mode": "fast polling + notifications",
                **await measure(size, args.changes, True, args.seed),
            }
        )
    if not args.no_baseline:
        size = min(args.sizes)
        runs.append(
            {"mode": "notifications only", **await measure(size, args.changes, False, args.seed)}
        )
    print(
        json.dumps(
            {"benchmark": "detection", "target": "p50 <= 1 s at 500 users", "runs": runs}, indent=2
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
