"""The built tab in Debian's Chromium, as an admin uses it, outside Teams and inside it.

The product runs over HTTPS on the sandbox's server certificate (teams-js refuses pop-ups to
plain http), connected to both platforms through its real sign-in and consent routes and
with everyone synced. Playwright (`tests/tab_e2e/*.spec.ts`) then drives the tab: sign-in,
People, call presence rules, sync all, a non-admin's refusal, and the tab inside the
sandbox's Teams host page in each Teams theme, with axe-core checking every page.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from presence_sync.demo.connect import admin_email, connect_all
from presence_sync.demo.control import SandboxControl, linked_people
from presence_sync.demo.jobs import refresh_directory, sync_all
from presence_sync.demo.server import demo_environment, reserve_port
from presence_sync.settings import load_settings
from presence_sync.store import Store
from presence_sync.web.keys import STORE
from sandbox.server import RunningSandbox
from sandbox.tls import CertificatePaths, server_ssl_context

pytestmark = [pytest.mark.timeout(420)]

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TAB = REPO / "tab"
PLAYWRIGHT_RUN = 360.0


@dataclass
class Product:
    """The product served over HTTPS, and its opened store."""

    app: web.Application
    url: str
    store: Store


@pytest.fixture
async def product(
    sandbox: RunningSandbox, sandbox_data_dir: Path, tmp_path: Path
) -> AsyncIterator[Product]:
    """The product on https://127.0.0.1:<port>, trusting the sandbox's origin as a Teams host."""
    from presence_sync.app import create_app

    control = SandboxControl(sandbox.base_url, sandbox.http)
    config = await control.config()
    sock = reserve_port(0)
    port = sock.getsockname()[1]
    env = demo_environment(config, port=port, data_dir=tmp_path / "product")
    env["PUBLIC_URL"] = f"https://127.0.0.1:{port}"
    env["TAB_VALID_MESSAGE_ORIGINS"] = sandbox.base_url
    settings = load_settings(env, env_file=None)
    context = server_ssl_context(CertificatePaths.in_folder(sandbox_data_dir))
    runner = web.AppRunner(create_app(settings), access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    try:
        await web.SockSite(runner, sock, ssl_context=context).start()
        store = await asyncio.wait_for(runner.app[STORE].wait_opened(), 30)
        await control.set_product_url(f"{settings.public_url}/api/messages")
        yield Product(runner.app, settings.public_url, store)
    finally:
        await runner.cleanup()


async def _run(*args: str, cwd: Path, env: dict[str, str], within: float) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), within)
    except TimeoutError:
        process.kill()
        out, _ = await process.communicate()
        return -1, out.decode(errors="replace") + f"\n(stopped after {within:.0f} s)"
    return process.returncode or 0, out.decode(errors="replace")


def _node_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(DO_NOT_TRACK="1", PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1", CI="1")
    env.pop("NODE_OPTIONS", None)
    return env


def _check_tools() -> None:
    if not (HERE / "node_modules" / "@playwright" / "test").exists():
        pytest.fail("Playwright is not installed in tests/tab_e2e: run scripts/setup")
    if not Path("/usr/bin/chromium").exists():
        pytest.fail("the tab's browser tests need Chromium at /usr/bin/chromium")


async def _ensure_tab_built() -> None:
    if (TAB / "dist" / "index.html").exists():
        return
    if shutil.which("npm") is None:
        pytest.fail("tab/dist is missing and npm is not installed: run scripts/setup")
    env = _node_env()
    if not (TAB / "node_modules").exists():
        code, out = await _run("npm", "ci", "--no-audit", "--no-fund", cwd=TAB, env=env, within=300)
        if code != 0:
            pytest.fail(f"tab/dist is missing and `npm ci` in tab/ failed:\n{out[-3000:]}")
    code, out = await _run("npm", "run", "build", cwd=TAB, env=env, within=180)
    if code != 0:
        pytest.fail(f"tab/dist is missing and `npm run build` in tab/ failed:\n{out[-3000:]}")


def _people(state: dict[str, Any], config: dict[str, Any]) -> list[str]:
    """Linked people who are neither admins nor sync accounts, by Teams address."""
    taken = {str(a["email"]).lower() for a in config.get("admins", [])}
    taken |= {str(a).lower() for a in config.get("sync_account_candidates", [])}
    found = []
    for person in linked_people(state):
        upn = str(person["teams"]["userPrincipalName"])
        if upn.lower() not in taken:
            found.append(upn)
    return found


async def test_tab_in_the_browser_and_in_teams(
    sandbox: RunningSandbox, product: Product, tmp_path: Path
) -> None:
    _check_tools()
    await _ensure_tab_built()
    control = SandboxControl(sandbox.base_url, sandbox.http)
    config = await control.config()
    admin = admin_email(config)
    account = str(config["sync_account_candidates"][0])
    # Signed in as the admin, consent, a sync account and RingCentral, through the real routes.
    await connect_all(
        product.url, product.store, control, sandbox.ca_file, admin=admin, sync_accounts=[account]
    )
    await refresh_directory(product.app)
    job = await sync_all(product.app, admin)
    assert job.status == "done", job
    people = _people(await control.state(), config)
    assert len(people) >= 3, people

    env = _node_env()
    env.update(
        PRODUCT_URL=product.url,
        SANDBOX_URL=sandbox.base_url,
        ADMIN_EMAIL=admin,
        NON_ADMIN_EMAIL=people[0],
        UNSYNC_EMAIL=people[1],
        MEETING_EMAIL=people[2],
        TAB_E2E_OUTPUT=str(tmp_path / "playwright"),
    )
    # TAB_E2E_GREP=People runs only the specs whose titles match, while working on one.
    only = ["--grep", os.environ["TAB_E2E_GREP"]] if os.environ.get("TAB_E2E_GREP") else []
    started = time.monotonic()
    code, out = await _run(
        str(HERE / "node_modules" / ".bin" / "playwright"),
        "test",
        *only,
        cwd=HERE,
        env=env,
        within=PLAYWRIGHT_RUN,
    )
    took = time.monotonic() - started
    (HERE / "artifacts").mkdir(exist_ok=True)
    (HERE / "artifacts" / "playwright.log").write_text(out)
    assert code == 0, f"Playwright failed after {took:.0f} s:\n{out[-12000:]}"
