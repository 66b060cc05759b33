"""The tab API as the tab uses it, every answer checked against the served OpenAPI document."""

from __future__ import annotations

import json
import logging
import time

import pytest
from openapi_spec_validator import validate

from presence_sync.store.models import SYSTEM, AuditDetails, AuditEntry
from presence_sync.web.openapi import DOCUMENT
from sandbox.server import RunningSandbox
from tests.connections.product import ProductServer
from tests.tab_api.conftest import TabClient, schema_check


async def test_the_served_document_is_the_one_the_answers_are_checked_against(
    admin: TabClient, product: ProductServer
) -> None:
    anonymous = TabClient(admin.http, admin.base, None)
    status, document = await anonymous.call("GET", "/api/tab/openapi.json")
    assert status == 200
    validate(document)  # a valid OpenAPI 3.1 document
    # The answers below are checked against DOCUMENT: it must be exactly what is served.
    assert document == json.loads(json.dumps(DOCUMENT))
    assert set(document["components"]["schemas"]) >= {"Person", "Job", "Rules", "Status"}


async def test_status_shows_counts_and_says_what_is_not_connected(admin: TabClient) -> None:
    status, body = await admin.call("GET", "/api/tab/status")
    assert status == 200, body
    schema_check("Status", body)
    assert body["counts"] == {"linked": 12, "unmatched": 3, "synced": 8, "pendingUsers": 0}
    kinds = {w["action"] for w in body["warnings"]}
    assert "consent" in kinds  # nobody granted admin consent yet: the next step is named
    assert body["microsoft"]["state"] != "connected"


async def test_people_are_filtered_searched_and_paged_on_the_server(admin: TabClient) -> None:
    status, first = await admin.call("GET", "/api/tab/people?limit=5")
    assert status == 200
    schema_check("People", first)
    assert [p["email"] for p in first["people"]][:2] == [
        "person00@contoso.example",
        "person01@contoso.example",
    ]
    seen = [p["id"] for p in first["people"]]
    cursor = first["nextCursor"]
    while cursor:
        status, page = await admin.call("GET", f"/api/tab/people?limit=5&cursor={cursor}")
        schema_check("People", page)
        seen += [p["id"] for p in page["people"]]
        cursor = page["nextCursor"]
    assert len(seen) == len(set(seen)) == 15

    counts = {}
    for name in ("synced", "not-synced", "unmatched", "failed"):
        status, page = await admin.call("GET", f"/api/tab/people?filter={name}&limit=200")
        assert status == 200
        counts[name] = len(page["people"])
    assert counts == {"synced": 8, "not-synced": 4, "unmatched": 3, "failed": 2}

    _, unmatched = await admin.call("GET", "/api/tab/people?filter=unmatched")
    assert {p["reason"] for p in unmatched["people"]} == {"no RingCentral user with this email"}
    _, failed = await admin.call("GET", "/api/tab/people?filter=failed")
    assert all(p["lastError"] for p in failed["people"])

    _, found = await admin.call("GET", "/api/tab/people?search=nakamura")
    assert [p["displayName"] for p in found["people"]] == ["Person 07 Nakamura"]


async def test_bad_query_values_answer_400_naming_the_field(admin: TabClient) -> None:
    for query, field in (
        ("filter=everyone", "filter"),
        ("limit=0", "limit"),
        ("limit=lots", "limit"),
    ):
        status, body = await admin.call("GET", f"/api/tab/people?{query}")
        assert status == 400, query
        schema_check("Error", body)
        assert field in body["error"]["message"]
    status, body = await admin.call("GET", "/api/tab/preview?kind=everything")
    assert status == 400
    assert "kind" in body["error"]["message"]


async def test_selecting_people_starts_one_job_and_unknown_ids_are_named(
    admin: TabClient, product: ProductServer
) -> None:
    status, body = await admin.call("POST", "/api/tab/people/sync", {"ids": ["nobody-1"]})
    assert status == 400
    assert "nobody-1" in body["error"]["message"]
    status, body = await admin.call("POST", "/api/tab/people/sync", {"ids": "link-006"})
    assert status == 400
    assert "ids" in body["error"]["message"]

    status, body = await admin.call(
        "POST", "/api/tab/people/sync", {"ids": ["link-006", "link-007"]}
    )
    assert status == 202, body
    schema_check("JobTicket", body)
    assert body["job"]["total"] == 2
    assert body["job"]["kind"] == "sync users"
    assert body["job"]["requestedBy"] == "admin@contoso.example"
    again = await admin.call("POST", "/api/tab/people/sync", {"ids": ["link-007", "link-006"]})
    assert again[1]["job"]["id"] == body["job"]["id"]
    assert again[1]["created"] is False

    status, job = await admin.call("GET", f"/api/tab/jobs/{body['job']['id']}")
    assert status == 200
    schema_check("Job", job)
    status, jobs = await admin.call("GET", "/api/tab/jobs")
    schema_check("Jobs", jobs)
    assert body["job"]["id"] in [j["id"] for j in jobs["jobs"]]


