"""The webhook routes: handshakes, valid deliveries into the store, and everything refused.

Fixture files in tests/fixtures/<provider>/ are one delivery each, with `{placeholders}` for
the ids, secrets and sealed content a test fills in. Providers are offline here: the routes
need only the store, the stored subscriptions and the product's certificate.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet

from presence_sync.app import create_app
from presence_sync.graph.client import GraphClient
from presence_sync.graph.validation import CHANGE_TRACKING_APP_ID
from presence_sync.providers import NotConnectedError, RcWriter
from presence_sync.ringcentral.client import RingCentralClient
from presence_sync.settings import Settings
from presence_sync.store.base import Store
from presence_sync.store.models import Subscription, SubscriptionDetails, UserLink
from presence_sync.watch import Watchers, WatchOptions
from presence_sync.web.keys import STORE, SUPERVISOR, WATCHERS
from sandbox.graph.crypto import encrypt_resource, load_certificate
from sandbox.tokens import TokenIssuer
from tests.watch.harness import eventually

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
USER = "6e1c2d3b-0000-4000-8000-00000000a001"
EXTENSION = "62000864101"
GRAPH_SUB = "1f0e2d3c-4b5a-4697-8877-665544332211"
RC_SUB = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
CLIENT_STATE = "the-right-client-state-0123456789abcdef"
RC_TOKEN = "the-right-verification-token-0123456789"
SYNC_ACCOUNT = "sync1@contoso.example"
TENANT = "8c1e9a50-0000-4000-8000-000000000001"
APP_ID = "5d2c1b0a-0000-4000-8000-0000000000aa"


class OfflineProviders:
    """Providers that are not connected: the routes must not need them."""

    async def graph(self) -> GraphClient:
        """Not connected."""
        raise NotConnectedError("offline in this test")

    async def ringcentral_writers(self) -> list[RcWriter]:
        """Nobody to write as."""
        return []

    async def ringcentral(self) -> RingCentralClient:
        """Not connected."""
        raise NotConnectedError("offline in this test")

    async def sync_accounts(self) -> list[str]:
        """The account owning the stored subscription, so it is kept."""
        return [SYNC_ACCOUNT]

    async def report_failure(self, provider: str, error: BaseException) -> None:
        """Nothing to report to."""


@dataclass
class Hooks:
    """The product app under test with one linked user and one subscription per provider."""

    client: TestClient[Any, Any]
    store: Store
    watchers: Watchers
    entra: TokenIssuer  # signs validation tokens with a key the JWKS below lists

    async def snapshot(self) -> tuple[Any, ...]:
        """What a delivery could change: the link's observations, subscriptions, dirty marks."""
        link = await self.store.get_link(f"t:{USER}")
        assert link is not None
        subs = await self.store.list_subscriptions()
        return (link.teams, link.rc, [s.id for s in subs], await self.store.dirty_count())

    def validation_token(self, **claims: Any) -> str:
        """A validation token as Graph adds it for this app; `claims` override its claims."""
        body = {"aud": APP_ID, "azp": CHANGE_TRACKING_APP_ID, "tid": TENANT, **claims}
        return self.entra.issue(body, 3600)

    def change(self, **values: Any) -> dict[str, Any]:
        """The presence_changed delivery, with a genuine validation token unless one is given."""
        values.setdefault("validation_token", self.validation_token())
        return fixture("graph", "presence_changed", **values)

    async def sealed(self, resource: dict[str, Any]) -> dict[str, str]:
        """`encryptedContent` for `resource`, made as Graph makes it for our certificate."""
        cert = await self.watchers.certificate()
        return encrypt_resource(
            load_certificate(cert.certificate_b64, cert.certificate_id), resource
        )


def fixture(provider: str, name: str, **values: Any) -> dict[str, Any]:
    """A fixture delivery with its placeholders filled in (objects replace quoted ones)."""
    text = (FIXTURES / provider / f"{name}.json").read_text()
    for key, value in values.items():
        if isinstance(value, str):
            text = text.replace("{" + key + "}", value)
        else:
            text = text.replace('"{' + key + '}"', json.dumps(value))
    return dict(json.loads(text))


def presence(availability: str, activity: str, sequence: int) -> dict[str, Any]:
    """A presence resource as Graph encrypts it."""
    return {
        "@odata.type": "#Microsoft.Graph.presence",
        "id": USER,
        "availability": availability,
        "activity": activity,
        "sequenceNumber": f"{sequence:020d}",
    }


