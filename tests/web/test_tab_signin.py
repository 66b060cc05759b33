"""Signing in to the tab outside Teams: the session cookie, its CSRF token, sign-out, step
tickets, and a browser sent to sign in first; the real product against the HTTPS sandbox."""

from __future__ import annotations

import aiohttp
from yarl import URL

from presence_sync.connections import sync_account_kind
from presence_sync.store import ConnectionStatus
from presence_sync.web.auth import CSRF_HEADER, SESSION_COOKIE
from sandbox.server import RunningSandbox
from tests.connections.product import ADMIN, SYNC1, Browser, ProductServer, consent_and_authorise
from tests.web.tab_session import member

SESSION = "/api/tab/session"
LOGIN = "/tab/auth/login"


async def entra_answer(
    http: aiohttp.ClientSession, product: ProductServer, email: str, back: str | None = None
) -> tuple[str, dict[str, str]]:
    """Start a sign-in and let Entra sign `email` in: (callback URL, the form it posts)."""
    query = {"login_hint": email, **({"return": back} if back else {})}
    async with http.get(f"{product.url}{LOGIN}", params=query, allow_redirects=False) as r:
        assert r.status == 302, await r.text()
        to_entra = r.headers["Location"]
    return await redirected_back(http, to_entra)


async def redirected_back(http: aiohttp.ClientSession, to_entra: str) -> tuple[str, dict[str, str]]:
    """Where Entra sends the browser back after signing in: (callback URL, its query)."""
    async with http.get(to_entra, allow_redirects=False) as r:
        assert r.status == 302, await r.text()
        back = URL(r.headers["Location"])
    return str(back.with_query(None)), dict(back.query)


async def post_callback(
    http: aiohttp.ClientSession, url: str, fields: dict[str, str]
) -> aiohttp.ClientResponse:
    """The browser arriving at the callback with Entra's answer."""
    async with http.get(url, params=fields, allow_redirects=False) as response:
        await response.read()
        return response


async def session_status(http: aiohttp.ClientSession, product: ProductServer) -> int:
    async with http.get(f"{product.url}{SESSION}") as response:
        return response.status


async def test_signing_in_sets_an_httponly_lax_cookie_for_eight_hours_and_names_the_admin(
    product: ProductServer, stranger: Browser
) -> None:
    url, fields = await entra_answer(stranger.http, product, ADMIN)
    answer = await post_callback(stranger.http, url, fields)

    assert answer.status == 302
    assert answer.headers["Location"] == "/tab/"
    cookie = answer.cookies[SESSION_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == str(8 * 3600)
    assert cookie["path"] == "/"
    async with stranger.http.get(f"{product.url}{SESSION}") as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        session = await response.json()
    assert session["user"]["email"] == ADMIN
    assert session["admin"] is True
    assert session["via"] == "cookie"
    assert len(session["csrfToken"]) >= 32


async def test_a_replayed_or_unknown_state_is_refused_and_sets_no_cookie(
    product: ProductServer, stranger: Browser
) -> None:
    url, fields = await entra_answer(stranger.http, product, ADMIN)
    assert (await post_callback(stranger.http, url, fields)).status == 302
    stranger.http.cookie_jar.clear()

    replayed = await post_callback(stranger.http, url, fields)
    unknown = await post_callback(stranger.http, url, {**fields, "state": "made-up"})

    for answer in (replayed, unknown):
        assert answer.status == 400
        assert SESSION_COOKIE not in answer.cookies
    assert await session_status(stranger.http, product) == 401


async def test_an_answer_planted_in_another_browser_signs_nobody_in(
    product: ProductServer, stranger: Browser, sandbox: RunningSandbox
) -> None:
    # Login CSRF: someone starts a sign-in as themselves and makes a victim's browser arrive
    # at the callback with their code and state. Only the browser that started it may finish.
    url, fields = await entra_answer(stranger.http, product, ADMIN)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=sandbox.ssl),
        cookie_jar=aiohttp.CookieJar(unsafe=True),
    ) as victim:
        planted = await post_callback(victim, url, fields)
        assert planted.status == 400
        assert "not started in this browser" in await planted.text()
        assert SESSION_COOKIE not in planted.cookies
    # The refused answer is not spent: the browser that started it still finishes.
    assert (await post_callback(stranger.http, url, fields)).status == 302


async def test_a_return_address_on_another_site_is_refused(
    product: ProductServer, stranger: Browser
) -> None:
    for back in ("https://evil.example/", "//evil.example/tab", "/elsewhere"):
        async with stranger.http.get(
            f"{product.url}{LOGIN}", params={"return": back}, allow_redirects=False
        ) as response:
            assert response.status == 400, back
            assert "return must be a path of this product" in await response.text()