async def test_a_job_streams_progress_until_it_is_done(
    admin: TabClient, product: ProductServer
) -> None:
    _, started = await admin.call("POST", "/api/tab/people/unsync", {"ids": ["link-000"]})
    job_id = started["job"]["id"]
    headers = {"Authorization": f"Bearer {admin.token}"}
    events: list[tuple[str, dict]] = []
    async with admin.http.get(
        f"{admin.base}/api/tab/jobs/{job_id}/events", headers=headers
    ) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        name = ""
        async for raw in response.content:
            line = raw.decode().strip()
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[len("data: ") :])))
    assert events
    assert events[-1][0] == "done"
    for _name, data in events:
        schema_check("Job", data)
    assert events[-1][1]["finishedAt"] is not None


async def test_rules_save_in_one_change_and_a_stale_version_is_a_conflict(
    admin: TabClient,
) -> None:
    status, rules = await admin.call("GET", "/api/tab/rules")
    assert status == 200
    schema_check("Rules", rules)
    labels = [r["label"] for r in rules["rows"]]
    assert labels == ["Busy", "In a call", "In a conference call", "In a meeting", "Offline"]
    notes = {r["label"]: r["note"] for r in rules["rows"]}
    assert "meeting as a call" in notes["In a call"]
    assert "meeting as a call" in notes["In a meeting"]

    status, saved = await admin.call(
        "PUT",
        "/api/tab/rules",
        {"version": rules["version"], "customisation": True, "rules": {"in_a_meeting": "no_calls"}},
    )
    assert status == 200, saved
    schema_check("Rules", saved)
    meeting = next(r for r in saved["rows"] if r["state"] == "in_a_meeting")
    assert meeting["rule"] == "no_calls"
    assert "DoNotAcceptAnyCalls" in meeting["ringcentral"]
    assert saved["customisation"] is True
    assert saved["version"] > rules["version"]

    # Another admin (or the bot) saved in between: the stale save is refused, not applied.
    status, conflict = await admin.call(
        "PUT", "/api/tab/rules", {"version": rules["version"], "rules": {"busy": "no_calls"}}
    )
    assert status == 409
    schema_check("Error", conflict)
    assert conflict["current"]["version"] == saved["version"]
    _, now = await admin.call("GET", "/api/tab/rules")
    assert next(r for r in now["rows"] if r["state"] == "busy")["rule"] == "accept_all_calls"

    status, bad = await admin.call(
        "PUT", "/api/tab/rules", {"version": saved["version"], "rules": {"lunch": "no_calls"}}
    )
    assert status == 400
    assert "lunch" in bad["error"]["message"]
    status, bad = await admin.call("PUT", "/api/tab/rules", {"rules": {}})
    assert status == 400
    assert "version" in bad["error"]["message"]

    status, reset = await admin.call("POST", "/api/tab/rules/reset", {"version": saved["version"]})
    assert status == 200
    assert {r["state"]: r["rule"] for r in reset["rows"]} == reset["defaults"]


async def test_preview_disable_and_enable_state_how_many_people(admin: TabClient) -> None:
    status, preview = await admin.call("GET", "/api/tab/preview?kind=sync-all")
    assert status == 200
    schema_check("Preview", preview)
    assert preview["linked"] == 12
    assert preview["change"] == 4
    assert preview["unmatched"] == [{"reason": "no RingCentral user with this email", "count": 3}]
    _, rules = await admin.call("GET", "/api/tab/rules")
    status, off = await admin.call("POST", "/api/tab/disable", {"version": rules["version"]})
    assert status == 200
    assert off["syncEnabled"] is False
    status, on = await admin.call("POST", "/api/tab/enable", {"version": off["version"]})
    assert status == 200
    assert on["syncEnabled"] is True


async def test_activity_shows_admin_actions_by_who_did_them(admin: TabClient) -> None:
    _, rules = await admin.call("GET", "/api/tab/rules")
    await admin.call("POST", "/api/tab/rules/reset", {"version": rules["version"]})
    status, activity = await admin.call("GET", "/api/tab/activity")
    assert status == 200
    schema_check("Activity", activity)
    assert activity["admin"][0]["actor"] == "admin@contoso.example"
    assert activity["admin"][0]["summary"] == "Reset the call presence rules to the defaults"