@pytest.fixture
async def hooks(aiohttp_client: Any, aiohttp_server: Any, tmp_path: Path) -> Hooks:
    """The app with offline providers, a linked user and stored subscriptions."""
    # Entra ID's signing keys, where the product looks for them: {host}/{tenant}/discovery/…
    entra = TokenIssuer(f"https://sts.windows.net/{TENANT}/")

    async def jwks(request: web.Request) -> web.Response:
        return web.json_response(entra.jwks())

    keys = web.Application()
    keys.router.add_get(f"/{TENANT}/discovery/v2.0/keys", jwks)
    keys_server: TestServer = await aiohttp_server(keys)
    settings = Settings(
        microsoft_tenant_id=TENANT,
        microsoft_client_id=APP_ID,
        microsoft_authority_host=str(keys_server.make_url("")).rstrip("/"),
        public_url="http://127.0.0.1:3978",
        store_url=f"sqlite:///{tmp_path / 'store.db'}",
        secret_key=Fernet.generate_key().decode(),
        data_dir=tmp_path,
        metrics_enabled=False,
    )
    app = create_app(
        settings,
        providers=OfflineProviders(),
        watch_options=WatchOptions(tick=0.05, roster_every=0.1),
    )
    client = await aiohttp_client(app)

    async def started() -> bool:
        return "watch-inbox" in app[SUPERVISOR].names

    await eventually(started)
    store = app[STORE].store
    link = UserLink(
        id=f"t:{USER}",
        email="ann.lee@contoso.example",
        teams_user_id=USER,
        rc_extension_id=EXTENSION,
        sync_enabled=True,
    )
    await store.upsert_links([link])
    expires = time.time() + 3000
    await store.put_subscription(
        Subscription(
            "graph",
            GRAPH_SUB,
            "/communications/presences",
            expires,
            SYNC_ACCOUNT,
            CLIENT_STATE,
            SYNC_ACCOUNT,
            SubscriptionDetails(user_ids=(USER,)),
        )
    )
    await store.put_subscription(
        Subscription("ringcentral", RC_SUB, "presence", time.time() + 80000, None, RC_TOKEN)
    )
    watchers = app[WATCHERS]
    return Hooks(client, store, watchers, entra)


async def teams_observed(hooks: Hooks) -> tuple[str, str] | None:
    """The Teams presence the store holds for the user."""
    link = await hooks.store.get_link(f"t:{USER}")
    assert link is not None
    return (link.teams.availability, link.teams.activity) if link.teams else None


# -- handshakes ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/notifications/graph", "/api/notifications/graph/lifecycle"])
async def test_graph_validation_echoes_the_decoded_token_as_plain_text(
    hooks: Hooks, path: str
) -> None:
    token = "Validation: Testing client application reachability for subscription Request-Id: 1+2"
    response = await hooks.client.post(path, params={"validationToken": token})

    assert response.status == 200
    assert response.content_type == "text/plain"
    assert await response.text() == token


async def test_ringcentral_validation_echoes_the_header_as_json(hooks: Hooks) -> None:
    response = await hooks.client.post(
        "/api/notifications/ringcentral", headers={"Validation-Token": "c2f1-77aa"}
    )

    assert response.status == 200
    assert response.headers["Validation-Token"] == "c2f1-77aa"
    assert response.content_type == "application/json"


# -- valid deliveries ------------------------------------------------------------------


async def post_graph(hooks: Hooks, body: dict[str, Any]) -> int:
    """POST a change notification; the status."""
    response = await hooks.client.post("/api/notifications/graph", json=body)
    return response.status


async def test_a_rich_notification_becomes_an_observation_and_a_dirty_mark(hooks: Hooks) -> None:
    body = hooks.change(
        subscription_id=GRAPH_SUB,
        client_state=CLIENT_STATE,
        user_id=USER,
        encrypted_content=await hooks.sealed(presence("Busy", "InAMeeting", 5)),
    )
    started = time.perf_counter()
    status = await post_graph(hooks, body)
    answered = time.perf_counter() - started

    assert status == 202
    assert answered < 3.0, "Graph retries and throttles endpoints slower than 3 s"

    async def seen() -> bool:
        return await teams_observed(hooks) == ("Busy", "InAMeeting")

    await eventually(seen, within=5)


