"""What the sign-in tests share: who is who in the sandbox org, and the tab's request shapes."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.model import TeamsUser
from sandbox.server import RunningSandbox
from tests.connections.product import ADMIN

__all__ = ["Mint", "bearer", "member"]

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
