"""MongoDB bulk jobs: one active job per kind, claimed under a lease, atomic progress."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from presence_sync.errors import ConflictError, NotFoundError, StoreError
from presence_sync.store.codec import dumps, failures_to_list
from presence_sync.store.models import ACTIVE_JOB_STATUSES, Job, JobFailure, JobStatus
from presence_sync.store.mongo.database import RACE_RETRIES, MongoDatabase, translated
from presence_sync.store.mongo.schema import job_from_doc

__all__ = ["MongoJobs"]

_ACTIVE = [s.value for s in ACTIVE_JOB_STATUSES]


def _inactive_key(job_id: str) -> str:
    # Finished jobs keep a unique, never-clashing value in the unique "active_key" index
    # (partial indexes are not available on every server).
    return f"~{job_id}"


class MongoJobs:
    """Bulk jobs in the `jobs` collection."""

    def __init__(self, db: MongoDatabase) -> None:
        self.db = db

    @translated
    async def create_job(
        self,
        kind: str,
        requested_by: str,
        *,
        params: Mapping[str, Any] | None = None,
        total: int = 0,
        now: float,
    ) -> tuple[Job, bool]:
        """Queue a job, or return the active job of that kind."""
        jobs = self.db.col("jobs")
        for _ in range(RACE_RETRIES):
            active = await jobs.find_one({"active_key": kind})
            if active is not None:
                return job_from_doc(active), False
            job_id = uuid.uuid4().hex
            doc = {
                "_id": job_id,
                "kind": kind,
                "active_key": kind,
                "requested_by": requested_by,
                "status": JobStatus.QUEUED.value,
                "total": total,
                "processed": 0,
                "succeeded": 0,
                "skipped": 0,
                "failed": 0,
                "failures": [],
                "cursor": None,
                "params": dumps(dict(params or {})),
                "lease_owner": None,
                "lease_until": None,
                "created_at": now,
                "updated_at": now,
                "finished_at": None,
            }
            try:
                await jobs.insert_one(doc)
            except DuplicateKeyError:
                continue  # another request created it first: return that one
            return job_from_doc(doc), True
        raise StoreError(f"could not create a {kind} job: active jobs kept changing")

    @translated
    async def claim_job(self, owner: str, lease_seconds: float, now: float) -> Job | None:
        """Lease the oldest claimable job."""
        async with self.db.lock("jobs"):
            doc = await self.db.col("jobs").find_one_and_update(
                {
                    "$or": [
                        {"status": JobStatus.QUEUED.value},
                        {"status": JobStatus.RUNNING.value, "lease_until": {"$lte": now}},
                    ]
                },
                {
                    "$set": {
                        "status": JobStatus.RUNNING.value,
                        "lease_owner": owner,
                        "lease_until": now + lease_seconds,
                        "updated_at": now,
                    }
                },
                sort=[("created_at", 1), ("_id", 1)],
                return_document=ReturnDocument.AFTER,
            )
        return job_from_doc(doc) if doc else None

    @translated
    async def renew_job_lease(
        self, job_id: str, owner: str, lease_seconds: float, now: float
    ) -> bool:
        """Extend a held lease."""
        async with self.db.lock("jobs"):
            result = await self.db.col("jobs").update_one(
                {"_id": job_id, "status": JobStatus.RUNNING.value, "lease_owner": owner},
                {"$set": {"lease_until": now + lease_seconds, "updated_at": now}},
            )
        return result.matched_count == 1

    async def _not_held(self, job_id: str, owner: str) -> ConflictError:
        doc = await self.db.col("jobs").find_one({"_id": job_id})
        if doc is None:
            raise NotFoundError(f"no job {job_id!r}")
        job = job_from_doc(doc)
        return ConflictError(
            f"job {job_id} is {job.status.value} and held by {job.lease_owner or 'nobody'}, "
            f"not {owner}"
        )

    @translated
    async def progress_job(
        self,
        job_id: str,
        owner: str,
        *,
        processed: int = 0,
        succeeded: int = 0,
        skipped: int = 0,
        failed: int = 0,
        failures: Sequence[JobFailure] = (),
        cursor: str | None = None,
        total: int | None = None,
        now: float,
    ) -> Job:
        """Add to a held job's counters atomically."""
        changes: dict[str, Any] = {"updated_at": now}
        if cursor is not None:
            changes["cursor"] = cursor
        if total is not None:
            changes["total"] = total
        update: dict[str, Any] = {
            "$inc": {
                "processed": processed,
                "succeeded": succeeded,
                "skipped": skipped,
                "failed": failed,
            },
            "$set": changes,
        }
        if failures:
            update["$push"] = {"failures": {"$each": failures_to_list(list(failures))}}
        async with self.db.lock("jobs"):
            doc = await self.db.col("jobs").find_one_and_update(
                {"_id": job_id, "status": JobStatus.RUNNING.value, "lease_owner": owner},
                update,
                return_document=ReturnDocument.AFTER,
            )
        if doc is None:
            raise await self._not_held(job_id, owner)
        return job_from_doc(doc)

    @translated
    async def finish_job(
        self, job_id: str, owner: str, *, status: JobStatus = JobStatus.DONE, now: float
    ) -> Job:
        """End a held job as done or failed."""
        status = JobStatus(status)
        if status not in (JobStatus.DONE, JobStatus.FAILED):
            raise ValueError("a job finishes as done or failed")
        async with self.db.lock("jobs"):
            doc = await self.db.col("jobs").find_one_and_update(
                {"_id": job_id, "status": JobStatus.RUNNING.value, "lease_owner": owner},
                {"$set": self._ended(job_id, status, now)},
                return_document=ReturnDocument.AFTER,
            )
        if doc is None:
            raise await self._not_held(job_id, owner)
        return job_from_doc(doc)

    @staticmethod
    def _ended(job_id: str, status: JobStatus, now: float) -> dict[str, Any]:
        return {
            "status": status.value,
            "active_key": _inactive_key(job_id),
            "lease_owner": None,
            "lease_until": None,
            "finished_at": now,
            "updated_at": now,
        }

    @translated
    async def cancel_job(self, job_id: str, now: float) -> Job:
        """Cancel an active job."""
        async with self.db.lock("jobs"):
            doc = await self.db.col("jobs").find_one_and_update(
                {"_id": job_id, "status": {"$in": _ACTIVE}},
                {"$set": self._ended(job_id, JobStatus.CANCELLED, now)},
                return_document=ReturnDocument.AFTER,
            )
        if doc is None:
            doc = await self.db.col("jobs").find_one({"_id": job_id})
            if doc is None:
                raise NotFoundError(f"no job {job_id!r}")
        return job_from_doc(doc)

    @translated
    async def get_job(self, job_id: str) -> Job | None:
        """One job."""
        doc = await self.db.col("jobs").find_one({"_id": job_id})
        return job_from_doc(doc) if doc else None

    @translated
    async def list_jobs(self, *, kind: str | None = None, limit: int = 20) -> list[Job]:
        """Recent jobs, newest first."""
        query = {"kind": kind} if kind else {}
        cursor = (
            self.db.col("jobs").find(query).sort([("created_at", -1), ("_id", -1)]).limit(limit)
        )
        return [job_from_doc(d) async for d in cursor]
