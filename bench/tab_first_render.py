"""Tab first render on loopback: how soon a signed-in admin sees the overview.

    .venv/bin/python bench/tab_first_render.py [--loads 20]

Starts the HTTPS sandbox and the product in this process on SQLite (the built tab from
`tab/dist`; `scripts/setup` builds it), signs the sandbox's Global Administrator in through
Entra in Debian's Chromium, then loads /tab/ `--loads` times with the browser cache off and
prints one JSON object: p50 / p95 / max milliseconds from navigation start to first
contentful paint and to the overview rendered with the server's answer (its sections on
screen), and the gzip size of what index.html loads.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(REPO))

from presence_sync.demo.connect import admin_email  # noqa: E402
from presence_sync.demo.local import sandbox_and_product  # noqa: E402

NODE_MODULES = REPO / "tests" / "tab_e2e" / "node_modules"  # @playwright/test, from npm ci
DIST = REPO / "tab" / "dist"


def bundle_gzip_bytes() -> int:
    """Gzip size of the scripts and styles index.html loads."""
    index = (DIST / "index.html").read_text()
    total = 0
    for ref in re.findall(r'(?:src|href)="/tab/(assets/[^"]+\.(?:js|css))"', index):
        total += len(gzip.compress((DIST / ref).read_bytes(), compresslevel=9))
    return total


def summary(values: list[float]) -> dict[str, float]:
    """p50, p95 and max, in milliseconds."""
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 1),
        "max_ms": round(ordered[-1], 1),
    }


async def run(loads: int) -> dict[str, Any]:
    """Start everything, run the browser, summarise."""
    if not (DIST / "index.html").is_file():
        raise SystemExit("tab/dist is missing: run scripts/setup first")
    data = Path(tempfile.mkdtemp(prefix="tab-render-"))
    async with sandbox_and_product(data, users=20) as local:
        control, config, server = local.control, local.config, local.server
        try:
            admin = admin_email(config)
            await control.consent(sign_in_as=admin)
            sign_in = f"{server.url}/tab/auth/login?{urlencode({'login_hint': admin})}"
            env = {
                **os.environ,
                "PRODUCT_URL": server.url,
                "SIGN_IN_URL": sign_in,
                "LOADS": str(loads),
                "NODE_PATH": str(NODE_MODULES),
                "DO_NOT_TRACK": "1",
                "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
            }
            process = await asyncio.create_subprocess_exec(
                "node",
                str(REPO / "bench" / "tab_first_render.cjs"),
                cwd=REPO / "tests" / "tab_e2e",
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(process.communicate(), 300)
            if process.returncode != 0:
                raise SystemExit(f"the browser run failed:\n{err.decode()[-3000:]}")
            samples = json.loads(out.decode().strip().splitlines()[-1])
        finally:
            await control.consent(sign_in_as=None)
    return {
        "benchmark": "tab first render on loopback",
        "loads": loads,
        "first_contentful_paint": summary([s["fcp"] for s in samples if s["fcp"] is not None]),
        "overview_rendered": summary([s["rendered"] for s in samples]),
        "bundle_gzip_kib": round(bundle_gzip_bytes() / 1024, 1),
    }


def main() -> None:
    """Parse arguments, run, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loads", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.loads)), indent=2))


if __name__ == "__main__":
    main()
