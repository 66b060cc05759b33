"""Entra ID in the sandbox, driven by the real MSAL library and by plain HTTP."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import msal
import pytest
import requests

from sandbox.entra_state import APP_PERMISSIONS
from sandbox.server import RunningSandbox
from sandbox.tokens import TokenError

GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]
PRESENCE = ["https://graph.microsoft.com/Presence.Read.All"]
REDIRECT = "http://localhost:3978/auth/callback"


async def _msal_app(
    sandbox: RunningSandbox, client_id: str | None = None, secret: str | None = None
) -> msal.ConfidentialClientApplication:
    """MSAL pointed at the sandbox (built off the event loop: it discovers the authority)."""
    session = requests.Session()
    session.verify = sandbox.ca_file
    session.trust_env = False  # else REQUESTS_CA_BUNDLE would override verify
    return await asyncio.to_thread(
        msal.ConfidentialClientApplication,
        client_id or sandbox.config.app_client_id,
        client_credential=secret or sandbox.config.app_client_secret,
        authority=f"{sandbox.base_url}/entra/{sandbox.config.tenant_id}",
        instance_discovery=False,
        http_client=session,
    )


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


async def _follow_authorize(sandbox: RunningSandbox, url: str) -> dict[str, str]:
    """Open an authorize/adminconsent URL headlessly; the query of the redirect back."""
    async with sandbox.http.get(url, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        location = response.headers["Location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def _grant_consent(sandbox: RunningSandbox) -> None:
    status, _ = await sandbox.control("POST", "/_sandbox/consent", {"granted": True})
    assert status == 200


async def test_client_credentials_are_refused_until_the_tenant_consents(
    sandbox: RunningSandbox,
) -> None:
    app = await _msal_app(sandbox)
    refused = await asyncio.to_thread(app.acquire_token_for_client, GRAPH_DEFAULT)
    assert refused["error"] == "unauthorized_client"
    assert "AADSTS700016" in refused["error_description"]
    assert refused["error_codes"] == [700016]

    await _grant_consent(sandbox)
    # MSAL replays an identical HTTP 400 for 60 s, as against Entra itself: use a fresh app.
    replayed = await asyncio.to_thread(app.acquire_token_for_client, GRAPH_DEFAULT)
    assert replayed["error"] == "unauthorized_client"
    app = await _msal_app(sandbox)
    result = await asyncio.to_thread(app.acquire_token_for_client, GRAPH_DEFAULT)
    claims = _claims(result["access_token"])
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["idtyp"] == "app"
    assert claims["tid"] == sandbox.config.tenant_id
    assert claims["appid"] == claims["azp"] == sandbox.config.app_client_id
    assert sorted(claims["roles"]) == sorted(APP_PERMISSIONS)
    assert claims["iss"] == f"{sandbox.base_url}/entra/{sandbox.config.tenant_id}/v2.0"


async def test_tokens_verify_against_the_published_keys(sandbox: RunningSandbox) -> None:
    await _grant_consent(sandbox)
    result = await asyncio.to_thread(
        (await _msal_app(sandbox)).acquire_token_for_client, GRAPH_DEFAULT
    )
    base = f"{sandbox.base_url}/entra/{sandbox.config.tenant_id}"
    _, metadata = await sandbox.control(
        "GET", f"/entra/{sandbox.config.tenant_id}/v2.0/.well-known/openid-configuration"
    )
    assert metadata["token_endpoint"] == f"{base}/oauth2/v2.0/token"
    async with sandbox.http.get(metadata["jwks_uri"]) as response:
        keys = await response.json()
    public = jwt.PyJWK(keys["keys"][0]).key
    claims = jwt.decode(
        result["access_token"],
        public,
        algorithms=["RS256"],
        audience="https://graph.microsoft.com",
        issuer=metadata["issuer"],
    )
    assert claims["tid"] == sandbox.config.tenant_id


async def test_the_bot_app_gets_bot_framework_tokens(sandbox: RunningSandbox) -> None:
    app = await _msal_app(sandbox, sandbox.config.bot_app_id, sandbox.config.bot_app_secret)
    result = await asyncio.to_thread(
        app.acquire_token_for_client, ["https://api.botframework.com/.default"]
    )
    claims = _claims(result["access_token"])
    assert claims["aud"] == "https://api.botframework.com"
    assert claims["appid"] == sandbox.config.bot_app_id


async def test_a_wrong_secret_is_refused_in_entra_shape(sandbox: RunningSandbox) -> None:
    result = await asyncio.to_thread(
        (await _msal_app(sandbox, secret="not-the-secret")).acquire_token_for_client, GRAPH_DEFAULT
    )
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert {"timestamp", "correlation_id", "trace_id"} <= set(result)


async def test_admin_consent_by_a_global_admin_redirects_back_granted(
    sandbox: RunningSandbox,
) -> None:
    tenant = sandbox.config.tenant_id
    url = (
        f"{sandbox.url(f'/entra/{tenant}/v2.0/adminconsent')}?client_id="
        f"{sandbox.config.app_client_id}&scope=https://graph.microsoft.com/.default"
        f"&redirect_uri={REDIRECT}&state=xyz&login_hint=admin@contoso.example"
        "&sandbox_decision=approve"
    )
    back = await _follow_authorize(sandbox, url)
    assert back == {
        "admin_consent": "True",
        "tenant": tenant,
        "state": "xyz",
        "scope": "https://graph.microsoft.com/.default",
    }
    result = await asyncio.to_thread(
        (await _msal_app(sandbox)).acquire_token_for_client, GRAPH_DEFAULT
    )
    assert "access_token" in result
    _, consent = await sandbox.control("GET", "/_sandbox/consent")
    assert consent["granted"] is True
    assert consent["granted_by"] == "admin@contoso.example"


@pytest.mark.parametrize(
    ("who", "decision", "error"),
    [
        ("teams.admin@contoso.example", "approve", "consent_required"),
        ("admin@contoso.example", "deny", "access_denied"),
    ],
)
async def test_admin_consent_is_refused_for_non_global_admins_and_on_deny(
    sandbox: RunningSandbox, who: str, decision: str, error: str
) -> None:
    tenant = sandbox.config.tenant_id
    url = (
        f"{sandbox.url(f'/entra/{tenant}/v2.0/adminconsent')}?client_id="
        f"{sandbox.config.app_client_id}&redirect_uri={REDIRECT}&state=s1"
        f"&login_hint={who}&sandbox_decision={decision}"
    )
    back = await _follow_authorize(sandbox, url)
    assert back["error"] == error
    assert back["state"] == "s1"
    assert back["error_description"].startswith("AADSTS")
    refused = await asyncio.to_thread(
        (await _msal_app(sandbox)).acquire_token_for_client, GRAPH_DEFAULT
    )
    assert refused["error"] == "unauthorized_client"


async def test_admin_consent_without_hints_shows_the_consent_page(sandbox: RunningSandbox) -> None:
    tenant = sandbox.config.tenant_id
    url = (
        f"{sandbox.url(f'/entra/{tenant}/v2.0/adminconsent')}?client_id="
        f"{sandbox.config.app_client_id}&redirect_uri={REDIRECT}&state=s"
    )
    async with sandbox.http.get(url, allow_redirects=False) as response:
        page = await response.text()
    assert response.status == 200
    assert "Permissions requested" in page
    assert "Presence.ReadWrite.All" in page
    assert "value='approve'" in page
    assert "admin@contoso.example" in page


async def test_the_control_api_answers_the_consent_page_headlessly(
    sandbox: RunningSandbox,
) -> None:
    await sandbox.control(
        "POST",
        "/_sandbox/consent",
        {"sign_in_as": "admin@contoso.example", "admin_decision": "approve"},
    )
    tenant = sandbox.config.tenant_id
    url = (
        f"{sandbox.url(f'/entra/{tenant}/v2.0/adminconsent')}?client_id="
        f"{sandbox.config.app_client_id}&redirect_uri={REDIRECT}"
    )
    back = await _follow_authorize(sandbox, url)
    assert back["admin_consent"] == "True"


async def _sign_in_sync_account(
    sandbox: RunningSandbox, app: msal.ConfidentialClientApplication
) -> dict[str, Any]:
    flow = app.initiate_auth_code_flow(
        PRESENCE, redirect_uri=REDIRECT, login_hint="sync1@contoso.example"
    )
    back = await _follow_authorize(sandbox, flow["auth_uri"])
    return await asyncio.to_thread(app.acquire_token_by_auth_code_flow, flow, back)


async def test_msal_auth_code_flow_with_pkce_signs_in_the_sync_account(
    sandbox: RunningSandbox,
) -> None:
    await _grant_consent(sandbox)
    app = await _msal_app(sandbox)
    result = await _sign_in_sync_account(sandbox, app)
    claims = _claims(result["access_token"])
    assert claims["idtyp"] == "user"
    assert set(claims["scp"].split()) == {"Presence.Read.All"}
    assert claims["preferred_username"] == "sync1@contoso.example"
    sync1 = sandbox.ctx.org.teams_user_by_email("sync1@contoso.example")
    assert sync1 is not None
    assert claims["oid"] == sync1.id
    assert result["id_token_claims"]["preferred_username"] == "sync1@contoso.example"
    assert result["refresh_token"]
    accounts = app.get_accounts()
    assert [a["username"] for a in accounts] == ["sync1@contoso.example"]
    cached = await asyncio.to_thread(app.acquire_token_silent, PRESENCE, accounts[0])
    assert cached["access_token"] == result["access_token"]


async def test_refresh_tokens_rotate_and_the_spent_one_is_refused(sandbox: RunningSandbox) -> None:
    await _grant_consent(sandbox)
    app = await _msal_app(sandbox)
    first = await _sign_in_sync_account(sandbox, app)
    second = await asyncio.to_thread(
        app.acquire_token_by_refresh_token, first["refresh_token"], PRESENCE
    )
    assert second["refresh_token"] != first["refresh_token"]
    assert _claims(second["access_token"])["preferred_username"] == "sync1@contoso.example"
    again = await asyncio.to_thread(
        app.acquire_token_by_refresh_token, first["refresh_token"], PRESENCE
    )
    assert again["error"] == "invalid_grant"


async def test_delegated_presence_needs_admin_consent_first(sandbox: RunningSandbox) -> None:
    app = await _msal_app(sandbox)
    flow = app.initiate_auth_code_flow(
        PRESENCE, redirect_uri=REDIRECT, login_hint="sync1@contoso.example", state="st"
    )
    back = await _follow_authorize(sandbox, flow["auth_uri"])
    assert back["error"] == "consent_required"
    assert "AADSTS65001" in back["error_description"]
    assert back["state"] == "st"


async def test_a_wrong_pkce_verifier_is_refused(sandbox: RunningSandbox) -> None:
    await _grant_consent(sandbox)
    verifier = "a" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    tenant = sandbox.config.tenant_id
    url = (
        f"{sandbox.url(f'/entra/{tenant}/oauth2/v2.0/authorize')}?client_id="
        f"{sandbox.config.app_client_id}&response_type=code&redirect_uri={REDIRECT}"
        f"&scope=User.Read%20openid&login_hint=admin@contoso.example"
        f"&code_challenge={challenge.rstrip(b'=').decode()}&code_challenge_method=S256"
    )
    back = await _follow_authorize(sandbox, url)
    form = {
        "grant_type": "authorization_code",
        "code": back["code"],
        "redirect_uri": REDIRECT,
        "client_id": sandbox.config.app_client_id,
        "client_secret": sandbox.config.app_client_secret,
        "code_verifier": "b" * 50,
    }
    async with sandbox.http.post(
        sandbox.url(f"/entra/{tenant}/oauth2/v2.0/token"), data=form
    ) as response:
        body = await response.json()
    assert response.status == 400
    assert body["error"] == "invalid_grant"
    assert body["error_codes"] == [501481]


async def test_revoking_consent_kills_tokens_until_faults_are_cleared(
    sandbox: RunningSandbox,
) -> None:
    await _grant_consent(sandbox)
    app = await _msal_app(sandbox)
    token = (await asyncio.to_thread(app.acquire_token_for_client, GRAPH_DEFAULT))["access_token"]
    signed_in = await _sign_in_sync_account(sandbox, app)
    status, _ = await sandbox.control("POST", "/_sandbox/faults", {"revoke": "microsoft-consent"})
    assert status == 200
    with pytest.raises(TokenError):
        sandbox.ctx.entra_tokens.verify(
            token, "https://graph.microsoft.com", now=sandbox.ctx.clock.now()
        )
    fresh = await _msal_app(sandbox)  # no cached token
    refused = await asyncio.to_thread(fresh.acquire_token_for_client, GRAPH_DEFAULT)
    assert refused["error"] == "unauthorized_client"
    refresh = await asyncio.to_thread(
        fresh.acquire_token_by_refresh_token, signed_in["refresh_token"], PRESENCE
    )
    assert refresh["error"] == "invalid_grant"

    await sandbox.control("DELETE", "/_sandbox/faults")
    again = await asyncio.to_thread(
        (await _msal_app(sandbox)).acquire_token_for_client, GRAPH_DEFAULT
    )
    # Issued within the second of the revocation, yet alive: only earlier tokens died.
    sandbox.ctx.entra_tokens.verify(
        again["access_token"], "https://graph.microsoft.com", now=sandbox.ctx.clock.now()
    )


async def test_the_sign_in_page_lists_users_when_no_hint_is_given(sandbox: RunningSandbox) -> None:
    tenant = sandbox.config.tenant_id
    url = (
        f"{sandbox.url(f'/entra/{tenant}/oauth2/v2.0/authorize')}?client_id="
        f"{sandbox.config.app_client_id}&response_type=code&redirect_uri={REDIRECT}"
        "&scope=openid"
    )
    async with sandbox.http.get(url, allow_redirects=False) as response:
        page = await response.text()
    assert response.status == 200
    assert "Pick an account" in page
    assert "admin@contoso.example" in page


async def test_an_unknown_tenant_is_not_found(sandbox: RunningSandbox) -> None:
    status, body = await sandbox.control(
        "GET", "/entra/nosuch.example/v2.0/.well-known/openid-configuration"
    )
    assert status == 400
    assert body["error_codes"] == [90002]


async def test_a_partial_consent_grants_only_the_listed_roles(sandbox: RunningSandbox) -> None:
    status, consent = await sandbox.control(
        "POST", "/_sandbox/consent", {"granted": True, "roles": ["User.Read.All"]}
    )
    assert status == 200
    assert consent["roles"] == ["User.Read.All"]
    result = await asyncio.to_thread(
        (await _msal_app(sandbox)).acquire_token_for_client, GRAPH_DEFAULT
    )
    assert _claims(result["access_token"])["roles"] == ["User.Read.All"]
    status, body = await sandbox.control("POST", "/_sandbox/consent", {"roles": ["Root.All"]})
    assert status == 400
    assert "roles" in body["error"]
