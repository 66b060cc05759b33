"""Stored tokens survive a restart; `presence-sync doctor` lists every connection's state."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from sandbox.server import RunningSandbox
from tests.connections.product import (
    SYNC1,
    Browser,
    ProductServer,
    consent_and_authorise,
    control,
)

StartProduct = Callable[[], Awaitable[ProductServer]]
REPO = Path(__file__).resolve().parents[2]
RC_LOGIN = "ringcentral POST /ringcentral/restapi/oauth/token"


async def connect_everything(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    """Consent (as given in the portal), one sync account and RingCentral."""
    await consent_and_authorise(product, browser, sandbox)
    status, answer = await browser.call("POST", f"{product.url}/connect/ringcentral")
    assert status == 200, answer


@pytest.mark.parametrize("store_kind", ["sqlite", "mongo"])
async def test_a_restart_reuses_the_stored_tokens(
    start: StartProduct, browser: Browser, sandbox: RunningSandbox
) -> None:
    first = await start()
    await connect_everything(first, browser, sandbox)
    graph = await first.connections.graph()
    delegated = await graph.tokens.delegated_token(SYNC1)
    await first.stop()
    await control(sandbox, "DELETE", "/_sandbox/requests")

    second = await start()
    extension = await (await second.connections.ringcentral()).current_extension()
    restored = await (await second.connections.graph()).tokens.delegated_token(SYNC1)

    assert extension.id
    assert restored == delegated
    calls = (await control(sandbox, "GET", "/_sandbox/requests"))["calls"]
    assert RC_LOGIN not in calls
    assert await second.connections.sync_accounts() == [SYNC1]


async def doctor(product: ProductServer) -> tuple[int, str]:
    """Run `presence-sync doctor` against the product's settings; (exit code, output)."""
    settings = product.settings
    env = {
        "PATH": os.environ.get("PATH", ""),
        "STORE_URL": settings.store_url,
        "SECRET_KEY": settings.secret_key or "",
        "DATA_DIR": str(settings.data_dir),
        "MICROSOFT_TENANT_ID": settings.microsoft_tenant_id or "",
        "MICROSOFT_CLIENT_ID": settings.microsoft_client_id or "",
        "MICROSOFT_CLIENT_SECRET": settings.microsoft_client_secret or "",
        "RINGCENTRAL_CLIENT_ID": settings.ringcentral_client_id or "",
        "RINGCENTRAL_CLIENT_SECRET": settings.ringcentral_client_secret or "",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "presence_sync",
        "doctor",
        cwd=settings.data_dir.parent,
        env={**env, "PYTHONPATH": str(REPO)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


async def test_doctor_lists_each_connection_with_its_state_and_fix(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    code, before = await doctor(product)
    assert code == 1
    rows = {line.split("  ")[0]: line for line in before.splitlines()}
    assert " FAIL " in rows["Microsoft (admin consent)"]
    assert "missing: Microsoft is not connected yet" in rows["Microsoft (admin consent)"]
    assert " WARN " in rows["Microsoft sync accounts"]
    assert "step 2: authorise a sync account" in rows["Microsoft sync accounts"]
    assert "press Connect RingCentral" in rows["RingCentral"]

    await connect_everything(product, browser, sandbox)
    await control(sandbox, "POST", "/_sandbox/faults", {"revoke": "ringcentral-token"})
    client = await product.connections.ringcentral()
    with pytest.raises(Exception, match="invalid_grant"):
        await client.current_extension()
    code, after = await doctor(product)

    lines = after.splitlines()
    microsoft = next(line for line in lines if line.startswith("Microsoft (admin consent)"))
    account = next(line for line in lines if line.startswith(f"Microsoft sync account {SYNC1}"))
    ringcentral = next(line for line in lines if line.startswith("RingCentral  "))
    assert " ok " in microsoft
    assert "connected since" in microsoft
    assert " ok " in account
    assert " FAIL " in ringcentral
    assert "broken since" in ringcentral
    assert "RingCentral refused the stored sign-in" in ringcentral
    assert "press Connect RingCentral" in ringcentral
    assert code == 1
