"""RingCentral OAuth with the real `ringcentral` SDK: JWT login, refresh, refusals, revocation."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from rc_harness import RC_CLIENT_ID, RC_JWT, RcSandbox, StartRc
from ringcentral.http.api_exception import ApiException


async def test_sdk_logs_in_with_the_jwt_and_reads_its_own_extension(rc: RcSandbox) -> None:
    platform = await rc.login()
    auth = platform.auth().data()
    assert auth["token_type"] == "bearer"
    assert auth["expires_in"] == 3600
    assert auth["refresh_token_expires_in"] == 604800
    me = (await asyncio.to_thread(platform.get, "/restapi/v1.0/account/~/extension/~")).json_dict()
    assert str(me["id"]) == auth["owner_id"] == rc.ext(0).id
    assert me["contact"]["email"] == "admin@contoso.example"
    assert me["permissions"]["admin"]["enabled"] is True


async def test_refresh_rotates_tokens_and_the_old_pair_stops_working(rc: RcSandbox) -> None:
    platform = await rc.login()
    old_access = platform.auth().access_token()
    old_refresh = platform.auth().refresh_token()
    await asyncio.to_thread(platform.refresh)
    assert platform.auth().access_token() != old_access
    assert platform.auth().refresh_token() != old_refresh
    ok = await asyncio.to_thread(platform.get, "/restapi/v1.0/account/~/extension/~")
    assert ok.response().status_code == 200

    async with rc.http.get(
        f"{rc.api}/account/~/extension/~", headers={"Authorization": f"Bearer {old_access}"}
    ) as resp:
        assert resp.status == 401
        assert (await resp.json())["errorCode"] == "TokenInvalid"
    async with rc.http.post(
        f"{rc.root}/ringcentral/restapi/oauth/token",
        headers={"Authorization": aiohttp.encode_basic_auth(RC_CLIENT_ID, "rc-client-secret")},
        data={"grant_type": "refresh_token", "refresh_token": old_refresh},
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_grant"


async def test_a_wrong_jwt_is_refused_with_invalid_grant(rc: RcSandbox) -> None:
    platform = rc.sdk()
    with pytest.raises(ApiException) as caught:
        await asyncio.to_thread(platform.login, jwt="someone-elses-jwt")
    response = caught.value.api_response().response()
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert platform.auth().access_token() == ""


async def test_a_wrong_client_secret_is_refused_as_invalid_client(rc: RcSandbox) -> None:
    async with rc.http.post(
        f"{rc.root}/ringcentral/restapi/oauth/token",
        headers={"Authorization": aiohttp.encode_basic_auth(RC_CLIENT_ID, "guess")},
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": RC_JWT},
    ) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"] == "invalid_client"


async def test_access_tokens_expire_on_the_sandbox_clock(start_rc: StartRc) -> None:
    rc = await start_rc(time_scale=3600)  # one sandbox hour per real second
    token = await rc.token()
    headers = {"Authorization": f"Bearer {token}"}
    async with rc.http.get(f"{rc.api}/account/~/extension/~", headers=headers) as resp:
        assert resp.status == 200
    await asyncio.sleep(1.1)
    async with rc.http.get(f"{rc.api}/account/~/extension/~", headers=headers) as resp:
        assert resp.status == 401
        assert (await resp.json())["message"] == "Access token expired"


async def test_revoke_fault_kills_tokens_and_refresh_until_the_next_login(rc: RcSandbox) -> None:
    platform = await rc.login()
    rc.ctx.faults.add({"revoke": "ringcentral-token"})
    with pytest.raises(ApiException) as caught:
        await asyncio.to_thread(platform.get, "/restapi/v1.0/account/~/extension/~")
    assert caught.value.api_response().response().status_code == 401
    with pytest.raises(ApiException) as refused:
        await asyncio.to_thread(platform.refresh)
    assert refused.value.api_response().response().json()["error"] == "invalid_grant"
    again = await rc.login()
    me = await asyncio.to_thread(again.get, "/restapi/v1.0/account/~/extension/~")
    assert me.response().status_code == 200


async def test_logout_revokes_the_token(rc: RcSandbox) -> None:
    platform = await rc.login()
    token = platform.auth().access_token()
    await asyncio.to_thread(platform.logout)
    async with rc.http.get(
        f"{rc.api}/account/~/extension/~", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        assert resp.status == 401


async def test_the_sixth_token_call_in_a_minute_is_throttled(rc: RcSandbox) -> None:
    for _ in range(5):
        await rc.token()
    async with rc.http.post(
        f"{rc.root}/ringcentral/restapi/oauth/token",
        headers={"Authorization": aiohttp.encode_basic_auth(RC_CLIENT_ID, "rc-client-secret")},
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": RC_JWT},
    ) as resp:
        assert resp.status == 429
        assert resp.headers["X-Rate-Limit-Group"] == "Auth"
        assert resp.headers["Retry-After"] == "60"


async def test_refresh_tokens_expire_after_a_sandbox_week(start_rc: StartRc) -> None:
    rc = await start_rc(time_scale=700_000)  # a week (604800 s) passes in under a real second
    platform = await rc.login()
    await asyncio.sleep(1.0)
    with pytest.raises(ApiException) as caught:
        await asyncio.to_thread(platform.refresh)
    body = caught.value.api_response().response().json()
    assert (body["error"], body["error_description"]) == ("invalid_grant", "Token expired")
