"""The product app wired to the sandbox for watcher tests: real clients, real store, real HTTP.

`start_product` serves `create_app(settings)` on a loopback port the sandbox can deliver
webhooks to, with a tiny `Providers` over real Graph and RingCentral clients (sync accounts
signed in through Entra's authorization-code flow) and links for the sandbox's people.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web
from cryptography.fernet import Fernet

from presence_sync.app import create_app
from presence_sync.graph.auth import GraphTokenProvider
from presence_sync.graph.client import GraphClient
from presence_sync.providers import Providers, RcWriter
from presence_sync.ringcentral.client import RingCentralClient
from presence_sync.settings import Settings
from presence_sync.store.base import Store
from presence_sync.store.models import LinkState, UserLink
from presence_sync.tasks import LoopPolicy
from presence_sync.watch import Watchers, WatchOptions
from presence_sync.web.keys import STORE, SUPERVISOR, WATCHERS
from tests.graph.client_sandbox import ClientSandbox

REDIRECT = "https://localhost/api/consent/microsoft/callback"


@dataclass
class SandboxProviders:
    """`Providers` over real clients pointed at the sandbox."""

    graph_client: GraphClient
    rc_client: RingCentralClient
    accounts: list[str]
    failures: list[tuple[str, BaseException]] = field(default_factory=list)

    async def graph(self) -> GraphClient:
        """The Graph client."""
        return self.graph_client

    async def ringcentral(self) -> RingCentralClient:
        """The RingCentral client."""
        return self.rc_client

    async def ringcentral_writers(self) -> list[RcWriter]:
        """The RingCentral client, the one identity."""
        return [RcWriter("ringcentral", self.rc_client)]

    async def sync_accounts(self) -> list[str]:
        """The signed-in sync accounts."""
        return list(self.accounts)

    async def report_failure(self, provider: str, error: BaseException) -> None:
        """Remember failures for assertions."""
        self.failures.append((provider, error))


async def sign_in(sandbox: ClientSandbox, tokens: GraphTokenProvider, upn: str) -> None:
    """Sign a sync account in headlessly (login_hint, query response mode)."""
    flow = await tokens.begin_auth_code_flow(
        REDIRECT, login_hint=upn, state=secrets.token_hex(8), response_mode="query"
    )
    async with sandbox.http.get(flow.auth_uri, allow_redirects=False) as response:
        assert response.status in (302, 303), await response.text()
        location = response.headers["Location"]
    await tokens.finish_auth_code_flow(flow, dict(parse_qsl(urlsplit(location).query)))


def people(sandbox: ClientSandbox, count: int | None = None) -> list[UserLink]:
    """Links for enabled Teams users (not the sync accounts), with RingCentral where matched."""
    org = sandbox.ctx.org
    users = [e for e in org.rc_extensions.values() if e.email and e.type == "User"]
    emails = Counter(e.email.lower() for e in users if e.email)
    # Ambiguous (duplicate) RingCentral emails are left unmatched, as the directory does.
    rc_by_email = {
        e.email.lower(): e
        for e in users
        if e.email and e.status == "Enabled" and emails[e.email.lower()] == 1
    }
    links = []
    for user in org.teams_users.values():
        if not user.account_enabled or user.user_principal_name.startswith("sync"):
            continue
        ext = rc_by_email.get(user.user_principal_name.lower()) or rc_by_email.get(
            (user.mail or "").lower()
        )
        links.append(
            UserLink(
                id=f"t:{user.id}",  # the directory's id scheme, so its refresh keeps them
                email=user.user_principal_name,
                teams_user_id=user.id,
                upn=user.user_principal_name,
                rc_extension_id=ext.id if ext else None,
                sync_enabled=True,
                state=LinkState.LINKED,
            )
        )
    links.sort(key=lambda link: link.email)
    return links if count is None else links[:count]


def free_socket() -> socket.socket:
    """A listening-ready socket on a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Product:
    """One running replica of the product app."""

    app: web.Application
    runner: web.AppRunner
    base_url: str
    providers: SandboxProviders

    @property
    def store(self) -> Store:
        """The replica's opened store."""
        return self.app[STORE].store

    @property
    def watchers(self) -> Watchers:
        """The replica's watchers."""
        return self.app[WATCHERS]

    async def close(self) -> None:
        """Stop the replica."""
        await self.runner.cleanup()


