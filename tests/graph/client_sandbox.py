"""The product's clients pointed at the full HTTPS sandbox (the shared `sandbox` fixture).

`client_sandbox` wraps the running sandbox with admin consent granted, a session that trusts
its CA, control-API helpers and factories for the real clients (real MSAL, real ringcentral
SDK, real HTTPS on a loopback port). A test changes the sandbox's size, speed or RingCentral
mode by parametrising `sandbox_options`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from presence_sync.graph.auth import GraphTokenProvider
from presence_sync.graph.client import GraphClient
from presence_sync.http import ssl_context
from presence_sync.ringcentral.auth import LoadAuth, RingCentralAuth, SaveAuth
from presence_sync.ringcentral.client import RingCentralClient
from sandbox.context import SandboxConfig, SandboxContext


@dataclass
class ClientSandbox:
    """A running sandbox plus an HTTP session that trusts its CA."""

    ctx: SandboxContext
    base_url: str
    ca_file: str
    http: aiohttp.ClientSession
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
        await self.control("POST", "/_sandbox/faults", spec)

    async def clear_faults(self) -> None:
        """Remove every fault and restore revoked grants."""
        await self.control("DELETE", "/_sandbox/faults")

    async def limits_refused(self) -> int:
        """How many RingCentral calls the sandbox refused with 429 so far."""
        snapshot = await self.control("GET", "/_sandbox/ringcentral/limits")
        return int(snapshot["refused"])

    async def grant_consent(self) -> None:
        """Record the organisation's admin consent for the product app."""
        await self.control("POST", "/_sandbox/consent", {"granted": True})

    async def calls(self) -> dict[str, int]:
        """Requests answered so far per 'service METHOD route', as /_sandbox/requests counts."""
        snapshot = await self.control("GET", "/_sandbox/requests")
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


@pytest.fixture
async def client_sandbox(sandbox: Any) -> AsyncIterator[ClientSandbox]:
    """The running sandbox, consented to by the tenant, with the client factories."""
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl_context(sandbox.ca_file)))
    wrapped = ClientSandbox(sandbox.ctx, sandbox.base_url, sandbox.ca_file, http)
    wrapped.closers.append(http.close)
    await wrapped.grant_consent()
    yield wrapped
    await wrapped.close()
