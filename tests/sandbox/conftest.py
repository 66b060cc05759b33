"""The full HTTPS sandbox on a free loopback port, for tests of any service in it."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sandbox.context import SandboxConfig, SandboxContext
from sandbox.server import bind_socket, build_context, start_sandbox
from sandbox.tls import CertificatePaths, client_ssl_context, server_ssl_context


@dataclass
class RunningSandbox:
    """A started sandbox: its context, addresses, and an HTTP client that trusts its CA."""

    ctx: SandboxContext
    base_url: str
    ca_file: str
    app: web.Application
    http: aiohttp.ClientSession
    ssl: ssl.SSLContext

    @property
    def config(self) -> SandboxConfig:
        """The live config (PUT /_sandbox/config replaces it)."""
        return self.ctx.config

    def url(self, path: str) -> str:
        """An absolute URL for a sandbox path."""
        return f"{self.base_url}{path}"

    async def control(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Call the control API; (status, decoded JSON)."""
        async with self.http.request(method, self.url(path), json=body) as response:
            return response.status, await response.json(content_type=None)


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """Override in a test module to change users, seed, time scale or RingCentral mode."""
    return {}


@pytest.fixture
async def sandbox(
    tmp_path_factory: pytest.TempPathFactory, sandbox_options: dict[str, Any]
) -> AsyncIterator[RunningSandbox]:
    """The whole sandbox over HTTPS on 127.0.0.1, port chosen by the OS."""
    data_dir: Path = tmp_path_factory.mktemp("sandbox-data")
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    ctx = build_context(
        data_dir=data_dir, base_url=f"https://localhost:{port}", **sandbox_options
    )
    runner = await start_sandbox(
        ctx, ssl_context=server_ssl_context(CertificatePaths.in_folder(data_dir)), sock=sock
    )
    client_ssl = client_ssl_context(ctx.config.ca_file)
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_ssl))
    try:
        yield RunningSandbox(
            ctx=ctx,
            base_url=ctx.config.base_url,
            ca_file=ctx.config.ca_file,
            app=runner.app,
            http=http,
            ssl=client_ssl,
        )
    finally:
        await http.close()
        await runner.cleanup()
