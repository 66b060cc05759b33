"""A delegated Graph token the sandbox's Entra ID would issue a sync account, for direct calls."""

from __future__ import annotations

from sandbox.model import TeamsUser
from sandbox.server import RunningSandbox

__all__ = ["delegated_token"]


def delegated_token(sandbox: RunningSandbox, user: TeamsUser) -> str:
    """`user`'s token for the product's app with the presence scopes, an hour long."""
    claims = {
        "aud": "https://graph.microsoft.com",
        "tid": sandbox.config.tenant_id,
        "appid": sandbox.config.app_client_id,
        "azp": sandbox.config.app_client_id,
        "idtyp": "user",
        "scp": "Presence.Read.All User.Read",
        "oid": user.id,
        "preferred_username": user.user_principal_name,
    }
    return sandbox.ctx.entra_tokens.issue(claims, 3600, now=sandbox.ctx.clock.now())
