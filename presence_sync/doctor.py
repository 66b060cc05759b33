"""`presence-sync doctor`: check the settings and each dependency, and say how to fix each."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import aiohttp

from presence_sync.errors import StoreError
from presence_sync.services import resolve_secret_key
from presence_sync.settings import Settings
from presence_sync.store import open_store

__all__ = ["Check", "format_table", "run_checks"]

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """The outcome of one check, with the fix when it is not fine."""

    name: str
    status: Status
    detail: str
    fix: str = ""


CheckFn = Callable[[Settings], Awaitable[Check | list[Check]]]


async def check_store(settings: Settings) -> Check:
    """The store opens and answers a ping."""
    scheme = urlsplit(settings.store_url).scheme
    try:
        store = open_store(settings.store_url, resolve_secret_key(settings))
    except StoreError as err:
        return Check("store", "fail", str(err), "fix STORE_URL")
    try:
        await asyncio.wait_for(store.open(), timeout=10)
        await asyncio.wait_for(store.ping(), timeout=5)
    except (StoreError, TimeoutError, OSError) as err:
        fix = (
            "start MongoDB (or FerretDB / Cosmos DB) or correct STORE_URL"
            if scheme.startswith("mongodb")
            else "make the folder of STORE_URL writable"
        )
        return Check("store", "fail", f"{scheme}: {err or 'timed out'}", fix)
    finally:
        await store.close()
    return Check("store", "ok", f"{scheme} store reachable")


async def check_secret_key(settings: Settings) -> Check:
    """Secrets at rest have a key every replica shares."""
    if settings.secret_key:
        return Check("secret key", "ok", "SECRET_KEY is set")
    if settings.store_url.startswith("sqlite"):
        return Check("secret key", "ok", f"key file in {settings.data_dir}")
    return Check(
        "secret key",
        "warn",
        "SECRET_KEY not set; a key file is generated per machine",
        "set SECRET_KEY so every replica can read the encrypted secrets",
    )


async def check_public_url(settings: Settings) -> Check:
    """Microsoft and RingCentral can only deliver webhooks to a public https address."""
    parts = urlsplit(settings.public_url)
    if parts.scheme == "https":
        return Check("public URL", "ok", settings.public_url)
    return Check(
        "public URL",
        "warn",
        f"{settings.public_url} is not https: webhooks cannot reach it from the cloud",
        "set PUBLIC_URL to the https address of this server (polling still works without it)",
    )


async def check_microsoft(settings: Settings) -> Check:
    """The product's Entra app registration is configured."""
    if settings.microsoft_configured:
        return Check("Microsoft app", "ok", f"tenant {settings.microsoft_tenant_id}")
    return Check(
        "Microsoft app",
        "fail",
        "no Entra app registration configured",
        "set MICROSOFT_TENANT_ID, MICROSOFT_CLIENT_ID and MICROSOFT_CLIENT_SECRET",
    )


async def check_ringcentral(settings: Settings) -> Check:
    """RingCentral app credentials are configured."""
    if settings.ringcentral_configured:
        how = "JWT" if settings.ringcentral_jwt else "OAuth (authorise in the tab)"
        return Check("RingCentral app", "ok", f"{settings.ringcentral_server_url} via {how}")
    return Check(
        "RingCentral app",
        "fail",
        "no RingCentral app credentials configured",
        "set RINGCENTRAL_CLIENT_ID and RINGCENTRAL_CLIENT_SECRET (and RINGCENTRAL_JWT)",
    )


async def check_connections(settings: Settings) -> list[Check]:
    """Each connection as last recorded in the store: state, reason, since when, and the fix."""
    from presence_sync.connections.service import SYNC_ACCOUNTS, read_status

    try:
        store = open_store(settings.store_url, resolve_secret_key(settings))
    except StoreError as err:
        return [Check("connections", "fail", f"store: {err}", "fix STORE_URL")]
    try:
        await asyncio.wait_for(store.open(), timeout=10)
        states = await read_status(store)
    except (StoreError, TimeoutError, OSError) as err:
        return [Check("connections", "fail", f"store unreachable: {err or 'timed out'}")]
    finally:
        await store.close()
    checks = []
    for state in states:
        if state.state == "connected":
            status: Status = "warn" if state.reason else "ok"
        elif state.kind == SYNC_ACCOUNTS:
            status = "warn"  # optional: without one, presence is polled
        else:
            status = "fail"
        since = (
            time.strftime(" since %Y-%m-%d %H:%M UTC", time.gmtime(state.since))
            if state.since
            else ""
        )
        detail = f"{state.state}{since}" + (f": {state.reason}" if state.reason else "")
        checks.append(Check(state.label, status, detail, "" if status == "ok" else state.fix))
    return checks


async def check_server(settings: Settings) -> Check:
    """The running server's own readiness (/readyz): its store and its background loops."""
    host = "127.0.0.1" if settings.host in ("", "0.0.0.0", "::") else settings.host
    url = f"http://{host}:{settings.port}/readyz"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(url) as response,
        ):
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as err:
        return Check(
            "server",
            "warn",
            f"no server answers at {url}: {err or 'timed out'}",
            "start it with `presence-sync serve`, or set HOST and PORT to where it listens",
        )
    checks = body.get("checks", {}) if isinstance(body, dict) else {}
    failing = {name: c for name, c in checks.items() if isinstance(c, dict) and not c.get("ok")}
    if response.status == 200 and not failing:
        loops = checks.get("loops", {}).get("running", 0)
        return Check("server", "ok", f"ready at {url}: store answers, {loops} loops running")
    reasons = "; ".join(f"{name}: {c.get('reason', 'not ok')}" for name, c in failing.items())
    fix = (
        "read the server log for the failing loop's traceback; it keeps restarting on its own"
        if "loops" in failing
        else "see the store check above"
    )
    return Check("server", "fail", f"not ready ({response.status}): {reasons}", fix)


DEFAULT_CHECKS: tuple[CheckFn, ...] = (
    check_store,
    check_secret_key,
    check_public_url,
    check_microsoft,
    check_ringcentral,
    check_connections,
    check_server,
)


async def run_checks(
    settings: Settings, checks: tuple[CheckFn, ...] = DEFAULT_CHECKS
) -> list[Check]:
    """Run every check in order; a crashing check is reported, not raised."""
    results: list[Check] = []
    for check in checks:
        try:
            outcome = await check(settings)
            results.extend(outcome if isinstance(outcome, list) else [outcome])
        except Exception as err:  # a doctor must finish its round whatever breaks
            name = check.__name__.removeprefix("check_").replace("_", " ")
            results.append(Check(name, "fail", f"check crashed: {err!r}"))
    return results


def format_table(results: list[Check]) -> str:
    """A fixed-width table: check, status, detail, fix."""
    mark = {"ok": "ok", "warn": "WARN", "fail": "FAIL"}
    rows = [("CHECK", "STATUS", "DETAIL", "FIX")]
    rows += [(r.name, mark[r.status], r.detail, r.fix) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}".rstrip()
        for row in rows
    ]
    return "\n".join(lines)
