"""Bulk jobs (sync all, sync or unsync selected users, turn everyone off): persisted and resumable.

A job walks its users in pages ordered by link id. For each page it first records, in the
job's cursor, which users it is about to switch on or off; then it switches them, reads their
presence where the store has none yet, and lets the reconciler decide and write at BULK
priority; once every user of the page has an answer from the providers, the counters and the
cursor move together in one atomic update. A job interrupted mid-page (crash, restart, lost
lease) redoes only that page: the writes are level-triggered, so nothing is written twice, and
the recorded list keeps the counts exact, so no user is counted twice or as the wrong kind.

"Processed" means: the reconciler has decided for the user and every write it needed has been
answered by the provider (applied, or failed with the reason). Counts: ``succeeded`` users were
switched by this job, ``skipped`` ones were already in the wanted state, ``failed`` ones are
listed with the reason, and the rest of ``processed`` were unmatched.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from presence_sync.errors import ConflictError, PresenceSyncError, StoreError
from presence_sync.graph.models import Presence
from presence_sync.notices.texts import JOB_REPORT, USER_SYNCED, USER_UNSYNCED
from presence_sync.providers import BULK, NotConnectedError, Providers
from presence_sync.ringcentral.models import RcPresence
from presence_sync.store.base import Store
from presence_sync.store.models import (
    Job,
    JobFailure,
    JobStatus,
    LinkState,
    RcObservation,
    TeamsObservation,
    UserLink,
)
from presence_sync.sync.budget import ProviderBudget
from presence_sync.sync.reconciler import Reconciler, target_of
from presence_sync.tasks import stop_tasks

__all__ = ["JOB_KINDS", "JobRunner", "job_kind"]

logger = logging.getLogger(__name__)

PAGE = 50
LEASE = 60.0
RC_READ_BATCH = 30
FRESH = 300.0  # observations younger than this are trusted without a read
MAX_REPORTED_FAILURES = 200

SYNC_ALL = "sync_all"
SYNC_USERS = "sync_users"
UNSYNC_USERS = "unsync_users"
JOB_KINDS = (SYNC_ALL, SYNC_USERS, UNSYNC_USERS)


def job_kind(kind: str) -> str:
    """The job's kind without the selection suffix (``sync_users:ab12`` → ``sync_users``)."""
    return kind.split(":", 1)[0]


@dataclass(frozen=True)
class _Cursor:
    after: str | None
    page_end: str | None = None
    switching: tuple[str, ...] = ()  # users this page switches, recorded before switching

    def dump(self) -> str:
        return json.dumps(
            {"after": self.after, "page_end": self.page_end, "switching": list(self.switching)}
        )

    @classmethod
    def load(cls, text: str | None) -> _Cursor:
        if not text:
            return cls(None)
        data = json.loads(text)
        return cls(data.get("after"), data.get("page_end"), tuple(data.get("switching", ())))


@dataclass(frozen=True)
class _Outcome:
    kind: str  # "switched" | "already" | "failed" | "unmatched"
    reason: str = ""


