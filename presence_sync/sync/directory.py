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

Each round also walks RingCentral's call queues (`QueueWalk`, a few queues per round when the
budget is tight). When a walk completes, every linked user's engine state learns whether they
are a queue member, so the "Do not accept queue calls" rule writes TakeAllCalls for
non-members straight away instead of after a refused Department write (DESIGN §4.3). The
refused-write fallback stays: membership can change between walks, and a 400 then teaches the
engine until the next walk says otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from presence_sync.engine import UserState, UserStateError
from presence_sync.errors import ConflictError, RingCentralError
from presence_sync.graph.models import GraphUser
from presence_sync.providers import DIRECTORY, RECONCILE, Providers
from presence_sync.ringcentral.client import RingCentralClient
from presence_sync.ringcentral.gate import calls_at
from presence_sync.ringcentral.models import Extension
from presence_sync.ringcentral.queues import QueueMembership, QueueWalk
from presence_sync.store.base import Store
from presence_sync.store.models import LinkState, UserLink, normalise_email

__all__ = [
    "DirectorySync",
    "MatchReason",
    "RefreshSummary",
    "match_users",
]

logger = logging.getLogger(__name__)

_SAVE_ATTEMPTS = 8
_TEACH_CONCURRENCY = 8


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
    queue_walk_done: bool = False  # a call-queue walk completed in this refresh
    membership_changed: int = 0  # users whose call-queue membership the engine learned


@dataclass
class DirectorySync:
    """Keeps the store's links in step with both directories."""

    store: Store
    providers: Providers
    clock: Callable[[], float]
    queues: QueueWalk = field(default_factory=QueueWalk)
    _users: dict[str, GraphUser] = field(default_factory=dict)
    _delta_link: str | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def refresh(self) -> RefreshSummary:
        """Read what changed in Teams (delta) and every RingCentral user, then re-match.

        Its RingCentral calls (extension lists are Medium, like presence writes) yield to
        real-time work but keep one slot in ten, so a long backlog cannot starve them.
        """
        async with self._lock:
            with calls_at(DIRECTORY, share=True):
                return await self._refresh()

    async def _refresh(self) -> RefreshSummary:
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
        stored = await self._stored_links()
        keep = {link.id for link in links}
        gone = await self._remove_missing(stored, keep)
        self._delta_link = page.delta_link
        membership = await self._walk_queues(rc)
        learned = 0
        if membership is not None:
            current = [link for link in stored if link.id in keep]
            learned = await self._record_membership(current, membership)
        linked = sum(1 for link in links if link.state == LinkState.LINKED)
        summary = RefreshSummary(
            linked,
            len(links) - linked,
            changed,
            gone,
            page.full,
            queue_walk_done=membership is not None,
            membership_changed=learned,
        )
        logger.info(
            "directory refreshed: %d linked, %d unmatched, %d changed, %d removed,"
            " %d call-queue memberships changed",
            summary.linked,
            summary.unmatched,
            summary.changed,
            summary.removed,
            summary.membership_changed,
        )
        return summary

    async def _stored_links(self) -> list[UserLink]:
        found: list[UserLink] = []
        after: str | None = None
        while True:
            page = await self.store.list_links(after=after, limit=1000)
            found.extend(page.links)
            if page.next_cursor is None:
                return found
            after = page.next_cursor

    async def _remove_missing(self, stored: list[UserLink], keep: set[str]) -> int:
        removed = 0
        for link in stored:
            if link.id not in keep and await self.store.delete_link(link.id):
                removed += 1
        return removed

    async def _walk_queues(self, rc: RingCentralClient) -> QueueMembership | None:
        try:
            return await self.queues.step(rc)
        except RingCentralError as err:
            # Links are already current; the walk resumes where it stopped next round.
            logger.warning("call-queue membership not read this round: %s", err)
            return None

    async def _record_membership(self, links: list[UserLink], membership: QueueMembership) -> int:
        """Tell the engine state of every linked user whether they are in a call queue."""
        todo: list[tuple[UserLink, bool]] = []
        for link in links:
            if link.state != LinkState.LINKED or not link.rc_extension_id:
                continue
            member = membership.is_member(link.rc_extension_id)
            # A cheap look first; `_teach` reads the state properly before writing.
            if link.engine_state.get("queue_member", None) is not member:
                todo.append((link, member))
        learned = 0
        # The first walk touches every linked user: overlap the writes (MongoDB serves them
        # in parallel), a bounded number at a time.
        for start in range(0, len(todo), _TEACH_CONCURRENCY):
            chunk = todo[start : start + _TEACH_CONCURRENCY]
            done = await asyncio.gather(*(self._teach(link, member) for link, member in chunk))
            learned += sum(done)
        return learned

    async def _teach(self, link: UserLink, member: bool) -> bool:
        """Record membership in one user's engine state; queue a reconcile if it changed."""
        current: UserLink | None = link
        for _attempt in range(_SAVE_ATTEMPTS):
            if current is None:
                return False  # removed meanwhile
            try:
                doc = current.engine_state
                state = UserState.from_dict(doc) if doc else UserState()
            except UserStateError as err:
                # The reconciler starts such a user afresh; membership is taught next walk.
                logger.warning("engine state of %s unreadable: %s", link.email, err)
                return False
            if state.queue_member is member:
                return False
            try:
                await self.store.set_engine_state(
                    link.id, state.evolve(queue_member=member).to_dict(), current.engine_version
                )
            except ConflictError:
                current = await self.store.get_link(link.id)  # decided meanwhile: read again
                continue
            logger.debug(
                "%s is %s call-queue member",
                link.email,
                "a" if member else "not a",
                extra={"user": link.email, "provider": "ringcentral"},
            )
            if current.sync_enabled:
                # The rule's values may differ now (Department or TakeAllCalls): decide again.
                await self.store.mark_dirty(
                    link.id, priority=RECONCILE, due_at=self.clock(), reason="call-queue membership"
                )
            return True
        logger.warning("engine state of %s kept changing; membership taught next walk", link.email)
        return False