async def test_signing_out_ends_the_session_even_for_a_copy_of_the_cookie(
    product: ProductServer, admin: Browser
) -> None:
    cookie = f"{SESSION_COOKIE}={_cookie(admin)}"
    assert admin.admin is not None
    assert await admin.admin.sign_out() == 204

    assert await session_status(admin.http, product) == 401
    async with (
        aiohttp.ClientSession() as replay,
        replay.get(f"{product.url}{SESSION}", headers={"Cookie": cookie}) as r,
    ):
        assert r.status == 401
        error = (await r.json())["error"]
    assert error["code"] == "unauthenticated"
    assert "ended" in error["message"]
    assert "sign in again" in error["message"]


async def test_a_forged_cookie_is_refused(product: ProductServer, admin: Browser) -> None:
    real = _cookie(admin)
    sid, mac = real.split(".")
    forged = [f"{sid}.{mac[::-1]}", f"{sid[::-1]}.{mac}", "anything", f"{real}.extra"]
    async with aiohttp.ClientSession() as http:
        for value in forged:
            headers = {"Cookie": f"{SESSION_COOKIE}={value}"}
            async with http.get(f"{product.url}/api/connections", headers=headers) as r:
                assert r.status == 401, value
                assert (await r.json())["error"]["code"] == "unauthenticated"


async def test_a_change_without_the_csrf_token_or_from_another_site_changes_nothing(
    product: ProductServer, admin: Browser, sandbox: RunningSandbox
) -> None:
    await consent_and_authorise(product, admin, sandbox)
    assert admin.admin is not None
    csrf = admin.admin.csrf
    store = await product.store()
    attempts = [
        {},
        {CSRF_HEADER: "not-the-token"},
        {CSRF_HEADER: csrf, "Origin": "https://evil.example"},
    ]
    for headers in attempts:
        async with admin.http.delete(
            f"{product.url}/connect/microsoft/sync-account/{SYNC1}", headers=headers
        ) as r:
            assert r.status == 403, headers
            assert (await r.json())["error"]["code"] == "csrf"
        async with admin.http.post(f"{product.url}/connect/ringcentral", headers=headers) as r:
            assert r.status == 403, headers

    assert await product.connections.sync_accounts() == [SYNC1]
    record = await store.get_connection(sync_account_kind(SYNC1))
    assert record is not None
    assert record.status == ConnectionStatus.CONNECTED
    assert await store.get_connection("ringcentral") is None
    # The same change with the token from /api/tab/session, from the product's own page, works.
    own = {CSRF_HEADER: csrf, "Origin": product.url}
    async with admin.http.post(f"{product.url}/connect/ringcentral", headers=own) as r:
        assert r.status == 200, await r.text()


async def test_a_step_ticket_starts_its_step_once_and_no_other(
    product: ProductServer, admin: Browser, sandbox: RunningSandbox
) -> None:
    status, body = await admin.call("POST", f"{product.url}/api/tab/steps", {"step": "consent"})
    assert status == 200, body
    start = body["url"]
    assert start.startswith(f"{product.url}/connect/microsoft/consent?start=")

    # The pop-up carries no cookie or token: only the ticket.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=sandbox.ssl)) as popup:
        async with popup.get(start, allow_redirects=False) as first:
            assert first.status == 302
            assert first.headers["Location"].startswith(f"{sandbox.base_url}/entra/")
        async with popup.get(start, allow_redirects=False) as again:
            assert again.status == 401
            assert "already used" in (await again.json())["error"]["message"]

        status, body = await admin.call("POST", f"{product.url}/api/tab/steps", {"step": "consent"})
        other = body["url"].replace("/connect/microsoft/consent", "/connect/ringcentral/oauth")
        async with popup.get(other, allow_redirects=False) as wrong_step:
            assert wrong_step.status == 401
        status, body = await admin.call("POST", f"{product.url}/api/tab/steps", {"step": "nap"})
        assert status == 400


