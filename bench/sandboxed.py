"""The product on the in-process sandbox, connected and synced, for the burst benchmarks.

`synced_product` starts the HTTPS sandbox (``users`` people, its real rate limits, its clock
``time_scale`` times faster) and the product server in this process on the embedded store, on
the sandbox's clock, connects both platforms through the consent routes as an admin would and
syncs everyone; it yields the sandbox, the server and its store, and stops both afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from presence_sync.demo.connect import connect_and_sync_all
from presence_sync.demo.control import SandboxControl
from presence_sync.demo.server import ProductServer, demo_settings, reserve_port
from presence_sync.store import Store
from sandbox.server import RunningSandbox, run_sandbox

__all__ = ["synced_product"]


@contextlib.asynccontextmanager
async def synced_product(
    *, users: int, time_scale: float, sync_accounts: int = 1, prefix: str = "bench-"
) -> AsyncIterator[tuple[RunningSandbox, ProductServer, Store]]:
    """(sandbox, product server, its store), everyone synced; everything stops on exit."""
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        data = Path(folder)
        async with run_sandbox(data / "sandbox", users=users, time_scale=time_scale) as running:
            control = SandboxControl(running.base_url, running.http)
            config = await control.config()
            sock = reserve_port(0)
            settings = demo_settings(config, port=sock.getsockname()[1], data_dir=data / "product")
            settings = dataclasses.replace(settings, log_level="WARNING")
            server = await ProductServer.start(
                settings, sock, clock=running.ctx.clock.now, time_scale=time_scale
            )
            try:
                store, _job = await connect_and_sync_all(
                    server, control, config, running.ca_file, sync_accounts=sync_accounts
                )
                yield running, server, store
            finally:
                await server.stop()
