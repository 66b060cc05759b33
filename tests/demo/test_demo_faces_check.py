"""`--check` of the tab and the bot finds what differs from the sandbox, and names who.

The product runs on its default five-minute directory refresh, so a change made in the sandbox
after `sync all` stays unseen by the product for the test's whole length: a real difference
between what the admin reads in the tab or the bot and who the organisation has.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from presence_sync.demo.connect import connect_and_sync_all
from presence_sync.demo.console import Console
from presence_sync.demo.control import SandboxControl
from presence_sync.demo.faces_check import check_faces, syncable
from presence_sync.demo.server import ProductServer, demo_environment, reserve_port
from presence_sync.settings import load_settings
from sandbox.server import RunningSandbox

ADMIN = "admin@contoso.example"


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A small org that still has every kind of mismatch (they repeat every 25 people)."""
    return {"users": 26}


@pytest.fixture
async def synced(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[ProductServer]:
    """The product connected to both platforms, everyone synced, on its default refresh."""
    control = SandboxControl(sandbox.base_url, sandbox.http)
    config = await control.config()
    sock = reserve_port(0)
    env = demo_environment(config, port=sock.getsockname()[1], data_dir=tmp_path)
    env.pop("WATCH_RECONCILE_INTERVAL")  # the product's own five minutes, not the demo's 20 s
    server = await ProductServer.start(load_settings(env, env_file=None), sock)
    try:
        await control.set_product_url(f"{server.url}/api/messages")
        _, job = await connect_and_sync_all(server, control, config, sandbox.ca_file)
        assert job.status == "done", job
        yield server
    finally:
        await server.stop()


async def _check(sandbox: RunningSandbox, server: ProductServer) -> tuple[int, str]:
    out = io.StringIO()
    control = SandboxControl(sandbox.base_url, sandbox.http)
    code = await check_faces(Console(out), control, server.url, sandbox.ca_file, ADMIN)
    return code, out.getvalue()


async def test_the_check_passes_when_the_tab_and_the_bot_agree_with_the_sandbox(
    sandbox: RunningSandbox, synced: ProductServer
) -> None:
    code, out = await _check(sandbox, synced)
    assert code == 0, out
    state = await SandboxControl(sandbox.base_url, sandbox.http).state()
    assert f"ok  the tab lists the sandbox's {state['total_people']} people" in out
    right = len(syncable(state["users"]))
    assert right > 10
    assert f"ok  the bot's status says {right} synced, as it should" in out
    assert "FAILED" not in out


async def test_a_person_hired_after_sync_missing_from_the_tab_fails_the_check_by_name(
    sandbox: RunningSandbox, synced: ProductServer
) -> None:
    status, body = await sandbox.control(
        "POST",
        "/_sandbox/teams/users",
        {"userPrincipalName": "new.hire@contoso.example", "displayName": "New Hire"},
    )
    assert status == 201, body
    code, out = await _check(sandbox, synced)
    assert code == 1, out
    assert (
        "new.hire@contoso.example: in the sandbox's Teams directory, missing from the tab's people"
        in out
    )
    assert re.search(r"FAILED: 1 differences? between the tab or the bot and the sandbox", out)
    assert "ok  the bot's status says" in out, "a Teams-only hire changes no synced count"


async def test_a_wrong_synced_count_from_the_bot_fails_the_check(
    sandbox: RunningSandbox, synced: ProductServer
) -> None:
    control = SandboxControl(sandbox.base_url, sandbox.http)
    before = len(syncable((await control.state())["users"]))
    # A synced person's Teams account is switched off: they can no longer be synced, but the
    # product has not looked at the directory since, so the bot still counts them.
    leaver = next(email for email in syncable((await control.state())["users"]) if email != ADMIN)
    status, body = await sandbox.control(
        "PATCH", f"/_sandbox/teams/users/{leaver}", {"accountEnabled": False}
    )
    assert status == 200, body
    code, out = await _check(sandbox, synced)
    assert code == 1, out
    assert (
        f"bot status, Synced: the bot says {before}, "
        f"but {before - 1} people in the sandbox can be synced"
    ) in out
    assert "ok  the tab lists the sandbox's" in out, "the leaver is still listed on both sides"
