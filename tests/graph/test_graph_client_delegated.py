"""Sync accounts (delegated auth-code flow), presence subscriptions, mail and the Teams app."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from presence_sync.errors import GraphNotFoundError
from presence_sync.graph.auth import AuthCodeFlow, EntraError, GraphTokenProvider
from tests.graph.client_sandbox import ClientSandbox

REDIRECT = "https://localhost/api/consent/microsoft/callback"


@dataclass
class Receiver:
    """A webhook endpoint that answers Graph's validation handshake as the product must."""

    url: str = ""
    validations: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        token = request.query.get("validationToken")
        if token is not None:
            self.validations.append(token)
            return web.Response(text=token, content_type="text/plain")
        return web.Response(status=202)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The receiver served on a free loopback port."""
    hooks = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hooks.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hooks.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield hooks
    await runner.cleanup()


class _FormFields(HTMLParser):
    """The action and hidden fields of the auto-submitting form a form_post answer carries."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.action = found.get("action") or ""
        elif tag == "input" and found.get("name"):
            self.fields[str(found["name"])] = found.get("value") or ""


async def authorize(
    sandbox: ClientSandbox, tokens: GraphTokenProvider, upn: str
) -> tuple[AuthCodeFlow, dict[str, str]]:
    """Start a sign-in and drive Entra's authorize page headlessly with login_hint."""
    flow = await tokens.begin_auth_code_flow(REDIRECT, login_hint=upn, state=secrets.token_hex(8))
    async with sandbox.http.get(flow.auth_uri, allow_redirects=False) as response:
        assert response.status == 200, await response.text()
        form = _FormFields()
        form.feed(await response.text())
    assert form.action == REDIRECT
    return flow, form.fields


async def sign_in(sandbox: ClientSandbox, tokens: GraphTokenProvider, upn: str) -> str:
    """Run the whole sync-account sign-in; the account's user name."""
    flow, answer = await authorize(sandbox, tokens, upn)
    account = await tokens.finish_auth_code_flow(flow, answer)
    return account.username


def _admin(sandbox: ClientSandbox) -> str:
    user = next(u for u in sandbox.ctx.org.teams_users.values() if u.roles and u.account_enabled)
    return user.user_principal_name


async def test_sync_account_sign_in_is_saved_and_reused_after_restart(
    client_sandbox: ClientSandbox,
) -> None:
    saved: list[str] = []

    async def save(state: str) -> None:
        saved.append(state)

    first = client_sandbox.graph_tokens(save_cache=save)
    upn = _admin(client_sandbox)
    assert (await sign_in(client_sandbox, first, upn)).lower() == upn.lower()
    assert saved, "the token cache is handed to the store when the sign-in adds an account"

    token_calls = await client_sandbox.count("entra", "POST", "/oauth2/v2.0/token")

    # A restarted process starts from the stored cache and needs no new sign-in.
    second = client_sandbox.graph_tokens(cache_state=saved[-1], save_cache=save)
    client = client_sandbox.graph_client(client_sandbox.product_session(), tokens=second)
    subscriptions = await client.list_subscriptions(upn)  # a delegated call

    assert [a.lower() for a in await second.accounts()] == [upn.lower()]
    assert subscriptions == []
    assert await client_sandbox.count("entra", "POST", "/oauth2/v2.0/token") == token_calls
    await first.close()


async def test_replayed_sign_in_redirect_is_refused(client_sandbox: ClientSandbox) -> None:
    tokens = client_sandbox.graph_tokens()
    upn = _admin(client_sandbox)
    flow, answer = await authorize(client_sandbox, tokens, upn)
    forged = {**answer, "state": "someone-elses-state"}

    with pytest.raises(EntraError) as refused:
        await tokens.finish_auth_code_flow(flow, forged)

    assert refused.value.code == "state_mismatch"
    await tokens.close()


async def test_unknown_sync_account_breaks_the_connection(client_sandbox: ClientSandbox) -> None:
    tokens = client_sandbox.graph_tokens()

    with pytest.raises(EntraError) as refused:
        await tokens.delegated_token("nobody@contoso.example")

    assert refused.value.breaks_connection
    await tokens.close()


