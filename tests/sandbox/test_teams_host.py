"""The Teams host page's parameters and the SSO tokens it hands the tab, checked as the product
would: against the sandbox tenant's published JWKS."""

from __future__ import annotations

import json
import re
from typing import Any

import jwt
import pytest

from sandbox.entra_state import ENTRA_STATE, user_tokens
from sandbox.model import ROLE_TEMPLATE_IDS
from sandbox.server import RunningSandbox
from sandbox.tokens import TokenError

ADMIN = "admin@contoso.example"
TEAMS_ADMIN = "teams.admin@contoso.example"
TAB = "http://127.0.0.1:8080/tab/"
GLOBAL_ADMIN_ID = "62e90394-69f5-4237-9190-012177145e10"
TEAMS_ADMIN_ID = "69091246-20e8-4a56-aa4d-066075b2a7a8"


def _plain_user(sandbox: RunningSandbox) -> str:
    user = next(u for u in sandbox.ctx.org.teams_users.values() if not u.roles)
    return user.user_principal_name


async def _page(sandbox: RunningSandbox, **query: str) -> tuple[int, str]:
    async with sandbox.http.get(sandbox.url("/_sandbox/teams/host"), params=query) as response:
        return response.status, await response.text()


async def _token(sandbox: RunningSandbox, email: str, body: Any = None) -> str:
    status, answer = await sandbox.control("POST", f"/_sandbox/teams/{email}/sso-token", body)
    assert status == 200, answer
    return str(answer["token"])


async def _verify(sandbox: RunningSandbox, token: str, audience: str) -> dict[str, Any]:
    """Validate like a resource server: the key by kid from the tenant's JWKS, aud, iss, exp."""
    tenant = sandbox.config.tenant_id
    async with sandbox.http.get(sandbox.url(f"/entra/{tenant}/discovery/v2.0/keys")) as response:
        keys = (await response.json())["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    [jwk] = [k for k in keys if k["kid"] == kid] or [keys[0]]
    claims: dict[str, Any] = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["RS256"],
        audience=audience,
        issuer=sandbox.ctx.entra_tokens.issuer,
    )
    return claims


def test_role_template_ids_are_entras() -> None:
    assert ROLE_TEMPLATE_IDS == {
        "Global Administrator": GLOBAL_ADMIN_ID,
        "Teams Administrator": TEAMS_ADMIN_ID,
    }


async def test_the_host_page_frames_the_tab_for_a_known_user(sandbox: RunningSandbox) -> None:
    status, page = await _page(sandbox, user=ADMIN, tab=TAB, theme="dark")
    assert status == 200
    assert '<select id="theme">' in page
    assert 'id="tab"' in page
    match = re.search(r'id="sandbox-host-config">(.*?)</script>', page)
    assert match is not None
    config = json.loads(match.group(1))
    assert config["tab"] == TAB
    assert config["tabOrigin"] == "http://127.0.0.1:8080"
    assert config["audience"] == f"api://127.0.0.1:8080/{sandbox.config.app_client_id}"
    assert config["theme"] == "dark"
    assert config["tenantId"] == sandbox.config.tenant_id
    assert config["user"]["userPrincipalName"] == ADMIN
    assert "window.sandboxHost" in page


async def test_default_ports_are_left_out_of_origin_and_audience(sandbox: RunningSandbox) -> None:
    status, page = await _page(sandbox, user=ADMIN, tab="https://Product.Example:443/tab/")
    assert status == 200
    assert '"tabOrigin": "https://product.example"' in page
    assert f'"audience": "api://product.example/{sandbox.config.app_client_id}"' in page
    assert '"theme": "default"' in page


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"user": "nobody@contoso.example", "tab": TAB}, "nobody@contoso.example"),
        ({"tab": TAB}, "user:"),
        ({"user": ADMIN, "tab": "javascript:alert(1)"}, "tab:"),
        ({"user": ADMIN, "tab": "ftp://127.0.0.1/tab/"}, "tab:"),
        ({"user": ADMIN}, "tab:"),
        ({"user": ADMIN, "tab": TAB, "theme": "purple"}, "theme:"),
    ],
)
async def test_bad_parameters_get_a_400_page_naming_them(
    sandbox: RunningSandbox, query: dict[str, str], named: str
) -> None:
    status, page = await _page(sandbox, **query)
    assert status == 400
    assert named in page
    assert "sandboxHost" not in page


