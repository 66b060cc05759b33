"""What the sign-in tests share: who is who in the sandbox org, and the tab's request shapes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sandbox.model import TeamsUser
from sandbox.server import RunningSandbox
from tests.connections.product import ADMIN

__all__ = ["Mint", "bearer", "member", "sso_token"]

# mint(email, *, lifetime=3600, issued=None, **claims) -> a Teams SSO token (tests/web/conftest.py)
Mint = Callable[..., str]


def member(sandbox: RunningSandbox) -> TeamsUser:
    """Someone in the tenant with no directory role and not in ADMIN_EMAILS."""
    return next(
        u
        for u in sandbox.ctx.org.teams_users.values()
        if u.account_enabled
        and not u.roles
        and u.user_principal_name != ADMIN
        and not u.user_principal_name.startswith("sync")
    )


def bearer(token: str) -> dict[str, str]:
    """The header the tab sends with its SSO token."""
    return {"Authorization": f"Bearer {token}"}


def sso_token(
    sandbox: RunningSandbox,
    public_url: str,
    email: str,
    *,
    lifetime: float = 3600,
    issued: float | None = None,
    **claims: Any,
) -> str:
    """A Teams SSO token for `email`, for the product at `public_url`, signed by the tenant.

    `claims` replace the token's own; `lifetime` and `issued` (epoch seconds) set its time.
    """
    user = sandbox.ctx.org.teams_user_by_email(email)
    assert user is not None, email
    body: dict[str, Any] = {
        "aud": f"api://{public_url.split('://', 1)[1]}/{sandbox.config.app_client_id}",
        "tid": sandbox.ctx.org.tenant_id,
        "oid": user.id,
        "sub": user.id,
        "name": user.display_name,
        "preferred_username": user.user_principal_name,
        "scp": "access_as_user",
        "ver": "2.0",
        **claims,
    }
    return sandbox.ctx.entra_tokens.issue(body, lifetime, time.time() if issued is None else issued)
