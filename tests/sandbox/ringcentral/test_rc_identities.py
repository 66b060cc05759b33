"""Several RingCentral users authorising the same app: own budgets, rights, withdrawal, app cap."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from rc_harness import RC_CLIENT_ID, RC_CLIENT_SECRET, RcSandbox, StartRc

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


async def _token(rc: RcSandbox, credential: str) -> tuple[int, dict[str, Any]]:
    async with rc.http.post(
        f"{rc.root}/ringcentral/restapi/oauth/token",
        headers={"Authorization": aiohttp.encode_basic_auth(RC_CLIENT_ID, RC_CLIENT_SECRET)},
        data={"grant_type": JWT_GRANT, "assertion": credential},
    ) as resp:
        return resp.status, await resp.json()


async def _put(rc: RcSandbox, token: str, ext_id: str, status: str) -> aiohttp.ClientResponse:
    async with rc.http.put(
        f"{rc.api}/account/~/extension/{ext_id}/presence",
        headers={"Authorization": f"Bearer {token}"},
        json={"userStatus": status},
    ) as resp:
        await resp.read()
        return resp


async def _identity(rc: RcSandbox, index: int, **extra: Any) -> tuple[str, str]:
    """(access token, extension id) of a freshly credentialed user."""
    ext = rc.ext(index)
    status, body = await rc.control("identities", {"email": ext.email, **extra})
    assert status == 200, body
    status, token = await _token(rc, body["jwt"])
    assert status == 200, token
    assert token["owner_id"] == ext.id
    return str(token["access_token"]), ext.id


async def test_each_identity_has_its_own_medium_budget(start_rc: StartRc) -> None:
    rc = await start_rc(time_scale=10)
    admin = await rc.token()
    second, _ = await _identity(rc, 5)
    target = rc.ext(3).id
    for i in range(40):
        assert (await _put(rc, admin, target, "Busy" if i % 2 else "Available")).status == 200
    refused = await _put(rc, admin, target, "Offline")
    assert refused.status == 429
    # The other user's budget is untouched: 40 more writes pass, the 41st is refused too.
    for i in range(40):
        answer = await _put(rc, second, target, "Busy" if i % 2 else "Available")
        assert answer.status == 200
        assert answer.headers["X-Rate-Limit-Remaining"] == str(39 - i)
    assert (await _put(rc, second, target, "Offline")).status == 429
    listed = await (await rc.http.get(f"{rc.root}/_sandbox/ringcentral/identities")).json()
    assert sorted(i["refused"] for i in listed) == [1, 1]


async def test_a_user_without_the_right_may_set_only_their_own_presence(rc: RcSandbox) -> None:
    token, own = await _identity(rc, 6, edit_presence=False)
    other = rc.ext(7)
    before = other.presence.user_status
    refused = await _put(rc, token, other.id, "Busy")
    assert refused.status == 403
    async with rc.http.put(
        f"{rc.api}/account/~/extension/{other.id}/presence",
        headers={"Authorization": f"Bearer {token}"},
        json={"userStatus": "Busy"},
    ) as resp:
        body = await resp.json()
    assert body["errorCode"] == "CMN-408"
    assert "EditPresence" in body["message"]
    assert other.presence.user_status == before
    assert (await _put(rc, token, own, "Busy")).status == 200
    # The extension record shows who holds the admin role the right comes with.
    admin = await rc.token()
    async with rc.http.get(
        f"{rc.api}/account/~/extension/{own}", headers={"Authorization": f"Bearer {admin}"}
    ) as resp:
        assert (await resp.json())["permissions"]["admin"]["enabled"] is False
    await rc.control("identities", {"email": rc.ext(6).email, "edit_presence": True})
    assert (await _put(rc, token, other.id, "Busy")).status == 200


async def test_a_withdrawn_credential_stops_logins_and_its_tokens(rc: RcSandbox) -> None:
    token, _ = await _identity(rc, 8)
    credential = next(
        i["jwt"]
        for i in await (await rc.http.get(f"{rc.root}/_sandbox/ringcentral/identities")).json()
        if i["extension_id"] == rc.ext(8).id
    )
    admin = await rc.token()
    status, body = await rc.control(f"identities/{rc.ext(8).email}/withdraw", {})
    assert (status, body["revoked_tokens"]) == (200, 1)
    assert (await _put(rc, token, rc.ext(3).id, "Busy")).status == 401
    status, refused = await _token(rc, credential)
    assert (status, refused["error"]) == (400, "invalid_grant")
    # Nobody else is touched.
    assert (await _put(rc, admin, rc.ext(3).id, "Busy")).status == 200


async def test_an_app_wide_cap_counts_every_user(start_rc: StartRc) -> None:
    rc = await start_rc(time_scale=10)
    status, snapshot = await rc.control("limits", {"app_limits": {"Medium": 50}})
    assert (status, snapshot["app_limits"]) == (200, {"Medium": 50})
    admin = await rc.token()
    second, _ = await _identity(rc, 5)
    target = rc.ext(3).id
    answers = []
    for i in range(30):
        answers.append(await _put(rc, admin, target, "Busy" if i % 2 else "Available"))
    for i in range(20):
        answers.append(await _put(rc, second, target, "Busy" if i % 2 else "Available"))
    assert all(a.status == 200 for a in answers)
    # Remaining tells the smaller of the user's and the app's budget.
    assert answers[-1].headers["X-Rate-Limit-Remaining"] == "0"
    assert (await _put(rc, second, target, "Offline")).status == 429
    await asyncio.sleep(6.2)  # window and penalty over (10x clock)
    assert (await _put(rc, second, target, "Offline")).status == 200


async def test_bad_identity_and_cap_requests_are_refused(rc: RcSandbox) -> None:
    status, body = await rc.control("identities", {"email": "nobody@example.com"})
    assert status == 404
    assert "nobody@example.com" in body["error"]
    status, body = await rc.control("identities", {"email": rc.ext(3).email, "edit": 1})
    assert status == 400
    assert "edit" in body["error"]
    status, body = await rc.control("limits", {"app_limits": {"Medium": 0}})
    assert status == 400
    assert body["error"].startswith("app_limits")
    listed = await (await rc.http.get(f"{rc.root}/_sandbox/ringcentral/identities")).json()
    assert len(listed) == 1  # only the admin's credential