@dataclass
class JobRunner:
    """Claims queued (or orphaned) jobs and runs them to the end."""

    store: Store
    providers: Providers
    reconciler: Reconciler
    owner: str
    clock: Callable[[], float]
    budget: ProviderBudget | None = None
    notify_users: bool = True
    # How people and the requesting admin are told: "chat" once a Teams bot can write to them
    # (the outbox falls back to email for anyone it cannot reach), else "email".
    notice_channel: str = "email"
    lease: float = LEASE
    concurrency: int = 16  # users of a page decided at once: bounds the load on the store
    _wake: asyncio.Event | None = None

    def wake(self) -> None:
        """Look for a queued job now."""
        if self._wake is not None:
            self._wake.set()

    async def run(self, idle: float = 1.0) -> None:
        """Run jobs until cancelled; a job that fails unexpectedly is resumed after its lease."""
        self._wake = asyncio.Event()
        while True:
            try:
                job = await self.store.claim_job(self.owner, self.lease, self.clock())
            except StoreError as err:
                logger.warning("job queue unavailable: %s", err)
                job = None
            if job is None:
                self._wake.clear()
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow shutdown's cancel.
                with suppress(TimeoutError):
                    async with asyncio.timeout(idle):
                        await self._wake.wait()
                continue
            try:
                await self.run_job(job)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("job %s stopped; it resumes when its lease runs out", job.id)
                await asyncio.sleep(idle)

    async def run_job(self, job: Job) -> Job | None:
        """Run one claimed job from its cursor to the end; None if it was taken from us."""
        keeper = asyncio.create_task(self._keep_lease(job.id))
        try:
            return await self._run(job)
        finally:
            await stop_tasks([keeper])

    async def _keep_lease(self, job_id: str) -> None:
        # Renew by the injected clock, which may run faster than real time in tests.
        renewed = self.clock()
        while True:
            await asyncio.sleep(0.25)
            if self.clock() - renewed < self.lease / 4:
                continue
            renewed = self.clock()
            try:
                if not await self.store.renew_job_lease(job_id, self.owner, self.lease, renewed):
                    return
            except StoreError as err:
                logger.warning("could not renew the lease of job %s: %s", job_id, err)

    async def _run(self, job: Job) -> Job | None:
        kind = job_kind(job.kind)
        turn_on = kind != UNSYNC_USERS
        cursor = _Cursor.load(job.cursor)
        logger.info("running job %s (%s) from %s", job.id, kind, cursor.after or "the start")
        while True:
            links = await self._page(job, cursor)
            if not links:
                break
            if cursor.page_end is None:
                # First time on this page: write down whom it switches, before switching.
                switching = tuple(
                    link.id
                    for link in links
                    if link.state == LinkState.LINKED and link.sync_enabled != turn_on
                )
                cursor = _Cursor(cursor.after, links[-1].id, switching)
                try:
                    await self.store.progress_job(
                        job.id, self.owner, cursor=cursor.dump(), now=self.clock()
                    )
                except ConflictError:
                    await self._stopped(job.id)
                    return None
            began = time.monotonic()
            try:
                outcomes = await self._process(job, links, set(cursor.switching), turn_on)
            except NotConnectedError as err:
                logger.warning("job %s cannot go on: %s", job.id, err)
                done = await self.store.finish_job(
                    job.id, self.owner, status=JobStatus.FAILED, now=self.clock()
                )
                await self._report(done, str(err))
                return done
            failures = [
                JobFailure(link.email or link.id, o.reason)
                for link, o in zip(links, outcomes, strict=True)
                if o.kind == "failed"
            ]
            logger.debug(
                "job %s: %d users handled in %.2f s", job.id, len(links), time.monotonic() - began
            )
            cursor = _Cursor(links[-1].id)
            try:
                job = await self.store.progress_job(
                    job.id,
                    self.owner,
                    processed=len(links),
                    succeeded=sum(o.kind == "switched" for o in outcomes),
                    skipped=sum(o.kind == "already" for o in outcomes),
                    failed=len(failures),
                    failures=failures,
                    cursor=cursor.dump(),
                    now=self.clock(),
                )
            except ConflictError:
                await self._stopped(job.id)
                return None
        try:
            done = await self.store.finish_job(job.id, self.owner, now=self.clock())
        except ConflictError:
            await self._stopped(job.id)
            return None
        logger.info(
            "job %s done: %d processed, %d switched, %d already, %d failed",
            done.id,
            done.processed,
            done.succeeded,
            done.skipped,
            done.failed,
        )
        await self._report(done)
        return done

    async def _stopped(self, job_id: str) -> None:
        job = await self.store.get_job(job_id)
        if job is not None and job.status == JobStatus.CANCELLED:
            logger.info("job %s was cancelled", job_id)
            await self._report(job)
        return None

    async def _page(self, job: Job, cursor: _Cursor) -> list[UserLink]:
        ids = job.params.get("link_ids")
        if isinstance(ids, list):
            chosen = sorted(str(i) for i in ids)
            if cursor.after is not None:
                chosen = [i for i in chosen if i > cursor.after]
            chosen = chosen[:PAGE]
            if cursor.page_end is not None:
                chosen = [i for i in chosen if i <= cursor.page_end]
            found = [await self.store.get_link(i) for i in chosen]
            return [link for link in found if link is not None]
        page = await self.store.list_links(after=cursor.after, limit=PAGE)
        links = list(page.links)
        if cursor.page_end is not None:
            links = [link for link in links if link.id <= cursor.page_end]
        return links

    async def _process(
        self, job: Job, links: Sequence[UserLink], switching: set[str], turn_on: bool
    ) -> list[_Outcome]:
        now = self.clock()
        for link in links:
            if link.id in switching and link.sync_enabled != turn_on:
                # The notice goes first: a crash between the two then repeats a notice on
                # the redone page instead of losing it (a flipped flag means it was queued).
                if self.notify_users and link.email:
                    await self.store.enqueue_notice(
                        recipient=link.email,
                        channel=self.notice_channel,
                        kind=USER_SYNCED if turn_on else USER_UNSYNCED,
                        subject="",
                        payload={"job": job.id},
                        now=now,
                    )
                await self.store.update_link(link.id, now, sync_enabled=turn_on)
        linked = [link for link in links if target_of(link) is not None]
        read_errors: dict[str, str] = {}
        if turn_on:
            read_errors = await self._read_presence(linked)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(link: UserLink) -> _Outcome:
            async with gate:
                return await self._one(job, link, link.id in switching, read_errors)

        return list(await asyncio.gather(*(one(link) for link in links)))

    async def _one(
        self, job: Job, link: UserLink, switched: bool, read_errors: dict[str, str]
    ) -> _Outcome:
        if target_of(link) is None:
            return _Outcome("unmatched", link.reason or "not matched")
        if link.id in read_errors:
            return _Outcome("failed", read_errors[link.id])
        try:
            submission = await self.reconciler.reconcile(
                link.id, priority=BULK, cause=f"job {job.id}"
            )
            result = await submission.wait()
        except PresenceSyncError as err:
            return _Outcome("failed", str(err))
        if result.failed:
            reasons = "; ".join(f"{code} ({message})" for _c, code, message in result.failed)
            return _Outcome("failed", f"write failed: {reasons}")
        return _Outcome("switched" if switched else "already")

    async def _read_presence(self, links: Sequence[UserLink]) -> dict[str, str]:
        """Read both presences of users the store has no fresh observation of."""
        now = self.clock()
        errors: dict[str, str] = {}
        stale_teams = [
            link for link in links if link.teams is None or link.teams.observed_at < now - FRESH
        ]
        stale_rc = [link for link in links if link.rc is None or link.rc.observed_at < now - FRESH]
        if stale_teams:
            try:
                graph = await self.providers.graph()
                presences = await graph.get_presences(
                    [link.teams_user_id or "" for link in stale_teams]
                )
            except NotConnectedError:
                raise
            except PresenceSyncError as err:
                errors.update(
                    {link.id: f"could not read Teams presence: {err}" for link in stale_teams}
                )
            else:
                await self._record_teams(stale_teams, presences, now)
        if stale_rc:
            rc = await self.providers.ringcentral()
            for start in range(0, len(stale_rc), RC_READ_BATCH):
                chunk = stale_rc[start : start + RC_READ_BATCH]
                try:
                    budget = self.budget or ProviderBudget()
                    with budget.ringcentral(BULK):
                        # Stamped when asked for: the read then loses to any event or
                        # acknowledgement recorded since (the engine's PENDING_GRACE).
                        asked = self.clock()
                        read = await rc.get_presences(
                            [link.rc_extension_id or "" for link in chunk]
                        )
                except PresenceSyncError as err:
                    errors.update(
                        {link.id: f"could not read RingCentral presence: {err}" for link in chunk}
                    )
                    continue
                await self._record_rc(chunk, read, asked)
        return errors

    async def _record_teams(
        self, links: Sequence[UserLink], presences: Sequence[Presence], now: float
    ) -> None:
        by_user = {p.id: p for p in presences}
        for link in links:
            p = by_user.get(link.teams_user_id or "")
            if p is not None:
                await self.store.record_teams_observation(
                    link.id, TeamsObservation(p.availability, p.activity, "", now)
                )

    async def _record_rc(
        self, links: Sequence[UserLink], presences: Sequence[RcPresence], now: float
    ) -> None:
        by_ext = {p.extension_id: p for p in presences}
        for link in links:
            p = by_ext.get(link.rc_extension_id or "")
            if p is not None:
                await self.store.record_rc_observation(
                    link.id,
                    RcObservation(
                        p.user_status,
                        p.dnd_status,
                        p.dnd_status_personal,
                        p.accept_call_queue_calls,
                        p.telephony_status,
                        None,
                        now,
                    ),
                )

    async def _report(self, job: Job, problem: str = "") -> None:
        if not job.requested_by or "@" not in job.requested_by:
            return
        payload: dict[str, Any] = {
            "job": job.id,
            "kind": job_kind(job.kind),
            "status": job.status.value,
            "total": job.total,
            "processed": job.processed,
            "synced": job.succeeded,
            "already": job.skipped,
            "failed": job.failed,
            "unmatched": max(0, job.processed - job.succeeded - job.skipped - job.failed),
            "failures": [
                {"user": f.user, "reason": f.reason} for f in job.failures[:MAX_REPORTED_FAILURES]
            ],
        }
        if problem:
            payload["problem"] = problem
        try:
            await self.store.enqueue_notice(
                recipient=job.requested_by,
                channel=self.notice_channel,
                kind=JOB_REPORT,
                subject="",
                payload=payload,
                now=self.clock(),
            )
        except StoreError as err:
            logger.error("could not queue the report of job %s: %s", job.id, err)
