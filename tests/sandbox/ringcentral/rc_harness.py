"""Test harness: a RingCentral-only sandbox on loopback, a webhook receiver, the real SDK."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
from aiohttp import web
from ringcentral import SDK
from ringcentral.platform.platform import Platform

from sandbox.context import SandboxContext
from sandbox.model import CallQueue, Org, RcExtension
from sandbox.ringcentral import RingCentralState

RC_CLIENT_ID = "rc-client-id"
RC_CLIENT_SECRET = "rc-client-secret"
RC_JWT = "rc-jwt-credential"
ACCOUNT_ID = "400123001"
QUEUE_MEMBERS = 5  # users 1..5 (not the admin) belong to the one call queue


def make_org(mode: str = "legacy", users: int = 250) -> Org:
    """An account with an admin, `users - 1` more users, one call queue and an announcement."""
    org = Org(
        "tenant-1", "contoso.example", ACCOUNT_ID, rc_mode="chs" if mode == "chs" else "legacy"
    )
    for i in range(users):
        ext_id = str(62_000_000 + i)
        local = "admin" if i == 0 else f"user{i:04d}"
        name = "Avery Admin" if i == 0 else f"User {i:04d}"
        org.rc_extensions[ext_id] = RcExtension(
            ext_id, str(101 + i), name, f"{local}@contoso.example"
        )
    queue_id = "63000000"
    members = [str(62_000_000 + i) for i in range(1, QUEUE_MEMBERS + 1)]
    org.rc_extensions[queue_id] = RcExtension(queue_id, "900", "Support Queue", None, "Department")
    org.call_queues[queue_id] = CallQueue(queue_id, "Support Queue", "900", members)
    for member in members:
        org.rc_extensions[member].queue_ids.append(queue_id)
    org.rc_extensions["63000001"] = RcExtension("63000001", "950", "Welcome", None, "Announcement")
    return org


@dataclass
class HookReceiver:
    """A webhook endpoint: echoes Validation-Token (unless told not to) and records deliveries."""

    url: str = ""
    echo: bool = True
    handshake_status: int = 200
    notify_status: int = 200
    notify_delay: float = 0.0
    handshake_delay: float = 0.0
    received: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    attempts: int = 0
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        """Answer a handshake or a notification as configured."""
        token = request.headers.get("Validation-Token")
        if token is not None:
            await asyncio.sleep(self.handshake_delay)
            headers = {"Validation-Token": token} if self.echo else {}
            return web.json_response({}, status=self.handshake_status, headers=headers)
        body = await request.json()
        await asyncio.sleep(self.notify_delay)
        async with self._changed:
            self.attempts += 1
            if self.notify_status < 300:
                self.received.append((dict(request.headers), body))
            self._changed.notify_all()
        return web.Response(status=self.notify_status)

    async def wait_for(self, count: int, within: float = 5.0, attempts: bool = False) -> None:
        """Wait until `count` notifications were received (or attempted)."""

        def done() -> bool:
            return (self.attempts if attempts else len(self.received)) >= count

        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(done)


@dataclass
class RcSandbox:
    """A running RingCentral emulation and the means to drive it."""

    ctx: SandboxContext
    state: RingCentralState
    root: str  # http://127.0.0.1:PORT
    hooks: HookReceiver
    http: aiohttp.ClientSession

    @property
    def server_url(self) -> str:
        """The SDK's server URL."""
        return f"{self.root}/ringcentral"

    @property
    def api(self) -> str:
        """The REST API prefix."""
        return f"{self.root}/ringcentral/restapi/v1.0"

    def sdk(self) -> Platform:
        """A fresh, not yet logged-in SDK platform."""
        return SDK(RC_CLIENT_ID, RC_CLIENT_SECRET, self.server_url).platform()

    async def login(self) -> Platform:
        """An SDK platform logged in with the configured JWT credential."""
        platform = self.sdk()
        await asyncio.to_thread(platform.login, jwt=RC_JWT)
        return platform

    async def token(self) -> str:
        """A fresh access token obtained over plain HTTP."""
        async with self.http.post(
            f"{self.root}/ringcentral/restapi/oauth/token",
            headers={"Authorization": aiohttp.encode_basic_auth(RC_CLIENT_ID, RC_CLIENT_SECRET)},
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": RC_JWT},
        ) as resp:
            assert resp.status == 200, await resp.text()
            return str((await resp.json())["access_token"])

    async def control(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST to /_sandbox/ringcentral/{path}."""
        async with self.http.post(f"{self.root}/_sandbox/ringcentral/{path}", json=body) as resp:
            return resp.status, await resp.json()

    def ext(self, index: int) -> RcExtension:
        """The index-th user extension of `make_org`."""
        return self.ctx.org.rc_extensions[str(62_000_000 + index)]


StartRc = Callable[..., Awaitable[RcSandbox]]


# -- the authorization-code sign-in ------------------------------------------------------

REDIRECT = "http://127.0.0.1:9/connect/ringcentral/oauth/callback"


def pkce() -> tuple[str, str]:
    """A PKCE (verifier, S256 challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_in_query(challenge: str, **extra: str) -> dict[str, str]:
    """The authorize query the product sends."""
    return {
        "response_type": "code",
        "client_id": RC_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "state": "st-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


async def authorize(rc: RcSandbox, query: dict[str, str]) -> aiohttp.ClientResponse:
    """GET the authorize page without following its redirect."""
    url = f"{rc.server_url}/restapi/oauth/authorize?{urlencode(query)}"
    async with rc.http.get(url, allow_redirects=False) as response:
        await response.read()
        return response


async def redirected(rc: RcSandbox, query: dict[str, str]) -> dict[str, str]:
    """The parameters the authorize page sends back to the redirect URI."""
    response = await authorize(rc, query)
    assert response.status == 302, response.status
    location = response.headers["Location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def code_for(rc: RcSandbox, email: str, challenge: str) -> str:
    """An authorization code for `email`, signed in headlessly with login_hint."""
    back = await redirected(rc, sign_in_query(challenge, login_hint=email))
    assert back["state"] == "st-123"
    return back["code"]


async def sdk_login(rc: RcSandbox, code: str, verifier: str, redirect: str = REDIRECT) -> Platform:
    """Redeem `code` the way the product does: the SDK's code login."""
    platform = rc.sdk()
    await asyncio.to_thread(platform.login, code=code, redirect_uri=redirect, verifier=verifier)
    return platform
