"""The real product server pointed at the HTTPS sandbox, and a headless admin's browser.

`ProductServer` runs `create_app(settings)` on a loopback port (so `PUBLIC_URL` and the
redirect URIs Entra sends the browser back to are real), on a SQLite or MongoDB store.
`Browser` follows redirects between the product and the sandbox as a browser would,
including Entra's auto-submitting `form_post` page, signed in to the tab as the admin (every
connection route needs a signed-in admin).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from presence_sync.app import create_app
from presence_sync.connections import Connections
from presence_sync.demo.browser import HeadlessBrowser
from presence_sync.demo.signin import SignedInAdmin, sign_in
from presence_sync.settings import Settings
from presence_sync.store import Store
from presence_sync.web.keys import CONNECTIONS, STORE
from sandbox.server import RunningSandbox

ADMIN = "admin@contoso.example"
SYNC1 = "sync1@contoso.example"
SYNC2 = "sync2@contoso.example"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def product_settings(
    sandbox: RunningSandbox, store_url: str, data_dir: Path, port: int, secret_key: str
) -> Settings:
    """Settings of a deployment whose Microsoft and RingCentral are this sandbox."""
    config = sandbox.config
    return Settings(
        host="127.0.0.1",
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        store_url=store_url,
        data_dir=data_dir,
        secret_key=secret_key,
        ca_file=Path(sandbox.ca_file),
        http_timeout=5.0,
        microsoft_tenant_id=config.tenant_id,
        microsoft_client_id=config.app_client_id,
        microsoft_client_secret=config.app_client_secret,
        microsoft_authority_host=f"{sandbox.base_url}/entra",
        graph_url=f"{sandbox.base_url}/graph/v1.0",
        ringcentral_server_url=f"{sandbox.base_url}/ringcentral",
        ringcentral_client_id=config.rc_client_id,
        ringcentral_client_secret=config.rc_client_secret,
        ringcentral_jwt=config.rc_jwt,
        # The installer names themselves: before consent only ADMIN_EMAILS can sign in as admins.
        admin_emails=(ADMIN,),
    )


@dataclass
class ProductServer:
    """A running product server."""

    settings: Settings
    runner: web.AppRunner
    stopped: bool = False

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self.settings.public_url

    @property
    def app(self) -> web.Application:
        """The aiohttp application."""
        return self.runner.app

    @property
    def connections(self) -> Connections:
        """The server's `Connections`."""
        return self.app[CONNECTIONS]

    async def store(self) -> Store:
        """The server's opened store."""
        return await self.app[STORE].wait_opened()

    async def stop(self) -> None:
        """Shut the server down, running every cleanup context (once)."""
        if not self.stopped:
            self.stopped = True
            await self.runner.cleanup()


async def start_product(
    settings: Settings, clock: Callable[[], float] = time.time
) -> ProductServer:
    """Serve `create_app(settings)` on its configured port and wait for the first re-check;
    the product's timers (and its sign-in limits) run on `clock`."""
    runner = web.AppRunner(create_app(settings, clock=clock), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    server = ProductServer(settings, runner)
    await server.connections.first_check_done.wait()
    return server


class _FormFields(HTMLParser):
    """The action and fields of the first form on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = found.get("action") or ""
        elif tag == "input" and found.get("name"):
            self.fields[str(found["name"])] = found.get("value") or ""


@dataclass
class Page:
    """Where the browser ended up: status, URL and HTML."""

    status: int
    url: str
    text: str


class Browser:
    """An admin's browser: follows redirects, submits Entra's form_post pages, and once signed
    in carries the session cookie (and the CSRF token on changes)."""

    def __init__(self, ca_file: str) -> None:
        self.headless = HeadlessBrowser(ca_file)
        self.admin: SignedInAdmin | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        """The browser's session: its cookie jar holds the tab's session cookie."""
        return self.headless.session

    async def sign_in(self, product: ProductServer, email: str = ADMIN) -> SignedInAdmin:
        """Sign `email` in to the product's tab, as they would outside Teams."""
        self.admin = await sign_in(self.headless, product.url, email)
        return self.admin

    async def close(self) -> None:
        """Close the browser."""
        await self.headless.close()

    async def open(self, url: str) -> Page:
        """Open `url` and follow redirects and auto-submitting forms to the final page."""
        async with self.http.get(url) as response:
            page = Page(response.status, str(response.url), await response.text())
        form = _FormFields()
        form.feed(page.text)
        if "document.forms[0].submit()" in page.text and form.action:
            async with self.http.post(form.action, data=form.fields) as response:
                return Page(response.status, str(response.url), await response.text())
        return page

    async def redirect_of(self, url: str) -> str:
        """The Location `url` redirects to, without following it."""
        async with self.http.get(url, allow_redirects=False) as response:
            assert response.status in (302, 303), await response.text()
            return response.headers["Location"]

    async def call(self, method: str, url: str, body: Any = None) -> tuple[int, Any]:
        """Call a product JSON route as the signed-in tab does: (status, JSON or None)."""
        assert self.admin is not None, "sign in first"
        return await self.admin.call(method, url, body)


async def control(sandbox: RunningSandbox, method: str, path: str, body: Any = None) -> Any:
    """Call the sandbox control API, asserting it accepted the call."""
    status, answer = await sandbox.control(method, path, body)
    assert status < 400, (method, path, status, answer)
    return answer


async def consent_and_authorise(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox, upn: str = SYNC1
) -> None:
    """Consent (as given in the portal), then sign sync account `upn` in through the product."""
    await control(sandbox, "POST", "/_sandbox/consent", {"granted": True})
    await product.connections.microsoft.check()
    page = await browser.open(f"{product.url}/connect/microsoft/sync-account?login_hint={upn}")
    assert "Sync account authorised" in page.text
