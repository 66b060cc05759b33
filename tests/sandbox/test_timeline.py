"""The benchmark timeline: when notifications leave and presence PUTs arrive, across processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from sandbox.model import TeamsUser
from sandbox.ringcentral.auth import JWT_GRANT
from sandbox.server import RunningSandbox
from tests.sandbox.delegated import delegated_token
from tests.sandbox.graph.test_graph_in_sandbox import app_token, graph


def _people(sandbox: RunningSandbox) -> tuple[TeamsUser, TeamsUser]:
    enabled = [u for u in sandbox.ctx.org.teams_users.values() if u.account_enabled]
    return enabled[2], enabled[3]


async def _subscribe(
    sandbox: RunningSandbox, watcher: TeamsUser, user: TeamsUser, url: str
) -> None:
    token = delegated_token(sandbox, watcher)
    expires = dt.datetime.fromtimestamp(sandbox.ctx.clock.now() + 1800, dt.UTC).isoformat()
    async with sandbox.http.post(
        f"{sandbox.base_url}/graph/v1.0/subscriptions",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "changeType": "updated",
            "notificationUrl": url,
            "resource": f"/communications/presences/{user.id}",
            "expirationDateTime": expires,
            "clientState": "timeline",
        },
    ) as response:
        assert response.status == 201, await response.text()


async def _rc_token(sandbox: RunningSandbox) -> str:
    config = sandbox.config
    async with sandbox.http.post(
        f"{sandbox.base_url}/ringcentral/restapi/oauth/token",
        headers={
            "Authorization": aiohttp.encode_basic_auth(config.rc_client_id, config.rc_client_secret)
        },
        data={"grant_type": JWT_GRANT, "assertion": config.rc_jwt},
    ) as response:
        assert response.status == 200, await response.text()
        return str((await response.json())["access_token"])


async def _put_presence(sandbox: RunningSandbox, token: str, ext_id: str, body: Any) -> None:
    url = f"{sandbox.base_url}/ringcentral/restapi/v1.0/account/~/extension/{ext_id}/presence"
    async with sandbox.http.put(
        url, headers={"Authorization": f"Bearer {token}"}, json=body
    ) as response:
        assert response.status == 200, await response.text()


async def test_timeline_is_off_until_asked_for_and_records_nothing_meanwhile(
    sandbox: RunningSandbox,
) -> None:
    status, timeline = await sandbox.control("GET", "/_sandbox/timeline")
    assert status == 200
    assert timeline["enabled"] is False
    token = await _rc_token(sandbox)
    ext = next(e for e in sandbox.ctx.org.rc_extensions.values() if e.type == "User")
    await _put_presence(sandbox, token, ext.id, {"userStatus": "Busy"})
    _, timeline = await sandbox.control("GET", "/_sandbox/timeline")
    assert timeline["stamps"] == []


async def test_notification_posts_and_presence_puts_are_stamped_on_the_shared_clock(
    sandbox: RunningSandbox,
) -> None:
    arrived: list[float] = []
    delivered = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        token = request.query.get("validationToken")
        if token is not None:
            return web.Response(text=token, content_type="text/plain")
        arrived.append(time.monotonic())
        delivered.set()
        await request.read()
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/notify", hook)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        watcher, user = _people(sandbox)
        await _subscribe(sandbox, watcher, user, f"http://127.0.0.1:{server.port}/notify")
        status, _ = await sandbox.control("POST", "/_sandbox/timeline", {"enabled": True})
        assert status == 200

        changed_at = time.monotonic()
        email = user.user_principal_name
        status, _ = await sandbox.control(
            "POST", f"/_sandbox/teams/{email}/meeting", {"action": "start"}
        )
        assert status == 200
        async with asyncio.timeout(10):
            await delivered.wait()

        token = await _rc_token(sandbox)
        ext = next(e for e in sandbox.ctx.org.rc_extensions.values() if e.type == "User")
        before_put = time.monotonic()
        await _put_presence(sandbox, token, ext.id, {"dndStatus": "DoNotAcceptAnyCalls"})
        await _put_presence(sandbox, token, ext.id, {"dndStatus": "DoNotAcceptAnyCalls"})
        after_put = time.monotonic()
    finally:
        await server.close()

    status, timeline = await sandbox.control("GET", "/_sandbox/timeline")
    assert status == 200
    assert timeline["clock"] == "monotonic"
    stamps = timeline["stamps"]
    notified = [s for s in stamps if s["kind"] == "graph-notification"]
    assert [s["subject"] for s in notified] == [user.id]
    # Stamped after the change was made and before the webhook saw the POST.
    assert changed_at < notified[0]["at"] <= arrived[0]
    puts = [s for s in stamps if s["kind"] == "ringcentral-presence-put"]
    assert [(s["subject"], s["detail"]) for s in puts] == [
        (ext.id, "changed"),
        (ext.id, "unchanged"),
    ]
    assert before_put < puts[0]["at"] < puts[1]["at"] < after_put

    # Reading on from a cursor gives only what came later.
    _, later = await sandbox.control("GET", f"/_sandbox/timeline?after={timeline['next']}")
    assert later["stamps"] == []
    assert later["next"] == timeline["next"]


async def test_timeline_is_bounded_and_switching_on_starts_afresh(
    sandbox: RunningSandbox,
) -> None:
    status, _ = await sandbox.control("POST", "/_sandbox/timeline", {"enabled": True, "limit": 1})
    assert status == 200
    token = await _rc_token(sandbox)
    ext = next(e for e in sandbox.ctx.org.rc_extensions.values() if e.type == "User")
    for status_value in ("Busy", "Available", "Busy"):
        await _put_presence(sandbox, token, ext.id, {"userStatus": status_value})
    _, timeline = await sandbox.control("GET", "/_sandbox/timeline")
    assert len(timeline["stamps"]) == 1
    assert timeline["dropped"] == 2

    status, timeline = await sandbox.control("POST", "/_sandbox/timeline", {"enabled": True})
    assert status == 200
    assert (timeline["stamps"], timeline["dropped"]) == ([], 0)
    status, timeline = await sandbox.control("POST", "/_sandbox/timeline", {"enabled": False})
    await _put_presence(sandbox, token, ext.id, {"userStatus": "Available"})
    _, timeline = await sandbox.control("GET", "/_sandbox/timeline")
    assert timeline["stamps"] == []


async def test_bad_timeline_requests_name_the_problem(sandbox: RunningSandbox) -> None:
    status, body = await sandbox.control("POST", "/_sandbox/timeline", {"enabled": "yes"})
    assert status == 400
    assert "enabled" in body["error"]
    status, body = await sandbox.control(
        "POST", "/_sandbox/timeline", {"enabled": True, "limit": 0}
    )
    assert status == 400
    assert "limit" in body["error"]
    status, body = await sandbox.control("POST", "/_sandbox/timeline", {"on": True})
    assert status == 400
    assert "on" in body["error"]
    status, body = await sandbox.control("GET", "/_sandbox/timeline?after=-1")
    assert status == 400
    assert "after" in body["error"]


async def test_graph_presence_writes_are_stamped_and_throttled_ones_are_not(
    sandbox: RunningSandbox,
) -> None:
    token = await app_token(sandbox)
    user, _ = _people(sandbox)
    status, _ = await sandbox.control("POST", "/_sandbox/timeline", {"enabled": True})
    assert status == 200
    base = f"/users/{user.id}/presence"
    session = {"sessionId": sandbox.config.app_client_id}
    busy = {**session, "availability": "Busy", "activity": "InACall"}
    assert (await graph(sandbox, "POST", f"{base}/setPresence", token, json=busy))[0] == 200
    assert (await graph(sandbox, "POST", f"{base}/clearPresence", token, json=session))[0] == 200
    # Nothing to clear any more (stamped as such), and a throttled write (not stamped).
    assert (await graph(sandbox, "POST", f"{base}/clearPresence", token, json=session))[0] == 404
    await sandbox.control("POST", "/_sandbox/faults", {"target": "graph", "status": 429})
    assert (await graph(sandbox, "POST", f"{base}/setPresence", token, json=busy))[0] == 429
    await sandbox.control("DELETE", "/_sandbox/faults")
    _, timeline = await sandbox.control("GET", "/_sandbox/timeline")
    writes = [s for s in timeline["stamps"] if s["kind"] == "graph-presence-write"]
    assert [(s["subject"], s["detail"]) for s in writes] == [
        (user.id, "setPresence"),
        (user.id, "clearPresence"),
        (user.id, "clearPresence (no session)"),
    ]
