"""RingCentral webhook subscriptions: handshake, notifications, renewal, expiry, blacklisting."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rc_harness import RcSandbox, StartRc
from ringcentral.http.api_exception import ApiException
from ringcentral.platform.platform import Platform

SUBSCRIPTION = "/restapi/v1.0/subscription"


def _request(rc: RcSandbox, filters: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "eventFilters": filters,
        "deliveryMode": {
            "transportType": "WebHook",
            "address": rc.hooks.url,
            "verificationToken": "hook-secret",
        },
        **extra,
    }


def _presence_filter(ext_id: str) -> str:
    return f"/restapi/v1.0/account/~/extension/{ext_id}/presence?detailedTelephonyState=true"


async def _subscribe(platform: Platform, body: dict[str, Any]) -> dict[str, Any]:
    response = await asyncio.to_thread(platform.post, SUBSCRIPTION, body)
    info: dict[str, Any] = response.json_dict()
    return info


async def _refused(platform: Platform, body: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ApiException) as caught:
        await asyncio.to_thread(platform.post, SUBSCRIPTION, body)
    response = caught.value.api_response().response()
    assert response.status_code == 400
    error: dict[str, Any] = response.json()
    return error


async def test_subscription_is_created_after_the_endpoint_echoes_the_token(rc: RcSandbox) -> None:
    platform = await rc.login()
    info = await _subscribe(platform, _request(rc, [_presence_filter(rc.ext(3).id)]))
    assert info["status"] == "Active"
    assert info["expiresIn"] == 604800
    assert info["deliveryMode"] == {
        "transportType": "WebHook",
        "encryption": False,
        "address": rc.hooks.url,
    }
    assert info["eventFilters"] == [_presence_filter(rc.ext(3).id)]
    listed = (await asyncio.to_thread(platform.get, SUBSCRIPTION)).json_dict()
    assert [s["id"] for s in listed["records"]] == [info["id"]]


async def test_subscription_is_refused_when_the_endpoint_does_not_echo(rc: RcSandbox) -> None:
    platform = await rc.login()
    rc.hooks.echo = False
    error = await _refused(platform, _request(rc, [_presence_filter(rc.ext(3).id)]))
    assert error["errorCode"] == "SUB-520"
    assert rc.state.subscriptions.all() == []


async def test_subscription_is_refused_when_the_endpoint_is_too_slow(rc: RcSandbox) -> None:
    platform = await rc.login()
    rc.hooks.handshake_delay = 3.5
    error = await _refused(platform, _request(rc, [_presence_filter(rc.ext(3).id)]))
    assert error["errorCode"] == "SUB-521"
    assert error["errors"][0]["parameterName"] == "deliveryMode.address"


async def test_unsupported_filters_are_refused(rc: RcSandbox) -> None:
    platform = await rc.login()
    error = await _refused(
        platform, _request(rc, ["/restapi/v1.0/account/~/extension/~/message-store"])
    )
    assert error["errors"][0]["parameterName"] == "eventFilters"


async def test_presence_changes_arrive_in_order_with_the_verification_token(rc: RcSandbox) -> None:
    platform = await rc.login()
    user = rc.ext(3)
    info = await _subscribe(platform, _request(rc, [_presence_filter(user.id)]))
    await rc.control(f"{user.email}/call", {"action": "ring"})
    await rc.control(f"{user.email}/call", {"action": "connect"})
    await rc.control(f"{user.email}/presence", {"dndStatus": "DoNotAcceptAnyCalls"})
    await rc.control(f"{user.email}/call", {"action": "end"})
    await rc.hooks.wait_for(4)
    headers = [h for h, _ in rc.hooks.received]
    events = [e for _, e in rc.hooks.received]
    assert all(h["Verification-Token"] == "hook-secret" for h in headers)
    assert [e["body"]["sequence"] for e in events] == [1, 2, 3, 4]
    assert [e["body"]["telephonyStatus"] for e in events] == [
        "Ringing",
        "CallConnected",
        "CallConnected",
        "NoCall",
    ]
    first = events[0]
    assert first["subscriptionId"] == info["id"]
    assert first["ownerId"] == rc.ext(0).id
    assert first["event"] == (
        f"/restapi/v1.0/account/400123001/extension/{user.id}/presence?detailedTelephonyState=true"
    )
    assert first["body"]["extensionId"] == user.id
    assert first["body"]["activeCalls"][0]["telephonyStatus"] == "Ringing"
    assert events[2]["body"]["dndStatus"] == "DoNotAcceptAnyCalls"
    assert events[3]["body"]["totalActiveCalls"] == 0


async def test_a_rest_put_notifies_but_an_unchanged_put_does_not(rc: RcSandbox) -> None:
    platform = await rc.login()
    user = rc.ext(8)
    await _subscribe(platform, _request(rc, [_presence_filter(user.id)]))
    path = f"/restapi/v1.0/account/~/extension/{user.id}/presence"
    await asyncio.to_thread(platform.put, path, {"userStatus": "Busy"})
    await asyncio.to_thread(platform.put, path, {"userStatus": "Busy"})
    await rc.hooks.wait_for(1)
    await asyncio.sleep(0.2)
    assert [e["body"]["userStatus"] for _, e in rc.hooks.received] == ["Busy"]


async def test_account_filter_watches_every_user_in_chs_fields(start_rc: StartRc) -> None:
    rc = await start_rc(mode="chs")
    platform = await rc.login()
    await _subscribe(platform, _request(rc, ["/restapi/v1.0/account/~/presence"]))
    await rc.control(f"{rc.ext(1).email}/presence", {"acceptCallQueueCalls": False})
    await rc.control(f"{rc.ext(2).email}/presence", {"dndStatusPersonal": "DoNotAcceptAnyCalls"})
    await rc.hooks.wait_for(2)
    bodies = {e["body"]["extensionId"]: e["body"] for _, e in rc.hooks.received}
    assert bodies[rc.ext(1).id]["acceptCallQueueCalls"] is False
    assert bodies[rc.ext(2).id]["dndStatusPersonal"] == "DoNotAcceptAnyCalls"
    assert "dndStatus" not in bodies[rc.ext(2).id]
    assert all(
        e["event"] == "/restapi/v1.0/account/400123001/presence" for _, e in rc.hooks.received
    )


async def test_renewal_extends_and_expiry_removes_the_subscription(start_rc: StartRc) -> None:
    rc = await start_rc(time_scale=50)  # 100 sandbox seconds take 2 real seconds
    platform = await rc.login()
    info = await _subscribe(platform, _request(rc, [_presence_filter(rc.ext(3).id)], expiresIn=100))
    await asyncio.sleep(1.0)  # half the lifetime
    renewed = (
        await asyncio.to_thread(platform.post, f"{SUBSCRIPTION}/{info['id']}/renew")
    ).json_dict()
    assert renewed["expiresIn"] >= 99
    assert renewed["expirationTime"] > info["expirationTime"]
    await asyncio.sleep(1.5)  # past the first expiry: alive only thanks to the renewal
    alive = await asyncio.to_thread(platform.get, f"{SUBSCRIPTION}/{info['id']}")
    assert alive.json_dict()["status"] == "Active"
    await asyncio.sleep(1.1)
    with pytest.raises(ApiException) as caught:
        await asyncio.to_thread(platform.get, f"{SUBSCRIPTION}/{info['id']}")
    assert caught.value.api_response().response().status_code == 404
    await rc.control(f"{rc.ext(3).email}/presence", {"userStatus": "Busy"})
    await asyncio.sleep(0.2)
    assert rc.hooks.attempts == 0


async def test_an_endpoint_that_keeps_failing_gets_blacklisted(rc: RcSandbox) -> None:
    platform = await rc.login()
    user = rc.ext(5)
    info = await _subscribe(platform, _request(rc, [_presence_filter(user.id)]))
    rc.hooks.notify_status = 503
    for i in range(12):
        await rc.control(f"{user.email}/presence", {"userStatus": "Busy" if i % 2 else "Available"})
    await rc.hooks.wait_for(10, attempts=True)
    await asyncio.sleep(0.2)
    assert rc.hooks.attempts == 10
    body = (await asyncio.to_thread(platform.get, f"{SUBSCRIPTION}/{info['id']}")).json_dict()
    assert body["status"] == "Blacklisted"
    assert "blacklistedAt" in body["blacklistedData"]
    async with rc.http.get(f"{rc.root}/_sandbox/ringcentral/subscriptions") as resp:
        listed = (await resp.json())["records"]
    assert listed[0]["status"] == "Blacklisted"
    assert listed[0]["failed"] == 10


async def test_control_api_deletes_a_subscription_behind_the_clients_back(rc: RcSandbox) -> None:
    platform = await rc.login()
    info = await _subscribe(platform, _request(rc, [_presence_filter(rc.ext(3).id)]))
    async with rc.http.delete(f"{rc.root}/_sandbox/ringcentral/subscriptions/{info['id']}") as resp:
        assert resp.status == 200
    with pytest.raises(ApiException) as caught:
        await asyncio.to_thread(platform.get, f"{SUBSCRIPTION}/{info['id']}")
    assert caught.value.api_response().response().status_code == 404


async def test_control_api_blacklists_a_subscription_and_delivery_stops(rc: RcSandbox) -> None:
    platform = await rc.login()
    user = rc.ext(4)
    info = await _subscribe(platform, _request(rc, [_presence_filter(user.id)]))
    url = f"{rc.root}/_sandbox/ringcentral/subscriptions/{info['id']}/blacklist"
    async with rc.http.post(url) as resp:
        assert resp.status == 200
        assert (await resp.json())["status"] == "Blacklisted"
    body = (await asyncio.to_thread(platform.get, f"{SUBSCRIPTION}/{info['id']}")).json_dict()
    assert body["status"] == "Blacklisted"
    assert "blacklistedAt" in body["blacklistedData"]
    await rc.control(f"{user.email}/presence", {"userStatus": "Busy"})
    await asyncio.sleep(0.2)
    assert rc.hooks.attempts == 0
    async with rc.http.post(f"{rc.root}/_sandbox/ringcentral/subscriptions/nope/blacklist") as resp:
        assert resp.status == 404
        assert "nope" in (await resp.json())["error"]


async def test_notification_faults_drop_deliveries(rc: RcSandbox) -> None:
    platform = await rc.login()
    user = rc.ext(6)
    await _subscribe(platform, _request(rc, [_presence_filter(user.id)]))
    rc.ctx.faults.add({"target": "ringcentral-notifications", "drop": 1.0})
    await rc.control(f"{user.email}/presence", {"userStatus": "Busy"})
    await asyncio.sleep(0.3)
    assert rc.hooks.attempts == 0
    rc.ctx.faults.clear()
    await rc.control(f"{user.email}/presence", {"userStatus": "Available"})
    await rc.hooks.wait_for(1)
    assert rc.hooks.received[0][1]["body"]["sequence"] == 2


async def test_thirty_subscriptions_per_user_and_app_at_most(rc: RcSandbox) -> None:
    token = await rc.token()
    headers = {"Authorization": f"Bearer {token}"}
    rc.state.limiter.enabled = False
    for _ in range(30):
        async with rc.http.post(
            f"{rc.api}/subscription",
            json=_request(rc, ["/restapi/v1.0/account/~/presence"]),
            headers=headers,
        ) as resp:
            assert resp.status == 200
    async with rc.http.post(
        f"{rc.api}/subscription",
        json=_request(rc, ["/restapi/v1.0/account/~/presence"]),
        headers=headers,
    ) as resp:
        assert resp.status == 400


async def test_answers_slower_than_three_seconds_count_as_failures(rc: RcSandbox) -> None:
    platform = await rc.login()
    user = rc.ext(7)
    info = await _subscribe(platform, _request(rc, [_presence_filter(user.id)]))
    rc.state.subscriptions.blacklist_after = 1  # one slow answer is enough to show the rule
    rc.hooks.notify_delay = 3.3
    await rc.control(f"{user.email}/presence", {"userStatus": "Busy"})
    await rc.hooks.wait_for(1, within=6.0, attempts=True)
    await asyncio.sleep(0.1)
    body = (await asyncio.to_thread(platform.get, f"{SUBSCRIPTION}/{info['id']}")).json_dict()
    assert body["status"] == "Blacklisted"


async def test_update_moves_the_subscription_to_a_new_address_after_a_handshake(
    rc: RcSandbox,
) -> None:
    platform = await rc.login()
    info = await _subscribe(platform, _request(rc, [_presence_filter(rc.ext(3).id)]))
    moved = _request(rc, [_presence_filter(rc.ext(4).id)], expiresIn=3600)
    moved["deliveryMode"]["address"] = rc.hooks.url + "?moved=1"
    updated = (
        await asyncio.to_thread(platform.put, f"{SUBSCRIPTION}/{info['id']}", moved)
    ).json_dict()
    assert updated["eventFilters"] == [_presence_filter(rc.ext(4).id)]
    assert updated["expiresIn"] == 3600
    assert updated["deliveryMode"]["address"].endswith("?moved=1")
    await rc.control(f"{rc.ext(3).email}/presence", {"userStatus": "Busy"})
    await rc.control(f"{rc.ext(4).email}/presence", {"userStatus": "Busy"})
    await rc.hooks.wait_for(1)
    await asyncio.sleep(0.2)
    assert [e["body"]["extensionId"] for _, e in rc.hooks.received] == [rc.ext(4).id]
