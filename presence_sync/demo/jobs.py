"""`sync all` through the product's admin use cases, waited for until the job ends."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import time
from typing import Any

from aiohttp import web

from presence_sync.store import Job, Store

__all__ = ["MissingPartError", "admin_missing", "job_summary", "sync_all"]

JOB_TIMEOUT = 90.0


class MissingPartError(Exception):
    """A part of the product the demo needs is not there yet; the message names it."""


def admin_missing() -> str | None:
    """What is missing of `presence_sync.admin` for the demo, or None."""
    if importlib.util.find_spec("presence_sync.admin") is None:
        return "presence_sync/admin.py (the admin use cases: sync_all, get_job)"
    module = importlib.import_module("presence_sync.admin")
    if not hasattr(module, "sync_all"):
        return "presence_sync.admin.sync_all (the `sync all` use case)"
    return None


async def sync_all(app: web.Application, store: Store, requested_by: str) -> Job:
    """Start `sync all` as `requested_by` and wait for the job to end; the finished job."""
    missing = admin_missing()
    if missing is not None:
        raise MissingPartError(missing)
    admin: Any = importlib.import_module("presence_sync.admin")
    job: Job = await admin.sync_all(app, requested_by=requested_by)
    deadline = time.monotonic() + JOB_TIMEOUT
    while job.active:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"sync all did not finish within {JOB_TIMEOUT:.0f} s "
                f"({job.processed} of {job.total} done)"
            )
        await asyncio.sleep(0.5)
        found = await store.get_job(job.id)
        if found is None:
            raise MissingPartError(f"the store lost sync all job {job.id}")
        job = found
    return job


def job_summary(job: Job, took: float) -> str:
    """`28 synced, 2 already in sync, 0 failed of 30 (4.1 s)`, then each failure."""
    line = (
        f"{job.status.value}: {job.succeeded} synced, {job.skipped} already in sync or skipped, "
        f"{job.failed} failed of {job.total} ({took:.1f} s)"
    )
    failures = [f"    {f.user}: {f.reason}" for f in job.failures[:10]]
    return "\n".join([line, *failures])
