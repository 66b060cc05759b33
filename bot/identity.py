"""Who is talking to the bot, and whether they may change anything.

Who is an admin is decided by `presence_sync.access.Admins`, the same rule as the tab's.
"""

from __future__ import annotations

from dataclasses import dataclass

from presence_sync.access import ADMIN_ROLE_TEMPLATES, Admins
from presence_sync.store.base import Store

__all__ = ["ADMIN_ROLE_TEMPLATES", "Admins", "Person"]


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
