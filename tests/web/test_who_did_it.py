"""Who did it comes from the sign-in, never from a parameter: the consent record and the audit
log name the signed-in admin, a callback that no signed-in admin stands behind changes
nothing, and sign-ins cannot be started without limit; the real product and the sandbox."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp

from presence_sync.store import SYSTEM, AuditEntry, Connection
from sandbox.server import RunningSandbox
from tests.connections.product import (
    ADMIN,
    SYNC1,
    Browser,
    ProductServer,
    consent_and_authorise,
    control,
)
from tests.web.tab_session import Mint, bearer

CONSENT = "/connect/microsoft/consent"
CONSENT_CALLBACK = "/connect/microsoft/consent/callback"
MALLORY = "mallory@contoso.example"


async def consent_state(browser: Browser, product: ProductServer, query: str = "") -> str:
    """Start admin consent in `browser`; the state it carries to Entra."""
    to_entra = await browser.redirect_of(f"{product.url}{CONSENT}{query}")
    return parse_qs(urlsplit(to_entra).query)["state"][0]


async def consent_started(
    browser: Browser, product: ProductServer, sandbox: RunningSandbox, query: str = ""
) -> str:
    """Consent granted in the tenant, and a consent started in `browser`: its answer's URL."""
    await control(sandbox, "POST", "/_sandbox/consent", {"granted": True})
    return consent_answer(product, sandbox, await consent_state(browser, product, query))


def consent_answer(product: ProductServer, sandbox: RunningSandbox, state: str) -> str:
    """The callback as Entra (or anyone) can ask for it: consent claimed granted."""
    query = {"admin_consent": "True", "tenant": sandbox.config.tenant_id, "state": state}
    return f"{product.url}{CONSENT_CALLBACK}?{urlencode(query)}"


async def microsoft(product: ProductServer) -> Connection | None:
    """The stored Microsoft consent record."""
    return await (await product.store()).get_connection("microsoft")


async def audit(product: ProductServer) -> list[AuditEntry]:
    """The whole activity log, newest first."""
    return await (await product.store()).list_audit(limit=500)


async def test_the_consent_record_names_the_admin_who_signed_in_whatever_the_hint_said(
    product: ProductServer, admin: Browser, sandbox: RunningSandbox
) -> None:
    answer = await consent_started(admin, product, sandbox, f"?login_hint={MALLORY}")

    page = await admin.open(answer)

    assert page.status == 200
    assert "Microsoft is connected" in page.text
    record = await microsoft(product)
    assert record is not None
    assert record.details.consented_by == ADMIN
    assert record.details.consented_by_source == "cookie"
    entries = await audit(product)
    assert [e.actor for e in entries if e.action == "microsoft-connected"] == [ADMIN]
    assert all(MALLORY not in repr(e) for e in entries)


async def test_a_consent_answer_brought_to_another_browser_changes_nothing_and_says_so(
    product: ProductServer, admin: Browser, stranger: Browser, sandbox: RunningSandbox
) -> None:
    answer = await consent_started(admin, product, sandbox, f"?login_hint={ADMIN}")

    page = await stranger.open(answer)

    assert page.status == 400
    assert "not started in this browser" in page.text
    assert "nothing was changed" in page.text
    assert await microsoft(product) is None
    assert await audit(product) == []
    # Whoever carried the state away spent it: it is no use to anyone now.
    again = await admin.open(answer)
    assert again.status == 400
    assert "no longer valid" in again.text
    assert await microsoft(product) is None


async def test_a_consent_whose_admin_signed_out_since_changes_nothing(
    product: ProductServer, admin: Browser, sandbox: RunningSandbox
) -> None:
    answer = await consent_started(admin, product, sandbox)
    assert admin.admin is not None
    assert await admin.admin.sign_out() == 204

    page = await admin.open(answer)

    assert page.status == 403
    assert "not started by a signed-in administrator" in page.text
    assert f"{ADMIN} signed out of Presence Sync after starting it" in page.text
    assert await microsoft(product) is None
    assert await audit(product) == []


async def test_inside_teams_the_consent_names_the_token_subject_behind_the_one_time_link(
    product: ProductServer, stranger: Browser, sandbox: RunningSandbox, mint: Mint
) -> None:
    await control(sandbox, "POST", "/_sandbox/consent", {"granted": True})
    async with stranger.http.post(
        f"{product.url}/api/tab/steps",
        json={"step": "consent", "loginHint": MALLORY},
        headers=bearer(mint(ADMIN)),
    ) as response:
        assert response.status == 200, await response.text()
        start = (await response.json())["url"]

    # Teams opens the link in a pop-up that carries no token or cookie of its own.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as popup:
        async with popup.get(start, allow_redirects=False) as response:
            assert response.status == 302
            state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
        async with popup.get(consent_answer(product, sandbox, state)) as response:
            assert response.status == 200
            assert "Microsoft is connected" in await response.text()

    record = await microsoft(product)
    assert record is not None
    assert (record.details.consented_by, record.details.consented_by_source) == (ADMIN, "ticket")
    assert [e.actor for e in await audit(product)] == [ADMIN]


async def test_the_eleventh_start_in_a_minute_is_refused_with_429(
    product: ProductServer, admin: Browser
) -> None:
    for _ in range(6):
        await consent_state(admin, product)
    for _ in range(4):
        await admin.redirect_of(f"{product.url}/connect/ringcentral/oauth")

    for path in (CONSENT, "/connect/ringcentral/oauth", "/connect/microsoft/sync-account"):
        async with admin.http.get(f"{product.url}{path}", allow_redirects=False) as response:
            assert response.status == 429, path
            assert 1 <= int(response.headers["Retry-After"]) <= 60
            message = (await response.json())["error"]["message"]
            assert "10 sign-in steps were started by you in the last minute" in message
    # Refusing a start is not refusing the admin: everything else still answers them.
    status, _ = await admin.call("GET", f"{product.url}/api/connections")
    assert status == 200


async def test_a_flood_of_sign_in_starts_from_one_address_is_refused(
    product: ProductServer, stranger: Browser, admin: Browser
) -> None:
    for _ in range(19):  # the admin's own sign-in, from this address too, was the first
        async with stranger.http.get(
            f"{product.url}/tab/auth/login", allow_redirects=False
        ) as response:
            assert response.status == 302
            assert response.cookies["presence_sync_login"]["max-age"] == "300"

    async with stranger.http.get(f"{product.url}/tab/auth/login", allow_redirects=False) as r:
        assert r.status == 429
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert "from this address in the last minute" in (await r.json())["error"]["message"]
    # Who is signed in already stays signed in.
    status, _ = await admin.call("GET", f"{product.url}/api/tab/session")
    assert status == 200


async def test_audit_entries_name_the_admin_of_each_tab_action_and_system_for_the_products_own(
    product: ProductServer, admin: Browser, sandbox: RunningSandbox
) -> None:
    await control(sandbox, "POST", "/_sandbox/consent", {"granted": True})
    await product.connections.recheck()  # what the re-check loop does by itself
    await consent_and_authorise(product, admin, sandbox, SYNC1)
    status, body = await admin.call("POST", f"{product.url}/api/tab/ringcentral/connect")
    assert status == 200, body
    status, body = await admin.call("DELETE", f"{product.url}/api/tab/sync-accounts/{SYNC1}")
    assert status == 204, body

    actors = {e.action: e.actor for e in await audit(product)}

    assert actors == {
        "microsoft-connected": SYSTEM,
        "sync-account-authorised": ADMIN,  # the admin who started it, not the account itself
        "ringcentral-connected": ADMIN,
        "sync-account-removed": ADMIN,
    }
