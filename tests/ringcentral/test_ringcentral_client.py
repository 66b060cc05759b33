"""RingCentralClient against the sandbox through the real ringcentral SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from presence_sync.errors import RingCentralNotFoundError
from presence_sync.ringcentral.errors import RingCentralRequestError
from presence_sync.ringcentral.models import RcPresence
from tests.graph.client_sandbox import ClientSandbox

TOKEN_ROUTE = "/ringcentral/restapi/oauth/token"


@dataclass
class Store:
    """Where the product keeps the SDK's tokens between restarts (encrypted, in real life)."""

    saved: list[dict[str, Any]] = field(default_factory=list)

    async def save(self, data: dict[str, Any]) -> None:
        self.saved.append(data)

    async def load(self) -> dict[str, Any] | None:
        return self.saved[-1] if self.saved else None


def _users(sandbox: ClientSandbox) -> list[str]:
    return [
        e.id
        for e in sandbox.ctx.org.rc_extensions.values()
        if e.type == "User" and e.status == "Enabled"
    ]


async def test_jwt_login_once_and_tokens_reused_by_a_restarted_client(
    client_sandbox: ClientSandbox,
) -> None:
    store = Store()
    first = client_sandbox.rc_client(
        client_sandbox.product_session(), client_sandbox.rc_auth(store.load, store.save)
    )
    me = await first.current_extension()

    # A restarted process: new SDK, same stored tokens.
    second = client_sandbox.rc_client(
        client_sandbox.product_session(), client_sandbox.rc_auth(store.load, store.save)
    )
    again = await second.current_extension()

    assert me.id == again.id
    assert len(store.saved) == 1
    assert await client_sandbox.count("ringcentral", "POST", TOKEN_ROUTE) == 1


async def test_expired_access_token_is_refreshed_not_logged_in_again(
    client_sandbox: ClientSandbox,
) -> None:
    store = Store()
    client = client_sandbox.rc_client(
        client_sandbox.product_session(), client_sandbox.rc_auth(store.load, store.save)
    )
    await client.current_extension()
    stale = {**store.saved[-1], "expire_time": 0}  # as if the process slept through the hour
    store.saved.append(stale)

    restarted = client_sandbox.rc_client(
        client_sandbox.product_session(), client_sandbox.rc_auth(store.load, store.save)
    )
    await restarted.current_extension()

    assert store.saved[-1]["refresh_token"] != stale["refresh_token"]  # rotated by the refresh
    assert await client_sandbox.count("ringcentral", "POST", TOKEN_ROUTE) == 2


@pytest.mark.parametrize("sandbox_options", [{"users": 1100}])
async def test_user_extensions_page_through_everyone_with_email(
    client_sandbox: ClientSandbox,
) -> None:
    sandbox = client_sandbox
    client = sandbox.rc_client(sandbox.product_session())
    expected = set(_users(sandbox))

    listed = [ext async for ext in client.list_user_extensions()]

    assert {e.id for e in listed} == expected
    assert len(listed) == len(expected)
    assert all(e.type == "User" and e.status == "Enabled" for e in listed)
    assert sum(1 for e in listed if e.email) > len(listed) // 2
    assert await sandbox.count("ringcentral", "GET", "/extension") == 2  # 1,000 per page


async def test_disabled_users_are_listed_only_when_asked_for(
    client_sandbox: ClientSandbox,
) -> None:
    client = client_sandbox.rc_client(client_sandbox.product_session())
    disabled = {
        e.id
        for e in client_sandbox.ctx.org.rc_extensions.values()
        if e.type == "User" and e.status == "Disabled"
    }

    enabled_only = {e.id async for e in client.list_user_extensions()}
    everyone = {e.id async for e in client.list_user_extensions(include_disabled=True)}

    assert disabled, "the generated account has a disabled user to leave out"
    assert not enabled_only & disabled
    assert everyone == enabled_only | disabled


