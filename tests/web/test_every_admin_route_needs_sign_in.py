"""Every route the product serves answers a stranger 401, unless it is listed below with why.

The routes are read from the application itself, so a route added later without a guard fails
here until it is guarded or listed (with its reason) as public.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, ContentTypeError, web
from aiohttp.test_utils import TestClient

from presence_sync.app import create_app
from presence_sync.secrets import SecretBox
from presence_sync.settings import Settings
from presence_sync.web.auth.routes import CALLBACK, LOGIN
from presence_sync.web.consent import (
    CONSENT_CALLBACK,
    RINGCENTRAL_CALLBACK,
    SYNC_ACCOUNT_CALLBACK,
)
from presence_sync.web.keys import AUTH
from presence_sync.web.messages import BOT_MESSAGES
from presence_sync.web.webhooks import (
    GRAPH_LIFECYCLE,
    GRAPH_NOTIFICATIONS,
    RINGCENTRAL_NOTIFICATIONS,
)
from sandbox.server import RunningSandbox
from tests.connections.product import free_port, product_settings
from tests.web.tab_session import bearer, member, sso_token

ClientFactory = Callable[[web.Application], Awaitable[TestClient]]

# Routes anyone may call, each with the reason it needs no signed-in admin.
PUBLIC = {
    # Graph and RingCentral deliver notifications: each checks its own client state,
    # validation token or verification token (presence_sync/web/webhooks.py).
    ("POST", GRAPH_NOTIFICATIONS),
    ("POST", GRAPH_LIFECYCLE),
    ("POST", RINGCENTRAL_NOTIFICATIONS),
    # The bot: the Bot Framework's signed JWT is checked by the bot's own authentication.
    ("POST", BOT_MESSAGES),
    # Where Entra and RingCentral send the browser back: each checks its single-use state.
    ("GET", CONSENT_CALLBACK),
    ("POST", SYNC_ACCOUNT_CALLBACK),
    ("GET", SYNC_ACCOUNT_CALLBACK),
    ("GET", RINGCENTRAL_CALLBACK),
    # Signing in itself: nobody is signed in yet.
    ("GET", LOGIN),
    ("POST", CALLBACK),
    ("GET", CALLBACK),
    # Signing out with no live session changes nothing; it answers 204 and clears the cookie.
    ("POST", "/tab/auth/logout"),
    # The app package's about, privacy and terms links: Teams shows them before install.
    ("GET", "/about"),
    ("GET", "/about/privacy"),
    ("GET", "/about/terms"),
    # Probes and Prometheus: they say nothing about the organisation.
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
}
# Any signed-in person may ask who they are and sign out; everything else needs an admin.
SIGNED_IN = {("GET", "/api/tab/session"), ("POST", "/tab/auth/logout")}


def public(method: str, path: str) -> bool:
    """Whether a stranger may call `method path`."""
    method = "GET" if method == "HEAD" else method
    if (method, path) in PUBLIC:
        return True
    # The tab's own files (pages, scripts, config.json, whether served one by one or as a
    # folder) hold no data: the tab asks the API who is signed in. Its sign-in routes are not
    # files, and are listed above one by one.
    under_tab = path == "/tab" or path.startswith("/tab/")
    if method == "GET" and under_tab and not path.startswith("/tab/auth/"):
        return True
    # The API's description, for whoever builds against it.
    return (method, path) == ("GET", "/api/tab/openapi.json")


def served(app: web.Application) -> list[tuple[str, str, str]]:
    """(method, canonical path, a concrete path to call) of every route of `app`."""
    found = []
    for route in app.router.routes():
        resource = route.resource
        assert resource is not None
        canonical = resource.canonical
        info = resource.get_info()
        if "prefix" in info:  # a static folder: call a file in it
            concrete = f"{str(info['prefix']).rstrip('/')}/index.html"
        else:
            concrete = re.sub(r"\{[^}]+\}", "someone@contoso.example", canonical)
        found.append((route.method, canonical, concrete))
    return found


def app_settings(sandbox: RunningSandbox, tmp_path: Path) -> Settings:
    return product_settings(
        sandbox,
        f"sqlite:///{tmp_path / 'store.db'}",
        tmp_path / "data",
        free_port(),
        SecretBox.generate_key(),
    )


@pytest.fixture
async def client(
    sandbox: RunningSandbox, tmp_path: Path, aiohttp_client: ClientFactory
) -> TestClient:
    """The product's application, as `create_app` builds it for a deployment on the sandbox."""
    return await aiohttp_client(create_app(app_settings(sandbox, tmp_path)))


async def strangers_let_in(client: TestClient) -> list[str]:
    """The routes that answered an anonymous request with anything but a 401 in JSON."""
    wrong = []
    for method, canonical, path in served(client.app):
        if public(method, canonical):
            continue
        async with client.request(method, path, allow_redirects=False) as response:
            error = await _error(response) if method != "HEAD" else None
        # HEAD answers carry no body: the status must say it.
        said = method == "HEAD" or (
            error is not None and error.get("code") == "unauthenticated" and error.get("message")
        )
        if response.status != 401 or not said:
            wrong.append(f"{method} {canonical} answered {response.status}")
    return wrong


async def test_every_route_but_the_public_ones_answers_a_stranger_401(
    client: TestClient,
) -> None:
    assert await strangers_let_in(client) == []
    # The list names only routes that exist: a renamed one would not stay public by mistake.
    routes = {(method, canonical) for method, canonical, _ in served(client.app)}
    assert routes >= PUBLIC
    assert routes - PUBLIC, "the admin routes are served"


async def test_a_route_added_without_a_guard_is_caught(
    sandbox: RunningSandbox, tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    async def unguarded(request: web.Request) -> web.Response:
        return web.json_response({"everyone": "welcome"})

    app = create_app(app_settings(sandbox, tmp_path))
    app.router.add_get("/api/people", unguarded)
    client = await aiohttp_client(app)

    assert sorted(await strangers_let_in(client)) == [
        "GET /api/people answered 200",
        "HEAD /api/people answered 200",
    ]


async def test_every_admin_route_answers_someone_who_is_not_an_admin_403(
    client: TestClient, sandbox: RunningSandbox
) -> None:
    # A valid SSO token for the product's own audience, of a member with no admin role.
    public_url = client.app[AUTH].public_url
    token = sso_token(sandbox, public_url, member(sandbox).user_principal_name)
    wrong, checked = [], set()
    for method, canonical, path in served(client.app):
        if public(method, canonical) or (method, canonical) in SIGNED_IN or method == "HEAD":
            continue
        checked.add((method, canonical))
        async with client.request(
            method, path, headers=bearer(token), allow_redirects=False
        ) as response:
            error = await _error(response) or {}
        reason = str(error.get("message", ""))
        if response.status != 403 or "not a Presence Sync admin" not in reason:
            wrong.append(f"{method} {canonical} answered {response.status}: {error}")
    assert wrong == []
    assert {
        ("GET", "/connect/microsoft/consent"),
        ("DELETE", "/connect/microsoft/sync-account/{upn}"),
        ("POST", "/connect/ringcentral"),
        ("GET", "/api/connections"),
        ("POST", "/api/tab/steps"),
    } <= checked


async def _error(response: ClientResponse) -> dict[str, Any] | None:
    """The `error` object of a JSON answer, or None when the answer is not one."""
    try:
        answer = await response.json()
    except (ContentTypeError, ValueError):
        return None
    error = answer.get("error") if isinstance(answer, dict) else None
    return error if isinstance(error, dict) else None
