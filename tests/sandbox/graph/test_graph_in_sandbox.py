"""Graph inside the full HTTPS sandbox: MSAL tokens, recording, faults, consent, state, hooks."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import msal
import requests
from aiohttp import web
from aiohttp.test_utils import TestServer

from sandbox.model import TeamsUser
from sandbox.server import RunningSandbox
from tests.sandbox.delegated import delegated_token

GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]


async def app_token(sandbox: RunningSandbox) -> str:
    """Consent for the tenant, then a client-credentials token from MSAL against Entra."""
    status, _ = await sandbox.control("POST", "/_sandbox/consent", {"granted": True})
    assert status == 200
    session = requests.Session()
    session.verify = sandbox.ca_file
    session.trust_env = False
    app = await asyncio.to_thread(
        msal.ConfidentialClientApplication,
        sandbox.config.app_client_id,
        client_credential=sandbox.config.app_client_secret,
        authority=f"{sandbox.base_url}/entra/{sandbox.config.tenant_id}",
        instance_discovery=False,
        http_client=session,
    )
    result = await asyncio.to_thread(app.acquire_token_for_client, GRAPH_DEFAULT)
    assert "access_token" in result, result
    return str(result["access_token"])


def someone(sandbox: RunningSandbox) -> TeamsUser:
    """An enabled Teams user of the generated org."""
    return next(u for u in sandbox.ctx.org.teams_users.values() if u.account_enabled)


async def graph(
    sandbox: RunningSandbox, method: str, path: str, token: str, **kwargs: Any
) -> tuple[int, Any]:
    url = path if path.startswith("https://") else f"{sandbox.base_url}/graph/v1.0{path}"
    headers = {"Authorization": f"Bearer {token}"}
    async with sandbox.http.request(method, url, headers=headers, **kwargs) as response:
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body


async def test_msal_token_pages_users_over_https_and_is_recorded(sandbox: RunningSandbox) -> None:
    token = await app_token(sandbox)
    status, page = await graph(sandbox, "GET", "/users?$select=id,userPrincipalName&$top=25", token)
    assert status == 200
    assert len(page["value"]) == 25
    next_link = page["@odata.nextLink"]
    assert next_link.startswith(f"{sandbox.base_url}/graph/v1.0/users?")
    status, second = await graph(sandbox, "GET", next_link, token)
    assert status == 200
    assert not {u["id"] for u in page["value"]} & {u["id"] for u in second["value"]}

    user = someone(sandbox)
    status, presence = await graph(sandbox, "GET", f"/users/{user.id}/presence", token)
    assert status == 200
    assert presence["id"] == user.id

    _, counts = await sandbox.control("GET", "/_sandbox/requests")
    assert counts["calls"]["graph GET /graph/v1.0/users"] == 2
    assert counts["calls"]["graph GET /graph/v1.0/users/{id}/presence"] == 1


async def test_injected_faults_and_revoked_consent_reach_graph_clients(
    sandbox: RunningSandbox,
) -> None:
    token = await app_token(sandbox)
    path = f"/users/{someone(sandbox).id}/presence"
    status, _ = await sandbox.control(
        "POST", "/_sandbox/faults", {"target": "graph", "status": 503, "count": 1}
    )
    assert status in (200, 201)
    assert (await graph(sandbox, "GET", path, token))[0] == 503
    assert (await graph(sandbox, "GET", path, token))[0] == 200

    await sandbox.control("POST", "/_sandbox/faults", {"revoke": "microsoft-consent"})
    status, body = await graph(sandbox, "GET", path, token)
    assert status == 401
    assert body["error"]["code"] == "InvalidAuthenticationToken"


async def test_teams_client_changes_show_in_state_and_notifications(
    sandbox: RunningSandbox, receiver: Any
) -> None:
    user = someone(sandbox)
    admin = next(
        u for u in sandbox.ctx.org.teams_users.values() if u is not user and u.account_enabled
    )
    delegated = delegated_token(sandbox, admin)
    expires = dt.datetime.fromtimestamp(sandbox.ctx.clock.now() + 1800, dt.UTC).isoformat()
    status, sub = await graph(
        sandbox,
        "POST",
        "/subscriptions",
        delegated,
        json={
            "changeType": "updated",
            "notificationUrl": f"{receiver.url}/notify",
            "resource": f"/communications/presences/{user.id}",
            "expirationDateTime": expires,
            "clientState": "state-1",
        },
    )
    assert status == 201, sub

    email = user.user_principal_name
    status, _ = await sandbox.control(
        "POST", f"/_sandbox/teams/{email}/presence", {"availability": "Available"}
    )
    assert status == 200
    status, _ = await sandbox.control(
        "POST", f"/_sandbox/teams/{email}/meeting", {"action": "start"}
    )
    assert status == 200
    _, person = await sandbox.control("GET", f"/_sandbox/state/{email}")
    shown = person["teams"]["presence"]
    assert (shown["availability"], shown["activity"]) == ("Busy", "InAMeeting")
    assert [s["sessionId"] for s in shown["sessions"]] == ["teams-client"]

    await receiver.wait_for(1)
    assert receiver.notifications[-1]["subscriptionId"] == sub["id"]
    assert receiver.notifications[-1]["clientState"] == "state-1"


async def test_installing_the_app_tells_the_bot(sandbox: RunningSandbox) -> None:
    activities: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    async def messages(request: web.Request) -> web.Response:
        activities.append(await request.json())
        arrived.set()
        return web.Response(status=200)

    product = web.Application()
    product.router.add_post("/api/messages", messages)
    server = TestServer(product, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        status, _ = await sandbox.control(
            "PUT",
            "/_sandbox/config",
            {"product_url": f"http://127.0.0.1:{server.port}/api/messages"},
        )
        assert status == 200
        token = await app_token(sandbox)
        user = someone(sandbox)
        bind = {"teamsApp@odata.bind": f"{sandbox.base_url}/graph/v1.0/appCatalogs/teamsApps/app-1"}
        status, _ = await graph(
            sandbox, "POST", f"/users/{user.id}/teamwork/installedApps", token, json=bind
        )
        assert status == 201
        await asyncio.wait_for(arrived.wait(), 5)
        (activity,) = activities
        assert (activity["type"], activity["action"]) == ("installationUpdate", "add")
        assert activity["from"]["aadObjectId"] == user.id
    finally:
        await server.close()


async def test_batch_requests_are_served_and_counted_one_by_one(sandbox: RunningSandbox) -> None:
    token = await app_token(sandbox)
    ids = [u.id for u in list(sandbox.ctx.org.teams_users.values())[:2]]
    requests = [
        {"id": str(n), "method": "GET", "url": f"/users/{i}/presence"} for n, i in enumerate(ids)
    ]
    status, body = await graph(sandbox, "POST", "/$batch", token, json={"requests": requests})
    assert status == 200
    assert [(r["status"], r["body"]["id"]) for r in body["responses"]] == [
        (200, ids[0]),
        (200, ids[1]),
    ]
    _, counts = await sandbox.control("GET", "/_sandbox/requests")
    assert counts["calls"]["graph GET /graph/v1.0/users/{id}/presence"] == 2