async def test_subscription_create_renew_get_list_delete(
    client_sandbox: ClientSandbox, receiver: Receiver
) -> None:
    tokens = client_sandbox.graph_tokens()
    upn = await sign_in(client_sandbox, tokens, _admin(client_sandbox))
    client = client_sandbox.graph_client(client_sandbox.product_session(), tokens=tokens)
    users = list(client_sandbox.ctx.org.teams_users)[:3]
    now = dt.datetime.now(dt.UTC)

    created = await client.create_subscription(
        user_ids=users,
        notification_url=receiver.url,
        lifecycle_notification_url=receiver.url,
        client_state="opaque-state",
        expiration=now + dt.timedelta(minutes=30),
        account_upn=upn,
    )
    renewed = await client.renew_subscription(created.id, now + dt.timedelta(minutes=55), upn)
    fetched = await client.get_subscription(created.id, upn)
    listed = await client.list_subscriptions(upn)
    deleted = await client.delete_subscription(created.id, upn)
    deleted_again = await client.delete_subscription(created.id, upn)

    assert len(receiver.validations) == 2  # notification and lifecycle URLs both validated
    assert created.user_ids == tuple(users)
    assert created.client_state == "opaque-state"
    assert renewed.expiration > created.expiration
    assert fetched.id == created.id
    assert [s.id for s in listed] == [created.id]
    assert deleted is True
    assert deleted_again is False
    with pytest.raises(GraphNotFoundError):
        await client.get_subscription(created.id, upn)


def _certificate() -> str:
    """A self-signed RSA certificate, base64 DER, as rich notifications need."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "presence-sync notifications")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


async def test_rich_subscription_carries_the_certificate_and_can_be_reauthorized(
    client_sandbox: ClientSandbox, receiver: Receiver
) -> None:
    tokens = client_sandbox.graph_tokens()
    upn = await sign_in(client_sandbox, tokens, _admin(client_sandbox))
    client = client_sandbox.graph_client(client_sandbox.product_session(), tokens=tokens)
    users = list(client_sandbox.ctx.org.teams_users)

    created = await client.create_subscription(
        user_ids=users,
        notification_url=receiver.url,
        lifecycle_notification_url=receiver.url,
        client_state="state",
        expiration=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=59),
        account_upn=upn,
        include_resource_data=True,
        certificate=_certificate(),
        certificate_id="cert-2026-11",
    )
    await client.reauthorize_subscription(created.id, upn)

    assert created.include_resource_data
    assert created.encryption_certificate_id == "cert-2026-11"
    assert len(created.user_ids) == len(users)
    with pytest.raises(ValueError, match="650"):
        await client.create_subscription(
            user_ids=[f"user-{n}" for n in range(651)],
            notification_url=receiver.url,
            lifecycle_notification_url=None,
            client_state="state",
            expiration=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=59),
            account_upn=upn,
        )


async def test_send_mail_is_delivered(client_sandbox: ClientSandbox) -> None:
    client = client_sandbox.graph_client(client_sandbox.product_session())
    sender = next(iter(client_sandbox.ctx.org.teams_users.values()))

    await client.send_mail(
        sender.id, ["it@contoso.example"], "Sync report", "<p>12 users synced</p>", "12 synced"
    )

    mail = (await client_sandbox.control("GET", "/_sandbox/mail"))["mail"]
    assert [m["subject"] for m in mail] == ["Sync report"]
    assert mail[0]["to"] == ["it@contoso.example"]
    assert mail[0]["body"]["contentType"].lower() == "html"


async def test_install_app_twice_finds_the_same_installation_and_chat(
    client_sandbox: ClientSandbox,
) -> None:
    client = client_sandbox.graph_client(client_sandbox.product_session())
    user = next(u for u in client_sandbox.ctx.org.teams_users.values() if u.account_enabled)
    app_id = await client.catalog_app_id("presence-sync-manifest-id")

    first = await client.install_app_for_user(user.id, app_id)
    second = await client.install_app_for_user(user.id, app_id)  # Graph answers 409 Conflict
    chat = await client.installed_app_chat_id(user.id, first.id)

    assert first.id == second.id
    assert chat
