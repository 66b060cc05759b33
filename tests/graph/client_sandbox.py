"""The HTTPS sandbox the client tests talk to, and the product clients pointed at it.

Uses the full sandbox server (`sandbox.server`) when it can be imported; until every part of
it exists, it mounts Entra ID, Graph and RingCentral in one app with the same two middlewares
(request counting, fault injection). Either way the clients speak real HTTPS to a loopback
port with the sandbox CA, through the real MSAL and ringcentral SDK.
"""

from __future__ import annotations

import secrets
import ssl
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from presence_sync.graph.auth import GraphTokenProvider
from presence_sync.graph.client import GraphClient
from presence_sync.http import ssl_context
from presence_sync.ringcentral.auth import LoadAuth, RingCentralAuth, SaveAuth
from presence_sync.ringcentral.client import RingCentralClient
from sandbox import entra, ringcentral
from sandbox.context import Clock, SandboxConfig, SandboxContext
from sandbox.entra_state import ENTRA_STATE
from sandbox.seed import generate_org
from sandbox.tls import ensure_certificates, server_ssl_context

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PREFIXES = (("/entra/", "entra"), ("/graph/", "graph"), ("/ringcentral/", "ringcentral"))


def _service(path: str) -> str | None:
    for prefix, service in PREFIXES:
        if path.startswith(prefix):
            return service
    return None


@dataclass
class ClientSandbox:
    """A running sandbox plus an HTTP session that trusts its CA."""

    ctx: SandboxContext
    base_url: str
    ca_file: str
    http: aiohttp.ClientSession
    full: bool  # True when served by sandbox.server (with its control API)
    app: web.Application
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def config(self) -> SandboxConfig:
        """Identities and addresses of this sandbox."""
        return self.ctx.config

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call the control API and return its JSON answer."""
        async with self.http.request(method, f"{self.base_url}{path}", json=body) as response:
            assert response.status < 400, f"{method} {path}: {response.status}"
            if response.content_type == "application/json":
                return await response.json()
            return None

    async def fault(self, spec: dict[str, Any]) -> None:
        """Inject a fault or revoke a grant, as `POST /_sandbox/faults` does."""
        if self.full:
            await self.control("POST", "/_sandbox/faults", spec)
            return
        self.ctx.faults.add(spec)
        if spec.get("revoke") == "microsoft-consent":
            self.app[ENTRA_STATE].revoke_consent(self.ctx)

    async def clear_faults(self) -> None:
        """Remove every fault and restore revoked grants."""
        if self.full:
            await self.control("DELETE", "/_sandbox/faults")
        else:
            self.ctx.faults.clear()

    async def grant_consent(self) -> None:
        """Record the organisation's admin consent for the product app."""
        if self.full:
            await self.control("POST", "/_sandbox/consent", {"granted": True})
        else:
            self.app[ENTRA_STATE].grant_consent(self.ctx, "tests")

    async def calls(self) -> dict[str, int]:
        """Requests answered so far per 'service METHOD route', as /_sandbox/requests counts."""
        if self.full:
            snapshot = await self.control("GET", "/_sandbox/requests")
        else:
            snapshot = self.ctx.recorder.snapshot()
        return dict(snapshot["calls"])

    async def count(self, service: str, method: str, route_end: str) -> int:
        """How many requests hit routes of `service` ending with `route_end`."""
        prefix = f"{service} {method} "
        return sum(
            n
            for key, n in (await self.calls()).items()
            if key.startswith(prefix) and key.endswith(route_end)
        )

    def graph_tokens(self, **kwargs: Any) -> GraphTokenProvider:
        """MSAL token provider for the product app against this sandbox's Entra ID."""
        return GraphTokenProvider(
            client_id=self.config.app_client_id,
            client_secret=self.config.app_client_secret,
            tenant=self.config.tenant_id,
            authority_host=f"{self.base_url}/entra",
            ca_file=self.ca_file,
            timeout=5.0,
            **kwargs,
        )

    def graph_client(
        self, session: aiohttp.ClientSession, tokens: GraphTokenProvider | None = None, **kw: Any
    ) -> GraphClient:
        """A GraphClient over `session` (which must trust the CA)."""
        provider = tokens or self.graph_tokens()
        self.closers.append(provider.close)
        options: dict[str, Any] = {"timeout": 5.0, **kw}
        return GraphClient(session, provider, f"{self.base_url}/graph/v1.0", **options)

    def rc_auth(
        self, load_auth: LoadAuth | None = None, save_auth: SaveAuth | None = None
    ) -> RingCentralAuth:
        """RingCentral token owner (the real SDK) against this sandbox."""
        auth = RingCentralAuth(
            client_id=self.config.rc_client_id,
            client_secret=self.config.rc_client_secret,
            server_url=f"{self.base_url}/ringcentral",
            jwt=self.config.rc_jwt,
            ca_file=self.ca_file,
            timeout=5.0,
            load_auth=load_auth,
            save_auth=save_auth,
        )
        self.closers.append(auth.close)
        return auth

    def rc_client(
        self, session: aiohttp.ClientSession, auth: RingCentralAuth | None = None, **kw: Any
    ) -> RingCentralClient:
        """A RingCentralClient over `session` (which must trust the CA)."""
        options: dict[str, Any] = {"timeout": 5.0, **kw}
        return RingCentralClient(session, auth or self.rc_auth(), **options)

    def product_session(self) -> aiohttp.ClientSession:
        """A session like the product's: one connector trusting the configured CA file."""
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ssl_context(self.ca_file))
        )
        self.closers.append(session.close)
        return session

    async def close(self) -> None:
        """Stop everything started for this sandbox."""
        for closer in reversed(self.closers):
            await closer()


