"""Assembles the sandbox: one HTTPS aiohttp app serving every emulated service.

`build_context` makes the org, identities and certificates; `create_sandbox_app` mounts Entra
ID, Graph, the Bot Connector, RingCentral and the control API behind two middlewares (request
counting and fault injection); `start_sandbox` serves it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import ssl
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from aiohttp import ClientSession, ClientTimeout, TCPConnector, web
from aiohttp.typedefs import Middleware

from sandbox import connector, control, entra, page, ringcentral, teams_client, teams_host
from sandbox.context import Clock, SandboxConfig, SandboxContext
from sandbox.control import CONFIG_FILE, config_document, graph_module, write_config
from sandbox.seed import generate_org, load_org
from sandbox.tls import (
    CertificatePaths,
    client_ssl_context,
    ensure_certificates,
    server_ssl_context,
)

__all__ = [
    "CONFIG_FILE",
    "RunningSandbox",
    "bind_socket",
    "build_context",
    "config_document",
    "control_allowed",
    "create_sandbox_app",
    "graph_module",
    "main",
    "run_sandbox",
    "service_of",
    "start_sandbox",
    "write_config",
]

logger = logging.getLogger(__name__)

IDENTITIES_FILE = "sandbox-identities.json"
SERVICE_PREFIXES = (
    ("/entra/", "entra"),
    ("/graph/", "graph"),
    ("/connector/", "connector"),
    ("/ringcentral/", "ringcentral"),
)
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def service_of(path: str) -> str | None:
    """The emulated service a request path belongs to, or None (control, pages, keys)."""
    for prefix, service in SERVICE_PREFIXES:
        if path.startswith(prefix):
            return service
    return None


def _identities(data_dir: Path, org_tenant: str) -> dict[str, str]:
    """App ids and secrets, kept in the data folder so a restarted sandbox keeps them."""
    path = data_dir / IDENTITIES_FILE
    if path.is_file():
        stored: dict[str, str] = json.loads(path.read_text())
        if stored.get("tenant_id") == org_tenant:
            return stored
    tenant = uuid.UUID(org_tenant)
    fresh = {
        "tenant_id": org_tenant,
        "app_client_id": str(uuid.uuid5(tenant, "presence-sync-app")),
        "app_client_secret": secrets.token_urlsafe(30),
        "bot_app_id": str(uuid.uuid5(tenant, "presence-sync-bot")),
        "bot_app_secret": secrets.token_urlsafe(30),
        "rc_client_id": secrets.token_urlsafe(16),
        "rc_client_secret": secrets.token_urlsafe(30),
        "rc_jwt_key": secrets.token_urlsafe(32),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(fresh, fh, indent=2)
    return fresh


def build_context(
    users: int = 40,
    seed: int = 0,
    time_scale: float = 1.0,
    data_dir: str | Path = "data/sandbox",
    base_url: str = "https://localhost:8443",
    seed_file: str | Path | None = None,
    rc_mode: str = "legacy",
    product_url: str | None = None,
) -> SandboxContext:
    """A ready sandbox context: certificates, org (generated or from `seed_file`), identities."""
    folder = Path(data_dir)
    paths = ensure_certificates(folder)
    org = load_org(seed_file) if seed_file else generate_org(users, seed, rc_mode)
    ids = _identities(folder, org.tenant_id)
    rc_jwt = jwt.encode(
        {
            "aud": f"{base_url}/ringcentral/restapi/oauth/token",
            "sub": org.rc_account_id,
            "iss": ids["rc_client_id"],
            "jti": ids["rc_jwt_key"][:12],
        },
        ids["rc_jwt_key"],
        algorithm="HS256",
    )
    config = SandboxConfig(
        base_url=base_url.rstrip("/"),
        ca_file=str(paths.ca_file.resolve()),
        tenant_id=org.tenant_id,
        app_client_id=ids["app_client_id"],
        app_client_secret=ids["app_client_secret"],
        bot_app_id=ids["bot_app_id"],
        bot_app_secret=ids["bot_app_secret"],
        rc_client_id=ids["rc_client_id"],
        rc_client_secret=ids["rc_client_secret"],
        rc_jwt=rc_jwt,
        product_url=product_url,
    )
    return SandboxContext.create(config, org, Clock(time_scale))


def control_allowed(path: str, remote: str | None) -> bool:
    """Whether a peer at `remote` may call `path`: the control API answers loopback only."""
    # The control API has no authentication, so it must not be reachable from elsewhere.
    return not path.startswith("/_sandbox") or remote in LOOPBACK


def _loopback_only() -> Middleware:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not control_allowed(request.path, request.remote):
            return web.json_response({"error": "the control API answers loopback only"}, status=403)
        return await handler(request)

    return guard


def _recording(ctx: SandboxContext) -> Middleware:
    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        service = service_of(request.path)
        if service is None:
            return await handler(request)
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "(no route)"
            ctx.recorder.record(service, request.method, route, status)

    return record


def _faulting(ctx: SandboxContext) -> Middleware:
    @web.middleware
    async def inject(request: web.Request, handler: Handler) -> web.StreamResponse:
        service = service_of(request.path)
        if service is not None:
            answer = await ctx.faults.before_request(service)
            if answer is not None:
                return answer
        return await handler(request)

    return inject


def _outbound_ssl(ctx: SandboxContext) -> ssl.SSLContext:
    # Webhooks may target the product over the sandbox's own CA or a public one.
    context = ssl.create_default_context()
    if Path(ctx.config.ca_file).is_file():
        context.load_verify_locations(ctx.config.ca_file)
    return context


def create_sandbox_app(ctx: SandboxContext) -> web.Application:
    """The whole sandbox as one aiohttp app (no socket yet)."""
    app = web.Application(
        middlewares=[_loopback_only(), _recording(ctx), _faulting(ctx)],
        client_max_size=8 * 1024 * 1024,
    )
    app[control.CTX] = ctx

    async def http_session(_app: web.Application) -> AsyncIterator[None]:
        ctx.http = ClientSession(
            connector=TCPConnector(ssl=_outbound_ssl(ctx), limit=200),
            timeout=ClientTimeout(total=30),
        )
        yield
        for task in list(ctx.background):
            task.cancel()
        await ctx.http.close()
        ctx.http = None

    app.cleanup_ctx.append(http_session)
    entra.setup(app, ctx)
    connector.setup(app, ctx)
    teams_client.setup(app, ctx)
    teams_host.setup(app, ctx)
    graph = graph_module()
    if graph is not None:
        graph.setup(app, ctx)
    else:
        logger.warning("sandbox.graph has no setup() yet; Graph routes are not mounted")
    ringcentral.setup(app, ctx)
    control.setup(app, ctx)
    page.setup(app, ctx)
    return app


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready TCP socket, so a caller can learn the port before building the app."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


async def start_sandbox(
    ctx: SandboxContext,
    host: str = "127.0.0.1",
    port: int = 8443,
    ssl_context: ssl.SSLContext | None = None,
    sock: socket.socket | None = None,
) -> web.AppRunner:
    """Serve the sandbox (on `sock` if given, else host:port); the caller cleans up the runner."""
    app = create_sandbox_app(ctx)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site: web.BaseSite
    if sock is not None:
        site = web.SockSite(runner, sock, ssl_context=ssl_context)
    else:
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    await site.start()
    return runner


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
        """Call any sandbox route with a JSON body; (status, decoded JSON or None)."""
        async with self.http.request(method, self.url(path), json=body) as response:
            text = await response.text()
            return response.status, json.loads(text) if text else None


@contextlib.asynccontextmanager
async def run_sandbox(
    data_dir: str | Path, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> AsyncIterator[RunningSandbox]:
    """Serve a sandbox over HTTPS for the duration of the block (tests, demo, benchmarks).

    Like `python -m sandbox`, it writes `<data_dir>/sandbox-config.json`.

    `options` go to `build_context` (users, seed, time_scale, seed_file, rc_mode, product_url).
    """
    sock = bind_socket(host, port)
    bound = sock.getsockname()[1]
    ctx = build_context(data_dir=data_dir, base_url=f"https://localhost:{bound}", **options)
    write_config(ctx)
    paths = CertificatePaths.in_folder(Path(data_dir))
    runner = await start_sandbox(ctx, ssl_context=server_ssl_context(paths), sock=sock)
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


def main(argv: list[str] | None = None, prog: str = "python -m sandbox") -> int:
    """`presence-sync sandbox …`: the same as `python -m sandbox …` (see sandbox.__main__)."""
    from sandbox.__main__ import main as run  # deferred: __main__ imports this module

    return run(argv, prog)
