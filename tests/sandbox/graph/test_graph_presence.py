"""Presence over HTTP: reads, setPresence rules, expiry and fading on a fast clock, auth."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

Factory = Callable[..., Awaitable[Any]]  # the make_graph fixture


async def test_set_presence_shows_in_reads_and_bumps_the_sequence(make_graph: Factory) -> None:
    g = await make_graph()
    carol = g.user("carol")
    status, before, _ = await g.call("GET", f"/users/{carol.id}/presence")
    assert status == 200
    assert (before["availability"], before["activity"]) == ("Offline", "Offline")

    status, body, _ = await g.call(
        "POST",
        f"/users/{carol.id}/presence/setPresence",
        json={
            "sessionId": g.app_id,
            "availability": "Busy",
            "activity": "InACall",
            "expirationDuration": "PT10M",
        },
    )
    assert (status, body) == (200, "")
    status, after, _ = await g.call("GET", f"/communications/presences/{carol.id}")
    assert (after["availability"], after["activity"]) == ("Busy", "InACall")
    assert after["sequenceNumber"] > before["sequenceNumber"]
    assert after["statusMessage"] is None


async def test_set_presence_refuses_pairs_durations_and_foreign_sessions(
    make_graph: Factory,
) -> None:
    g = await make_graph()
    path = f"/users/{g.user('carol').id}/presence/setPresence"
    base = {"sessionId": g.app_id, "availability": "Busy", "activity": "InACall"}

    status, body, _ = await g.call(
        "POST", path, json={**base, "availability": "DoNotDisturb", "activity": "DoNotDisturb"}
    )
    assert status == 400
    assert "DoNotDisturb/DoNotDisturb" in body["error"]["message"]
    assert body["error"]["innerError"]["request-id"]

    for duration in ("PT4M", "PT4H1M", "soon"):
        status, body, _ = await g.call("POST", path, json={**base, "expirationDuration": duration})
        assert status == 400, duration
        assert duration in body["error"]["message"]

    status, body, _ = await g.call("POST", path, json={**base, "sessionId": "another-app"})
    assert status == 400
    assert "sessionId" in body["error"]["message"]

    status, body, _ = await g.call("GET", f"/users/{g.user('carol').id}/presence")
    assert body["availability"] == "Offline"


async def test_clear_presence_needs_a_session_and_leaves_offline(make_graph: Factory) -> None:
    g = await make_graph()
    carol = g.user("carol")
    clear = f"/users/{carol.id}/presence/clearPresence"
    status, _, _ = await g.call("POST", clear, json={"sessionId": g.app_id})
    assert status == 404
    await g.call(
        "POST",
        f"/users/{carol.id}/presence/setPresence",
        json={"sessionId": g.app_id, "availability": "Available", "activity": "Available"},
    )
    status, _, _ = await g.call("POST", clear, json={"sessionId": g.app_id})
    assert status == 200
    _, body, _ = await g.call("GET", f"/users/{carol.id}/presence")
    assert (body["availability"], body["activity"]) == ("Offline", "Offline")


async def test_preferred_overrides_sessions_only_while_one_exists(make_graph: Factory) -> None:
    g = await make_graph()
    carol = g.user("carol")
    await g.call(
        "POST",
        f"/users/{carol.id}/presence/setUserPreferredPresence",
        json={"availability": "DoNotDisturb", "activity": "DoNotDisturb"},
    )
    _, body, _ = await g.call("GET", f"/users/{carol.id}/presence")
    assert body["availability"] == "Offline"
    await g.control("POST", "/_sandbox/teams/carol@contoso.example/call", json={"action": "start"})
    _, body, _ = await g.call("GET", f"/users/{carol.id}/presence")
    assert (body["availability"], body["activity"]) == ("DoNotDisturb", "DoNotDisturb")
    # DND and Busy default to one day.
    preferred = carol.presence.preferred
    assert preferred is not None
    assert preferred.expires_at is not None
    assert 86300 < preferred.expires_at - g.ctx.clock.now() <= 86400
    await g.call("POST", f"/users/{carol.id}/presence/clearUserPreferredPresence", json={})
    _, body, _ = await g.call("GET", f"/users/{carol.id}/presence")
    assert (body["availability"], body["activity"]) == ("Busy", "InACall")

    status, body, _ = await g.call(
        "POST",
        f"/users/{carol.id}/presence/setUserPreferredPresence",
        json={"availability": "Busy", "activity": "InACall"},
    )
    assert status == 400
    assert "Busy/InACall" in body["error"]["message"]


async def test_sessions_expire_and_fade_on_a_fast_clock(make_graph: Factory) -> None:
    g = await make_graph(scale=300)  # 5 sandbox minutes per real second
    carol, bob = g.user("carol"), g.user("bob")
    await g.call(
        "POST",
        f"/users/{carol.id}/presence/setPresence",
        json={
            "sessionId": g.app_id,
            "availability": "Busy",
            "activity": "InACall",
            "expirationDuration": "PT5M",
        },
    )
    await g.call(
        "POST",
        f"/users/{bob.id}/presence/setPresence",
        json={
            "sessionId": g.app_id,
            "availability": "Available",
            "activity": "Available",
            "expirationDuration": "PT4H",
        },
    )
    _, body, _ = await g.call(
        "POST", "/communications/getPresencesByUserId", json={"ids": [carol.id, bob.id]}
    )
    assert [(p["availability"], p["activity"]) for p in body["value"]] == [
        ("Busy", "InACall"),
        ("Available", "Available"),
    ]

    await asyncio.sleep(2.3)  # 11.5 sandbox minutes: carol's session expired, bob's faded
    _, body, _ = await g.call(
        "POST", "/communications/getPresencesByUserId", json={"ids": [carol.id, bob.id]}
    )
    assert [(p["availability"], p["activity"]) for p in body["value"]] == [
        ("Offline", "Offline"),
        ("Away", "Away"),
    ]
    assert g.app_id not in carol.presence.sessions


async def test_expiry_is_noticed_without_anyone_reading(make_graph: Factory, receiver: Any) -> None:
    g = await make_graph(scale=600)
    carol = g.user("carol")
    expires = dt.datetime.fromtimestamp(g.ctx.clock.now() + 3000, dt.UTC).isoformat()
    status, _, _ = await g.call(
        "POST",
        "/subscriptions",
        token=g.user_token("alice"),
        json={
            "changeType": "updated",
            "notificationUrl": f"{receiver.url}/notify",
            "resource": f"/communications/presences/{carol.id}",
            "expirationDateTime": expires,
        },
    )
    assert status == 201
    await g.call(
        "POST",
        f"/users/{carol.id}/presence/setPresence",
        json={
            "sessionId": g.app_id,
            "availability": "Busy",
            "activity": "InACall",
            "expirationDuration": "PT5M",
        },
    )
    await receiver.wait_for(1)
    # Nobody reads presence: the sweeper alone must notice the expiry and notify.
    await receiver.wait_for(2, within=3)
    _, body, _ = await g.call("GET", f"/users/{carol.id}/presence")
    assert (body["availability"], body["activity"]) == ("Offline", "Offline")


async def test_get_presences_by_user_id_limits_and_unknown_ids(make_graph: Factory) -> None:
    g = await make_graph()
    ids = [g.user("carol").id, "00000000-0000-0000-0000-00000000abcd"]
    status, body, _ = await g.call(
        "POST", "/communications/getPresencesByUserId", json={"ids": ids}
    )
    assert status == 200
    assert body["value"][1]["availability"] == "PresenceUnknown"

    too_many = [f"00000000-0000-0000-0000-{n:012d}" for n in range(651)]
    status, body, _ = await g.call(
        "POST", "/communications/getPresencesByUserId", json={"ids": too_many}
    )
    assert status == 400
    assert "650" in body["error"]["message"]
    status, _, _ = await g.call(
        "POST", "/communications/getPresencesByUserId", json={"ids": too_many[:650]}
    )
    assert status == 200


async def test_tokens_and_permissions_are_checked(make_graph: Factory) -> None:
    g = await make_graph()
    path = f"/users/{g.user('carol').id}/presence"
    status, body, headers = await g.call("GET", path, token="not-a-jwt")
    assert status == 401
    assert body["error"]["code"] == "InvalidAuthenticationToken"
    assert "WWW-Authenticate" in headers

    other_api = g.ctx.entra_tokens.issue(
        {"aud": "api://some-other-api", "tid": g.ctx.org.tenant_id, "idtyp": "app", "roles": []},
        3600,
        now=g.ctx.clock.now(),
    )
    status, body, _ = await g.call("GET", path, token=other_api)
    assert status == 401
    assert "audience" in body["error"]["message"]

    status, body, _ = await g.call("GET", path, token=g.app_token(roles=["User.Read.All"]))
    assert status == 403
    assert body["error"]["code"] == "Authorization_RequestDenied"

    status, body, _ = await g.call(
        "POST",
        f"{path}/setPresence",
        token=g.user_token("carol", scopes="Presence.Read.All"),
        json={"sessionId": g.app_id, "availability": "Away", "activity": "Away"},
    )
    assert status == 403

    revoked = g.app_token()
    g.ctx.entra_tokens.revoked_after = g.ctx.clock.now() + 10
    status, body, _ = await g.call("GET", path, token=revoked)
    assert status == 401
    status, _, _ = await g.call("GET", path, token=g.user_token("carol"))
    assert status == 401  # issued before the revocation point too


async def test_expired_tokens_are_refused_by_sandbox_time(make_graph: Factory) -> None:
    g = await make_graph(scale=600)
    short = g.app_token(lifetime=600)  # ten sandbox minutes = one real second
    path = f"/users/{g.user('carol').id}/presence"
    status, _, _ = await g.call("GET", path, token=short)
    assert status == 200
    await asyncio.sleep(1.3)
    status, body, _ = await g.call("GET", path, token=short)
    assert status == 401
    assert "expired" in body["error"]["message"]
