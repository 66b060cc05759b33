"""Admin use cases shared by the bot and the tab: sync, unsync, rules, status, users, jobs.

Every use case takes the acting admin's email (for the audit log and job reports), validates
its input before changing anything (unknown users and invalid rules are refused with a message
that names them), and returns a frozen result. Settings edits use optimistic concurrency: pass
the version that was shown to the admin, and a concurrent edit raises `ConflictError` instead
of being overwritten.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from presence_sync.domain import DEFAULT_RULES, CallPresenceRules
from presence_sync.engine import UserState, UserStateError
from presence_sync.errors import NotFoundError, ValidationError
from presence_sync.providers import RECONCILE
from presence_sync.store.base import Store
from presence_sync.store.models import (
    AuditDetails,
    AuditEntry,
    ConnectionStatus,
    Job,
    LinkState,
    NoticeStatus,
    OrgSettings,
    SyncMode,
    UserLink,
)
from presence_sync.sync.jobs import SYNC_ALL, SYNC_USERS, UNSYNC_USERS, job_kind

__all__ = [
    "Admin",
    "JobTicket",
    "JobView",
    "Preview",
    "RulesView",
    "StatusView",
    "UnknownUsersError",
    "UserPage",
    "UserView",
]

logger = logging.getLogger(__name__)

_REQUIRED_CONNECTIONS = ("microsoft", "ringcentral")
PREVIEW_PAGE = 1000  # unmatched people read per store call when counting their reasons


class UnknownUsersError(ValidationError):
    """Some named users are not in the directory (or the name fits several); `names` lists them."""

    def __init__(self, names: Sequence[str], ambiguous: Sequence[str] = ()) -> None:
        parts = []
        if names:
            parts.append("unknown users: " + ", ".join(names))
        if ambiguous:
            parts.append("names matching several users (use the email): " + ", ".join(ambiguous))
        super().__init__("; ".join(parts))
        self.names = tuple(names)
        self.ambiguous = tuple(ambiguous)


@dataclass(frozen=True)
class JobView:
    """A bulk job as admins see it."""

    id: str
    kind: str
    status: str
    requested_by: str
    total: int
    processed: int
    synced: int
    already: int
    failed: int
    unmatched: int
    failures: tuple[tuple[str, str], ...]
    created_at: float
    finished_at: float | None

    @classmethod
    def of(cls, job: Job) -> JobView:
        """The view of a stored job."""
        return cls(
            id=job.id,
            kind=job_kind(job.kind),
            status=job.status.value,
            requested_by=job.requested_by,
            total=job.total,
            processed=job.processed,
            synced=job.succeeded,
            already=job.skipped,
            failed=job.failed,
            unmatched=max(0, job.processed - job.succeeded - job.skipped - job.failed),
            failures=tuple((f.user, f.reason) for f in job.failures),
            created_at=job.created_at,
            finished_at=job.finished_at,
        )

    @property
    def progress(self) -> float:
        """Share of users handled, 0..1."""
        return self.processed / self.total if self.total else (1.0 if self.finished_at else 0.0)


@dataclass(frozen=True)
class JobTicket:
    """A started job, or the one already running (`created` False)."""

    job: JobView
    created: bool


@dataclass(frozen=True)
class Preview:
    """What `sync all` or `disable` would do, shown before an admin confirms it."""

    kind: str  # "sync all" | "disable"
    linked: int  # people matched in both directories
    change: int  # people the command would sync (sync all) or hand back (disable)
    unchanged: int  # already as the command would leave them
    unmatched: tuple[tuple[str, int], ...]  # why people are not matched, most common first


@dataclass(frozen=True)
class RulesView:
    """The call presence settings as the rules editor shows them."""

    call_presence_customisation: bool
    preserve_during_inactivity: bool
    rules: tuple[tuple[str, str], ...]  # (Teams state label, rule label) in editor order
    rule_ids: Mapping[str, str]  # state id -> rule id
    sync_enabled: bool
    version: int


@dataclass(frozen=True)
class UserView:
    """One person in the user list."""

    id: str
    email: str
    display_name: str
    linked: bool
    synced: bool
    reason: str | None
    last_error: str | None
    teams: str | None  # "Availability/Activity" last seen
    ringcentral: str | None  # "userStatus, dndStatus" last seen
    call_queue_member: bool | None = None  # in a RingCentral call queue; None until known
    teams_user_id: str | None = None
    upn: str | None = None
    rc_extension_id: str | None = None
    rc_extension_number: str | None = None
    last_sync_at: float | None = None  # when a write of ours last landed on either side


@dataclass(frozen=True)
class UserPage:
    """One page of the user list."""

    users: tuple[UserView, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class StatusView:
    """Connections, coverage, counts and warnings for the status card and tab."""

    sync_enabled: bool
    connections: tuple[tuple[str, str, str | None], ...]  # (kind, status, reason)
    linked: int
    unmatched: int
    synced: int
    pending_users: int
    coverage: Any  # the watchers' coverage summary, when available
    last_job: JobView | None
    warnings: tuple[str, ...]
    undelivered_notices: int = 0  # notices that could not be delivered (of the last 50 read)


def _rules_view(settings: OrgSettings) -> RulesView:
    rules = CallPresenceRules.from_mapping(settings.rules, base=DEFAULT_RULES)
    return RulesView(
        call_presence_customisation=settings.call_presence_customisation,
        preserve_during_inactivity=settings.preserve_during_inactivity,
        rules=tuple(rules.labelled()),
        rule_ids=rules.to_dict(),
        sync_enabled=settings.sync_mode == SyncMode.ENABLED,
        version=settings.version,
    )


def _engine_facts(link: UserLink) -> tuple[bool | None, float | None]:
    """(call queue member, when our last write landed) from the engine state."""
    if not link.engine_state:
        return None, None
    try:
        state = UserState.from_dict(link.engine_state)
    except UserStateError:
        return None, None
    landed = [w.applied_at for w in state.rc_writes if w.applied_at is not None]
    if state.session is not None and state.session.applied_at is not None:
        landed.append(state.session.applied_at)
    return state.queue_member, max(landed, default=None)


def _user_view(link: UserLink) -> UserView:
    queue_member, last_sync = _engine_facts(link)
    teams = f"{link.teams.availability}/{link.teams.activity}" if link.teams else None
    rc = None
    if link.rc is not None:
        rc = ", ".join(
            str(v)
            for v in (link.rc.user_status, link.rc.dnd_status or link.rc.dnd_status_personal)
            if v is not None
        )
    return UserView(
        id=link.id,
        email=link.email,
        display_name=link.display_name,
        linked=link.state == LinkState.LINKED,
        synced=link.sync_enabled,
        reason=link.reason,
        last_error=link.last_error,
        teams=teams,
        ringcentral=rc,
        call_queue_member=queue_member,
        teams_user_id=link.teams_user_id,
        upn=link.upn,
        rc_extension_id=link.rc_extension_id,
        rc_extension_number=link.rc_extension_number,
        last_sync_at=last_sync,
    )


@dataclass
class Admin:
    """The admin use cases over one store."""

    store: Store
    clock: Callable[[], float]
    coverage: Callable[[], Awaitable[Any]] | None = None
    on_job_queued: Callable[[], None] | None = None

    async def _audit(self, actor: str, action: str, **details: Any) -> None:
        await self.store.append_audit(
            AuditEntry(at=self.clock(), actor=actor, action=action, details=AuditDetails(details))
        )

    async def _start(
        self, actor: str, kind: str, *, total: int, params: Mapping[str, Any] | None = None
    ) -> JobTicket:
        job, created = await self.store.create_job(
            kind, actor, params=params, total=total, now=self.clock()
        )
        if created:
            await self._audit(actor, f"job.{job_kind(kind)}", job=job.id, total=total)
            if self.on_job_queued is not None:
                self.on_job_queued()
        return JobTicket(JobView.of(job), created)

    async def sync_all(self, actor: str) -> JobTicket:
        """Start syncing every matched user (or return the sync-all job already running)."""
        counts = await self.store.count_links_by_state()
        return await self._start(actor, SYNC_ALL, total=sum(counts.values()))

    async def preview(self, kind: str) -> Preview:
        """What `sync all` ("sync all") or `disable` ("disable") would change, in counts."""
        if kind not in ("sync all", "disable"):
            raise ValidationError(f"nothing to preview for {kind!r}: 'sync all' or 'disable'")
        counts = await self.store.count_links_by_state()
        linked = counts.get(LinkState.LINKED.value, 0)
        synced = await self.store.count_synced_links()
        reasons: dict[str, int] = {}
        cursor: str | None = None
        while True:
            page = await self.store.list_links(
                state=LinkState.UNMATCHED, after=cursor, limit=PREVIEW_PAGE
            )
            for link in page.links:
                reason = link.reason or "no matching RingCentral user"
                reasons[reason] = reasons.get(reason, 0) + 1
            cursor = page.next_cursor
            if cursor is None:
                break
        unmatched = tuple(sorted(reasons.items(), key=lambda item: (-item[1], item[0])))
        if kind == "sync all":
            settings = await self.store.get_settings()
            # sync all also turns an organisation that was turned off back on.
            on = settings.sync_mode == SyncMode.ENABLED
            already = synced if on else 0
            return Preview(kind, linked, max(0, linked - already), already, unmatched)
        return Preview(kind, linked, synced, max(0, linked - synced), unmatched)

    async def resolve_users(self, names: Sequence[str]) -> list[UserLink]:
        """The links named by email or display name; `UnknownUsersError` names the others."""
        found: dict[str, UserLink] = {}
        unknown: list[str] = []
        ambiguous: list[str] = []
        for raw in names:
            name = raw.strip()
            if not name:
                continue
            link = await self.store.get_link_by_email(name) if "@" in name else None
            if link is None:
                page = await self.store.list_links(search=name, limit=50)
                wanted = name.lower()
                exact = [
                    c
                    for c in page.links
                    if c.display_name.lower() == wanted or c.email.split("@")[0] == wanted
                ]
                candidates = exact or list(page.links)
                if len(candidates) == 1:
                    link = candidates[0]
                elif len(candidates) > 1:
                    ambiguous.append(name)
                    continue
            if link is None:
                unknown.append(name)
                continue
            found[link.id] = link
        if unknown or ambiguous:
            raise UnknownUsersError(unknown, ambiguous)
        if not found:
            raise ValidationError("name at least one user")
        return list(found.values())

    async def _selection_job(self, actor: str, kind: str, names: Sequence[str]) -> JobTicket:
        links = await self.resolve_users(names)
        ids = sorted(link.id for link in links)
        # One job per selection: repeating the same command returns the running job.
        digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:12]
        return await self._start(
            actor, f"{kind}:{digest}", total=len(ids), params={"link_ids": ids}
        )

    async def links_by_id(self, ids: Sequence[str]) -> list[UserLink]:
        """The links with these ids; `UnknownUsersError` names the ids that are not known."""
        wanted = list(dict.fromkeys(i for i in ids if i))
        if not wanted:
            raise ValidationError("ids: name at least one person")
        found = {i: await self.store.get_link(i) for i in wanted}
        unknown = [i for i, link in found.items() if link is None]
        if unknown:
            raise UnknownUsersError(unknown)
        return [link for link in found.values() if link is not None]

    async def sync_links(self, actor: str, ids: Sequence[str]) -> JobTicket:
        """Start syncing the people with these link ids (the tab's selection)."""
        links = await self.links_by_id(ids)
        return await self._selection_job(actor, SYNC_USERS, [link.email for link in links])

    async def unsync_links(self, actor: str, ids: Sequence[str]) -> JobTicket:
        """Stop syncing the people with these link ids."""
        links = await self.links_by_id(ids)
        return await self._selection_job(actor, UNSYNC_USERS, [link.email for link in links])

    async def retry_failed(self, actor: str, job_id: str) -> JobTicket:
        """Sync again the people a finished job could not sync."""
        job = await self.get_job(job_id)
        if job.finished_at is None:
            raise ValidationError(f"job {job_id} is still running; retry when it has finished")
        people = [user for user, _reason in job.failures if "@" in user]
        if not people:
            raise ValidationError(f"nobody failed in job {job_id}: there is nothing to retry")
        return await self.sync_users(actor, people)

    async def sync_users(self, actor: str, names: Sequence[str]) -> JobTicket:
        """Start syncing the named users (emails or names)."""
        return await self._selection_job(actor, SYNC_USERS, names)

    async def unsync_users(self, actor: str, names: Sequence[str]) -> JobTicket:
        """Stop syncing the named users; RingCentral and Teams are handed back to them."""
        return await self._selection_job(actor, UNSYNC_USERS, names)

    async def _mark_synced_dirty(self, reason: str) -> int:
        marked = 0
        after: str | None = None
        now = self.clock()
        while True:
            page = await self.store.list_links(sync_enabled=True, after=after, limit=500)
            for link in page.links:
                await self.store.mark_dirty(link.id, priority=RECONCILE, due_at=now, reason=reason)
                marked += 1
            if page.next_cursor is None:
                return marked
            after = page.next_cursor

    async def _save(
        self,
        actor: str,
        change: Callable[[OrgSettings], OrgSettings],
        expected: int | None,
        action: str,
        **details: Any,
    ) -> RulesView:
        current = await self.store.get_settings()
        if expected is None:
            expected = current.version
        saved = await self.store.save_settings(change(current), expected)
        await self._audit(actor, action, **details)
        marked = await self._mark_synced_dirty(action)
        logger.info("%s by %s: %d synced users to re-check", action, actor, marked)
        return _rules_view(saved)

    async def disable_all(self, actor: str, expected_version: int | None = None) -> RulesView:
        """Turn sync off for the whole organisation; every user gets their own presence back."""
        return await self._save(
            actor,
            lambda s: replace(s, sync_mode=SyncMode.DISABLED),
            expected_version,
            "sync.disable",
        )

    async def enable(self, actor: str, expected_version: int | None = None) -> RulesView:
        """Turn sync back on for the organisation (users keep their own sync flags)."""
        return await self._save(
            actor,
            lambda s: replace(s, sync_mode=SyncMode.ENABLED),
            expected_version,
            "sync.enable",
        )

    async def get_rules(self) -> RulesView:
        """The call presence settings and rules."""
        return _rules_view(await self.store.get_settings())

    async def set_rules(
        self, actor: str, rules: Mapping[str, str], expected_version: int | None = None
    ) -> RulesView:
        """Change rules for some Teams states; `RulesError` lists every unknown state or rule."""
        current = await self.store.get_settings()
        base = CallPresenceRules.from_mapping(current.rules, base=DEFAULT_RULES)
        merged = CallPresenceRules.from_mapping(rules, base=base)  # raises before any change
        return await self._save(
            actor,
            lambda s: replace(s, rules=merged.to_dict()),
            expected_version,
            "rules.set",
            rules=merged.to_dict(),
        )

    async def save_rules(
        self,
        actor: str,
        expected_version: int,
        *,
        customisation: bool | None = None,
        preserve_during_inactivity: bool | None = None,
        rules: Mapping[str, str] | None = None,
    ) -> RulesView:
        """Save the rules editor's form in one change; `ConflictError` if someone saved first."""
        current = await self.store.get_settings()
        base = CallPresenceRules.from_mapping(current.rules, base=DEFAULT_RULES)
        merged = CallPresenceRules.from_mapping(rules or {}, base=base)  # raises before saving

        def change(s: OrgSettings) -> OrgSettings:
            return replace(
                s,
                rules=merged.to_dict(),
                call_presence_customisation=(
                    s.call_presence_customisation if customisation is None else customisation
                ),
                preserve_during_inactivity=(
                    s.preserve_during_inactivity
                    if preserve_during_inactivity is None
                    else preserve_during_inactivity
                ),
            )

        return await self._save(
            actor,
            change,
            expected_version,
            "rules.save",
            rules=merged.to_dict(),
            customisation=customisation,
            preserve_during_inactivity=preserve_during_inactivity,
        )

    async def reset_rules(self, actor: str, expected_version: int | None = None) -> RulesView:
        """Restore the documented default rules (customisation itself is left as it is)."""
        return await self._save(
            actor,
            lambda s: replace(s, rules=DEFAULT_RULES.to_dict()),
            expected_version,
            "rules.reset",
        )

    async def set_call_presence_customisation(
        self, actor: str, on: bool, expected_version: int | None = None
    ) -> RulesView:
        """Turn the call presence rules on or off."""
        return await self._save(
            actor,
            lambda s: replace(s, call_presence_customisation=on),
            expected_version,
            "rules.customisation",
            on=on,
        )

    async def set_preserve_during_inactivity(
        self, actor: str, on: bool, expected_version: int | None = None
    ) -> RulesView:
        """Keep RingCentral unchanged while Teams only reports inactivity, or stop doing so."""
        return await self._save(
            actor,
            lambda s: replace(s, preserve_during_inactivity=on),
            expected_version,
            "rules.preserve_during_inactivity",
            on=on,
        )

    async def status(self) -> StatusView:
        """Connections, coverage, counts by state, the last job and health warnings."""
        settings = await self.store.get_settings()
        connections = {c.kind: c for c in await self.store.list_connections()}
        warnings: list[str] = []
        rows: list[tuple[str, str, str | None]] = []
        for kind in sorted({*_REQUIRED_CONNECTIONS, *connections}):
            conn = connections.get(kind)
            status = conn.status.value if conn else ConnectionStatus.MISSING.value
            reason = conn.reason if conn else None
            rows.append((kind, status, reason))
            if status != ConnectionStatus.CONNECTED.value:
                warnings.append(f"{kind} is {status}" + (f": {reason}" if reason else ""))
        if settings.sync_mode != SyncMode.ENABLED:
            warnings.append("sync is turned off for the organisation")
        counts = await self.store.count_links_by_state()
        jobs = await self.store.list_jobs(limit=1)
        last = JobView.of(jobs[0]) if jobs else None
        if last is not None and last.status == "failed":
            warnings.append(f"the last job ({last.kind}) failed")
        undelivered = await self.store.list_notices(status=NoticeStatus.FAILED.value, limit=50)
        if undelivered:
            warnings.append(f"{len(undelivered)} notices could not be delivered")
        coverage = await self.coverage() if self.coverage is not None else None
        return StatusView(
            sync_enabled=settings.sync_mode == SyncMode.ENABLED,
            connections=tuple(rows),
            linked=counts.get(LinkState.LINKED.value, 0),
            unmatched=counts.get(LinkState.UNMATCHED.value, 0),
            synced=await self.store.count_synced_links(),
            pending_users=await self.store.dirty_count(),
            coverage=coverage,
            last_job=last,
            warnings=tuple(warnings),
            undelivered_notices=len(undelivered),
        )

    async def list_users(
        self,
        filter: str | None = None,
        page: str | None = None,
        *,
        limit: int = 25,
        synced: bool | None = None,
        linked: bool | None = None,
        failed: bool | None = None,
    ) -> UserPage:
        """One page of users matching `filter` (email, UPN, mail or name), from cursor `page`."""
        state = None if linked is None else (LinkState.LINKED if linked else LinkState.UNMATCHED)
        found = await self.store.list_links(
            state=state,
            sync_enabled=synced,
            search=filter or None,
            after=page,
            limit=limit,
            failed=failed,
        )
        return UserPage(tuple(_user_view(link) for link in found.links), found.next_cursor)

    async def get_job(self, job_id: str) -> JobView:
        """One job; `NotFoundError` when there is none with this id."""
        job = await self.store.get_job(job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id}")
        return JobView.of(job)

    async def cancel_job(self, actor: str, job_id: str) -> JobView:
        """Cancel a queued or running job; users already handled stay as they are."""
        before = await self.get_job(job_id)
        job = await self.store.cancel_job(job_id, self.clock())
        if before.finished_at is None:  # cancelling a finished job changes nothing to audit
            await self._audit(actor, "job.cancel", job=job_id)
        return JobView.of(job)
