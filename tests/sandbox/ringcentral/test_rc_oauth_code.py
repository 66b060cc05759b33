"""RingCentral's authorization-code flow with PKCE: the sign-in page, the code grant through
the real `ringcentral` SDK, single use, expiry, PKCE and redirect checks, refusals."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from rc_harness import (
    RC_CLIENT_ID,
    RC_CLIENT_SECRET,
    REDIRECT,
    RcSandbox,
    StartRc,
    code_for,
    pkce,
    redirected,
    sdk_login,
    sign_in_query,
)
from ringcentral.http.api_exception import ApiException

ME = "/restapi/v1.0/account/~/extension/~"


async def refused(rc: RcSandbox, code: str, verifier: str, redirect: str = REDIRECT) -> Any:
    """The OAuth error body of a code login RingCentral refuses."""
    with pytest.raises(ApiException) as caught:
        await sdk_login(rc, code, verifier, redirect)
    response = caught.value.api_response().response()
    assert response.status_code == 400
    return response.json()


async def test_the_sdk_redeems_a_code_for_tokens_of_the_user_who_signed_in(rc: RcSandbox) -> None:
    verifier, challenge = pkce()
    user = rc.ext(7)
    code = await code_for(rc, str(user.email), challenge)

    platform = await sdk_login(rc, code, verifier)

    auth = platform.auth().data()
    assert auth["token_type"] == "bearer"
    assert (auth["expires_in"], auth["refresh_token_expires_in"]) == (3600, 604800)
    assert auth["owner_id"] == user.id
    assert "ReadPresence" in auth["scope"]
    me = (await asyncio.to_thread(platform.get, ME)).json_dict()
    assert str(me["id"]) == user.id
    assert me["contact"]["email"] == user.email
    assert me["permissions"]["admin"]["enabled"] is False


async def test_a_refreshed_code_token_still_speaks_for_the_same_user(rc: RcSandbox) -> None:
    verifier, challenge = pkce()
    platform = await sdk_login(rc, await code_for(rc, str(rc.ext(4).email), challenge), verifier)

    await asyncio.to_thread(platform.refresh)

    me = (await asyncio.to_thread(platform.get, ME)).json_dict()
    assert str(me["id"]) == rc.ext(4).id


async def test_a_code_works_once(rc: RcSandbox) -> None:
    verifier, challenge = pkce()
    code = await code_for(rc, str(rc.ext(2).email), challenge)
    platform = await sdk_login(rc, code, verifier)

    body = await refused(rc, code, verifier)

    assert (body["error"], body["error_description"]) == (
        "invalid_grant",
        "Authorization code is invalid",
    )
    me = await asyncio.to_thread(platform.get, ME)
    assert me.response().status_code == 200


async def test_a_failed_redemption_spends_the_code(rc: RcSandbox) -> None:
    verifier, challenge = pkce()
    code = await code_for(rc, str(rc.ext(2).email), challenge)
    await refused(rc, code, "a-guess")

    body = await refused(rc, code, verifier)

    assert body["error_description"] == "Authorization code is invalid"


async def test_a_code_expires_after_sixty_sandbox_seconds(start_rc: StartRc) -> None:
    rc = await start_rc(time_scale=100, users=20)
    verifier, challenge = pkce()
    code = await code_for(rc, str(rc.ext(2).email), challenge)
    await asyncio.sleep(0.7)  # 70 sandbox seconds

    body = await refused(rc, code, verifier)

    assert (body["error"], body["error_description"]) == (
        "invalid_grant",
        "Authorization code is expired",
    )


@pytest.mark.parametrize(
    ("verifier", "redirect", "why"),
    [
        ("someone-elses-verifier", REDIRECT, "Invalid code verifier"),
        ("", REDIRECT, "Invalid code verifier"),
        (None, "http://127.0.0.1:9/elsewhere", "Redirect URI does not match the authorization"),
    ],
)
async def test_a_wrong_verifier_or_redirect_uri_is_refused(
    rc: RcSandbox, verifier: str | None, redirect: str, why: str
) -> None:
    good, challenge = pkce()
    code = await code_for(rc, str(rc.ext(2).email), challenge)

    body = await refused(rc, code, good if verifier is None else verifier, redirect)

    assert (body["error"], body["error_description"]) == ("invalid_grant", why)


async def test_the_code_grant_needs_the_apps_client_credentials(rc: RcSandbox) -> None:
    verifier, challenge = pkce()
    code = await code_for(rc, str(rc.ext(2).email), challenge)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    token_url = f"{rc.server_url}/restapi/oauth/token"

    async with rc.http.post(token_url, data=form) as anonymous:
        assert anonymous.status == 401
        assert (await anonymous.json())["error"] == "invalid_client"
    basic = aiohttp.encode_basic_auth(RC_CLIENT_ID, RC_CLIENT_SECRET)
    async with rc.http.post(token_url, data=form, headers={"Authorization": basic}) as ok:
        assert ok.status == 200
        assert ok.headers["Cache-Control"] == "no-store"
        assert (await ok.json())["owner_id"] == rc.ext(2).id


async def test_cancel_redirects_with_access_denied_and_no_code(rc: RcSandbox) -> None:
    _, challenge = pkce()

    back = await redirected(
        rc, sign_in_query(challenge, login_hint=str(rc.ext(2).email), sandbox_decision="deny")
    )

    assert back["error"] == "access_denied"
    assert back["state"] == "st-123"
    assert "code" not in back


async def test_the_control_api_signs_in_and_answers_for_a_headless_browser(rc: RcSandbox) -> None:
    _, challenge = pkce()
    status, choice = await rc.control("oauth", {"sign_in_as": rc.ext(3).email})
    assert status == 200
    assert choice["sign_in_as"] == rc.ext(3).email
    approved = await redirected(rc, sign_in_query(challenge))

    await rc.control("oauth", {"decision": "deny"})
    denied = await redirected(rc, sign_in_query(challenge))

    assert "code" in approved
    assert denied["error"] == "access_denied"
    bad, answer = await rc.control("oauth", {"decision": "maybe"})
    assert bad == 400
    assert "decision" in answer["error"]
    unknown, _ = await rc.control("oauth", {"sign_in_as": "nobody@contoso.example"})
    assert unknown == 404


async def test_without_a_hint_the_page_offers_users_and_its_form_signs_in(rc: RcSandbox) -> None:
    _, challenge = pkce()
    query = sign_in_query(challenge)
    url = f"{rc.server_url}/restapi/oauth/authorize?{urlencode(query)}"
    async with rc.http.get(url, allow_redirects=False) as response:
        status, text = response.status, await response.text()
    assert status == 200
    assert str(rc.ext(5).email) in text
    assert "Authorize" in text
    assert "Cancel" in text

    # What the browser sends when the person picks user 5 and presses Authorize.
    back = await redirected(
        rc, {**query, "sandbox_user": str(rc.ext(5).email), "sandbox_decision": "approve"}
    )

    assert "code" in back
    assert back["state"] == "st-123"


@pytest.mark.parametrize(
    ("change", "shows"),
    [
        ({"client_id": "not-our-app"}, "Client application is not found"),
        ({"redirect_uri": "ftp://example"}, "redirect_uri"),
        ({"login_hint": "nobody@contoso.example"}, "No RingCentral user"),
    ],
)
async def test_bad_sign_in_requests_get_an_error_page_and_no_redirect(
    rc: RcSandbox, change: dict[str, str], shows: str
) -> None:
    _, challenge = pkce()
    url = f"{rc.server_url}/restapi/oauth/authorize?{urlencode(sign_in_query(challenge, **change))}"

    async with rc.http.get(url, allow_redirects=False) as response:
        assert response.status == 400
        assert shows in await response.text()


async def test_a_wrong_response_type_is_sent_back_as_an_error(rc: RcSandbox) -> None:
    _, challenge = pkce()

    back = await redirected(rc, sign_in_query(challenge, response_type="token"))

    assert back["error"] == "unsupported_response_type"