async def test_a_browser_opening_a_starter_signs_in_first_and_lands_back_on_it(
    product: ProductServer, stranger: Browser, sandbox: RunningSandbox
) -> None:
    starter = f"/connect/microsoft/consent?login_hint={ADMIN}"
    html = {"Accept": "text/html,application/xhtml+xml"}
    async with stranger.http.get(
        f"{product.url}{starter}", headers=html, allow_redirects=False
    ) as response:
        assert response.status == 302
        to_login = response.headers["Location"]
    assert to_login.startswith(f"{LOGIN}?return=")

    # The admin picks their account on Entra's page (the sandbox picks it for them here).
    status, _ = await sandbox.control("POST", "/_sandbox/consent", {"sign_in_as": ADMIN})
    assert status == 200
    async with stranger.http.get(f"{product.url}{to_login}", allow_redirects=False) as r:
        to_entra = r.headers["Location"]
    landed = await post_callback(stranger.http, *await redirected_back(stranger.http, to_entra))

    assert landed.status == 302
    assert landed.headers["Location"] == starter
    async with stranger.http.get(
        f"{product.url}{starter}", headers=html, allow_redirects=False
    ) as response:
        assert response.status == 302
        assert "/adminconsent" in response.headers["Location"]


async def test_someone_who_is_not_an_admin_signs_in_but_is_told_why_they_may_not_change(
    product: ProductServer, stranger: Browser, sandbox: RunningSandbox
) -> None:
    person = member(sandbox).user_principal_name
    url, fields = await entra_answer(stranger.http, product, person)
    assert (await post_callback(stranger.http, url, fields)).status == 302

    async with stranger.http.get(f"{product.url}{SESSION}") as response:
        session = await response.json()
    assert session["admin"] is False
    assert "not a Presence Sync admin" in session["reason"]
    async with stranger.http.get(f"{product.url}/api/connections") as response:
        assert response.status == 403
        assert "ADMIN_EMAILS" in (await response.json())["error"]["message"]


def _cookie(browser: Browser) -> str:
    found = [c.value for c in browser.http.cookie_jar if c.key == SESSION_COOKIE]
    assert len(found) == 1, found
    return found[0]


async def test_hostile_cookies_headers_and_paths_are_refused_in_words_not_with_500(
    product: ProductServer, admin: Browser
) -> None:
    async with aiohttp.ClientSession() as http:
        for cookie in ("abc.\u00e9", "\u00ff.abc", "x" * 5000, "a.b.c"):
            async with http.get(
                f"{product.url}{SESSION}", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}
            ) as response:
                assert response.status == 401, cookie
        for path in ("/tab/%00", "/tab/" + "n" * 300, "/tab/../../pyproject.toml"):
            async with http.get(f"{product.url}{path}") as response:
                assert response.status in (400, 404), path
    async with admin.http.get(f"{product.url}{SESSION}") as response:
        csrf = (await response.json())["csrfToken"]
    async with admin.http.post(
        f"{product.url}/api/tab/rules/reset",
        data="[" * 50_000 + "]" * 50_000,
        headers={CSRF_HEADER: csrf, "Content-Type": "application/json"},
    ) as response:
        assert response.status == 400
        assert "nested more than" in (await response.json())["error"]["message"]
    async with admin.http.post(
        f"{product.url}/api/tab/rules/reset",
        json={"version": 0},
        headers={CSRF_HEADER: "\u00e9t\u00e9"},
    ) as response:
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "csrf"


async def test_a_refused_start_does_not_spend_the_admins_one_time_link(
    product: ProductServer, admin: Browser
) -> None:
    async with admin.http.get(f"{product.url}{SESSION}") as response:
        csrf = (await response.json())["csrfToken"]
    async with admin.http.post(
        f"{product.url}/api/tab/steps", json={"step": "consent"}, headers={CSRF_HEADER: csrf}
    ) as response:
        url = (await response.json())["url"]
    async with aiohttp.ClientSession() as popup:  # a pop-up: no cookie
        async with popup.head(url, allow_redirects=False) as response:
            assert response.status == 405  # a link preview does not spend it
        async with popup.get(f"{url}&login_hint=not-an-email", allow_redirects=False) as r:
            assert r.status == 400
        async with popup.get(url, allow_redirects=False) as response:
            assert response.status == 302  # still good: on to Entra's consent page
        async with popup.get(url, allow_redirects=False) as response:
            assert response.status == 401  # and now spent


async def test_a_return_path_that_climbs_out_is_refused(
    product: ProductServer, stranger: Browser
) -> None:
    # Browsers resolve dot segments, percent-encoded ones too.
    for back in ("/tab/../../evil", "/connect/./x", "/tab/%2e%2e/x", "/tab/%2E%2e//evil"):
        async with stranger.http.get(
            f"{product.url}{LOGIN}", params={"return": back}, allow_redirects=False
        ) as response:
            assert response.status == 400, back
            assert "return must be a path" in (await response.json())["error"]["message"]
