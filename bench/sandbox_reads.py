"""How many presence reads per second the sandbox serves on loopback; prints JSON.

Starts `python -m sandbox` in its own process (as the demo runs it), switches its rate
limits off (this measures capacity, not the emulated budgets), then drives a bounded number
of Graph `GET /users/{id}/presence` and RingCentral `GET /extension/{id}/presence` reads from
concurrent aiohttp clients over HTTPS. Usage:

    .venv/bin/python bench/sandbox_reads.py [--requests 4000] [--concurrency 32] [--users 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]


async def _start(data: Path, users: int) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox", "--port", "0", "--data", str(data),
        "--users", str(users), "--log-level", "WARNING",
        stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
    return process, line.rsplit(" ", 1)[1].strip()


async def _json(response: aiohttp.ClientResponse) -> Any:
    if response.status >= 400:
        raise RuntimeError(f"{response.method} {response.url} -> {response.status}")
    return await response.json(content_type=None)


async def _tokens(http: aiohttp.ClientSession, base: str) -> tuple[dict[str, Any], str, str]:
    async with http.get(f"{base}/_sandbox/config") as r:
        config = await _json(r)
    async with http.post(f"{base}/_sandbox/consent", json={"granted": True}) as r:
        await _json(r)
    async with http.post(f"{base}/_sandbox/graph/limits", json={"requests_per_30s": None}) as r:
        await _json(r)
    async with http.post(f"{base}/_sandbox/ringcentral/limits", json={"enabled": False}) as r:
        await _json(r)
    form = {
        "grant_type": "client_credentials",
        "client_id": config["app_client_id"],
        "client_secret": config["app_client_secret"],
        "scope": "https://graph.microsoft.com/.default",
    }
    async with http.post(config["entra"]["token_endpoint"], data=form) as r:
        graph_token = (await _json(r))["access_token"]
    rc_form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "assertion": config["rc_jwt"],
    }
    basic = aiohttp.encode_basic_auth(config["rc_client_id"], config["rc_client_secret"])
    rc_url = f"{base}/ringcentral/restapi/oauth/token"
    async with http.post(rc_url, data=rc_form, headers={"Authorization": basic}) as r:
        rc_token = (await _json(r))["access_token"]
    return config, graph_token, rc_token


async def _drive(
    total: int, concurrency: int, one: Callable[[int], Awaitable[int]]
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            status = await one(i)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": total,
        "seconds": round(elapsed, 3),
        "per_second": round(total / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


async def run(requests: int, concurrency: int, users: int) -> dict[str, Any]:
    """Start a sandbox, measure both presence reads, stop it; the JSON result."""
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as tmp:
        process, base = await _start(Path(tmp), users)
        try:
            # Only the sandbox's CA is trusted (not importing `sandbox`: this file's name
            # would shadow the package when run as a script).
            trust = ssl.create_default_context(cafile=str(Path(tmp) / "ca.pem"))
            connector = aiohttp.TCPConnector(ssl=trust, limit=concurrency)
            async with aiohttp.ClientSession(connector=connector) as http:
                config, graph_token, rc_token = await _tokens(http, base)
                async with http.get(f"{base}/_sandbox/state") as r:
                    people = (await _json(r))["users"]
                teams_ids = [p["teams"]["id"] for p in people if p["teams"]]
                rc_ids = [
                    p["ringcentral"]["id"]
                    for p in people
                    if p["ringcentral"] and p["ringcentral"]["status"] == "Enabled"
                ]
                rng = random.Random(1)
                graph_headers = {"Authorization": f"Bearer {graph_token}"}
                rc_headers = {"Authorization": f"Bearer {rc_token}"}

                async def graph_read(_: int) -> int:
                    url = f"{base}/graph/v1.0/users/{rng.choice(teams_ids)}/presence"
                    async with http.get(url, headers=graph_headers) as r:
                        await r.read()
                        return r.status

                async def rc_read(_: int) -> int:
                    url = (f"{base}/ringcentral/restapi/v1.0/account/~/extension/"
                           f"{rng.choice(rc_ids)}/presence")
                    async with http.get(url, headers=rc_headers) as r:
                        await r.read()
                        return r.status

                await _drive(min(200, requests), concurrency, graph_read)  # warm-up
                graph = await _drive(requests, concurrency, graph_read)
                ringcentral = await _drive(requests, concurrency, rc_read)
        finally:
            process.terminate()
            await process.wait()
    return {
        "benchmark": "sandbox presence reads on loopback (HTTPS, separate server process)",
        "users": users,
        "concurrency": concurrency,
        "rc_mode": config["rc_mode"],
        "graph_presence_get": graph,
        "ringcentral_presence_get": ringcentral,
        "target_per_second": 1000,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=4000, help="reads per service")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--users", type=int, default=1000)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.requests, args.concurrency, args.users))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
