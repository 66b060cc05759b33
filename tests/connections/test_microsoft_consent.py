"""Step 1, admin consent, through the product's routes and the sandbox's Entra pages."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from presence_sync.logs import PLAIN_FORMAT, JsonFormatter, PlainFormatter
from sandbox.server import RunningSandbox
from tests.connections.product import ADMIN, Browser, ProductServer, control


async def connection(product: ProductServer, browser: Browser, kind: str) -> dict[str, Any]:
    """One row of GET /api/connections, as the signed-in admin's tab reads it."""
    status, answer = await browser.call("GET", f"{product.url}/api/connections")
    assert status == 200, answer
    return next(row for row in answer["connections"] if row["kind"] == kind)


async def check(product: ProductServer, browser: Browser) -> dict[str, Any]:
    """POST /connect/microsoft/check, as the tab's "Check again" button sends it."""
    status, body = await browser.call("POST", f"{product.url}/connect/microsoft/check")
    assert status == 200, body
    return dict(body)


async def test_admin_consent_connects_microsoft_and_names_who_started_it(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    await control(sandbox, "POST", "/_sandbox/consent", {"admin_decision": "approve"})

    page = await browser.open(f"{product.url}/connect/microsoft/consent?login_hint={ADMIN}")

    assert page.status == 200
    assert "Microsoft is connected" in page.text
    assert page.url.startswith(f"{product.url}/connect/microsoft/consent/callback")
    row = await connection(product, browser, "microsoft")
    assert row["state"] == "connected"
    assert row["details"]["tenant"] == sandbox.config.tenant_id
    assert row["details"]["consented_by"] == ADMIN
    assert "Presence.ReadWrite.All" in row["details"]["roles"]
    assert row["since"] is not None
    assert (await control(sandbox, "GET", "/_sandbox/consent"))["granted_by"] == ADMIN
    # The connection is usable at once: the Graph client reads the directory.
    graph = await product.connections.graph()
    users = [user async for user in graph.list_users()]
    assert any(u.user_principal_name == ADMIN for u in users)


async def test_consent_redirect_carries_a_fresh_state_to_the_tenant(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    first = await browser.redirect_of(f"{product.url}/connect/microsoft/consent")
    second = await browser.redirect_of(f"{product.url}/connect/microsoft/consent")

    parts = urlsplit(first)
    query = parse_qs(parts.query)
    assert parts.path == f"/entra/{sandbox.config.tenant_id}/v2.0/adminconsent"
    assert query["client_id"] == [sandbox.config.app_client_id]
    assert query["scope"] == ["https://graph.microsoft.com/.default"]
    assert query["redirect_uri"] == [f"{product.url}/connect/microsoft/consent/callback"]
    assert len(query["state"][0]) >= 32
    assert parse_qs(urlsplit(second).query)["state"] != query["state"]


async def test_declined_consent_shows_the_reason_and_records_nothing(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    await control(sandbox, "POST", "/_sandbox/consent", {"admin_decision": "deny"})

    page = await browser.open(f"{product.url}/connect/microsoft/consent?login_hint={ADMIN}")

    assert "Admin consent was not granted" in page.text
    assert "The administrator declined to grant consent" in page.text
    assert "AADSTS" not in page.text
    row = await connection(product, browser, "microsoft")
    assert row["state"] == "missing"
    assert row["details"] == {}


async def test_consent_by_someone_who_may_not_grant_it_says_who_can(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    await control(sandbox, "POST", "/_sandbox/consent", {"admin_decision": "approve"})

    page = await browser.open(
        f"{product.url}/connect/microsoft/consent?login_hint=teams.admin@contoso.example"
    )

    assert "Sign in with a Global Administrator" in page.text
    assert (await connection(product, browser, "microsoft"))["state"] == "missing"


async def test_a_replayed_or_unknown_state_is_refused_and_changes_nothing(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    await control(sandbox, "POST", "/_sandbox/consent", {"admin_decision": "approve"})
    to_entra = await browser.redirect_of(f"{product.url}/connect/microsoft/consent")
    callback = await browser.redirect_of(f"{to_entra}&login_hint={ADMIN}")
    first = await browser.open(callback)
    assert first.status == 200
    since = (await connection(product, browser, "microsoft"))["since"]

    replay = await browser.open(callback)
    forged = await browser.open(
        f"{product.url}/connect/microsoft/consent/callback?admin_consent=True&state=made-up"
    )

    for page in (replay, forged):
        assert page.status == 400
        assert "no longer valid" in page.text
    assert (await connection(product, browser, "microsoft"))["since"] == since


async def test_consent_granted_in_the_portal_is_detected(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    assert (await connection(product, browser, "microsoft"))["state"] == "missing"
    await control(sandbox, "POST", "/_sandbox/consent", {"granted": True})

    body = await check(product, browser)

    assert body["state"] == "connected"
    row = await connection(product, browser, "microsoft")
    assert row["state"] == "connected"
    assert row["details"]["method"].startswith("detected")


async def test_consent_granted_before_start_is_detected_on_start(
    sandbox: RunningSandbox, start: Any, browser: Browser
) -> None:
    await control(sandbox, "POST", "/_sandbox/consent", {"granted": True})

    product = await start()

    assert (await connection(product, browser, "microsoft"))["state"] == "connected"


async def test_missing_permissions_are_named_with_what_they_are_for(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    granted = ["User.Read.All", "Presence.Read.All", "Directory.Read.All", "Mail.Send"]
    await control(sandbox, "POST", "/_sandbox/consent", {"granted": True, "roles": granted})

    body = await check(product, browser)

    assert body["state"] == "broken"
    assert (
        "Missing permission: Presence.ReadWrite.All — to show RingCentral calls as In a call "
        "in Teams" in body["notes"]
    )
    assert any(n.startswith("Missing permission: TeamsAppInstallation") for n in body["notes"])
    row = await connection(product, browser, "microsoft")
    assert row["state"] == "broken"
    assert "Presence.ReadWrite.All" in row["reason"]
    assert row["details"]["missing"] == [
        "Presence.ReadWrite.All",
        "TeamsAppInstallation.ReadWriteSelfForUser.All",
    ]


async def test_an_optional_permission_missing_keeps_microsoft_connected_but_says_so(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    granted = [
        "User.Read.All",
        "Presence.Read.All",
        "Presence.ReadWrite.All",
        "Directory.Read.All",
        "TeamsAppInstallation.ReadWriteSelfForUser.All",
    ]
    await control(sandbox, "POST", "/_sandbox/consent", {"granted": True, "roles": granted})

    body = await check(product, browser)

    assert body["state"] == "connected"
    assert body["notes"] == [
        "Missing permission: Mail.Send — to email admins job reports and health alerts"
    ]
    assert "Mail.Send" in (await connection(product, browser, "microsoft"))["reason"]


async def test_consent_from_another_organisation_is_refused(
    product: ProductServer, browser: Browser
) -> None:
    to_entra = await browser.redirect_of(f"{product.url}/connect/microsoft/consent")
    state = parse_qs(urlsplit(to_entra).query)["state"][0]
    other = "00000000-1111-2222-3333-444444444444"

    page = await browser.open(
        f"{product.url}/connect/microsoft/consent/callback"
        f"?admin_consent=True&tenant={other}&state={state}"
    )

    assert "granted for another organisation" in page.text
    assert (await connection(product, browser, "microsoft"))["state"] == "missing"


async def test_the_consent_page_names_each_permission_still_missing(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    granted = ["User.Read.All", "Presence.Read.All", "Directory.Read.All", "Mail.Send"]
    await control(
        sandbox, "POST", "/_sandbox/consent", {"admin_decision": "approve", "roles": granted}
    )

    page = await browser.open(f"{product.url}/connect/microsoft/consent?login_hint={ADMIN}")

    assert "Microsoft is not fully connected" in page.text
    assert (
        "Missing permission: Presence.ReadWrite.All — to show RingCentral calls as In a call "
        "in Teams" in page.text
    )
    assert "Missing permission: TeamsAppInstallation.ReadWriteSelfForUser.All" in page.text
    assert (await connection(product, browser, "microsoft"))["state"] == "broken"


FORGED_LINE = "2026-12-02 12:00:00,000 WARNING presence_sync.admin: consent granted by mallory"


@contextlib.contextmanager
def product_log() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """The product's log as an operator reads it, in the plain and the JSON format."""
    plain, jsonl = io.StringIO(), io.StringIO()
    handlers = [logging.StreamHandler(plain), logging.StreamHandler(jsonl)]
    handlers[0].setFormatter(PlainFormatter(PLAIN_FORMAT))
    handlers[1].setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    for handler in handlers:
        root.addHandler(handler)
    try:
        yield plain, jsonl
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        root.setLevel(level)


async def test_a_newline_in_the_callback_error_cannot_forge_a_log_line(
    product: ProductServer, browser: Browser, sandbox: RunningSandbox
) -> None:
    to_entra = await browser.redirect_of(f"{product.url}/connect/microsoft/consent")
    state = parse_qs(urlsplit(to_entra).query)["state"][0]
    hostile = urlencode({"state": state, "error": f"access_denied\n{FORGED_LINE}\r\n\u2028x"})

    with product_log() as (plain, jsonl):
        page = await browser.open(f"{product.url}/connect/microsoft/consent/callback?{hostile}")

    # Refused at the edge: an error code is a word, and the refusal names the parameter.
    assert page.status == 400
    assert "callback parameter error" in page.text
    lines = plain.getvalue().splitlines()
    assert any("callback parameter error is not of the expected form" in line for line in lines)
    assert not any(line.startswith(FORGED_LINE) for line in lines)
    records = [json.loads(line) for line in jsonl.getvalue().splitlines()]
    assert any("callback parameter error" in r["message"] for r in records)
    assert all("\n" not in r["message"] and "\u2028" not in r["message"] for r in records)
    assert (await connection(product, browser, "microsoft"))["state"] == "missing"
    # The sign-in was not spent: Entra's genuine answer still finishes it.
    genuine = urlencode({"state": state, "error": "access_denied"})
    page = await browser.open(f"{product.url}/connect/microsoft/consent/callback?{genuine}")
    assert "Admin consent was not granted" in page.text
