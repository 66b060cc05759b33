"""`sync all` through the product's admin use cases, waited for until the job ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from presence_sync.store import LinkState, Store, UserLink
from presence_sync.web.keys import ADMIN, SYNC

if TYPE_CHECKING:
    from presence_sync.admin import JobView
    from presence_sync.sync.directory import RefreshSummary

__all__ = ["job_summary", "refresh_directory", "sync_all", "synced_links"]

JOB_TIMEOUT = 90.0
JOB_SECONDS_PER_USER = 0.5


async def refresh_directory(app: web.Application) -> RefreshSummary:
    """Match both directories now, rather than at the next periodic refresh."""
    return await app[SYNC].directory.refresh()


async def sync_all(
    app: web.Application,
    requested_by: str,
    *,
    progress: Callable[[JobView], None] | None = None,
    progress_every: float = 5.0,
) -> JobView:
    """Start `sync all` as `requested_by` and wait for the job to end; the finished job.

    `progress` hears how far the job is every `progress_every` seconds while it runs.
    """
    admin = app[ADMIN]
    ticket = await admin.sync_all(requested_by)
    job: JobView = ticket.job
    # Bulk work is paced by RingCentral's limits, so a bigger org may take longer.
    deadline = time.monotonic() + JOB_TIMEOUT + JOB_SECONDS_PER_USER * job.total
    next_report = time.monotonic() + progress_every
    while job.finished_at is None:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"sync all did not finish in time ({job.processed} of {job.total} done)"
            )
        if progress is not None and time.monotonic() >= next_report:
            progress(job)
            next_report = time.monotonic() + progress_every
        await asyncio.sleep(0.5)
        job = await admin.get_job(job.id)
    return job


def job_summary(job: JobView, took: float) -> str:
    """`done: 28 synced, 2 already in sync, 0 failed, 9 unmatched of 39 (4.1 s)`, failures."""
    line = (
        f"{job.status}: {job.synced} synced, {job.already} already in sync, "
        f"{job.failed} failed, {job.unmatched} unmatched of {job.total} ({took:.1f} s)"
    )
    failures = [f"    {user}: {reason}" for user, reason in job.failures[:10]]
    return "\n  ".join([line, *failures])


async def synced_links(store: Store) -> list[UserLink]:
    """Every linked person with sync on, from the store."""
    links: list[UserLink] = []
    cursor: str | None = None
    while True:
        page = await store.list_links(
            state=LinkState.LINKED, sync_enabled=True, after=cursor, limit=500
        )
        links.extend(page.links)
        cursor = page.next_cursor
        if cursor is None:
            return links
