"""The RingCentral emulation inside the full HTTPS sandbox, as the product and the demo meet it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import requests
from aiohttp import web
from ringcentral.http import Client
from ringcentral.http.api_exception import ApiException
from ringcentral.http.api_response import ApiResponse
from ringcentral.platform.platform import Platform

from sandbox.server import RunningSandbox


class _TrustingClient(Client):  # type: ignore[misc]
    """The SDK's HTTP client trusting the sandbox CA.

    The SDK sends prepared requests through `Session.send`, which skips `REQUESTS_CA_BUNDLE`,
    so the CA has to be given to the session itself.
    """

    def __init__(self, ca_file: str) -> None:
        super().__init__()
        self.ca_file = ca_file

    def load_response(self, request: requests.PreparedRequest) -> ApiResponse:
        """Send with a session that verifies against the sandbox CA."""
        with requests.Session() as session:
            session.verify = self.ca_file
            return ApiResponse(request, session.send(request, timeout=10))


async def _login(sandbox: RunningSandbox) -> Platform:
    config = sandbox.config
    platform = Platform(
        _TrustingClient(sandbox.ca_file),
        config.rc_client_id,
        config.rc_client_secret,
        f"{sandbox.base_url}/ringcentral",
    )
    await asyncio.to_thread(platform.login, jwt=config.rc_jwt)
    return platform


async def test_sdk_logs_in_over_tls_and_finds_the_admin(sandbox: RunningSandbox) -> None:
    platform = await _login(sandbox)
    me = (await asyncio.to_thread(platform.get, "/restapi/v1.0/account/~/extension/~")).json_dict()
    assert me["contact"]["email"] == "admin@contoso.example"
    await asyncio.to_thread(platform.refresh)
    users = (
        await asyncio.to_thread(
            platform.get, "/restapi/v1.0/account/~/extension", {"type": "User", "perPage": 1000}
        )
    ).json_dict()
    expected = [e for e in sandbox.ctx.org.rc_extensions.values() if e.type == "User"]
    assert users["paging"]["totalElements"] == len(expected)


async def test_a_call_shows_in_state_and_presence_puts_are_counted(
    sandbox: RunningSandbox,
) -> None:
    platform = await _login(sandbox)
    status, _ = await sandbox.control(
        "POST", "/_sandbox/ringcentral/admin@contoso.example/call", {"action": "connect"}
    )
    assert status == 200
    status, person = await sandbox.control("GET", "/_sandbox/state/admin@contoso.example")
    assert status == 200
    presence = person["ringcentral"]["presence"]
    assert (presence["telephonyStatus"], presence["presenceStatus"]) == ("CallConnected", "Busy")

    path = f"/restapi/v1.0/account/~/extension/{presence['extensionId']}/presence"
    await asyncio.to_thread(platform.put, path, {"userStatus": "Busy"})
    _, counts = await sandbox.control("GET", "/_sandbox/requests")
    put_keys = [k for k in counts["calls"] if k.startswith("ringcentral PUT ")]
    route = "/ringcentral/restapi/v1.0/account/{accountId}/extension/{extensionId}/presence"
    assert put_keys == [f"ringcentral PUT {route}"]


async def test_429s_show_in_the_request_counts(sandbox: RunningSandbox) -> None:
    platform = await _login(sandbox)
    for _ in range(10):
        await asyncio.to_thread(platform.get, "/restapi/v1.0/account/~/presence")
    with pytest.raises(ApiException):
        await asyncio.to_thread(platform.get, "/restapi/v1.0/account/~/presence")
    _, counts = await sandbox.control("GET", "/_sandbox/requests")
    assert counts["total_throttled"] == 1


async def test_webhooks_leave_the_sandbox_for_the_product_endpoint(sandbox: RunningSandbox) -> None:
    received: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        token = request.headers.get("Validation-Token")
        if token:
            return web.Response(headers={"Validation-Token": token})
        received.append(await request.json())
        arrived.set()
        return web.Response()

    app = web.Application()
    app.router.add_post("/rc", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        platform = await _login(sandbox)
        body = {
            "eventFilters": ["/restapi/v1.0/account/~/presence?detailedTelephonyState=true"],
            "deliveryMode": {"transportType": "WebHook", "address": f"http://127.0.0.1:{port}/rc"},
        }
        await asyncio.to_thread(platform.post, "/restapi/v1.0/subscription", body)
        await sandbox.control(
            "POST",
            "/_sandbox/ringcentral/admin@contoso.example/presence",
            {"userStatus": "Offline"},
        )
        async with asyncio.timeout(5):
            await arrived.wait()
        assert received[0]["body"]["userStatus"] == "Offline"
        assert received[0]["body"]["presenceStatus"] == "Offline"
    finally:
        await runner.cleanup()
