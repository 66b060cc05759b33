"""Presence subscriptions: handshake, limits, notifications, rich data, lifecycle, faults."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

Factory = Callable[..., Awaitable[Any]]  # the make_graph fixture


def expiry(g: Any, minutes: float) -> str:
    """An expirationDateTime `minutes` ahead on the sandbox clock, as clients send it."""
    moment = dt.datetime.fromtimestamp(g.ctx.clock.now() + minutes * 60, dt.UTC)
    return moment.isoformat().replace("+00:00", "Z")


def subscription(g: Any, receiver: Any, ids: list[str], **extra: Any) -> dict[str, Any]:
    """A presence subscription request body."""
    resource = (
        f"/communications/presences/{ids[0]}"
        if len(ids) == 1
        else "/communications/presences?$filter=id in (" + ",".join(f"'{i}'" for i in ids) + ")"
    )
    return {
        "changeType": "updated",
        "notificationUrl": f"{receiver.url}/notify",
        "lifecycleNotificationUrl": f"{receiver.url}/lifecycle",
        "resource": resource,
        "expirationDateTime": expiry(g, 55),
        "clientState": "s3cret-state",
        **extra,
    }


async def subscribe(g: Any, receiver: Any, handles: list[str], **extra: Any) -> dict[str, Any]:
    ids = [g.user(h).id for h in handles]
    status, body, _ = await g.call(
        "POST",
        "/subscriptions",
        token=g.user_token("alice"),
        json=subscription(g, receiver, ids, **extra),
    )
    assert status == 201, body
    return dict(body)


async def test_creation_needs_the_endpoint_to_echo_the_token(
    make_graph: Factory, receiver: Any
) -> None:
    g = await make_graph()
    body = subscription(g, receiver, [g.user("carol").id])
    for behaviour in ("wrong", "json", "refuse"):
        receiver.validation = behaviour
        status, answer, _ = await g.call("POST", "/subscriptions", token=g.user_token(), json=body)
        assert status == 400, behaviour
        assert answer["error"]["code"] == "ValidationError"
        assert answer["error"]["message"].startswith("Subscription validation request failed")
    assert len(g.state.book) == 0

    receiver.validation = "echo"
    status, answer, _ = await g.call("POST", "/subscriptions", token=g.user_token(), json=body)
    assert status == 201
    assert answer["clientState"] == "s3cret-state"
    # Graph's token contains spaces and colons; the receiver got it decoded.
    assert receiver.validations[-1].startswith(
        "Validation: Testing client application reachability"
    )
    assert len(receiver.validations) == 5  # notify x3 refused, then notify + lifecycle


async def test_limits_are_enforced(make_graph: Factory, receiver: Any) -> None:
    g = await make_graph()
    carol = g.user("carol").id
    ids = [f"00000000-0000-0000-0000-{n:012d}" for n in range(651)]
    status, body, _ = await g.call(
        "POST", "/subscriptions", token=g.user_token(), json=subscription(g, receiver, ids)
    )
    assert status == 400
    assert "650" in body["error"]["message"]

    late = subscription(g, receiver, [carol], expirationDateTime=expiry(g, 62))
    status, body, _ = await g.call("POST", "/subscriptions", token=g.user_token(), json=late)
    assert status == 400
    assert "60 minutes" in body["error"]["message"]

    status, body, _ = await g.call(
        "POST", "/subscriptions", token=g.app_token(), json=subscription(g, receiver, [carol])
    )
    assert status == 403
    assert "delegated" in body["error"]["message"]
    assert receiver.validations == []  # refused before any handshake

    first = await subscribe(g, receiver, ["carol"])
    status, body, _ = await g.call(
        "POST", "/subscriptions", token=g.user_token(), json=subscription(g, receiver, [carol])
    )
    assert status == 403
    assert "one subscription per app per delegated user" in body["error"]["message"]
    # Another sync account may hold its own subscription.
    await subscribe_as(g, receiver, "bob", ["carol"])
    status, _, _ = await g.call("DELETE", f"/subscriptions/{first['id']}", token=g.user_token())
    assert status == 204
    await subscribe(g, receiver, ["carol"])


async def subscribe_as(
    g: Any, receiver: Any, who: str, handles: list[str], **extra: Any
) -> dict[str, Any]:
    ids = [g.user(h).id for h in handles]
    body = subscription(g, receiver, ids, **extra)
    status, answer, _ = await g.call("POST", "/subscriptions", token=g.user_token(who), json=body)
    assert status == 201, answer
    return dict(answer)


async def test_changes_are_notified_and_batched(make_graph: Factory, receiver: Any) -> None:
    g = await make_graph()
    sub = await subscribe(g, receiver, ["carol", "bob"])
    # A wide window, so a slow machine still lands both changes in one batch.
    await g.control("POST", "/_sandbox/graph/limits", json={"batch_window_ms": 400})
    await g.control(
        "POST", "/_sandbox/teams/carol@contoso.example/meeting", json={"action": "start"}
    )
    await g.control(
        "POST", "/_sandbox/teams/bob@contoso.example/presence", json={"availability": "away"}
    )
    await g.control(
        "POST", "/_sandbox/teams/alice@contoso.example/presence", json={"availability": "Busy"}
    )
    await receiver.wait_for(2)
    await asyncio.sleep(0.2)
    assert receiver.posts == 1  # close together: one POST
    assert [n["resource"] for n in receiver.notifications] == [
        f"communications/presences('{g.user('carol').id}')",
        f"communications/presences('{g.user('bob').id}')",
    ]
    first = receiver.notifications[0]
    assert first["subscriptionId"] == sub["id"]
    assert first["clientState"] == "s3cret-state"
    assert first["changeType"] == "updated"
    assert first["tenantId"] == g.ctx.org.tenant_id
    assert first["resourceData"]["id"] == g.user("carol").id
    assert "encryptedContent" not in first
    assert "validationTokens" not in receiver.batches[0]


def make_certificate() -> tuple[rsa.RSAPrivateKey, str, str]:
    """A subscriber key pair: (private key, base64 DER certificate, SHA-1 thumbprint)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "presence-sync-notifications")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(Encoding.DER)
    return key, base64.b64encode(der).decode(), hashlib.sha1(der).hexdigest()


