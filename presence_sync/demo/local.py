"""The sandbox and the product in one event loop, for the local tools that need both running.

Benchmarks, the Agents Playground and `scripts/screenshots` serve the HTTPS sandbox from their
own loop and the product on SQLite beside it, for as long as a block runs. `presence-sync
demo` runs the sandbox as a child process instead (`sandbox_process.py`): it plays a whole
day, and one blocking client call must not stall both servers for that long.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from presence_sync.demo.control import SandboxControl
from presence_sync.demo.server import ProductServer, demo_settings, reserve_port
from presence_sync.settings import Settings
from sandbox.server import RunningSandbox, run_sandbox

__all__ = ["LocalRun", "SettingsFor", "sandbox_and_product"]


class SettingsFor(Protocol):
    """The product's settings for a sandbox whose `/_sandbox/config` is `config`."""

    def __call__(self, config: dict[str, Any], *, port: int, data_dir: Path) -> Settings: ...


@dataclass(frozen=True)
class LocalRun:
    """The running sandbox, a control client for it, its config, and the product."""

    sandbox: RunningSandbox
    control: SandboxControl
    config: dict[str, Any]
    server: ProductServer


@contextlib.asynccontextmanager
async def sandbox_and_product(
    data: Path, *, users: int, settings_for: SettingsFor = demo_settings
) -> AsyncIterator[LocalRun]:
    """Serve a sandbox of `users` people and the product on it until the block ends.

    The sandbox keeps its files in `data/sandbox`, the product in `data/product`; the product
    listens on a free loopback port and is not connected to either platform yet.
    """
    async with run_sandbox(data / "sandbox", users=users) as sandbox:
        control = SandboxControl(sandbox.base_url, sandbox.http)
        config = await control.config()
        sock = reserve_port(0)
        try:
            settings = settings_for(config, port=sock.getsockname()[1], data_dir=data / "product")
            server = await ProductServer.start(settings, sock)
        except BaseException:
            sock.close()
            raise
        try:
            yield LocalRun(sandbox, control, config, server)
        finally:
            await server.stop()
