"""A product server on a seeded store, and tab API clients signed in as Teams SSO would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator

from presence_sync.secrets import SecretBox
from presence_sync.store import LinkState, Store, UserLink
from presence_sync.web.openapi import DOCUMENT
from sandbox.server import RunningSandbox
from tests.connections.product import (
    ProductServer,
    free_port,
    product_settings,
    start_product,
)

ADMIN = "admin@contoso.example"  # the sandbox's Global Administrator (wids)


def schema_check(name: str, body: Any) -> None:
    """Fail unless `body` is what the OpenAPI document says `name` is."""
    validator = Draft202012Validator({**DOCUMENT, "$ref": f"#/components/schemas/{name}"})
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{name}: " + "; ".join(
        f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]
    )


@dataclass
class TabClient:
    """Calls the tab API with one person's Teams SSO token."""

    http: aiohttp.ClientSession
    base: str
    token: str | None

    async def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        return await self.call_raw(method, path, data, headers)

    async def call_raw(
        self, method: str, path: str, data: bytes | None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """Send `data` exactly as given (a JSON body when not None)."""
        sent = dict(headers or {})
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token}"
        if data is not None:
            sent["Content-Type"] = "application/json"
        async with self.http.request(method, f"{self.base}{path}", data=data, headers=sent) as r:
            text = await r.text()
            try:
                return r.status, json.loads(text) if text else None
            except ValueError:
                return r.status, text


async def sso_token(sandbox: RunningSandbox, email: str, **options: Any) -> str:
    """What teams-js getAuthToken() gives `email` in the tab."""
    body = {"audience": sandbox.config.app_client_id, **options}
    status, answer = await sandbox.control("POST", f"/_sandbox/teams/{email}/sso-token", body)
    assert status == 200, answer
    return str(answer["token"])


def seeded_links() -> list[UserLink]:
    """Fifteen people: synced, not synced, unmatched, and two whose last write failed."""
    links = []
    for i in range(15):
        kind = "synced" if i < 6 else "idle" if i < 10 else "unmatched" if i < 13 else "failed"
        links.append(
            UserLink(
                id=f"link-{i:03d}",
                email=f"person{i:02d}@contoso.example",
                display_name=f"Person {i:02d} " + ("Nakamura" if i == 7 else "Smith"),
                teams_user_id=f"aad-{i}",
                upn=f"person{i:02d}@contoso.example",
                rc_extension_id=None if kind == "unmatched" else f"ext-{i}",
                rc_extension_number=None if kind == "unmatched" else str(100 + i),
                sync_enabled=kind in ("synced", "failed"),
                state=LinkState.UNMATCHED if kind == "unmatched" else LinkState.LINKED,
                reason="no RingCentral user with this email" if kind == "unmatched" else None,
                last_error="RingCentral refused the write (400)" if kind == "failed" else None,
            )
        )
    return links


@pytest.fixture
async def product(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[ProductServer]:
    """A product server on SQLite, its store seeded with people."""
    settings = product_settings(
        sandbox,
        f"sqlite:///{tmp_path / 'tab.db'}",
        tmp_path / "data",
        free_port(),
        SecretBox.generate_key(),
    )
    server = await start_product(settings)
    store: Store = await server.store()
    await store.upsert_links(seeded_links())
    yield server
    await server.stop()


@pytest.fixture
async def admin(sandbox: RunningSandbox, product: ProductServer) -> TabClient:
    """The Global Administrator in the tab."""
    return TabClient(sandbox.http, product.url, await sso_token(sandbox, ADMIN))


@pytest.fixture
async def non_admin(sandbox: RunningSandbox, product: ProductServer) -> TabClient:
    """Someone in the tenant who holds no admin role."""
    user = next(
        u
        for u in sandbox.ctx.org.teams_users.values()
        if not u.roles and u.account_enabled and u.user_principal_name.startswith("sync")
    )
    return TabClient(sandbox.http, product.url, await sso_token(sandbox, user.user_principal_name))
