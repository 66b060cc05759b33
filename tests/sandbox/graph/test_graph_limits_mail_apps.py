"""Throttling, sendMail, Teams app installation, and the Teams-client control routes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from sandbox.teams_client import chat_id_for

Factory = Callable[..., Awaitable[Any]]  # the make_graph fixture


async def test_budget_answers_429_with_retry_after(make_graph: Factory) -> None:
    g = await make_graph(scale=10)  # 30 s windows last 3 real seconds
    status, body = await g.control("POST", "/_sandbox/graph/limits", json={"requests_per_30s": 5})
    assert (status, body["requests_per_30s"]) == (200, 5)
    path = f"/users/{g.user('carol').id}/presence"
    left = 30 - g.ctx.clock.now() % 30
    if left < 10:  # start with at least a real second of window left
        await asyncio.sleep(g.ctx.clock.real_seconds(left) + 0.01)
    statuses = [(await g.call("GET", path))[0] for _ in range(5)]
    assert statuses == [200] * 5
    status, body, headers = await g.call("GET", path)
    assert status == 429
    assert body["error"]["code"] == "TooManyRequests"
    retry_after = int(headers["Retry-After"])
    assert 1 <= retry_after <= 3
    await asyncio.sleep(retry_after)
    status, _, _ = await g.call("GET", path)
    assert status == 200

    await g.control("POST", "/_sandbox/graph/limits", json={"requests_per_30s": None})
    for _ in range(10):
        status, _, _ = await g.call("GET", path)
        assert status == 200


async def test_limits_control_refuses_bad_values(make_graph: Factory) -> None:
    g = await make_graph()
    for bad in (
        {"requests_per_30s": 0},
        {"notification_delay_ms": [5, 1]},
        {"batch_window_ms": -1},
        {"speed": 1},
    ):
        status, body = await g.control("POST", "/_sandbox/graph/limits", json=bad)
        assert status == 400
        assert body["error"]
    status, body = await g.control(
        "POST", "/_sandbox/graph/limits", json={"notification_delay_ms": [100, 200]}
    )
    assert body["notification_delay_ms"] == [100, 200]
    assert body["requests_per_30s"] == 10_000


async def test_send_mail_is_recorded(make_graph: Factory) -> None:
    g = await make_graph()
    message = {
        "subject": "Presence sync report",
        "body": {"contentType": "HTML", "content": "<p>12 users synced</p>"},
        "toRecipients": [{"emailAddress": {"address": "bob@contoso.example"}}],
        "attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "name": "r.csv"}],
    }
    status, _, _ = await g.call(
        "POST",
        f"/users/{g.user('alice').id}/sendMail",
        json={"message": message, "saveToSentItems": False},
    )
    assert status == 202
    status, _, _ = await g.call(
        "POST",
        f"/users/{g.user('alice').id}/sendMail",
        json={"message": {**message, "toRecipients": []}},
    )
    assert status == 400
    status, _, _ = await g.call(
        "POST",
        f"/users/{g.user('alice').id}/sendMail",
        token=g.app_token(roles=["User.Read.All"]),
        json={"message": message},
    )
    assert status == 403
    _, body = await g.control("GET", "/_sandbox/mail")
    (mail,) = body["mail"]
    assert mail["from"] == "alice@contoso.example"
    assert mail["to"] == ["bob@contoso.example"]
    assert mail["subject"] == "Presence sync report"
    assert mail["body"] == {"contentType": "HTML", "content": "<p>12 users synced</p>"}
    assert mail["attachments"] == 1


async def test_install_the_teams_app_and_find_its_chat(make_graph: Factory) -> None:
    g = await make_graph()
    carol = g.user("carol")
    _, catalog, _ = await g.call(
        "GET", "/appCatalogs/teamsApps?$filter=externalId eq 'manifest-123'"
    )
    app_id = catalog["value"][0]["id"]
    bind = {
        "teamsApp@odata.bind": f"https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{app_id}"
    }
    base = f"/users/{carol.id}/teamwork/installedApps"
    status, _, _ = await g.call("POST", base, json=bind)
    assert status == 201
    status, body, _ = await g.call("POST", base, json=bind)
    assert status == 409
    status, body, _ = await g.call(
        "GET",
        f"{base}?$expand=teamsApp,teamsAppDefinition&$filter=teamsApp/externalId eq 'manifest-123'",
    )
    (installation,) = body["value"]
    assert installation["teamsApp"]["externalId"] == "manifest-123"
    assert installation["teamsAppDefinition"]["teamsAppId"] == app_id
    status, body, _ = await g.call("GET", f"{base}?$filter=teamsApp/externalId eq 'other'")
    assert body["value"] == []
    status, chat, _ = await g.call("GET", f"{base}/{installation['id']}/chat")
    assert status == 200
    assert chat["id"] == chat_id_for(g.ctx, carol)  # the conversation the connector uses
    status, _, _ = await g.call(
        "GET", f"/users/{g.user('bob').id}/teamwork/installedApps/{installation['id']}/chat"
    )
    assert status == 404


@pytest.mark.parametrize(
    ("path", "body", "status", "needle"),
    [
        (
            "/_sandbox/teams/carol@contoso.example/presence",
            {"availability": "Sleepy"},
            400,
            "Sleepy",
        ),
        (
            "/_sandbox/teams/carol@contoso.example/presence",
            {"availability": "Busy", "activity": "Napping"},
            400,
            "Napping",
        ),
        ("/_sandbox/teams/carol@contoso.example/meeting", {"action": "pause"}, 400, "action"),
        (
            "/_sandbox/teams/carol@contoso.example/presence",
            {"availability": "Offline", "activity": "Away"},
            400,
            "OffWork",
        ),
        (
            "/_sandbox/teams/carol@contoso.example/call",
            {"action": "start", "conference": "yes"},
            400,
            "conference",
        ),
        (
            "/_sandbox/teams/zed@contoso.example/presence",
            {"availability": "Busy"},
            404,
            "zed@contoso.example",
        ),
    ],
)
async def test_teams_client_control_refuses_bad_input(
    make_graph: Factory, path: str, body: dict[str, Any], status: int, needle: str
) -> None:
    g = await make_graph()
    answer_status, answer = await g.control("POST", path, json=body)
    assert answer_status == status
    assert needle in answer["error"]
    assert g.user("carol").presence.sessions == {}


async def test_teams_client_sign_in_meeting_call_and_sign_out(make_graph: Factory) -> None:
    g = await make_graph()
    base = "/_sandbox/teams/carol@contoso.example"
    _, view = await g.control("POST", f"{base}/presence", json={"availability": "available"})
    assert (view["availability"], view["activity"]) == ("Available", "Available")
    _, view = await g.control("POST", f"{base}/meeting", json={"action": "start"})
    assert (view["availability"], view["activity"]) == ("Busy", "InAMeeting")
    _, view = await g.control("POST", f"{base}/call", json={"action": "start"})
    assert view["activity"] == "InACall"
    _, view = await g.control("POST", f"{base}/meeting", json={"action": "present"})
    assert (view["availability"], view["activity"]) == ("DoNotDisturb", "Presenting")
    await g.control("POST", f"{base}/call", json={"action": "end"})
    _, view = await g.control("POST", f"{base}/meeting", json={"action": "end"})
    assert (view["availability"], view["activity"]) == ("Available", "Available")
    _, view = await g.control(
        "POST", f"{base}/presence", json={"availability": "Offline", "activity": "OffWork"}
    )
    assert (view["availability"], view["activity"]) == ("Offline", "OffWork")
    _, view = await g.control("POST", f"{base}/presence", json={"availability": "Offline"})
    assert view["sessions"] == []
    _, body, _ = await g.call("GET", f"/users/{g.user('carol').id}/presence")
    assert (body["availability"], body["activity"]) == ("Offline", "OffWork")


async def test_batch_runs_each_request_under_its_own_budget(make_graph: Factory) -> None:
    g = await make_graph()
    await g.control("POST", "/_sandbox/graph/limits", json={"requests_per_30s": 3})
    carol = g.user("carol").id
    requests = [
        {"id": str(n), "method": "GET", "url": f"/users/{carol}/presence"} for n in range(4)
    ]
    requests.append({"id": "mail", "method": "GET", "url": "/users/nobody@contoso.example"})
    status, body, _ = await g.call("POST", "/$batch", json={"requests": requests})
    assert status == 200
    answers = {r["id"]: r for r in body["responses"]}
    assert [answers[str(n)]["status"] for n in range(3)] == [200, 200, 200]
    assert answers["0"]["body"]["id"] == carol
    assert answers["3"]["status"] == 429
    assert int(answers["3"]["headers"]["Retry-After"]) >= 1
    assert answers["mail"]["status"] == 429

    await g.control("POST", "/_sandbox/graph/limits", json={"requests_per_30s": None})
    status, body, _ = await g.call(
        "POST",
        "/$batch",
        json={
            "requests": [
                {"id": "a", "method": "GET", "url": "/users/nobody@contoso.example"},
                {"id": "b", "method": "GET", "url": f"users/{carol}", "dependsOn": ["a"]},
            ]
        },
    )
    assert [(r["id"], r["status"]) for r in body["responses"]] == [("a", 404), ("b", 424)]

    too_many = [{"id": str(n), "method": "GET", "url": "/users"} for n in range(21)]
    status, body, _ = await g.call("POST", "/$batch", json={"requests": too_many})
    assert status == 400
    assert "20" in body["error"]["message"]