def _middlewares(ctx: SandboxContext) -> list[Any]:
    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        service = _service(request.path)
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

    @web.middleware
    async def inject(request: web.Request, handler: Handler) -> web.StreamResponse:
        service = _service(request.path)
        if service is not None:
            answer = await ctx.faults.before_request(service)
            if answer is not None:
                return answer
        return await handler(request)

    return [record, inject]


async def _start_full(
    data_dir: Path, users: int, time_scale: float, rc_mode: str
) -> ClientSandbox | None:
    try:
        from sandbox.server import bind_socket, build_context, start_sandbox
    except ImportError:
        return None
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    ctx = build_context(
        users=users,
        time_scale=time_scale,
        data_dir=data_dir,
        base_url=f"https://localhost:{port}",
        rc_mode=rc_mode,
    )
    paths = ensure_certificates(data_dir)
    runner = await start_sandbox(ctx, sock=sock, ssl_context=server_ssl_context(paths))
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl_context(paths.ca_file)))
    app = runner.app
    sandbox = ClientSandbox(ctx, ctx.config.base_url, str(paths.ca_file), http, True, app)
    sandbox.closers = [runner.cleanup, http.close]
    return sandbox


async def _start_local(
    data_dir: Path, users: int, time_scale: float, rc_mode: str
) -> ClientSandbox:
    import socket

    from sandbox.graph import setup as graph_setup

    paths = ensure_certificates(data_dir)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base_url = f"https://localhost:{sock.getsockname()[1]}"
    org = generate_org(users, 0, rc_mode)
    config = SandboxConfig(
        base_url=base_url,
        ca_file=str(paths.ca_file),
        tenant_id=org.tenant_id,
        app_client_id=str(uuid.uuid4()),
        app_client_secret=secrets.token_urlsafe(24),
        bot_app_id=str(uuid.uuid4()),
        bot_app_secret=secrets.token_urlsafe(24),
        rc_client_id=secrets.token_urlsafe(12),
        rc_client_secret=secrets.token_urlsafe(24),
        rc_jwt=secrets.token_urlsafe(40),
    )
    ctx = SandboxContext.create(config, org, Clock(time_scale))
    app = web.Application(middlewares=_middlewares(ctx))

    async def outbound(_app: web.Application) -> AsyncIterator[None]:
        outbound_ssl = ssl.create_default_context(cafile=str(paths.ca_file))
        ctx.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=outbound_ssl))
        yield
        await ctx.http.close()

    app.cleanup_ctx.append(outbound)
    entra.setup(app, ctx)
    graph_setup(app, ctx)
    ringcentral.setup(app, ctx)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock, ssl_context=server_ssl_context(paths)).start()
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl_context(paths.ca_file)))
    sandbox = ClientSandbox(ctx, base_url, str(paths.ca_file), http, False, app)
    sandbox.closers = [runner.cleanup, http.close]
    return sandbox


async def start_client_sandbox(
    data_dir: Path, users: int = 40, time_scale: float = 1.0, rc_mode: str = "legacy"
) -> ClientSandbox:
    """Start the sandbox over HTTPS on a free loopback port."""
    sandbox = await _start_full(data_dir, users, time_scale, rc_mode)
    if sandbox is None:
        sandbox = await _start_local(data_dir, users, time_scale, rc_mode)
    return sandbox


@pytest.fixture(scope="session")
def sandbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data folder (CA, identities) for every test of the session."""
    return tmp_path_factory.mktemp("client-sandbox")


MakeSandbox = Callable[..., Awaitable[ClientSandbox]]


@pytest.fixture
async def make_client_sandbox(sandbox_dir: Path) -> AsyncIterator[MakeSandbox]:
    """Start consented sandboxes of a chosen size and time scale, stopped after the test."""
    started: list[ClientSandbox] = []

    async def make(
        users: int = 40, time_scale: float = 1.0, rc_mode: str = "legacy"
    ) -> ClientSandbox:
        sandbox = await start_client_sandbox(sandbox_dir, users, time_scale, rc_mode)
        started.append(sandbox)
        await sandbox.grant_consent()
        return sandbox

    yield make
    for sandbox in reversed(started):
        await sandbox.close()


@pytest.fixture
async def client_sandbox(sandbox_dir: Path) -> AsyncIterator[ClientSandbox]:
    """A fresh sandbox whose tenant has consented to the product app."""
    sandbox = await start_client_sandbox(sandbox_dir)
    await sandbox.grant_consent()
    yield sandbox
    await sandbox.close()
