"""RingCentral extension directory through the SDK: filters, paging, navigation, call queues."""

from __future__ import annotations

import asyncio
from typing import Any

from rc_harness import QUEUE_MEMBERS, RcSandbox
from ringcentral.platform.platform import Platform


async def _get(platform: Platform, url: str, query: dict[str, Any] | None = None) -> Any:
    response = await asyncio.to_thread(platform.get, url, query)
    return response.json_dict()


async def test_user_list_pages_through_every_enabled_user_with_navigation(rc: RcSandbox) -> None:
    platform = await rc.login()
    emails: list[str] = []
    url = "/restapi/v1.0/account/~/extension"
    query: dict[str, Any] | None = {"type": "User", "status": "Enabled", "perPage": 100, "page": 1}
    pages = 0
    while True:
        body = await _get(platform, url, query)
        pages += 1
        emails += [r["contact"]["email"] for r in body["records"]]
        assert all(r["type"] == "User" and isinstance(r["id"], int) for r in body["records"])
        if "nextPage" not in body["navigation"]:
            break
        url, query = body["navigation"]["nextPage"]["uri"], None
    assert pages == 3
    assert len(emails) == len(set(emails)) == 250
    assert body["paging"] == {
        "page": 3,
        "perPage": 100,
        "totalPages": 3,
        "totalElements": 250,
        "pageStart": 200,
        "pageEnd": 249,
    }
    assert "previousPage" in body["navigation"]


async def test_type_filter_is_repeatable_and_unfiltered_lists_every_type(rc: RcSandbox) -> None:
    platform = await rc.login()
    both = await _get(
        platform, "/restapi/v1.0/account/~/extension", {"type": ["Department", "Announcement"]}
    )
    assert sorted(r["type"] for r in both["records"]) == ["Announcement", "Department"]
    everything = await _get(platform, "/restapi/v1.0/account/~/extension", {"perPage": 1000})
    assert everything["paging"]["totalElements"] == 252


async def test_per_page_beyond_1000_is_refused_naming_the_parameter(rc: RcSandbox) -> None:
    token = await rc.token()
    async with rc.http.get(
        f"{rc.api}/account/~/extension?perPage=1001", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        body = await resp.json()
    assert resp.status == 400
    assert body["errorCode"] == "CMN-101"
    assert body["errors"][0]["parameterName"] == "perPage"


async def test_disabled_users_are_filtered_by_status(rc: RcSandbox) -> None:
    rc.ext(7).status = "Disabled"
    platform = await rc.login()
    body = await _get(platform, "/restapi/v1.0/account/~/extension", {"status": "Disabled"})
    assert [r["id"] for r in body["records"]] == [int(rc.ext(7).id)]


async def test_unknown_extension_is_404_with_cmn_102(rc: RcSandbox) -> None:
    token = await rc.token()
    async with rc.http.get(
        f"{rc.api}/account/~/extension/999", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        body = await resp.json()
    assert resp.status == 404
    assert body["errorCode"] == "CMN-102"


async def test_call_queues_and_their_members(rc: RcSandbox) -> None:
    platform = await rc.login()
    queues = await _get(platform, "/restapi/v1.0/account/~/call-queues")
    assert [q["name"] for q in queues["records"]] == ["Support Queue"]
    members = await _get(
        platform, f"/restapi/v1.0/account/~/call-queues/{queues['records'][0]['id']}/members"
    )
    assert [m["id"] for m in members["records"]] == [
        int(rc.ext(i).id) for i in range(1, QUEUE_MEMBERS + 1)
    ]