async def test_duplicates_and_older_sequences_never_overwrite_newer_presence(hooks: Hooks) -> None:
    async def send(availability: str, activity: str, sequence: int) -> None:
        body = hooks.change(
            subscription_id=GRAPH_SUB,
            client_state=CLIENT_STATE,
            user_id=USER,
            encrypted_content=await hooks.sealed(presence(availability, activity, sequence)),
        )
        assert await post_graph(hooks, body) == 202

    await send("DoNotDisturb", "Presenting", 12)

    async def dnd() -> bool:
        return await teams_observed(hooks) == ("DoNotDisturb", "Presenting")

    await eventually(dnd, within=5)
    await send("Available", "Available", 9)  # late: older than what we hold
    await send("DoNotDisturb", "Presenting", 12)  # duplicate
    await send("Away", "Away", 13)  # newer: marks the end of the queue

    async def away() -> bool:
        return await teams_observed(hooks) == ("Away", "Away")

    await eventually(away, within=5)
    link = await hooks.store.get_link(f"t:{USER}")
    assert link is not None
    assert link.teams is not None
    assert link.teams.sequence == f"{13:020d}"


async def test_a_ringcentral_event_becomes_an_observation(hooks: Hooks) -> None:
    body = fixture(
        "ringcentral", "extension_presence", subscription_id=RC_SUB, extension_id=EXTENSION
    )
    response = await hooks.client.post(
        "/api/notifications/ringcentral", json=body, headers={"Verification-Token": RC_TOKEN}
    )
    assert response.status == 200

    async def in_call() -> bool:
        link = await hooks.store.get_link(f"t:{USER}")
        return (
            link is not None and link.rc is not None and link.rc.telephony_status == "CallConnected"
        )

    await eventually(in_call, within=5)


async def test_account_level_events_in_chs_mode_carry_personal_dnd(hooks: Hooks) -> None:
    body = fixture(
        "ringcentral", "account_presence", subscription_id=RC_SUB, extension_id=EXTENSION
    )
    response = await hooks.client.post(
        "/api/notifications/ringcentral", json=body, headers={"Verification-Token": RC_TOKEN}
    )
    assert response.status == 200

    async def personal_dnd() -> bool:
        link = await hooks.store.get_link(f"t:{USER}")
        rc = link.rc if link is not None else None
        return rc is not None and rc.dnd_status_personal == "DoNotAcceptAnyCalls"

    await eventually(personal_dnd, within=5)
    link = await hooks.store.get_link(f"t:{USER}")
    assert link is not None
    assert link.rc is not None
    assert link.rc.accept_call_queue_calls is False


async def test_events_on_other_topics_are_acknowledged_and_ignored(hooks: Hooks) -> None:
    before = await hooks.snapshot()
    body = fixture("ringcentral", "message_store", subscription_id=RC_SUB)
    response = await hooks.client.post(
        "/api/notifications/ringcentral", json=body, headers={"Verification-Token": RC_TOKEN}
    )

    assert response.status == 200
    assert await hooks.snapshot() == before


async def test_subscription_removed_forgets_the_subscription(hooks: Hooks) -> None:
    body = fixture(
        "graph",
        "lifecycle_subscription_removed",
        subscription_id=GRAPH_SUB,
        client_state=CLIENT_STATE,
        user_id=USER,
    )
    response = await hooks.client.post("/api/notifications/graph/lifecycle", json=body)
    assert response.status == 202

    async def forgotten() -> bool:
        return await hooks.store.get_subscription("graph", GRAPH_SUB) is None

    await eventually(forgotten, within=5)


# -- refused deliveries ----------------------------------------------------------------


async def test_a_wrong_client_state_is_refused_and_changes_nothing(hooks: Hooks) -> None:
    before = await hooks.snapshot()
    body = hooks.change(
        subscription_id=GRAPH_SUB,
        client_state="guessed-client-state",
        user_id=USER,
        encrypted_content=await hooks.sealed(presence("Busy", "Busy", 50)),
    )

    assert await post_graph(hooks, body) == 403
    assert await hooks.snapshot() == before


FORGED_TOKENS = {
    "for another app": lambda hooks: [hooks.validation_token(aud="some-other-app")],
    "not sent by Graph": lambda hooks: [
        hooks.validation_token(azp="3f1d0e77-0000-4000-8000-0000000000bb")
    ],
    "for another tenant": lambda hooks: [
        hooks.validation_token(tid="00000000-0000-4000-8000-0000000000cc")
    ],
    "expired": lambda hooks: [hooks.validation_token(exp=int(time.time()) - 3600)],
    "signed by a stranger": lambda hooks: [
        TokenIssuer(f"https://sts.windows.net/{TENANT}/").issue(
            {"aud": APP_ID, "azp": CHANGE_TRACKING_APP_ID, "tid": TENANT}, 3600
        )
    ],
    "not a token": lambda hooks: ["not-a-jwt"],
    "one genuine, one forged": lambda hooks: [
        hooks.validation_token(),
        hooks.validation_token(aud="some-other-app"),
    ],
    "missing": lambda hooks: [],
}


