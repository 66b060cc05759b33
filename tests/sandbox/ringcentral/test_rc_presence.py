"""RingCentral presence through the SDK: GET/PUT in both account modes, batches, account list."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from rc_harness import RcSandbox, StartRc
from ringcentral.http.api_exception import ApiException
from ringcentral.platform.platform import Platform


def _path(ext_id: str) -> str:
    return f"/restapi/v1.0/account/~/extension/{ext_id}/presence"


async def _put(platform: Platform, ext_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await asyncio.to_thread(platform.put, _path(ext_id), body)
    result: dict[str, Any] = response.json_dict()
    return result


async def _put_error(platform: Platform, ext_id: str, body: dict[str, Any]) -> tuple[int, Any]:
    with pytest.raises(ApiException) as caught:
        await asyncio.to_thread(platform.put, _path(ext_id), body)
    response = caught.value.api_response().response()
    return response.status_code, response.json()


async def test_legacy_presence_reads_and_writes_dnd_status(rc: RcSandbox) -> None:
    platform = await rc.login()
    user = rc.ext(10)
    before = (await asyncio.to_thread(platform.get, _path(user.id))).json_dict()
    assert before["presenceStatus"] == "Available"
    assert before["dndStatus"] == "TakeAllCalls"
    assert "dndStatusPersonal" not in before
    assert before["extension"] == {
        "id": int(user.id),
        "uri": f"{rc.server_url}/restapi/v1.0/account/400123001/extension/{user.id}",
        "extensionNumber": user.extension_number,
    }
    after = await _put(
        platform, user.id, {"userStatus": "Busy", "dndStatus": "DoNotAcceptAnyCalls"}
    )
    assert (after["userStatus"], after["dndStatus"], after["presenceStatus"]) == (
        "Busy",
        "DoNotAcceptAnyCalls",
        "Busy",
    )
    assert user.presence.sequence == 1


@pytest.mark.parametrize("dnd", ["DoNotAcceptDepartmentCalls", "TakeDepartmentCallsOnly"])
async def test_department_dnd_is_refused_for_users_outside_any_queue(
    rc: RcSandbox, dnd: str
) -> None:
    platform = await rc.login()
    status, body = await _put_error(platform, rc.ext(10).id, {"dndStatus": dnd})
    assert status == 400
    assert body["errorCode"] == "CMN-101"
    assert body["errors"][0]["parameterName"] == "dndStatus"
    assert rc.ext(10).presence.dnd_status == "TakeAllCalls"


async def test_department_dnd_is_accepted_for_queue_members(rc: RcSandbox) -> None:
    platform = await rc.login()
    body = await _put(platform, rc.ext(1).id, {"dndStatus": "DoNotAcceptDepartmentCalls"})
    assert body["dndStatus"] == "DoNotAcceptDepartmentCalls"
    assert body["presenceStatus"] == "Available"


@pytest.mark.parametrize(
    ("field", "value"),
    [("userStatus", "Away"), ("dndStatus", "Off"), ("acceptCallQueueCalls", "yes")],
)
async def test_invalid_values_are_refused_naming_the_field(
    start_rc: StartRc, field: str, value: str
) -> None:
    rc = await start_rc(mode="chs" if field == "acceptCallQueueCalls" else "legacy")
    platform = await rc.login()
    status, body = await _put_error(platform, rc.ext(3).id, {field: value})
    assert status == 400
    assert body["errors"][0]["parameterName"] == field
    assert rc.ext(3).presence.sequence == 0


async def test_chs_account_uses_personal_dnd_and_queue_acceptance(start_rc: StartRc) -> None:
    rc = await start_rc(mode="chs")
    platform = await rc.login()
    user = rc.ext(2)
    body = await _put(
        platform,
        user.id,
        {"dndStatusPersonal": "TakeAllCalls", "acceptCallQueueCalls": False, "userStatus": "Busy"},
    )
    assert body["acceptCallQueueCalls"] is False
    assert body["dndStatusPersonal"] == "TakeAllCalls"
    assert "dndStatus" not in body
    dnd = await _put(platform, user.id, {"dndStatusPersonal": "DoNotAcceptAnyCalls"})
    assert dnd["presenceStatus"] == "Busy"


async def test_chs_ignores_dnd_status_for_users_but_refuses_department_personal_dnd(
    start_rc: StartRc,
) -> None:
    rc = await start_rc(mode="chs")
    platform = await rc.login()
    user = rc.ext(20)
    body = await _put(platform, user.id, {"dndStatus": "DoNotAcceptAnyCalls"})
    assert body["presenceStatus"] == "Available"
    assert user.presence.dnd_status == "TakeAllCalls"
    assert user.presence.sequence == 0
    status, error = await _put_error(
        platform, user.id, {"dndStatusPersonal": "DoNotAcceptDepartmentCalls"}
    )
    assert status == 400
    assert error["errors"][0]["parameterName"] == "dndStatusPersonal"


async def test_offline_user_status_wins_and_calls_make_users_busy(rc: RcSandbox) -> None:
    platform = await rc.login()
    user = rc.ext(4)
    status, _ = await rc.control(f"{user.email}/call", {"action": "connect"})
    assert status == 200
    body = (
        await asyncio.to_thread(platform.get, _path(user.id), {"detailedTelephonyState": "true"})
    ).json_dict()
    assert (body["telephonyStatus"], body["presenceStatus"]) == ("CallConnected", "Busy")
    assert body["activeCalls"][0]["direction"] == "Inbound"
    plain = (await asyncio.to_thread(platform.get, _path(user.id))).json_dict()
    assert "activeCalls" not in plain
    offline = await _put(platform, user.id, {"userStatus": "Offline"})
    assert offline["presenceStatus"] == "Offline"


async def test_non_user_extensions_always_read_offline(rc: RcSandbox) -> None:
    platform = await rc.login()
    body = (await asyncio.to_thread(platform.get, _path("63000000"))).json_dict()
    assert body["presenceStatus"] == "Offline"
    assert "userStatus" not in body
    assert "telephonyStatus" not in body


async def test_batch_of_30_answers_207_multipart_the_sdk_can_split(rc: RcSandbox) -> None:
    platform = await rc.login()
    ids = [rc.ext(i).id for i in range(30)]
    response = await asyncio.to_thread(platform.get, _path(",".join(ids)))
    assert response.response().status_code == 207
    parts = response.multipart()
    assert [str(p.json_dict()["extension"]["id"]) for p in parts] == ids
    assert all(p.response().status_code == 200 for p in parts)


async def test_batch_of_31_is_refused(rc: RcSandbox) -> None:
    platform = await rc.login()
    ids = [rc.ext(i).id for i in range(31)]
    with pytest.raises(ApiException) as caught:
        await asyncio.to_thread(platform.get, _path(",".join(ids)))
    response = caught.value.api_response().response()
    assert response.status_code == 400
    assert "limited to 30" in response.json()["message"]


async def test_batch_json_form_reports_unknown_ids_per_item(rc: RcSandbox) -> None:
    token = await rc.token()
    async with rc.http.get(
        f"{rc.api}/account/~/extension/{rc.ext(1).id},123/presence",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.ringcentral.multipart+json",
        },
    ) as resp:
        assert resp.status == 207
        items = json.loads(await resp.text())
    assert [(i["resourceId"], i["status"]) for i in items] == [(rc.ext(1).id, 200), ("123", 404)]
    assert items[1]["body"]["errorCode"] == "CMN-102"


async def test_account_presence_is_paged_and_heavy(rc: RcSandbox) -> None:
    platform = await rc.login()
    response = await asyncio.to_thread(
        platform.get, "/restapi/v1.0/account/~/presence", {"perPage": 1000, "page": 1}
    )
    body = response.json_dict()
    assert response.response().headers["X-Rate-Limit-Group"] == "Heavy"
    assert body["paging"]["totalElements"] == 252
    assert len(body["records"]) == 252
    assert "nextPage" not in body["navigation"]
