"""Who is talking to the bot, and whether they may change anything.

Admins are the people in ADMIN_EMAILS (matched against UPN or mail, any case) and the holders
of the Global Administrator or Teams Administrator role, read through Graph and cached for a
few minutes. Before admin consent Graph cannot be asked, so only ADMIN_EMAILS count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from presence_sync.errors import PresenceSyncError
from presence_sync.providers import Providers
from presence_sync.store.base import Store

__all__ = ["ADMIN_ROLE_TEMPLATES", "Admins", "Person"]

logger = logging.getLogger(__name__)

# Entra role template ids (the same in every tenant).
ADMIN_ROLE_TEMPLATES = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "69091246-20e8-4a56-aa4d-066075b2a7a8": "Teams Administrator",
}
ROLE_CACHE_SECONDS = 300.0


@dataclass(frozen=True)
class Person:
    """The sender of an activity, as far as the product knows them."""

    teams_id: str  # the Teams member id of the chat ("29:…")
    aad_id: str | None  # the Entra object id, which Teams sends with every activity
    name: str
    email: str | None  # UPN or mail, from the product's directory
    link_id: str | None  # their link in the store, when the directory matched them

    @property
    def label(self) -> str:
        """How audit entries name them."""
        return self.email or self.name or self.aad_id or self.teams_id


async def person_from(store: Store, teams_id: str, aad_id: str | None, name: str) -> Person:
    """The sender, with their email and link when the directory knows their Entra id."""
    link = await store.get_link_by_teams_id(aad_id) if aad_id else None
    if link is None:
        return Person(teams_id, aad_id, name, None, None)
    return Person(teams_id, aad_id, name or link.display_name, link.upn or link.email, link.id)


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

    async def is_admin(self, person: Person) -> bool:
        """Whether `person` may change what the product does."""
        if person.email and person.email.lower() in self._emails:
            return True
        if not person.aad_id:
            return False
        cached = self._roles.get(person.aad_id)
        now = self._clock()
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        holds = await self._holds_admin_role(person.aad_id)
        if holds is not None:
            self._roles[person.aad_id] = (now, holds)
        return bool(holds)

    async def _holds_admin_role(self, aad_id: str) -> bool | None:
        try:
            graph = await self._providers.graph()
            roles = await graph.user_roles(aad_id)
        except PresenceSyncError as err:
            # Not connected yet (no consent) or Graph failing: only ADMIN_EMAILS count now,
            # and the answer is not cached, so the roles are read again next time.
            logger.info("cannot read directory roles (%s); only ADMIN_EMAILS are admins", err)
            return None
        return any(r.role_template_id in ADMIN_ROLE_TEMPLATES for r in roles)