async def test_an_unknown_user_is_escaped_on_the_error_page(sandbox: RunningSandbox) -> None:
    status, page = await _page(sandbox, user="<script>x</script>@x", tab=TAB)
    assert status == 400
    assert "<script>x" not in page
    assert "&lt;script&gt;x" in page


async def test_an_admin_token_carries_the_tab_audience_and_role_ids(
    sandbox: RunningSandbox,
) -> None:
    audience = f"api://127.0.0.1:8080/{sandbox.config.app_client_id}"
    token = await _token(sandbox, ADMIN, {"audience": audience})
    claims = await _verify(sandbox, token, audience)
    user = sandbox.ctx.org.teams_user_by_email(ADMIN)
    assert user is not None
    assert claims["tid"] == sandbox.config.tenant_id
    assert claims["oid"] == claims["sub"] == user.id
    assert claims["preferred_username"] == ADMIN
    assert claims["scp"] == "access_as_user"
    assert claims["ver"] == "2.0"
    assert claims["azp"] == "5e3ce6c0-2b1f-4285-8d4b-75ee78787346"
    assert claims["wids"] == [GLOBAL_ADMIN_ID]
    token = await _token(sandbox, TEAMS_ADMIN, {})
    teams_admin = await _verify(sandbox, token, _localhost(sandbox))
    assert teams_admin["wids"] == [TEAMS_ADMIN_ID]


def _localhost(sandbox: RunningSandbox) -> str:
    return f"api://localhost/{sandbox.config.app_client_id}"


async def test_a_plain_user_token_has_no_role_ids(sandbox: RunningSandbox) -> None:
    token = await _token(sandbox, _plain_user(sandbox))
    claims = await _verify(sandbox, token, _localhost(sandbox))
    assert "wids" not in claims


async def test_bad_token_variants_fail_validation_each_for_its_reason(
    sandbox: RunningSandbox,
) -> None:
    audience = f"api://127.0.0.1:8080/{sandbox.config.app_client_id}"
    other = await _token(sandbox, ADMIN, {"audience": "api://elsewhere/x"})
    with pytest.raises(jwt.InvalidAudienceError):
        await _verify(sandbox, other, audience)

    foreign_tenant = await _token(sandbox, ADMIN, {"audience": audience, "tenant": "other-tenant"})
    assert jwt.decode(foreign_tenant, options={"verify_signature": False})["tid"] == "other-tenant"
    with pytest.raises(jwt.InvalidIssuerError):
        await _verify(sandbox, foreign_tenant, audience)

    expired = await _token(sandbox, ADMIN, {"audience": audience, "expired": True})
    with pytest.raises(jwt.ExpiredSignatureError):
        await _verify(sandbox, expired, audience)

    forged = await _token(sandbox, ADMIN, {"audience": audience, "sign_with_foreign_key": True})
    with pytest.raises(jwt.InvalidSignatureError):
        await _verify(sandbox, forged, audience)
    # The sandbox's own verifier (behind its on-behalf-of grant) refuses every one as well.
    for bad in (other, foreign_tenant, expired, forged):
        with pytest.raises(TokenError):
            sandbox.ctx.entra_tokens.verify(bad, audience)


@pytest.mark.parametrize(
    "body",
    [{"audience": 3}, {"expired": "yes"}, {"tenat": "x"}, {"audience": ""}, ["audience"]],
)
async def test_malformed_token_options_are_refused(sandbox: RunningSandbox, body: Any) -> None:
    status, answer = await sandbox.control("POST", f"/_sandbox/teams/{ADMIN}/sso-token", body)
    assert status == 400, answer


async def test_an_unknown_user_gets_no_token(sandbox: RunningSandbox) -> None:
    status, _ = await sandbox.control("POST", "/_sandbox/teams/nobody@x/sso-token", {})
    assert status == 404


async def test_id_tokens_carry_role_ids_for_admins_only(sandbox: RunningSandbox) -> None:
    ctx = sandbox.ctx
    state = sandbox.app[ENTRA_STATE]
    scopes = ("openid", "profile", "User.Read")
    for email, wids in ((ADMIN, [GLOBAL_ADMIN_ID]), (_plain_user(sandbox), None)):
        user = ctx.org.teams_user_by_email(email)
        assert user is not None
        answer = user_tokens(ctx, state, ctx.config.app_client_id, user, scopes)
        claims = ctx.entra_tokens.verify(answer["id_token"], ctx.config.app_client_id)
        assert claims.get("wids") == wids
