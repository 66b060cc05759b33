"""Tab people page benchmark: server time per page and per search with 50,000 linked people.

    python bench/tab_people.py [--people 50000] [--pages 200] [--searches 100]

Runs the tab API's people route in-process over real HTTP on loopback, on SQLite, signed in
with a session cookie the product's own `Sessions` issued; the time measured is the server's
answer (the request as the tab sends it, authentication and JSON included). Prints one JSON
document with p50/p95/max per kind of request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(REPO))

from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from presence_sync.access import Admins  # noqa: E402
from presence_sync.admin import Admin  # noqa: E402
from presence_sync.secrets import SecretBox  # noqa: E402
from presence_sync.store import LinkState, SqliteStore, UserLink  # noqa: E402
from presence_sync.web import tab_api  # noqa: E402
from presence_sync.web.auth import SESSION_COOKIE, Identity, Sessions, TabAuth  # noqa: E402
from presence_sync.web.auth.limits import login_limit, step_limit  # noqa: E402
from presence_sync.web.errors import error_middleware  # noqa: E402
from presence_sync.web.keys import ADMIN, AUTH  # noqa: E402

ADMIN_EMAIL = "it.lead@contoso.com"


def people(count: int) -> list[UserLink]:
    """`count` people, most linked and synced, some unmatched, a few failed."""
    out = []
    for n in range(count):
        unmatched = n % 25 == 0
        out.append(
            UserLink(
                id=f"link-{n:06d}",
                email=f"user{n}@contoso.com",
                display_name=f"User {random.choice(['Smith', 'Lee', 'Garcia', 'Novak'])} {n}",
                teams_user_id=str(uuid.UUID(int=n)),
                upn=f"user{n}@contoso.com",
                rc_extension_id=None if unmatched else str(10_000 + n),
                rc_extension_number=None if unmatched else str(100 + n),
                sync_enabled=not unmatched and n % 7 != 0,
                state=LinkState.UNMATCHED if unmatched else LinkState.LINKED,
                reason="no RingCentral user with this email" if unmatched else None,
                last_error="RingCentral refused the write (400)" if n % 997 == 0 else None,
            )
        )
    return out


def summary(samples: list[float]) -> dict[str, float]:
    """p50, p95 and max in milliseconds."""
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "n": len(ordered),
    }


async def run(count: int, pages: int, searches: int) -> dict[str, Any]:
    """Seed, sign in, and time the people route."""
    folder = Path(tempfile.mkdtemp(prefix="tab-bench-"))
    store = SqliteStore(folder / "bench.db", SecretBox(SecretBox.generate_key()))
    await store.open()
    began = time.perf_counter()
    seeded = people(count)
    for start in range(0, count, 5000):
        await store.upsert_links(seeded[start : start + 5000])
    seed_seconds = time.perf_counter() - began

    class NoGraph:
        async def graph(self) -> Any:
            raise RuntimeError("not used: the admin is in ADMIN_EMAILS")

    sessions = Sessions(store, b"bench-secret")
    app = web.Application(middlewares=[error_middleware])
    app[ADMIN] = Admin(store, time.time)
    app[AUTH] = TabAuth(
        public_url="http://127.0.0.1",
        tokens=None,
        signin=None,
        sessions=sessions,
        admins=Admins([ADMIN_EMAIL], NoGraph()),  # type: ignore[arg-type]
        starts=step_limit(store, time.time),
        logins=login_limit(store, time.time),
    )
    tab_api.add_routes(app)
    cookie, _ = await sessions.start(
        Identity("oid-1", "tenant", "IT Lead", ADMIN_EMAIL, (), time.time() + 3600)
    )
    client = TestClient(TestServer(app))
    await client.start_server()
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: cookie})
    results: dict[str, list[float]] = {"page": [], "filtered_page": [], "search": []}
    try:
        cursor = None
        for i in range(pages):
            query = {"limit": "50", **({"cursor": cursor} if cursor else {})}
            t = time.perf_counter()
            async with client.get("/api/tab/people", params=query) as r:
                body = await r.json()
            results["page"].append(time.perf_counter() - t)
            assert r.status == 200, body
            cursor = body["nextCursor"] if i % 40 else None
        for name in ("synced", "not-synced", "unmatched", "failed"):
            for _ in range(max(1, pages // 8)):
                t = time.perf_counter()
                async with client.get("/api/tab/people", params={"filter": name}) as r:
                    await r.read()
                results["filtered_page"].append(time.perf_counter() - t)
        words = ["smith", "user4", "garcia 12", "user49999", "nobody-here", "lee"]
        for i in range(searches):
            t = time.perf_counter()
            async with client.get(
                "/api/tab/people", params={"search": words[i % len(words)]}
            ) as r:
                await r.read()
            results["search"].append(time.perf_counter() - t)
    finally:
        await client.close()
        await store.close()
    return {
        "benchmark": "tab people page",
        "people": count,
        "seed_seconds": round(seed_seconds, 1),
        "python": platform.python_version(),
        **{kind: summary(samples) for kind, samples in results.items()},
    }


def main() -> None:
    """Parse arguments, run, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--searches", type=int, default=100)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.people, args.pages, args.searches)), indent=2))


if __name__ == "__main__":
    main()
