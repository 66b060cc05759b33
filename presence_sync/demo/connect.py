"""Connects the demo's product to both platforms through its real consent and sign-in routes.

Driven headlessly as an admin would click through the tab: admin consent approved by the
seeded Global Administrator, a delegated sync account authorised with `login_hint`, then
RingCentral connected with its JWT credential. Success is read back from the stored connection
records, not from the pages, so the demo reports what the product itself believes.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from presence_sync.connections import MICROSOFT, RINGCENTRAL, sync_account_kind
from presence_sync.demo.browser import HeadlessBrowser, Page
from presence_sync.demo.control import ControlError, SandboxControl
from presence_sync.demo.signin import SignInError, sign_in
from presence_sync.store import Connection, ConnectionStatus, Store
from presence_sync.web.auth.limits import STARTS_PER_MINUTE

if TYPE_CHECKING:
    from presence_sync.admin import JobView
    from presence_sync.demo.server import ProductServer

__all__ = [
    "CONSENT_ROUTES",
    "ConnectError",
    "Connected",
    "admin_email",
    "connect_all",
    "connect_and_sync_all",
    "missing_routes",
]

logger = logging.getLogger(__name__)

# The product's routes the demo drives (presence_sync/web/consent.py).
CONSENT_ROUTES = {
    "admin consent": "/connect/microsoft/consent",
    "sync account sign-in": "/connect/microsoft/sync-account",
    "RingCentral connect": "/connect/ringcentral",
}
# The product records the outcome before it answers the sign-in's last redirect; a short
# grace covers a record written just after.
CONNECTED_WAIT = 3.0


class ConnectError(Exception):
    """A connection step failed; the message names the step and the product's reason."""


@dataclass(frozen=True)
class Connected:
    """What the demo connected."""

    admin: str
    sync_accounts: tuple[str, ...]


def missing_routes(app: web.Application) -> list[str]:
    """The consent routes the product does not serve yet, as `name (path)`."""
    served = {resource.canonical for resource in app.router.resources()}
    return [f"{name} ({path})" for name, path in CONSENT_ROUTES.items() if path not in served]


def admin_email(config: dict[str, Any]) -> str:
    """The sandbox org's Global Administrator, who grants consent and asks for `sync all`."""
    for admin in config.get("admins", []):
        if "Global Administrator" in admin.get("roles", []):
            return str(admin["email"])
    raise ConnectError("the sandbox org has no Global Administrator to grant consent")


async def connect_and_sync_all(
    server: ProductServer,
    control: SandboxControl,
    config: dict[str, Any],
    ca_file: str,
    *,
    sync_accounts: int = 1,
) -> tuple[Store, JobView]:
    """Connect `server` to both platforms as the admin would, then sync everyone.

    For benchmarks and tests that need the product running on a sandbox org; the store once
    open, and the finished `sync all` job.
    """
    from presence_sync.demo.jobs import refresh_directory, sync_all
    from presence_sync.web.keys import STORE

    store = await asyncio.wait_for(server.app[STORE].wait_opened(), 30)
    admin = admin_email(config)
    accounts = list(config.get("sync_account_candidates", []))[: max(1, sync_accounts)]
    await connect_all(server.url, store, control, ca_file, admin=admin, sync_accounts=accounts)
    await refresh_directory(server.app)
    return store, await sync_all(server.app, admin)


