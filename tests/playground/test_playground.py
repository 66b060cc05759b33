"""Agents Playground, as a developer uses it, shows the bot's answer to `help`.

The product runs on the sandbox with its bot credentials removed and the loopback switch on;
Microsoft's Agents Playground is its Teams channel, and headless Chromium types in its chat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from presence_sync.demo.control import SandboxControl
from presence_sync.demo.server import ProductServer, reserve_port
from sandbox.server import RunningSandbox
from tests.playground.agents_playground import (
    Playground,
    agents_playground,
    loopback_settings,
    say,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
async def product(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[ProductServer]:
    """The product on the sandbox, its bot unsigned and served to this machine only."""
    config = await SandboxControl(sandbox.base_url, sandbox.http).config()
    sock = reserve_port(0)
    settings = loopback_settings(config, port=sock.getsockname()[1], data_dir=tmp_path / "product")
    server = await ProductServer.start(settings, sock)
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def playground(product: ProductServer, tmp_path: Path) -> AsyncIterator[Playground]:
    """Agents Playground as the bot's channel, stopped at the end."""
    async with agents_playground(f"{product.url}/api/messages", tmp_path / "playground") as running:
        yield running


async def test_playground_shows_the_help_card(playground: Playground) -> None:
    report = await say(playground.url, "help", ["I keep your presence", "sync all"], within=90.0)

    assert report["ok"], f"{report}\n--- Playground log ---\n{_tail(playground.log_file)}"
    assert report["sent"] == "help"
    assert any("I keep your presence" in card or "sync all" in card for card in report["cards"])
    # The browser stayed on this machine: the page's CDN fonts were refused, nothing else left.
    assert all("cdn.office.net" in origin for origin in report["blocked"]), report["blocked"]


def _tail(log_file: Path) -> str:
    return log_file.read_text(errors="replace")[-3000:] if log_file.exists() else "(no log)"
