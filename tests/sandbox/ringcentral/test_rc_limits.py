"""RingCentral rate-limit groups: headers, the 41st presence PUT, the penalty, the off switch."""

from __future__ import annotations

import asyncio

import pytest
from rc_harness import RcSandbox, StartRc
from ringcentral.http.api_exception import ApiException


async def test_every_answer_carries_the_groups_headers(rc: RcSandbox) -> None:
    platform = await rc.login()
    path = f"/restapi/v1.0/account/~/extension/{rc.ext(2).id}/presence"
    first = (await asyncio.to_thread(platform.get, path)).response().headers
    second = (await asyncio.to_thread(platform.get, path)).response().headers
    assert first["X-Rate-Limit-Group"] == "Light"
    assert first["X-Rate-Limit-Limit"] == "50"
    assert first["X-Rate-Limit-Window"] == "60"
    assert (first["X-Rate-Limit-Remaining"], second["X-Rate-Limit-Remaining"]) == ("49", "48")
    put = (await asyncio.to_thread(platform.put, path, {"userStatus": "Busy"})).response()
    assert (put.headers["X-Rate-Limit-Group"], put.headers["X-Rate-Limit-Limit"]) == (
        "Medium",
        "40",
    )


async def test_the_41st_presence_put_in_a_minute_is_429_and_the_penalty_holds(
    start_rc: StartRc,
) -> None:
    rc = await start_rc(time_scale=10)  # the 60 s window and penalty take 6 real seconds
    platform = await rc.login()
    path = f"/restapi/v1.0/account/~/extension/{rc.ext(2).id}/presence"
    for i in range(40):
        body = {"userStatus": "Busy" if i % 2 else "Available"}
        await asyncio.to_thread(platform.put, path, body)
    with pytest.raises(ApiException) as caught:
        await asyncio.to_thread(platform.put, path, {"userStatus": "Offline"})
    refused = caught.value.api_response().response()
    assert refused.status_code == 429
    assert refused.json()["errorCode"] == "CMN-301"
    assert refused.headers["X-Rate-Limit-Remaining"] == "0"
    assert 1 <= int(refused.headers["Retry-After"]) <= 6
    assert rc.ext(2).presence.user_status == "Busy"

    # Reads are another group and still pass; writes stay refused through the penalty.
    read = await asyncio.to_thread(platform.get, path)
    assert read.response().status_code == 200
    await asyncio.sleep(3)
    with pytest.raises(ApiException):
        await asyncio.to_thread(platform.put, path, {"userStatus": "Offline"})
    await asyncio.sleep(3.2)
    ok = await asyncio.to_thread(platform.put, path, {"userStatus": "Offline"})
    assert ok.response().headers["X-Rate-Limit-Remaining"] == "39"


async def test_limits_can_be_switched_off_for_benchmarks(rc: RcSandbox) -> None:
    status, snapshot = await rc.control("limits", {"enabled": False})
    assert (status, snapshot["enabled"]) == (200, False)
    token = await rc.token()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{rc.api}/account/~/presence"
    for _ in range(15):
        async with rc.http.get(url, headers=headers) as resp:
            assert resp.status == 200
    await rc.control("limits", {"enabled": True})
    for _ in range(10):
        async with rc.http.get(url, headers=headers) as resp:
            assert resp.status == 200
    async with rc.http.get(url, headers=headers) as resp:
        assert resp.status == 429
        assert resp.headers["X-Rate-Limit-Group"] == "Heavy"
    async with rc.http.get(f"{rc.root}/_sandbox/ringcentral/limits") as resp:
        assert (await resp.json())["refused"] == 1


async def test_bad_limit_switch_is_refused(rc: RcSandbox) -> None:
    status, body = await rc.control("limits", {"enabled": "no"})
    assert status == 400
    assert body["error"].startswith("enabled")