async def test_presence_read_write_and_the_account_mode(client_sandbox: ClientSandbox) -> None:
    client = client_sandbox.rc_client(client_sandbox.product_session())
    ext = _users(client_sandbox)[1]

    written = await client.set_presence(ext, user_status="Busy", dnd_status="DoNotAcceptAnyCalls")
    read = await client.get_presence(ext)

    assert isinstance(read, RcPresence)
    assert (read.user_status, read.dnd_status) == ("Busy", "DoNotAcceptAnyCalls")
    assert (written.user_status, written.dnd_status) == (read.user_status, read.dnd_status)
    assert read.mode == "legacy"
    assert read.telephony_status == "NoCall"


async def test_department_dnd_refused_for_a_non_queue_member_names_the_field(
    client_sandbox: ClientSandbox,
) -> None:
    client = client_sandbox.rc_client(client_sandbox.product_session())
    org = client_sandbox.ctx.org
    loner = next(
        e.id
        for e in org.rc_extensions.values()
        if e.type == "User"
        and not e.queue_ids
        and all(e.id not in q.member_ids for q in org.call_queues.values())
    )

    with pytest.raises(RingCentralRequestError) as refused:
        await client.set_presence(loner, dnd_status="DoNotAcceptDepartmentCalls")

    assert refused.value.refused("dndStatus")
    assert refused.value.error_code == "CMN-101"


async def test_presence_batch_reads_30_per_request(client_sandbox: ClientSandbox) -> None:
    client = client_sandbox.rc_client(client_sandbox.product_session())
    ids = [*_users(client_sandbox)[:31], "999999999"]  # 32 ids, one unknown

    presences = await client.get_presences(ids)

    assert {p.extension_id for p in presences} == set(ids[:31])
    assert await client_sandbox.count("ringcentral", "GET", "/presence") == 2


async def test_rate_limit_headers_are_recorded_per_group(client_sandbox: ClientSandbox) -> None:
    client = client_sandbox.rc_client(client_sandbox.product_session())
    ext = _users(client_sandbox)[0]

    await client.get_presence(ext)
    await client.get_presence(ext)
    await client.set_presence(ext, user_status="Available")

    assert client.limits.remaining("Light") == 48
    assert client.limits.remaining("Medium") == 39
    assert 0 < client.limits.reset_in("Light") <= 60
    assert client.limits.remaining("Heavy") is None


async def test_missing_extension_is_not_found(client_sandbox: ClientSandbox) -> None:
    client = client_sandbox.rc_client(client_sandbox.product_session())

    with pytest.raises(RingCentralNotFoundError):
        await client.get_presence("999999999")


@dataclass
class Hook:
    """A webhook endpoint that echoes RingCentral's Validation-Token."""

    url: str = ""
    handshakes: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        token = request.headers.get("Validation-Token")
        if token is not None:
            self.handshakes += 1
            return web.json_response({}, headers={"Validation-Token": token})
        return web.Response(status=200)


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    """The hook served on a free loopback port."""
    receiver = Hook()
    app = web.Application()
    app.router.add_post("/rc", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/rc"
    yield receiver
    await runner.cleanup()


async def test_subscription_create_renew_get_delete(
    client_sandbox: ClientSandbox, hook: Hook
) -> None:
    client = client_sandbox.rc_client(client_sandbox.product_session())
    account_filter = "/restapi/v1.0/account/~/presence?detailedTelephonyState=true"

    created = await client.create_subscription([account_filter], hook.url, "verify-me", 3600)
    renewed = await client.renew_subscription(created.id)
    fetched = await client.get_subscription(created.id)
    listed = await client.list_subscriptions()
    deleted = await client.delete_subscription(created.id)
    deleted_again = await client.delete_subscription(created.id)

    assert hook.handshakes == 1
    assert created.usable
    assert created.address == hook.url
    assert created.event_filters
    assert created.expiration is not None
    assert renewed.expiration is not None
    assert renewed.expiration >= created.expiration
    assert fetched.id == created.id
    assert [s.id for s in listed] == [created.id]
    assert (deleted, deleted_again) == (True, False)