@pytest.mark.parametrize("case", list(FORGED_TOKENS))
async def test_a_rich_notification_without_genuine_validation_tokens_is_refused(
    hooks: Hooks, case: str
) -> None:
    before = await hooks.snapshot()
    body = hooks.change(
        subscription_id=GRAPH_SUB,
        client_state=CLIENT_STATE,
        user_id=USER,
        encrypted_content=await hooks.sealed(presence("Busy", "Busy", 60)),
    )
    body["validationTokens"] = FORGED_TOKENS[case](hooks)

    response = await hooks.client.post("/api/notifications/graph", json=body)

    assert response.status == 403
    assert "validation" in (await response.json())["error"]["message"]
    assert await hooks.snapshot() == before


async def test_an_unknown_subscription_is_refused(hooks: Hooks) -> None:
    before = await hooks.snapshot()
    body = fixture(
        "graph",
        "lifecycle_subscription_removed",
        subscription_id="00000000-0000-4000-8000-000000000000",
        client_state=CLIENT_STATE,
        user_id=USER,
    )
    response = await hooks.client.post("/api/notifications/graph/lifecycle", json=body)

    assert response.status == 403
    assert await hooks.snapshot() == before


async def test_a_bad_data_signature_is_refused_before_decrypting(hooks: Hooks) -> None:
    before = await hooks.snapshot()
    sealed = await hooks.sealed(presence("Busy", "Busy", 51))
    other = await hooks.sealed(presence("Offline", "Offline", 52))
    forged = {**sealed, "dataSignature": other["dataSignature"]}
    body = hooks.change(
        subscription_id=GRAPH_SUB,
        client_state=CLIENT_STATE,
        user_id=USER,
        encrypted_content=forged,
    )

    assert await post_graph(hooks, body) == 403
    assert await hooks.snapshot() == before


async def test_a_wrong_verification_token_is_refused(hooks: Hooks) -> None:
    before = await hooks.snapshot()
    body = fixture(
        "ringcentral", "extension_presence", subscription_id=RC_SUB, extension_id=EXTENSION
    )
    for headers in ({"Verification-Token": "guessed"}, {}):
        response = await hooks.client.post(
            "/api/notifications/ringcentral", json=body, headers=headers
        )
        assert response.status == 403
    assert await hooks.snapshot() == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/notifications/graph", b"{not json"),
        ("/api/notifications/graph", b'{"value": [{"clientState": "x"}]}'),
        ("/api/notifications/graph", b'{"value": []}'),
        ("/api/notifications/graph/lifecycle", b'{"value": [{"subscriptionId": "s"}]}'),
        ("/api/notifications/ringcentral", b"\xff\xfe"),
        ("/api/notifications/ringcentral", b'{"event": "/restapi/v1.0/account/1/presence"}'),
    ],
)
async def test_malformed_bodies_are_refused_and_change_nothing(
    hooks: Hooks, path: str, body: bytes
) -> None:
    before = await hooks.snapshot()
    response = await hooks.client.post(
        path,
        data=body,
        headers={"Content-Type": "application/json", "Verification-Token": RC_TOKEN},
    )

    assert response.status == 400
    assert await hooks.snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/notifications/graph",
        "/api/notifications/graph/lifecycle",
        "/api/notifications/ringcentral",
    ],
)
async def test_a_5_mb_body_is_refused_unread(hooks: Hooks, path: str) -> None:
    before = await hooks.snapshot()
    huge = b'{"value": [' + b" " * (5 * 1024 * 1024) + b"]}"
    response = await hooks.client.post(
        path,
        data=huge,
        headers={"Content-Type": "application/json", "Verification-Token": RC_TOKEN},
    )

    assert response.status == 413
    assert await hooks.snapshot() == before


async def test_a_streamed_body_without_length_is_cut_off_at_the_limit(hooks: Hooks) -> None:
    before = await hooks.snapshot()

    async def stream() -> Any:
        for _ in range(80):  # 5 MB in 64 KB chunks, no Content-Length
            yield b" " * 65536

    response = await hooks.client.post(
        "/api/notifications/graph", data=stream(), headers={"Content-Type": "application/json"}
    )

    assert response.status == 413
    assert await hooks.snapshot() == before
