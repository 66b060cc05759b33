"""The general control API: config, state, faults, requests, consent; loopback only."""

from __future__ import annotations

import pytest

from sandbox.server import RunningSandbox, control_allowed


async def test_config_names_every_identity_and_address(sandbox: RunningSandbox) -> None:
    status, config = await sandbox.control("GET", "/_sandbox/config")
    assert status == 200
    assert config["tenant_id"] == sandbox.ctx.org.tenant_id
    for key in ("app_client_id", "app_client_secret", "bot_app_id", "bot_app_secret",
                "rc_client_id", "rc_client_secret", "rc_jwt", "ca_file"):
        assert config[key]
    assert config["entra"]["authority"] == f"{sandbox.base_url}/entra/{config['tenant_id']}"
    assert config["graph"]["base_url"] == f"{sandbox.base_url}/graph/v1.0"
    assert config["ringcentral"]["server_url"] == f"{sandbox.base_url}/ringcentral"
    assert config["bot"]["service_url"] == f"{sandbox.base_url}/connector/"
    assert {"email": "admin@contoso.example", "roles": ["Global Administrator"]} in config["admins"]


async def test_state_pairs_people_by_email_and_shows_both_presences(
    sandbox: RunningSandbox,
) -> None:
    status, state = await sandbox.control("GET", "/_sandbox/state")
    assert status == 200
    admin = next(p for p in state["users"] if p["email"] == "admin@contoso.example")
    assert admin["teams"]["presence"]["availability"] == "Available"
    assert admin["ringcentral"]["presence"]["userStatus"] == "Available"
    assert admin["ringcentral"]["presence"]["telephonyStatus"] == "NoCall"
    assert any(p["teams"] is None for p in state["users"])  # RingCentral only
    assert any(p["ringcentral"] is None for p in state["users"])  # Teams only
    assert state["consent"]["granted"] is False


async def test_state_of_one_person_matches_any_spelling_of_their_email(
    sandbox: RunningSandbox,
) -> None:
    mixed = next(
        e for e in sandbox.ctx.org.rc_extensions.values()
        if e.email and e.email != e.email.lower()
    )
    assert mixed.email is not None
    status, person = await sandbox.control("GET", f"/_sandbox/state/{mixed.email.lower()}")
    assert status == 200
    assert person["ringcentral"]["id"] == mixed.id
    assert person["teams"] is not None
    status, body = await sandbox.control("GET", "/_sandbox/state/nobody@contoso.example")
    assert status == 404
    assert "nobody@contoso.example" in body["error"]


async def test_state_can_be_filtered_and_capped_for_large_orgs(sandbox: RunningSandbox) -> None:
    _, state = await sandbox.control("GET", "/_sandbox/state?q=admin&limit=1")
    assert state["matching"] == 2  # admin@ and teams.admin@
    assert len(state["users"]) == 1
    assert state["total_people"] > 30


async def test_injected_faults_answer_and_are_counted_until_used_up(
    sandbox: RunningSandbox,
) -> None:
    tenant = sandbox.config.tenant_id
    metadata = f"/entra/{tenant}/v2.0/.well-known/openid-configuration"
    status, _ = await sandbox.control(
        "POST", "/_sandbox/faults", {"target": "entra", "status": 503, "count": 2}
    )
    assert status == 200
    assert [(await sandbox.control("GET", metadata))[0] for _ in range(3)] == [503, 503, 200]
    _, counts = await sandbox.control("GET", "/_sandbox/requests")
    key = "entra GET /entra/{tenant}/v2.0/.well-known/openid-configuration"
    assert counts["calls"][key] == 3
    status, cleared = await sandbox.control("DELETE", "/_sandbox/requests")
    assert status == 200
    assert cleared["calls"] == {}


async def test_a_429_fault_carries_retry_after_and_counts_as_throttled(
    sandbox: RunningSandbox,
) -> None:
    await sandbox.control(
        "POST", "/_sandbox/faults", {"target": "entra", "status": 429, "retry_after": 7}
    )
    url = sandbox.url(f"/entra/{sandbox.config.tenant_id}/discovery/v2.0/keys")
    async with sandbox.http.get(url) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "7"
    _, counts = await sandbox.control("GET", "/_sandbox/requests")
    assert counts["total_throttled"] == 1
    _, faults = await sandbox.control("DELETE", "/_sandbox/faults")
    assert faults == {"faults": [], "revoked": []}
    async with sandbox.http.get(url) as response:
        assert response.status == 200


async def test_bad_fault_and_consent_input_is_named(sandbox: RunningSandbox) -> None:
    status, body = await sandbox.control("POST", "/_sandbox/faults", {"target": "mars"})
    assert status == 400
    assert "target" in body["error"]
    status, body = await sandbox.control("POST", "/_sandbox/faults", {"revoke": "everything"})
    assert status == 400
    assert "revoke" in body["error"]
    status, body = await sandbox.control(
        "POST", "/_sandbox/faults", {"target": "connector-sends", "status": 429, "fraction": 2}
    )
    assert status == 400
    assert body["error"] == "fraction: must be a probability between 0 and 1"
    status, body = await sandbox.control("POST", "/_sandbox/consent", {"granted": "yes"})
    assert status == 400
    assert "granted" in body["error"]
    status, body = await sandbox.control(
        "POST", "/_sandbox/consent", {"sign_in_as": "ghost@contoso.example"}
    )
    assert status == 404
    async with sandbox.http.post(sandbox.url("/_sandbox/faults"), data="{nope") as response:
        assert response.status == 400
        assert "JSON" in (await response.json())["error"]


async def test_product_url_can_be_set_and_is_validated(sandbox: RunningSandbox) -> None:
    url = "http://127.0.0.1:3978/api/messages"
    status, config = await sandbox.control("PUT", "/_sandbox/config", {"product_url": url})
    assert status == 200
    assert config["product_url"] == url
    assert sandbox.config.product_url == url
    status, body = await sandbox.control("PUT", "/_sandbox/config", {"product_url": "ftp://x"})
    assert status == 400
    assert "product_url" in body["error"]
    status, body = await sandbox.control("PUT", "/_sandbox/config", {"tenant_id": "x"})
    assert status == 400
    assert "tenant_id" in body["error"]


async def test_the_live_page_polls_the_state(sandbox: RunningSandbox) -> None:
    async with sandbox.http.get(sandbox.url("/_sandbox/")) as response:
        page = await response.text()
    assert response.status == 200
    assert response.content_type == "text/html"
    assert "/_sandbox/state" in page
    assert "Presence Sync sandbox" in page


@pytest.mark.parametrize(
    ("path", "remote", "allowed"),
    [
        ("/_sandbox/state", "127.0.0.1", True),
        ("/_sandbox/state", "::1", True),
        ("/_sandbox/faults", "192.0.2.50", False),
        ("/_sandbox/", "10.1.2.3", False),
        ("/_sandbox/state", None, False),
        ("/graph/v1.0/users", "192.0.2.50", True),
        ("/_botframework/v1/keys", "192.0.2.50", True),
    ],
)
def test_the_control_api_answers_loopback_peers_only(
    path: str, remote: str | None, allowed: bool
) -> None:
    assert control_allowed(path, remote) is allowed