@dataclass
class ProductFactory:
    """Starts replicas against one sandbox and one store."""

    sandbox: ClientSandbox
    tmp_path: Path
    store_url: str = ""
    secret_key: str = field(default_factory=lambda: Fernet.generate_key().decode())
    started: list[Product] = field(default_factory=list)
    _tokens: GraphTokenProvider | None = None

    async def tokens(self, accounts: Sequence[str]) -> GraphTokenProvider:
        """One MSAL token provider with every sync account signed in (shared by replicas)."""
        if self._tokens is None:
            self._tokens = self.sandbox.graph_tokens()
            for upn in accounts:
                await sign_in(self.sandbox, self._tokens, upn)
        return self._tokens

    async def start(
        self,
        *,
        accounts: Sequence[str] = (),
        settings: dict[str, Any] | None = None,
        tick: float = 0.05,
        graph_timeout: float = 5.0,
        wrap: Callable[[SandboxProviders], Providers] | None = None,
        loop_policy: LoopPolicy | None = None,
    ) -> Product:
        """Start one replica; it starts watching once its store opened."""
        sock = free_socket()
        port = sock.getsockname()[1]
        base_url = f"http://127.0.0.1:{port}"
        options: dict[str, Any] = {
            "public_url": base_url,
            "port": port,
            "store_url": self.store_url or f"sqlite:///{self.tmp_path / 'store.db'}",
            "secret_key": self.secret_key,
            "data_dir": self.tmp_path,
            "metrics_enabled": False,
            # Where the webhook finds Entra ID's keys to check Graph's validation tokens.
            "microsoft_tenant_id": self.sandbox.config.tenant_id,
            "microsoft_client_id": self.sandbox.config.app_client_id,
            "microsoft_authority_host": f"{self.sandbox.base_url}/entra",
            "ca_file": self.sandbox.ca_file,
            **(settings or {}),
        }
        http = self.sandbox.product_session()
        tokens = await self.tokens(accounts)
        providers = SandboxProviders(
            self.sandbox.graph_client(
                http,
                tokens=tokens,
                timeout=graph_timeout,
                max_retries=1 if graph_timeout < 5 else 3,
            ),
            self.sandbox.rc_client(http),
            list(accounts),
        )
        clock = self.sandbox.ctx.clock
        app = create_app(
            Settings(**options),
            providers=providers if wrap is None else wrap(providers),
            loop_policy=loop_policy,
            watch_options=WatchOptions(
                clock=clock.now, time_scale=clock.scale, tick=tick, roster_every=0.1
            ),
        )
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        product = Product(app, runner, base_url, providers)
        self.started.append(product)
        await eventually(lambda: _started(product), within=20)
        return product

    async def close(self) -> None:
        """Stop every replica started."""
        for product in reversed(self.started):
            await product.close()


async def _started(product: Product) -> bool:
    app = product.app
    return SUPERVISOR in app and "watch-inbox" in app[SUPERVISOR].names


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float = 10.0, interval: float = 0.05
) -> None:
    """Wait until `check()` is true; fail the test once `within` seconds passed."""
    deadline = time.monotonic() + within
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(interval)


async def steadily(
    check: Callable[[], Awaitable[bool]], hold: float = 1.0, within: float = 20.0
) -> None:
    """Wait until `check()` has stayed true for `hold` seconds (other services settle first)."""
    deadline = time.monotonic() + within
    since: float | None = None
    while True:
        now = time.monotonic()
        if await check():
            since = now if since is None else since
            if now - since >= hold:
                return
        else:
            since = None
        if now > deadline:
            raise AssertionError(f"condition not steady for {hold} s within {within} s")
        await asyncio.sleep(0.05)