async def test_activity_says_what_a_presence_write_sent_in_words(
    admin: TabClient, product: ProductServer
) -> None:
    store = await product.store()
    # What the reconciler records for a RingCentral write, stored and read back.
    await store.append_audit(
        AuditEntry(
            at=time.time(),
            actor=SYSTEM,
            action="ringcentral.presence",
            user="person00@contoso.example",
            details=AuditDetails(
                write={"dndStatus": "DoNotAcceptAnyCalls"},
                cause="Teams presence observed: Teams DoNotDisturb/DoNotDisturb",
                result="applied",
            ),
        )
    )
    status, activity = await admin.call("GET", "/api/tab/activity")
    assert status == 200
    schema_check("Activity", activity)
    assert activity["writes"][0]["write"] == "dndStatus DoNotAcceptAnyCalls"


async def test_every_tab_route_refuses_a_non_admin_and_changes_nothing(
    non_admin: TabClient, admin: TabClient
) -> None:
    _, before = await admin.call("GET", "/api/tab/rules")
    calls = [
        ("GET", "/api/tab/status", None),
        ("GET", "/api/tab/people", None),
        ("POST", "/api/tab/people/sync", {"ids": ["link-006"]}),
        ("POST", "/api/tab/people/unsync", {"ids": ["link-000"]}),
        ("GET", "/api/tab/preview?kind=sync-all", None),
        ("POST", "/api/tab/sync-all", {}),
        ("POST", "/api/tab/disable", {"version": before["version"]}),
        ("PUT", "/api/tab/rules", {"version": before["version"], "customisation": True}),
        ("POST", "/api/tab/rules/reset", {"version": before["version"]}),
        ("GET", "/api/tab/jobs", None),
        ("GET", "/api/tab/activity", None),
        ("POST", "/api/tab/steps", {"step": "consent"}),
        ("POST", "/api/tab/ringcentral/connect", {}),
        ("DELETE", "/api/tab/sync-accounts/sync1@contoso.example", None),
    ]
    for method, path, body in calls:
        status, answer = await non_admin.call(method, path, body)
        assert status == 403, (method, path, status)
        schema_check("Error", answer)
        assert "not a Presence Sync admin" in answer["error"]["message"]
    _, after = await admin.call("GET", "/api/tab/rules")
    assert after == before
    _, jobs = await admin.call("GET", "/api/tab/jobs")
    assert jobs["jobs"] == []
    status, session = await non_admin.call("GET", "/api/tab/session")
    assert status == 200
    schema_check("Session", session)
    assert session["admin"] is False
    assert session["reason"]


async def test_the_tab_is_served_or_says_how_to_build_it(
    admin: TabClient, sandbox: RunningSandbox, product: ProductServer
) -> None:
    anonymous = TabClient(admin.http, admin.base, None)
    status, page = await anonymous.call("GET", "/tab/")
    assert status in (200, 503)
    if status == 503:
        assert "npm run build" in page
    else:
        assert "<div" in page or "<script" in page
    status, config = await anonymous.call("GET", "/tab/config.json")
    assert status == 200
    assert config["clientId"] == sandbox.config.app_client_id
    status, _ = await anonymous.call("GET", "/tab/../../pyproject.toml")
    assert status in (400, 404)


async def test_every_tab_api_route_is_described(product: ProductServer) -> None:
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in product.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/tab/")
        and route.method != "HEAD"
        and route.resource.canonical != "/api/tab/openapi.json"  # the document itself
    }
    described = {(method, path) for path, item in DOCUMENT["paths"].items() for method in item}
    assert served - described == set(), "routes missing from the OpenAPI document"
    assert described - served == set(), "the OpenAPI document describes routes nobody serves"


HOSTILE_BODIES = {
    "a lone surrogate in a rule": ({"version": 0, "rules": {"busy": "\ud800"}}, {}, "surrogate"),
    "a lone surrogate in a key": ({"version": 0, "rules": {"\udfff": "x"}}, {}, "surrogate"),
    "a 5,000-digit version": ('{"version": ' + "7" * 5000 + "}", {}, "digits"),
    "nested 100,000 deep": ('{"rules": ' + "[" * 100_000 + "]" * 100_000 + "}", {}, "nested"),
    "gzip that is not gzip": ({"version": 0}, {"Content-Encoding": "gzip"}, "Content-Encoding"),
}


@pytest.mark.parametrize("case", list(HOSTILE_BODIES))
async def test_hostile_bodies_answer_400_with_one_log_line_and_change_nothing(
    admin: TabClient, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    body, headers, word = HOSTILE_BODIES[case]
    _, before = await admin.call("GET", "/api/tab/rules")
    caplog.clear()
    caplog.set_level(logging.INFO)

    if isinstance(body, str):  # already JSON text: sent exactly as written
        status, answer = await admin.call_raw("PUT", "/api/tab/rules", body.encode(), headers)
    else:
        status, answer = await admin.call("PUT", "/api/tab/rules", body, headers)

    assert status == 400, answer
    assert word.lower() in answer["error"]["message"].lower()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert word.lower() in warnings[0].getMessage().lower()
    assert "Traceback" not in caplog.text
    _, after = await admin.call("GET", "/api/tab/rules")
    assert after == before