async def connect_all(
    product_url: str,
    store: Store,
    control: SandboxControl,
    ca_file: str,
    *,
    admin: str,
    sync_accounts: Iterable[str],
    progress: Callable[[str], None] | None = None,
) -> Connected:
    """Admin consent, sync account sign-ins and RingCentral, each confirmed in the store.

    `progress` hears each step as it begins.
    """
    accounts = tuple(sync_accounts)
    browser = HeadlessBrowser(ca_file)
    tell = progress or (lambda _step: None)
    pace = _Pace(tell)
    try:
        # The sandbox answers Entra's sign-in and consent pages for the admin, as the admin's
        # clicks would; every connection route needs the admin signed in to the tab first.
        tell(f"signing {admin} in to the tab")
        await control.consent(sign_in_as=admin, admin_decision="approve")
        try:
            signed_in = await sign_in(browser, product_url, admin)
        except SignInError as err:
            raise ConnectError(f"signing in as {admin} failed: {err}") from err
        tell(f"admin consent by {admin}")
        await pace.start()
        page = await browser.visit(_url(product_url, "admin consent", login_hint=admin))
        await _confirm(store, MICROSOFT, "admin consent", page)
        for upn in accounts:
            tell(f"authorising the sync account {upn}")
            await pace.start()
            await control.consent(sign_in_as=upn)
            page = await browser.visit(_url(product_url, "sync account sign-in", login_hint=upn))
            await _confirm(store, sync_account_kind(upn), f"sync account {upn}", page)
        tell("connecting RingCentral")
        await pace.start()
        page = await signed_in.visit(_url(product_url, "RingCentral connect"), method="POST")
        await _confirm(store, RINGCENTRAL, "RingCentral connect", page)
    finally:
        await browser.close()
        # Leave the sandbox's sign-in pages to people again; a sandbox that is gone is
        # reported by whoever called, so a failure here must not hide that error.
        with contextlib.suppress(ControlError, aiohttp.ClientError):
            await control.consent(sign_in_as=None, admin_decision=None)
    return Connected(admin=admin, sync_accounts=accounts)


START_WINDOW = 60.0  # real seconds: the product's window (its clock may run faster, never slower)


class _Pace:
    """Keeps the sign-in steps within the product's limit of starts a minute per admin.

    An org of more than about 5,000 people has more sync accounts than one minute allows
    (one per 650 people): the steps past the limit wait for the window to move on.
    """

    def __init__(self, tell: Callable[[str], None]) -> None:
        self._tell = tell
        self._starts: deque[float] = deque()

    async def start(self) -> None:
        while len(self._starts) >= STARTS_PER_MINUTE:
            wait = self._starts[0] + START_WINDOW + 0.5 - time.monotonic()
            if wait <= 0:
                self._starts.popleft()
                continue
            self._tell(f"waiting {wait:.0f} s: at most {STARTS_PER_MINUTE} sign-ins a minute")
            await asyncio.sleep(wait)
        self._starts.append(time.monotonic())


def _url(product_url: str, route: str, **query: str) -> str:
    suffix = f"?{urlencode(query)}" if query else ""
    return f"{product_url}{CONSENT_ROUTES[route]}{suffix}"


async def _confirm(store: Store, kind: str, step: str, page: Page) -> Connection:
    deadline = time.monotonic() + CONNECTED_WAIT
    record = await store.get_connection(kind)
    while record is None or record.status != ConnectionStatus.CONNECTED:
        if time.monotonic() > deadline or page.status >= 400:
            reason = (record.reason if record is not None else None) or _page_text(page)
            raise ConnectError(f"{step} failed: {reason}")
        await asyncio.sleep(0.2)
        record = await store.get_connection(kind)
    logger.info("demo: %s done", step)
    return record


def _page_text(page: Page) -> str:
    """What the product said on the page the journey ended at, in one line."""
    try:
        answer = json.loads(page.text)
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        error = answer.get("error")
        said = (
            answer.get("message")
            or answer.get("reason")
            or (error.get("message") if isinstance(error, dict) else error)
        )
        if said:
            return str(said)
    title = re.search(r"<title>(.*?)</title>", page.text, re.S)
    paragraph = re.search(r"<p>(.*?)</p>", page.text, re.S)
    parts = [html.unescape(m.group(1)).strip() for m in (title, paragraph) if m]
    if parts:
        return ": ".join(parts)
    return f"the product answered {page.status} at {page.url.split('?')[0]}"
