"""Store benchmark: bulk upsert, lookups and dirty-queue throughput, on SQLite and MongoDB.

    python bench/store.py [--links 50000] [--lookups 2000] [--mongo-lookups N] [--dirty 2000]
                          [--mongo-uri URI]

Without --mongo-uri (or MONGODB_URI) a FerretDB is built and started by the test harness.
Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(REPO))

from presence_sync.secrets import SecretBox  # noqa: E402
from presence_sync.store import MongoStore, SqliteStore, Store, UserLink  # noqa: E402
from tests.mongo_server import FERRETDB_VERSION, run_ferretdb, throwaway_database  # noqa: E402

WORKERS = 2
FERRETDB_LOOKUPS = 40
CLAIM_BATCH = 50


def links(count: int) -> Iterator[UserLink]:
    """`count` linked users shaped like a real directory."""
    for n in range(count):
        yield UserLink(
            id=f"link-{n:06d}",
            email=f"user{n}@contoso.com",
            display_name=f"User Number {n}",
            teams_user_id=str(uuid.UUID(int=n)),
            upn=f"user{n}@contoso.com",
            mail=f"User{n}@Contoso.com",
            rc_extension_id=str(400_000_000 + n),
            rc_extension_number=str(1000 + n),
            sync_enabled=n % 3 != 0,
        )


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50 and p99 in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 3), "p99_ms": round(cuts[98] * 1000, 3)}


async def timed_lookups(store: Store, keys: list[str], by: str) -> dict[str, float]:
    """Latency of sequential lookups by Teams id or RingCentral extension id."""
    lookup = store.get_link_by_teams_id if by == "teams" else store.get_link_by_rc_extension
    samples = []
    for key in keys:
        started = time.perf_counter()
        found = await lookup(key)
        samples.append(time.perf_counter() - started)
        if found is None:
            raise RuntimeError(f"lookup by {by} of {key} found nothing")
    return percentiles(samples)


async def dirty_throughput(store: Store, entries: int) -> dict[str, float]:
    """Mark `entries` users, then drain them with two concurrent claim+ack workers."""
    now = time.time()
    started = time.perf_counter()
    for n in range(entries):
        await store.mark_dirty(f"user-{n}", priority=n % 3, due_at=now, reason="bench")
    marked = time.perf_counter() - started
    seen: set[str] = set()
    duplicates = 0

    async def worker(name: str) -> None:
        nonlocal duplicates
        while batch := await store.claim_dirty(
            name, limit=CLAIM_BATCH, lease_seconds=300, now=now + 1
        ):
            for entry in batch:
                duplicates += entry.user_key in seen
                seen.add(entry.user_key)
            await store.ack_dirty(name, [e.user_key for e in batch])

    drain_started = time.perf_counter()
    await asyncio.gather(*(worker(f"w{n}") for n in range(WORKERS)))
    drained = time.perf_counter() - drain_started
    if duplicates or len(seen) != entries or await store.dirty_count():
        raise RuntimeError("the dirty queue lost or duplicated entries")
    return {
        "entries": entries,
        "workers": WORKERS,
        "claim_batch": CLAIM_BATCH,
        "mark_per_s": round(entries / marked, 1),
        "claim_ack_per_s": round(entries / drained, 1),
        "mark_claim_ack_per_s": round(entries / (marked + drained), 1),
    }


async def run_one(store: Store, count: int, lookups: int, dirty: int) -> dict[str, Any]:
    """Every measurement on one open, empty store."""
    result: dict[str, Any] = {}
    started = time.perf_counter()
    written = await store.upsert_links(links(count))
    result["bulk_upsert_s"] = round(time.perf_counter() - started, 3)
    result["bulk_upsert_written"] = written
    started = time.perf_counter()
    await store.upsert_links(links(count))
    result["bulk_reupsert_unchanged_s"] = round(time.perf_counter() - started, 3)
    rng = random.Random(7)
    picks = [rng.randrange(count) for _ in range(lookups)]
    result["lookups"] = lookups
    result["lookup_by_teams_id"] = await timed_lookups(
        store, [str(uuid.UUID(int=n)) for n in picks], "teams"
    )
    result["lookup_by_rc_extension_id"] = await timed_lookups(
        store, [str(400_000_000 + n) for n in picks], "rc"
    )
    result["dirty_queue"] = await dirty_throughput(store, dirty)
    return result


async def bench(args: argparse.Namespace, mongo_uri: str, mongo_kind: str) -> dict[str, Any]:
    """Run both stores and collect the figures."""
    box = SecretBox(SecretBox.generate_key())
    report: dict[str, Any] = {
        "links": args.links,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
    }
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        sqlite = SqliteStore(Path(tmp) / "bench.db", box)
        await sqlite.open()
        try:
            report["sqlite"] = await run_one(sqlite, args.links, args.lookups, args.dirty)
        finally:
            await sqlite.close()
    target = throwaway_database(mongo_uri)
    mongo = MongoStore(target.uri, f"{target.prefix}bench", box)
    await mongo.open()
    try:
        report["mongo"] = {"server": mongo_kind}
        # FerretDB's SQLite handler scans the collection for every lookup (about a second
        # each at 50,000 links): fewer lookups keep its run to minutes, not hours.
        lookups = args.mongo_lookups or (args.lookups if args.mongo_uri else FERRETDB_LOOKUPS)
        report["mongo"].update(await run_one(mongo, args.links, lookups, args.dirty))
    finally:
        await mongo.drop_database()
        await mongo.close()
    return report


def main() -> int:
    """Parse arguments, find or start a MongoDB-protocol server, print the JSON results."""
    parser = argparse.ArgumentParser(description="Benchmark both stores.")
    parser.add_argument("--links", type=int, default=50_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--dirty", type=int, default=2_000, help="dirty-queue entries")
    parser.add_argument(
        "--mongo-lookups",
        type=int,
        default=0,
        help="lookups on the MongoDB side (default: --lookups with --mongo-uri, "
        f"{FERRETDB_LOOKUPS} on the FerretDB the benchmark starts)",
    )
    parser.add_argument("--mongo-uri", default=os.environ.get("MONGODB_URI"))
    args = parser.parse_args()
    with ExitStack() as stack:
        if args.mongo_uri:
            uri, kind = args.mongo_uri, "MONGODB_URI"
        else:
            uri = stack.enter_context(run_ferretdb())
            kind = f"FerretDB {FERRETDB_VERSION} (SQLite backend)"
        report = asyncio.run(bench(args, uri, kind))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
