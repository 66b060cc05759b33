"""The general control API: config, state, faults, requests, consent; loopback only."""

from __future__ import annotations

from sandbox.server import RunningSandbox


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
