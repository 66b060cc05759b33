"""The tab inside Teams: its SSO token as a bearer, checked against the tenant's Entra keys.

Tokens are minted by the sandbox's own Entra issuer (the keys the product reads from the
tenant's OpenID metadata), with one claim at a time made wrong.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import aiohttp
import pytest

from presence_sync.access import ADMIN_ROLE_TEMPLATES
from sandbox.server import RunningSandbox
from sandbox.tokens import SigningKey, TokenIssuer
from tests.connections.product import ADMIN, ProductServer
from tests.web.tab_session import Mint, bearer, member

GLOBAL_ADMIN_ROLE = next(k for k, v in ADMIN_ROLE_TEMPLATES.items() if v == "Global Administrator")


async def connections_as(
    product: ProductServer, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """GET /api/connections with `headers`: (status, JSON answer)."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{product.url}/api/connections", headers=headers) as response,
    ):
        return response.status, await response.json()


def error_of(answer: dict[str, Any]) -> tuple[str, str]:
    error = answer["error"]
    assert isinstance(error, dict)
    return str(error["code"]), str(error["message"])


async def test_an_admins_sso_token_reads_the_connections(
    product: ProductServer, mint: Mint
) -> None:
    status, answer = await connections_as(product, bearer(mint(ADMIN)))

    assert status == 200, answer
    kinds = {row["kind"] for row in answer["connections"]}
    assert {"microsoft", "ringcentral"} <= kinds


async def test_the_session_route_says_who_the_token_names_without_a_csrf_token(
    product: ProductServer, mint: Mint
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{product.url}/api/tab/session", headers=bearer(mint(ADMIN))) as response,
    ):
        session = await response.json()
    assert session["user"]["email"] == ADMIN
    assert session["admin"] is True
    assert session["via"] == "sso"
    assert session["csrfToken"] is None


async def test_someone_who_is_not_an_admin_is_told_why(
    product: ProductServer, sandbox: RunningSandbox, mint: Mint
) -> None:
    person = member(sandbox).user_principal_name

    status, answer = await connections_as(product, bearer(mint(person)))

    assert status == 403
    code, message = error_of(answer)
    assert code == "forbidden"
    assert f"{person} is not a Presence Sync admin" in message
    assert "ADMIN_EMAILS" in message


@pytest.mark.parametrize(
    ("claims", "named"),
    [
        ({"aud": "api://evil.example/0f0f0f0f-0000-4000-8000-000000000000"}, "another application"),
        ({"tid": str(uuid.UUID(int=7))}, "another organisation"),
        ({"iss": "https://login.evil.example/common/v2.0"}, "not issued by this organisation"),
        # An app's own token for this audience, or a person's for another scope, is not a
        # person signing in to the tab.
        ({"scp": "User.Read"}, "does not carry the access_as_user scope"),
        ({"idtyp": "app"}, "does not carry the access_as_user scope"),
    ],
    ids=["wrong audience", "another tenant", "another issuer", "other scope", "app-only"],
)
async def test_a_token_for_another_app_or_organisation_is_refused(
    product: ProductServer, mint: Mint, claims: dict[str, str], named: str
) -> None:
    status, answer = await connections_as(product, bearer(mint(ADMIN, **claims)))

    assert status == 401
    code, message = error_of(answer)
    assert code == "unauthenticated"
    assert named in message


async def test_an_expired_token_is_refused(product: ProductServer, mint: Mint) -> None:
    expired = mint(ADMIN, lifetime=3600, issued=time.time() - 3 * 3600)

    status, answer = await connections_as(product, bearer(expired))

    assert status == 401
    assert "expired" in error_of(answer)[1]


async def test_a_token_from_the_future_is_refused(product: ProductServer, mint: Mint) -> None:
    early = mint(ADMIN, lifetime=3600, issued=time.time() + 2 * 3600)

    status, answer = await connections_as(product, bearer(early))

    assert status == 401
    assert "not valid yet" in error_of(answer)[1]


async def test_a_token_signed_by_a_foreign_key_is_refused(
    product: ProductServer, sandbox: RunningSandbox, mint: Mint
) -> None:
    genuine = mint(ADMIN)  # the product reads the tenant's keys once
    assert (await connections_as(product, bearer(genuine)))[0] == 200
    issuer = sandbox.ctx.entra_tokens.issuer
    claims = {
        "aud": f"api://{product.url.split('://', 1)[1]}/{sandbox.config.app_client_id}",
        "tid": sandbox.ctx.org.tenant_id,
        "oid": str(uuid.uuid4()),
        "preferred_username": ADMIN,
    }
    unknown_key = TokenIssuer(issuer).issue(claims, 3600)
    # A forger who copies the tenant's key id still cannot make the signature verify.
    same_kid = TokenIssuer(
        issuer, SigningKey(sandbox.ctx.entra_tokens.key.kid, SigningKey.generate().private_key)
    ).issue(claims, 3600)

    unknown = await connections_as(product, bearer(unknown_key))
    copied = await connections_as(product, bearer(same_kid))

    assert unknown[0] == 401
    assert "a key Entra never published" in error_of(unknown[1])[1]
    assert copied[0] == 401
    assert "signature is not valid" in error_of(copied[1])[1]


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("Bearer not-a-jwt", "not a JWT"),
        ("Bearer ", "must be 'Bearer <token>'"),
        ("Basic YWRtaW46cGFzc3dvcmQ=", "must be 'Bearer <token>'"),
        ("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "not signed with RS256"),
    ],
    ids=["malformed", "empty", "basic", "unsigned"],
)
async def test_an_authorization_header_that_is_not_an_sso_token_is_refused(
    product: ProductServer, header: str, named: str
) -> None:
    status, answer = await connections_as(product, {"Authorization": header})

    assert status == 401
    code, message = error_of(answer)
    assert code == "unauthenticated"
    assert named in message


async def test_before_consent_the_global_administrator_role_in_the_token_makes_an_admin(
    product: ProductServer, sandbox: RunningSandbox, mint: Mint
) -> None:
    # Graph is not connected yet, so the product cannot read roles: the signed token's count.
    assert await product.connections.sync_accounts() == []
    person = member(sandbox).user_principal_name

    with_role = await connections_as(product, bearer(mint(person, wids=[GLOBAL_ADMIN_ROLE])))
    other_role = await connections_as(
        product, bearer(mint(person, wids=["b79fbf4d-3ef9-4689-8143-76b194e85509"]))
    )
    without = await connections_as(product, bearer(mint(person)))

    assert with_role[0] == 200, with_role[1]
    assert other_role[0] == 403
    assert without[0] == 403
    assert "not a Presence Sync admin" in error_of(without[1])[1]
