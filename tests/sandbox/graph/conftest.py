"""A Graph-only sandbox on a loopback port, tokens for it, and a webhook receiver."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sandbox.context import Clock, SandboxConfig, SandboxContext
from sandbox.graph import GRAPH_STATE, setup
from sandbox.graph.state import GraphState
from sandbox.model import Org, TeamsUser
from sandbox.tokens import GRAPH_AUDIENCE

TENANT = "11111111-2222-3333-4444-555555555555"
APP_ID = "aaaaaaaa-0000-0000-0000-000000000001"
APP_SP = "aaaaaaaa-0000-0000-0000-0000000000ff"
APP_ROLES = [
    "User.Read.All",
    "Directory.Read.All",
    "Presence.Read.All",
    "Presence.ReadWrite.All",
    "Mail.Send",
    "TeamsAppInstallation.ReadWriteSelfForUser.All",
]
DELEGATED = "Presence.Read.All User.Read offline_access openid profile"


def make_org(extra_users: int = 0) -> Org:
    """Four named people plus `extra_users` generated ones."""
    org = Org(tenant_id=TENANT, tenant_domain="contoso.example", rc_account_id="400")
    people = [
        ("Alice Admin", "alice", ["Global Administrator"]),
        ("Bob Teams", "bob", ["Teams Administrator"]),
        ("Carol Chen", "carol", []),
        ("Dan Disabled", "dan", []),
    ]
    for name, handle, roles in people:
        user = TeamsUser(
            id=str(uuid.uuid5(uuid.NAMESPACE_DNS, handle)),
            display_name=name,
            user_principal_name=f"{handle}@contoso.example",
            mail=f"{handle}@contoso.example",
            account_enabled=handle != "dan",
            roles=roles,
        )
        org.teams_users[user.id] = user
    for n in range(extra_users):
        user = TeamsUser(
            id=str(uuid.uuid5(uuid.NAMESPACE_DNS, f"user{n}")),
            display_name=f"User {n:04d}",
            user_principal_name=f"user{n:04d}@contoso.example",
            mail=f"user{n:04d}@contoso.example",
        )
        org.teams_users[user.id] = user
    return org


@dataclass
class GraphSandbox:
    """A running Graph emulation and an HTTP client pointed at it."""

    ctx: SandboxContext
    state: GraphState
    url: str  # http://127.0.0.1:PORT
    http: aiohttp.ClientSession

    @property
    def app_id(self) -> str:
        """The product app's client id (its setPresence session id)."""
        return APP_ID

    @property
    def graph(self) -> str:
        """The Graph base URL."""
        return f"{self.url}/graph/v1.0"

    def user(self, handle: str) -> TeamsUser:
        """A user by the part of the email before @."""
        found = self.ctx.org.teams_user_by_email(f"{handle}@contoso.example")
        assert found is not None
        return found

    def app_token(self, roles: list[str] | None = None, lifetime: float = 3600) -> str:
        """An app-only token for the product's app."""
        claims = {
            "aud": GRAPH_AUDIENCE,
            "tid": TENANT,
            "appid": APP_ID,
            "azp": APP_ID,
            "idtyp": "app",
            "oid": APP_SP,
            "roles": APP_ROLES if roles is None else roles,
        }
        return self.ctx.entra_tokens.issue(claims, lifetime, now=self.ctx.clock.now())

    def user_token(self, handle: str = "alice", scopes: str = DELEGATED) -> str:
        """A delegated token of `handle` for the product's app."""
        user = self.user(handle)
        claims = {
            "aud": GRAPH_AUDIENCE,
            "tid": TENANT,
            "appid": APP_ID,
            "azp": APP_ID,
            "idtyp": "user",
            "scp": scopes,
            "oid": user.id,
            "preferred_username": user.user_principal_name,
        }
        return self.ctx.entra_tokens.issue(claims, 3600, now=self.ctx.clock.now())

    async def call(
        self, method: str, path: str, token: str | None = None, **kwargs: Any
    ) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
        """One Graph request; returns (status, JSON body or text, headers)."""
        headers = {
            "Authorization": f"Bearer {token or self.app_token()}",
            **kwargs.pop("headers", {}),
        }
        url = path if path.startswith("http") else f"{self.graph}{path}"
        async with self.http.request(method, url, headers=headers, **kwargs) as response:
            text = await response.text()
            body: Any = text
            if response.content_type == "application/json":
                body = await response.json()
            return response.status, body, response.headers

    async def control(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """One control-API request."""
        async with self.http.request(method, f"{self.url}{path}", **kwargs) as response:
            body = await response.json() if response.content_type == "application/json" else None
            return response.status, body


GraphFactory = Callable[..., Awaitable[GraphSandbox]]


@pytest.fixture
async def make_graph() -> AsyncIterator[GraphFactory]:
    """Start Graph sandboxes: `await make_graph(scale=1.0, extra_users=0)`."""
    started: list[tuple[TestServer, aiohttp.ClientSession, aiohttp.ClientSession]] = []

    async def start(scale: float = 1.0, extra_users: int = 0) -> GraphSandbox:
        config = SandboxConfig(
            base_url="",
            ca_file="",
            tenant_id=TENANT,
            app_client_id=APP_ID,
            app_client_secret="app-secret",
            bot_app_id="bbbbbbbb-0000-0000-0000-000000000002",
            bot_app_secret="bot-secret",
            rc_client_id="rc",
            rc_client_secret="rc-secret",
            rc_jwt="rc-jwt",
        )
        ctx = SandboxContext.create(config, make_org(extra_users), Clock(scale))
        ctx.http = aiohttp.ClientSession()
        app = web.Application()
        setup(app, ctx)
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        client = aiohttp.ClientSession()
        started.append((server, client, ctx.http))
        url = f"http://127.0.0.1:{server.port}"
        return GraphSandbox(ctx=ctx, state=app[GRAPH_STATE], url=url, http=client)

    yield start
    for server, client, outbound in started:
        await server.close()
        await client.close()
        await outbound.close()


@dataclass
class Receiver:
    """A product-like webhook endpoint that records what Graph POSTs."""

    url: str = ""
    validation: str = "echo"  # echo | wrong | json | refuse
    answer_status: int = 202
    fail_first: int = 0  # answer 500 to this many notification POSTs first
    slow_first: int = 0  # answer this many notification POSTs only after 3.3 s
    notifications: list[dict[str, Any]] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)  # whole change-notification bodies
    lifecycle: list[dict[str, Any]] = field(default_factory=list)
    validations: list[str] = field(default_factory=list)
    posts: int = 0
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, count: int, kind: str = "notifications", within: float = 5.0) -> None:
        """Wait until `count` items of `kind` arrived (fails the test on timeout)."""

        async def enough() -> None:
            while len(getattr(self, kind)) < count:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(enough(), within)

    async def handle(self, request: web.Request) -> web.Response:
        """Answer validation requests and record notifications."""
        token = request.query.get("validationToken")
        if token is not None:
            self.validations.append(token)
            if self.validation == "echo":
                return web.Response(text=token, content_type="text/plain")
            if self.validation == "wrong":
                return web.Response(text="not-the-token", content_type="text/plain")
            if self.validation == "json":
                return web.json_response(token)
            return web.Response(status=403)
        self.posts += 1
        if self.slow_first > 0:
            self.slow_first -= 1
            await asyncio.sleep(3.3)
            return web.Response(status=202)
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.Response(status=500)
        body = await request.json()
        if request.path.endswith("/lifecycle"):
            self.lifecycle.extend(body["value"])
        else:
            self.batches.append(body)
            self.notifications.extend(body["value"])
        self._arrived.set()
        return web.Response(status=self.answer_status)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A running webhook receiver at `receiver.url` (/notify and /lifecycle)."""
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/notify", hook.handle)
    app.router.add_post("/lifecycle", hook.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    hook.url = f"http://127.0.0.1:{server.port}"
    yield hook
    await server.close()
