"""Matching Teams users with RingCentral user extensions by email, and keeping links current.

A RingCentral extension's ``contact.email`` is compared with each Teams user's
``userPrincipalName`` first, then ``mail``, trimmed and case-insensitively. Whoever cannot be
matched is kept as an unmatched link with a reason a person understands, so admins see why
someone is not synced instead of wondering.

Link ids are stable: ``t:<Entra object id>`` for anyone with a Teams account, ``r:<extension
id>`` for RingCentral-only people. Refreshes re-match in memory and upsert only what changed
(the store keeps sync flags, observations and engine state of existing links), so a new hire,
a leaver or a changed address costs a few writes, not a rebuild. Teams changes come from
Graph's users delta; RingCentral has no delta, so its user extensions are listed each round.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from presence_sync.graph.models import GraphUser
from presence_sync.providers import Providers
from presence_sync.ringcentral.models import Extension
from presence_sync.store.base import Store
from presence_sync.store.models import LinkState, UserLink, normalise_email

__all__ = [
    "DirectorySync",
    "MatchReason",
    "RefreshSummary",
    "match_users",
]

logger = logging.getLogger(__name__)


class MatchReason:
    """Machine-readable reasons for unmatched links (``UserLink.reason_code``)."""

    NO_RC_EXTENSION = "no_rc_extension"
    NO_TEAMS_ACCOUNT = "no_teams_account"
    TEAMS_DISABLED = "teams_disabled"
    RC_DISABLED = "rc_disabled"
    DUPLICATE_EMAIL = "duplicate_email"
    NOT_A_USER_EXTENSION = "not_a_user_extension"
    NO_EMAIL = "no_email"


def _teams_id(user: GraphUser) -> str:
    return f"t:{user.id}"


def _rc_id(ext: Extension) -> str:
    return f"r:{ext.id}"


def _teams_link(user: GraphUser, **kw: object) -> UserLink:
    email = user.user_principal_name or user.mail or ""
    return UserLink(
        id=_teams_id(user),
        email=email,
        display_name=user.display_name or email,
        teams_user_id=user.id,
        upn=user.user_principal_name,
        mail=user.mail,
        **kw,  # type: ignore[arg-type]
    )


def _unmatched_rc(ext: Extension, code: str, reason: str) -> UserLink:
    return UserLink(
        id=_rc_id(ext),
        email=ext.email or "",
        display_name=ext.name or ext.email or f"extension {ext.extension_number}",
        rc_extension_id=ext.id,
        rc_extension_number=ext.extension_number,
        state=LinkState.UNMATCHED,
        reason_code=code,
        reason=reason,
    )


def match_users(users: Iterable[GraphUser], extensions: Iterable[Extension]) -> list[UserLink]:
    """Every person of both directories as a link: matched, or unmatched with the reason."""
    users = list(users)
    by_upn: dict[str, GraphUser] = {}
    by_mail: dict[str, GraphUser] = {}
    for user in users:
        if user.user_principal_name:
            by_upn.setdefault(normalise_email(user.user_principal_name), user)
        if user.mail:
            by_mail.setdefault(normalise_email(user.mail), user)
    claims: dict[str, list[Extension]] = defaultdict(list)  # Teams id -> extensions
    links: list[UserLink] = []
    for ext in extensions:
        email = normalise_email(ext.email)
        if ext.type != "User":
            continue  # call queues, IVRs and announcements are not people: never listed
        if not email:
            links.append(
                _unmatched_rc(
                    ext, MatchReason.NO_EMAIL, "The RingCentral user has no contact email to match."
                )
            )
            continue
        owner = by_upn.get(email) or by_mail.get(email)
        if owner is None:
            links.append(
                _unmatched_rc(
                    ext,
                    MatchReason.NO_TEAMS_ACCOUNT,
                    f"No Microsoft Teams account has the email {email}.",
                )
            )
            continue
        claims[owner.id].append(ext)
    for user in users:
        found = claims.get(user.id, [])
        if not found:
            links.append(
                _teams_link(
                    user,
                    state=LinkState.UNMATCHED,
                    reason_code=MatchReason.NO_RC_EXTENSION,
                    reason="No RingCentral user has this email as contact email.",
                )
            )
            continue
        if len(found) > 1:
            numbers = ", ".join(e.extension_number or e.id for e in found)
            reason = (
                f"{len(found)} RingCentral users share this email (extensions {numbers});"
                " give each a unique contact email."
            )
            links.append(
                _teams_link(
                    user,
                    state=LinkState.UNMATCHED,
                    reason_code=MatchReason.DUPLICATE_EMAIL,
                    reason=reason,
                )
            )
            links.extend(_unmatched_rc(e, MatchReason.DUPLICATE_EMAIL, reason) for e in found)
            continue
        ext = found[0]
        if user.account_enabled is False:
            links.append(
                _teams_link(
                    user,
                    rc_extension_id=ext.id,
                    rc_extension_number=ext.extension_number,
                    state=LinkState.UNMATCHED,
                    reason_code=MatchReason.TEAMS_DISABLED,
                    reason="The Microsoft account is disabled.",
                )
            )
            continue
        if ext.status != "Enabled":
            links.append(
                _teams_link(
                    user,
                    rc_extension_id=ext.id,
                    rc_extension_number=ext.extension_number,
                    state=LinkState.UNMATCHED,
                    reason_code=MatchReason.RC_DISABLED,
                    reason=f"The RingCentral user is {ext.status.lower()}, not enabled.",
                )
            )
            continue
        links.append(
            _teams_link(user, rc_extension_id=ext.id, rc_extension_number=ext.extension_number)
        )
    return links


@dataclass(frozen=True)
class RefreshSummary:
    """What one directory refresh changed."""

    linked: int
    unmatched: int
    changed: int
    removed: int
    full: bool


@dataclass
class DirectorySync:
    """Keeps the store's links in step with both directories."""

    store: Store
    providers: Providers
    clock: Callable[[], float]
    _users: dict[str, GraphUser] = field(default_factory=dict)
    _delta_link: str | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def refresh(self) -> RefreshSummary:
        """Read what changed in Teams (delta) and every RingCentral user, then re-match."""
        async with self._lock:
            graph = await self.providers.graph()
            rc = await self.providers.ringcentral()
            page = await graph.users_delta(self._delta_link)
            if page.full:
                self._users = {}
            for user in page.users:
                self._users[user.id] = user
            for removed in page.removed_ids:
                self._users.pop(removed, None)
            extensions = [e async for e in rc.list_user_extensions(include_disabled=True)]
            links = match_users(self._users.values(), extensions)
            now = self.clock()
            changed = await self.store.upsert_links(links, now)
            gone = await self._remove_missing({link.id for link in links})
            self._delta_link = page.delta_link
            linked = sum(1 for link in links if link.state == LinkState.LINKED)
            summary = RefreshSummary(linked, len(links) - linked, changed, gone, page.full)
            logger.info(
                "directory refreshed: %d linked, %d unmatched, %d changed, %d removed",
                summary.linked,
                summary.unmatched,
                summary.changed,
                summary.removed,
            )
            return summary

    async def _remove_missing(self, keep: set[str]) -> int:
        removed = 0
        after: str | None = None
        stale: list[UserLink] = []
        while True:
            page = await self.store.list_links(after=after, limit=1000)
            stale.extend(link for link in page.links if link.id not in keep)
            if page.next_cursor is None:
                break
            after = page.next_cursor
        for link in stale:
            if await self.store.delete_link(link.id):
                removed += 1
        return removed
