"""Sync-account tokens over time: silent refresh, rotation saved, revoked refresh tokens."""

from __future__ import annotations

import pytest

from presence_sync.graph.auth import EntraError
from tests.graph.client_sandbox import ClientSandbox
from tests.graph.test_graph_client_delegated import sign_in

FAST = 1800.0  # an Entra access token (1 h) lasts two real seconds


@pytest.mark.parametrize("sandbox_options", [{"time_scale": FAST}])
async def test_sync_account_tokens_refresh_silently_and_revocation_breaks_them(
    client_sandbox: ClientSandbox,
) -> None:
    sandbox = client_sandbox
    saved: list[str] = []

    async def save(state: str) -> None:
        saved.append(state)

    tokens = sandbox.graph_tokens(save_cache=save)
    admin = next(u for u in sandbox.ctx.org.teams_users.values() if u.roles and u.account_enabled)
    upn = await sign_in(sandbox, tokens, admin.user_principal_name)
    client = sandbox.graph_client(sandbox.product_session(), tokens=tokens)
    after_sign_in = len(saved)

    assert await client.list_subscriptions(upn) == []
    refreshed = len(saved) > after_sign_in  # the rotated refresh token reached the store
    await sandbox.fault({"revoke": "microsoft-refresh-tokens"})
    with pytest.raises(EntraError) as refused:
        await client.list_subscriptions(upn)

    assert refreshed
    assert refused.value.code == "invalid_grant"
    assert refused.value.breaks_connection