def decrypt(key: rsa.RSAPrivateKey, content: dict[str, str]) -> dict[str, Any]:
    """The documented algorithm: RSA-OAEP unwraps the key, HMAC checks, AES-CBC decrypts."""
    sym = key.decrypt(
        base64.b64decode(content["dataKey"]),
        asym_padding.OAEP(
            mgf=asym_padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None
        ),
    )
    data = base64.b64decode(content["data"])
    expected = hmac.new(sym, data, hashlib.sha256).digest()
    assert hmac.compare_digest(expected, base64.b64decode(content["dataSignature"]))
    decryptor = Cipher(algorithms.AES(sym), modes.CBC(sym[:16])).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return dict(json.loads(unpadder.update(padded) + unpadder.finalize()))


async def test_rich_notifications_decrypt_with_the_subscriber_key(
    make_graph: Factory, receiver: Any
) -> None:
    g = await make_graph()
    key, cert, thumbprint = make_certificate()
    await subscribe(
        g,
        receiver,
        ["carol"],
        includeResourceData=True,
        encryptionCertificate=cert,
        encryptionCertificateId="cert-1",
    )
    await g.control("POST", "/_sandbox/teams/carol@contoso.example/call", json={"action": "start"})
    await receiver.wait_for(1)
    content = receiver.notifications[0]["encryptedContent"]
    assert content["encryptionCertificateId"] == "cert-1"
    assert content["encryptionCertificateThumbprint"].lower() == thumbprint
    resource = decrypt(key, content)
    assert resource["id"] == g.user("carol").id
    assert (resource["availability"], resource["activity"]) == ("Busy", "InACall")
    assert resource["sequenceNumber"] == f"{g.user('carol').presence.sequence:020d}"
    # Rich notifications carry a token, signed by the tenant's issuer, naming Graph's sender.
    (token,) = receiver.batches[0]["validationTokens"]
    claims = g.ctx.entra_tokens.verify(token, audience=g.app_id, now=g.ctx.clock.now())
    assert claims["azp"] == "0bf30f3b-4a52-48df-9a82-234910c4a086"


async def test_rich_notifications_need_a_usable_certificate(
    make_graph: Factory, receiver: Any
) -> None:
    g = await make_graph()
    carol = [g.user("carol").id]
    missing = subscription(g, receiver, carol, includeResourceData=True)
    status, body, _ = await g.call("POST", "/subscriptions", token=g.user_token(), json=missing)
    assert status == 400
    assert "encryptionCertificate" in body["error"]["message"]
    garbage = subscription(
        g,
        receiver,
        carol,
        includeResourceData=True,
        encryptionCertificate="bm90IGEgY2VydA==",
        encryptionCertificateId="x",
    )
    status, body, _ = await g.call("POST", "/subscriptions", token=g.user_token(), json=garbage)
    assert status == 400
    assert "X.509" in body["error"]["message"]


