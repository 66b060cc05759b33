"""Connecting through the product's real consent routes, clicked through headlessly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from presence_sync.connections import MICROSOFT, RINGCENTRAL, sync_account_kind
from presence_sync.demo.browser import auto_form
from presence_sync.demo.connect import ConnectError, connect_all
from presence_sync.demo.control import SandboxControl
from presence_sync.demo.server import ProductServer, demo_settings, reserve_port
from presence_sync.store import ConnectionStatus, Store
from presence_sync.web.keys import STORE
from sandbox.server import RunningSandbox


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A small org."""
    return {"users": 6}


@pytest.fixture
async def product(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[ProductServer]:
    """The product's server configured for the sandbox, on a free port."""
    config = await SandboxControl(sandbox.base_url, sandbox.http).config()
    sock = reserve_port(0)
    settings = demo_settings(config, port=sock.getsockname()[1], data_dir=tmp_path)
    server = await ProductServer.start(settings, sock)
    yield server
    await server.stop()


async def _store(server: ProductServer) -> Store:
    return await server.app[STORE].wait_opened()


async def test_connect_all_connects_both_platforms_as_the_store_records(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    control = SandboxControl(sandbox.base_url, sandbox.http)
    store = await _store(product)
    connected = await connect_all(
        product.url,
        store,
        control,
        sandbox.ca_file,
        admin="admin@contoso.example",
        sync_accounts=["sync1@contoso.example"],
    )
    assert connected.sync_accounts == ("sync1@contoso.example",)
    for kind in (MICROSOFT, sync_account_kind("sync1@contoso.example"), RINGCENTRAL):
        record = await store.get_connection(kind)
        assert record is not None
        assert record.status == ConnectionStatus.CONNECTED, kind
    consent = await control.call("GET", "/_sandbox/consent")
    assert consent["granted_by"] == "admin@contoso.example"
    assert consent["sign_in_as"] is None, "the sign-in pages are left to people again"


async def _connecting_fails(
    product: ProductServer, control: SandboxControl, sandbox: RunningSandbox, admin: str
) -> str:
    """Connect as `admin`, which must fail: the reason the demo stops with."""
    with pytest.raises(ConnectError) as caught:
        await connect_all(
            product.url,
            await _store(product),
            control,
            sandbox.ca_file,
            admin=admin,
            sync_accounts=[],
        )
    return str(caught.value)


async def test_consent_refused_for_a_teams_admin_stops_with_the_products_reason(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    # A Teams Administrator may use the product (before consent, by the role in their sign-in
    # token), but only a Global Administrator can grant consent: Entra refuses, in words.
    control = SandboxControl(sandbox.base_url, sandbox.http)
    refusal = await _connecting_fails(product, control, sandbox, "teams.admin@contoso.example")
    assert refusal.startswith("admin consent failed: ")
    assert "Global Administrator" in refusal
    assert (await control.call("GET", "/_sandbox/consent"))["granted"] is False


async def test_connecting_as_someone_who_is_not_an_admin_stops_at_sign_in_with_the_reason(
    sandbox: RunningSandbox, product: ProductServer
) -> None:
    control = SandboxControl(sandbox.base_url, sandbox.http)
    refusal = await _connecting_fails(product, control, sandbox, "sync1@contoso.example")
    assert refusal.startswith("signing in as sync1@")
    # The product's own explanation, not a status code: who may administer it.
    assert "not a Presence Sync admin" in refusal
    assert "ADMIN_EMAILS" in refusal
    consent = await control.call("GET", "/_sandbox/consent")
    assert consent["granted"] is False
    assert consent["sign_in_as"] is None, "the sign-in pages are left to people again"


def test_only_self_posting_forms_are_submitted() -> None:
    page = (
        "<html><body onload='document.forms[0].submit()'>"
        "<form method='post' action='https://p.example/cb'>"
        "<input type='hidden' name='code' value='abc'><input type='hidden' name='state' "
        "value='s1'></form></body></html>"
    )
    assert auto_form(page) == ("post", "https://p.example/cb", {"code": "abc", "state": "s1"})
    assert auto_form(page.replace(" onload='document.forms[0].submit()'", "")) is None
