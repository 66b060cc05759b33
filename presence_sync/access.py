"""Who may administer the product, for the bot and the tab alike.

Admins are the people in ADMIN_EMAILS (matched against UPN or mail, any case) and the holders
of the Global Administrator or Teams Administrator role, read through Graph and cached for a
few minutes. Before admin consent Graph cannot be asked: then only ADMIN_EMAILS count, and the
roles a sign-in token carries in its `wids` claim (Entra's signed word for them).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from presence_sync.errors import PresenceSyncError
from presence_sync.providers import Providers

__all__ = ["ADMIN_ROLE_TEMPLATES", "Admins", "Verdict"]

logger = logging.getLogger(__name__)

# Entra role template ids (the same in every tenant).
ADMIN_ROLE_TEMPLATES = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "69091246-20e8-4a56-aa4d-066075b2a7a8": "Teams Administrator",
}
ROLE_CACHE_SECONDS = 300.0


@dataclass(frozen=True)
class Verdict:
    """Whether someone is an admin, and in words why not."""

    admin: bool
    reason: str | None = None


class Admins:
    """Decides who is an admin; Graph role reads are cached per person for a few minutes."""

    def __init__(
        self,
        emails: Iterable[str],
        providers: Providers,
        clock: Callable[[], float] = time.monotonic,
        cache_seconds: float = ROLE_CACHE_SECONDS,
    ) -> None:
        self._emails = frozenset(e.strip().lower() for e in emails if e.strip())
        self._providers = providers
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._roles: dict[str, tuple[float, bool]] = {}

    async def is_admin(
        self, email: str | None, aad_id: str | None, wids: Iterable[str] = ()
    ) -> bool:
        """Whether the person with this email and Entra object id may change the product."""
        return (await self.verdict(email, aad_id, wids)).admin

    async def verdict(
        self, email: str | None, aad_id: str | None, wids: Iterable[str] = ()
    ) -> Verdict:
        """Whether the person is an admin; when not, a reason that names the rule."""
        if email and email.lower() in self._emails:
            return Verdict(True)
        if aad_id:
            cached = self._roles.get(aad_id)
            now = self._clock()
            if cached is not None and now - cached[0] < self._cache_seconds:
                holds: bool | None = cached[1]
            else:
                holds = await self._holds_admin_role(aad_id)
                if holds is not None:
                    self._roles[aad_id] = (now, holds)
            if holds:
                return Verdict(True)
            if holds is None and any(w in ADMIN_ROLE_TEMPLATES for w in wids):
                # Graph could not be asked (no consent yet): the signed token's roles count.
                return Verdict(True)
        who = email or aad_id or "this account"
        return Verdict(
            False,
            f"{who} is not a Presence Sync admin: admins are the people in ADMIN_EMAILS and the "
            "tenant's Global Administrators and Teams Administrators",
        )

    async def _holds_admin_role(self, aad_id: str) -> bool | None:
        try:
            graph = await self._providers.graph()
            roles = await graph.user_roles(aad_id)
        except PresenceSyncError as err:
            # Not connected yet (no consent) or Graph failing: only ADMIN_EMAILS and signed
            # token roles count now, and the answer is not cached, so roles are read next time.
            logger.info("cannot read directory roles (%s); only ADMIN_EMAILS are admins", err)
            return None
        return any(r.role_template_id in ADMIN_ROLE_TEMPLATES for r in roles)
