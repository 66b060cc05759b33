"""Fixtures starting the RingCentral emulation on loopback for these tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import unused_port
from rc_harness import (
    RC_CLIENT_ID,
    RC_CLIENT_SECRET,
    RC_JWT,
    HookReceiver,
    RcSandbox,
    StartRc,
    make_org,
)

from sandbox.context import Clock, SandboxConfig, SandboxContext
from sandbox.ringcentral import RC_STATE, setup


@pytest.fixture
async def start_rc() -> AsyncIterator[StartRc]:
    """Start RingCentral emulations (mode, time scale, users) torn down after the test."""
    cleanups: list[Callable[[], Awaitable[None]]] = []
    http = aiohttp.ClientSession()

    async def start(mode: str = "legacy", time_scale: float = 1.0, users: int = 250) -> RcSandbox:
        hooks = HookReceiver()
        hook_app = web.Application()
        hook_app.router.add_post("/hook", hooks.handle)
        hook_runner = web.AppRunner(hook_app)
        await hook_runner.setup()
        hook_site = web.TCPSite(hook_runner, "127.0.0.1", 0)
        await hook_site.start()
        hook_port = hook_runner.addresses[0][1]
        hooks.url = f"http://127.0.0.1:{hook_port}/hook"
        cleanups.append(hook_runner.cleanup)

        port = unused_port()
        root = f"http://127.0.0.1:{port}"
        config = SandboxConfig(
            base_url=root,
            ca_file="",
            tenant_id="tenant-1",
            app_client_id="app",
            app_client_secret="app-secret",
            bot_app_id="bot",
            bot_app_secret="bot-secret",
            rc_client_id=RC_CLIENT_ID,
            rc_client_secret=RC_CLIENT_SECRET,
            rc_jwt=RC_JWT,
        )
        ctx = SandboxContext.create(config, make_org(mode, users), Clock(time_scale))
        app = web.Application()
        setup(app, ctx)

        async def outbound(_app: web.Application) -> AsyncIterator[None]:
            # What the core server does for every service: one shared outbound session.
            ctx.http = aiohttp.ClientSession()
            yield
            await ctx.http.close()

        app.cleanup_ctx.insert(0, outbound)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        cleanups.append(runner.cleanup)
        return RcSandbox(ctx, app[RC_STATE], root, hooks, http)

    yield start
    for cleanup in reversed(cleanups):
        await cleanup()
    await http.close()


@pytest.fixture
async def rc(start_rc: StartRc) -> RcSandbox:
    """A legacy-mode RingCentral emulation at normal speed."""
    return await start_rc()
