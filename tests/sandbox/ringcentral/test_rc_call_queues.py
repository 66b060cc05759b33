"""Call queues and their members: REST list shapes, paging, rate-limit groups, admin edits."""

from __future__ import annotations

from typing import Any

from rc_harness import QUEUE_MEMBERS, RcSandbox

QUEUE_ID = "63000000"


async def _get(rc: RcSandbox, url: str, token: str) -> tuple[int, dict[str, str], Any]:
    full = url if url.startswith("http") else f"{rc.api}{url}"
    async with rc.http.get(full, headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, dict(resp.headers), await resp.json()


async def _put_dnd(rc: RcSandbox, token: str, ext_id: str, dnd: str) -> int:
    async with rc.http.put(
        f"{rc.api}/account/~/extension/{ext_id}/presence",
        headers={"Authorization": f"Bearer {token}"},
        json={"dndStatus": dnd},
    ) as resp:
        return resp.status


async def test_queue_list_is_medium_and_members_are_light(rc: RcSandbox) -> None:
    token = await rc.token()
    status, headers, queues = await _get(rc, "/account/~/call-queues", token)
    assert status == 200
    assert headers["X-Rate-Limit-Group"] == "Medium"
    assert queues["records"] == [
        {
            "id": QUEUE_ID,
            "uri": f"{queues['uri']}/{QUEUE_ID}",
            "extensionNumber": "900",
            "name": "Support Queue",
        }
    ]
    assert queues["paging"]["totalElements"] == 1

    status, headers, members = await _get(rc, f"/account/~/call-queues/{QUEUE_ID}/members", token)
    assert status == 200
    assert headers["X-Rate-Limit-Group"] == "Light"
    first = members["records"][0]
    assert set(first) == {"id", "uri", "extensionNumber", "name"}
    assert (first["id"], first["extensionNumber"], first["name"]) == (
        int(rc.ext(1).id),
        rc.ext(1).extension_number,
        rc.ext(1).name,
    )


async def test_members_page_through_navigation(rc: RcSandbox) -> None:
    token = await rc.token()
    url: str | None = f"/account/~/call-queues/{QUEUE_ID}/members?perPage=2"
    seen: list[int] = []
    pages = 0
    while url:
        status, _, body = await _get(rc, url, token)
        assert status == 200
        pages += 1
        seen += [r["id"] for r in body["records"]]
        url = body["navigation"].get("nextPage", {}).get("uri")
    assert pages == 3  # five members, two per page
    assert seen == [int(rc.ext(i).id) for i in range(1, QUEUE_MEMBERS + 1)]
    assert body["paging"]["totalElements"] == QUEUE_MEMBERS


async def test_queue_list_filters_by_member(rc: RcSandbox) -> None:
    token = await rc.token()
    _, _, member = await _get(rc, f"/account/~/call-queues?memberExtensionId={rc.ext(1).id}", token)
    _, _, loner = await _get(rc, f"/account/~/call-queues?memberExtensionId={rc.ext(9).id}", token)
    assert [q["id"] for q in member["records"]] == [QUEUE_ID]
    assert loner["records"] == []


async def test_unknown_queue_is_404_with_cmn_102(rc: RcSandbox) -> None:
    token = await rc.token()
    status, _, body = await _get(rc, "/account/~/call-queues/999/members", token)
    assert status == 404
    assert body["errorCode"] == "CMN-102"


async def test_admin_adds_and_removes_members_and_department_dnd_follows(rc: RcSandbox) -> None:
    token = await rc.token()
    newcomer, leaver = rc.ext(9), rc.ext(1)
    assert await _put_dnd(rc, token, newcomer.id, "DoNotAcceptDepartmentCalls") == 400

    status, queue = await rc.control(
        f"call-queues/{QUEUE_ID}/members", {"add": [newcomer.email], "remove": [leaver.email]}
    )

    assert status == 200
    assert newcomer.email in queue["members"]
    assert leaver.email not in queue["members"]
    _, _, members = await _get(rc, f"/account/~/call-queues/{QUEUE_ID}/members", token)
    ids = {r["id"] for r in members["records"]}
    assert int(newcomer.id) in ids
    assert int(leaver.id) not in ids
    assert await _put_dnd(rc, token, newcomer.id, "DoNotAcceptDepartmentCalls") == 200
    assert await _put_dnd(rc, token, leaver.id, "DoNotAcceptDepartmentCalls") == 400
    _, answer = await rc.control(f"{leaver.email}/inbound-call", {"queue": True})
    assert answer["rings"] is False


async def test_bad_queue_edits_are_refused_and_change_nothing(rc: RcSandbox) -> None:
    path = f"call-queues/{QUEUE_ID}/members"
    before = list(rc.ctx.org.call_queues[QUEUE_ID].member_ids)
    assert (await rc.control(path, {"add": [rc.ext(9).email, "nobody@x.example"]}))[0] == 404
    assert (await rc.control(path, {"add": "someone"}))[0] == 400
    assert (await rc.control(path, {"join": []}))[0] == 400
    assert (await rc.control("call-queues/999/members", {"add": []}))[0] == 404
    assert rc.ctx.org.call_queues[QUEUE_ID].member_ids == before
    assert not rc.ext(9).queue_ids