async def test_renewal_expiry_and_lifecycle_on_a_fast_clock(
    make_graph: Factory, receiver: Any
) -> None:
    g = await make_graph(scale=600)  # 10 sandbox minutes per real second
    kept = await subscribe(g, receiver, ["carol"], expirationDateTime=expiry(g, 30))
    lapsing = await subscribe_as(g, receiver, "bob", ["carol"], expirationDateTime=expiry(g, 12))
    status, renewed, _ = await g.call(
        "PATCH",
        f"/subscriptions/{kept['id']}",
        token=g.user_token(),
        json={"expirationDateTime": expiry(g, 60)},
    )
    assert status == 200
    assert renewed["expirationDateTime"] > kept["expirationDateTime"]
    status, _, _ = await g.call(
        "PATCH",
        f"/subscriptions/{kept['id']}",
        token=g.user_token(),
        json={"expirationDateTime": expiry(g, 61.5)},
    )
    assert status == 400

    # bob's lapses at 12 min: reauthorizationRequired arrives halfway, then it is gone.
    await receiver.wait_for(1, kind="lifecycle", within=3)
    event = receiver.lifecycle[0]
    assert (event["lifecycleEvent"], event["subscriptionId"]) == (
        "reauthorizationRequired",
        lapsing["id"],
    )
    assert event["clientState"] == "s3cret-state"
    await asyncio.sleep(1.0)
    status, _, _ = await g.call("GET", f"/subscriptions/{lapsing['id']}", token=g.user_token("bob"))
    assert status == 404
    await g.control(
        "POST", "/_sandbox/teams/carol@contoso.example/presence", json={"availability": "Busy"}
    )
    await receiver.wait_for(1)
    await asyncio.sleep(0.2)
    assert {n["subscriptionId"] for n in receiver.notifications} == {kept["id"]}


async def test_a_fast_clock_accepts_expiry_times_from_the_clients_clock(
    make_graph: Factory, receiver: Any
) -> None:
    g = await make_graph(scale=7200)  # two sandbox hours per real second
    await asyncio.sleep(0.6)  # the sandbox is now over an hour ahead of the client
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)
    before = g.ctx.clock.now()
    sub = await subscribe(g, receiver, ["carol"], expirationDateTime=moment.isoformat())
    after = g.ctx.clock.now()
    expires = dt.datetime.fromisoformat(sub["expirationDateTime"][:26] + "+00:00").timestamp()
    # Thirty minutes on the sandbox clock, counted from when the request arrived.
    assert before + 30 * 60 - 1 <= expires <= after + 30 * 60 + 1


async def test_control_api_removes_and_reports_missed(make_graph: Factory, receiver: Any) -> None:
    g = await make_graph()
    sub = await subscribe(g, receiver, ["carol"])
    status, _ = await g.control("POST", f"/_sandbox/graph/subscriptions/{sub['id']}/missed")
    assert status == 202
    await receiver.wait_for(1, kind="lifecycle")
    status, _ = await g.control("DELETE", f"/_sandbox/graph/subscriptions/{sub['id']}")
    assert status == 204
    await receiver.wait_for(2, kind="lifecycle")
    assert [e["lifecycleEvent"] for e in receiver.lifecycle] == ["missed", "subscriptionRemoved"]
    status, _, _ = await g.call("GET", f"/subscriptions/{sub['id']}", token=g.user_token())
    assert status == 404

    await subscribe(g, receiver, ["carol"])
    status, body = await g.control(
        "POST", "/_sandbox/graph/subscriptions", json={"remove_all": True}
    )
    assert (status, body["value"]) == (200, [])
    await receiver.wait_for(3, kind="lifecycle")


@pytest.mark.parametrize(("fault", "copies"), [({"drop": 1.0}, 0), ({"duplicate": 1.0}, 2)])
async def test_notification_faults(
    make_graph: Factory, receiver: Any, fault: dict[str, Any], copies: int
) -> None:
    g = await make_graph()
    await subscribe(g, receiver, ["carol"])
    g.ctx.faults.add({"target": "graph-notifications", **fault})
    await g.control(
        "POST", "/_sandbox/teams/carol@contoso.example/presence", json={"availability": "Busy"}
    )
    if copies:
        await receiver.wait_for(copies, within=3)
    await asyncio.sleep(0.6)  # nothing more arrives
    assert len(receiver.notifications) == copies
    if copies:
        assert receiver.notifications[0] == receiver.notifications[1]


