"""Who may subscribe to the whole account's presence: the admin, unless the control switch
withdraws it; everyone else gets 403 CMN-408 and must list extensions one by one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rc_harness import RcSandbox, code_for, pkce, sdk_login
from ringcentral.http.api_exception import ApiException
from ringcentral.platform.platform import Platform

SUBSCRIPTION = "/restapi/v1.0/subscription"
ACCOUNT = "/restapi/v1.0/account/~/presence?detailedTelephonyState=true"


def _body(rc: RcSandbox, filters: list[str]) -> dict[str, Any]:
    return {
        "eventFilters": filters,
        "deliveryMode": {"transportType": "WebHook", "address": rc.hooks.url},
    }


def _extension(ext_id: str) -> str:
    return f"/restapi/v1.0/account/~/extension/{ext_id}/presence?detailedTelephonyState=true"


async def _refusal(platform: Platform, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ApiException) as caught:
        await asyncio.to_thread(platform.post, SUBSCRIPTION, body)
    response = caught.value.api_response().response()
    return response.status_code, response.json()


async def test_a_user_who_is_not_the_admin_may_only_watch_extensions(rc: RcSandbox) -> None:
    verifier, challenge = pkce()
    platform = await sdk_login(rc, await code_for(rc, str(rc.ext(6).email), challenge), verifier)

    status, error = await _refusal(platform, _body(rc, [ACCOUNT]))
    listed = await asyncio.to_thread(
        platform.post, SUBSCRIPTION, _body(rc, [_extension(rc.ext(1).id), _extension(rc.ext(2).id)])
    )

    assert (status, error["errorCode"]) == (403, "CMN-408")
    assert listed.json_dict()["status"] == "Active"
    await rc.control(f"{rc.ext(2).email}/call", {"action": "connect"})
    await rc.hooks.wait_for(1)
    assert rc.hooks.received[0][1]["body"]["extensionId"] == rc.ext(2).id


async def test_the_switch_refuses_the_account_filter_to_the_admin_too(rc: RcSandbox) -> None:
    platform = await rc.login()
    kept = await asyncio.to_thread(platform.post, SUBSCRIPTION, _body(rc, [ACCOUNT]))

    status, switched = await rc.control("permissions", {"account_presence": False})
    refused_status, error = await _refusal(platform, _body(rc, [ACCOUNT]))

    assert status == 200
    assert switched == {"account_presence": False, "admin": rc.ext(0).email}
    assert (refused_status, error["errorCode"]) == (403, "CMN-408")
    # A subscription made before the change keeps its filter and keeps delivering.
    await rc.control(f"{rc.ext(3).email}/call", {"action": "connect"})
    await rc.hooks.wait_for(1)
    assert rc.hooks.received[0][1]["subscriptionId"] == kept.json_dict()["id"]
    await rc.control("permissions", {"account_presence": True})
    again = await asyncio.to_thread(platform.post, SUBSCRIPTION, _body(rc, [ACCOUNT]))
    assert again.json_dict()["status"] == "Active"


async def test_the_switch_refuses_bad_input(rc: RcSandbox) -> None:
    assert (await rc.control("permissions", {"account_presence": "no"}))[0] == 400
    assert (await rc.control("permissions", {"everyone": True}))[0] == 400