async def test_reordered_and_delayed_notifications_all_arrive_separately(
    make_graph: Factory, receiver: Any
) -> None:
    g = await make_graph()
    await subscribe(g, receiver, ["alice", "bob", "carol", "dan"])
    g.ctx.faults.add(
        {"target": "graph-notifications", "reorder": True, "delay_notifications_ms": 200}
    )
    for handle in ("alice", "bob", "carol", "dan"):
        await g.control(
            "POST",
            f"/_sandbox/teams/{handle}@contoso.example/presence",
            json={"availability": "Busy"},
        )
    await receiver.wait_for(4, within=3)
    # Each change got its own random delay, so the batch was split into separate POSTs.
    assert receiver.posts > 1
    assert sorted(n["resourceData"]["id"] for n in receiver.notifications) == sorted(
        g.user(h).id for h in ("alice", "bob", "carol", "dan")
    )


async def test_failed_deliveries_are_retried(make_graph: Factory, receiver: Any) -> None:
    g = await make_graph(scale=600)  # retries wait sandbox seconds
    sub = await subscribe(g, receiver, ["carol"])
    receiver.fail_first = 2
    await g.control(
        "POST", "/_sandbox/teams/carol@contoso.example/presence", json={"availability": "Busy"}
    )
    await receiver.wait_for(1, within=5)
    assert receiver.posts == 3
    _, view = await g.control("GET", "/_sandbox/graph/subscriptions")
    (entry,) = view["value"]
    assert (entry["id"], entry["failedAttempts"], entry["delivered"]) == (sub["id"], 2, 1)


@pytest.mark.slow
async def test_answers_slower_than_three_seconds_count_as_failures(
    make_graph: Factory, receiver: Any
) -> None:
    g = await make_graph(scale=600)
    await subscribe(g, receiver, ["carol"])
    receiver.slow_first = 1
    await g.control(
        "POST", "/_sandbox/teams/carol@contoso.example/presence", json={"availability": "Busy"}
    )
    await receiver.wait_for(1, within=6)
    assert receiver.posts == 2  # the slow answer did not count; Graph sent it again
    _, view = await g.control("GET", "/_sandbox/graph/subscriptions")
    assert view["value"][0]["failedAttempts"] == 1


async def test_list_and_read_are_scoped_to_the_app(make_graph: Factory, receiver: Any) -> None:
    g = await make_graph()
    sub = await subscribe(g, receiver, ["carol"])
    status, body, _ = await g.call("GET", "/subscriptions", token=g.app_token())
    assert [s["id"] for s in body["value"]] == [sub["id"]]
    status, body, _ = await g.call("GET", "/subscriptions", token=g.user_token("bob"))
    assert body["value"] == []
    status, _, _ = await g.call(
        "POST", f"/subscriptions/{sub['id']}/reauthorize", token=g.user_token()
    )
    assert status == 200


async def test_revoked_authorization_suspends_delivery_until_reauthorized(
    make_graph: Factory, receiver: Any
) -> None:
    g = await make_graph()
    sub = await subscribe(g, receiver, ["carol"])
    g.ctx.entra_tokens.revoked_after = g.ctx.clock.now()  # as revoking consent does
    await receiver.wait_for(1, kind="lifecycle")
    assert receiver.lifecycle[0]["lifecycleEvent"] == "reauthorizationRequired"
    await g.control(
        "POST", "/_sandbox/teams/carol@contoso.example/presence", json={"availability": "Busy"}
    )
    await asyncio.sleep(0.3)
    assert receiver.notifications == []

    fresh = g.ctx.entra_tokens.issue(
        {
            "aud": "https://graph.microsoft.com",
            "tid": g.ctx.org.tenant_id,
            "appid": g.app_id,
            "idtyp": "user",
            "scp": "Presence.Read.All",
            "oid": g.user("alice").id,
        },
        3600,
        now=g.ctx.clock.now() + 1,
    )
    status, _, _ = await g.call("POST", f"/subscriptions/{sub['id']}/reauthorize", token=fresh)
    assert status == 200
    await g.control(
        "POST", "/_sandbox/teams/carol@contoso.example/presence", json={"availability": "Away"}
    )
    await receiver.wait_for(1)
    assert len(receiver.lifecycle) == 1
