"""The MongoDB dirty-user queue: one document per user, keyed by the user's link id.

Every change is a single-document write. On MongoDB and Cosmos DB the conditions (unclaimed,
claimed by me, still the pending values I read) sit in the update filters, so replicas never
share or lose an entry; a batch claim tags the documents it won with a fresh token and reads
back only those. On FerretDB (`local_conditions`) those filters would each scan the
collection, and FerretDB applies updates non-atomically anyway, so there the queue reads
each document by `_id` and writes it by `_id` under this process's queue lock: the hot path
of a real-time change then costs lookups by `_id` only, apart from finding what is due.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from pymongo.errors import DuplicateKeyError

from presence_sync.errors import StoreError
from presence_sync.store.bell import DirtyBell
from presence_sync.store.models import DirtyEntry
from presence_sync.store.mongo.database import RACE_RETRIES, MongoDatabase, translated
from presence_sync.store.mongo.schema import dirty_from_doc

__all__ = ["MongoDirtyQueue"]

_PENDING_FIELDS = {"pending_priority": "", "pending_due_at": "", "pending_reason": ""}
_ORDER = [("priority", 1), ("due_at", 1), ("_id", 1)]
# With conditions checked in-process, up to this many entries are claimed or acknowledged one
# `_id` command each (cheap on FerretDB, and the real-time path handles one or two); larger
# batches, from bulk work, go in a few commands, as every command scans there anyway.
LOCAL_BATCH = 8


def _new_entry(user_key: str, priority: int, due_at: float, reason: str) -> dict[str, Any]:
    return {
        "_id": user_key,
        "priority": priority,
        "due_at": due_at,
        "reason": reason,
        "claimed_by": None,
        "claimed_until": None,
        "claim_token": None,
        "remarked": False,
    }


def _merge(priority: int, due_at: float, reason: str) -> dict[str, Any]:
    """Fold a mark into an unclaimed entry: most urgent priority, earliest due time."""
    return {"$min": {"priority": priority, "due_at": due_at}, "$set": {"reason": reason}}


def _park(priority: int, due_at: float, reason: str) -> dict[str, Any]:
    """Keep a mark aside while the entry is claimed, so the ack requeues instead of deleting."""
    return {
        "$min": {"pending_priority": priority, "pending_due_at": due_at},
        "$set": {"pending_reason": reason, "remarked": True},
    }


def _requeued(doc: dict[str, Any]) -> dict[str, Any]:
    """The update that turns a re-marked, claimed entry back into a queued one."""
    return {
        "$set": {
            "priority": doc.get("pending_priority", doc["priority"]),
            "due_at": doc.get("pending_due_at", doc["due_at"]),
            "reason": doc.get("pending_reason", doc["reason"]),
            "claimed_by": None,
            "claimed_until": None,
            "claim_token": None,
            "remarked": False,
        },
        "$unset": _PENDING_FIELDS,
    }


class MongoDirtyQueue:
    """The dirty-user queue on MongoDB, Cosmos DB and FerretDB; rings `bell` on each mark."""

    def __init__(self, db: MongoDatabase, bell: DirtyBell) -> None:
        self.db = db
        self.bell = bell

    @translated
    async def mark_dirty(self, user_key: str, *, priority: int, due_at: float, reason: str) -> None:
        """Queue or merge a mark for one user."""
        async with self.db.lock("dirty"):
            if self.db.local_conditions:
                await self._mark_local(user_key, priority, due_at, reason)
            else:
                await self._mark(user_key, priority, due_at, reason)
        self.bell.ring(due_at)

    async def _mark(self, user_key: str, priority: int, due_at: float, reason: str) -> None:
        dirty = self.db.col("dirty")
        for _ in range(RACE_RETRIES):
            # Most marks find the user not queued yet: try the insert first.
            try:
                await dirty.insert_one(_new_entry(user_key, priority, due_at, reason))
                return
            except DuplicateKeyError:
                pass
            merge = _merge(priority, due_at, reason)
            result = await dirty.update_one({"_id": user_key, "claimed_by": None}, merge)
            if result.matched_count:
                return
            park = _park(priority, due_at, reason)
            result = await dirty.update_one({"_id": user_key, "claimed_by": {"$ne": None}}, park)
            if result.matched_count:
                return
        raise StoreError(f"could not mark {user_key!r} dirty: the entry kept changing")

    async def _mark_local(self, user_key: str, priority: int, due_at: float, reason: str) -> None:
        dirty = self.db.col("dirty")
        for _ in range(RACE_RETRIES):
            doc = await dirty.find_one({"_id": user_key})
            if doc is None:
                try:
                    await dirty.insert_one(_new_entry(user_key, priority, due_at, reason))
                    return
                except DuplicateKeyError:
                    continue  # inserted by someone else since we looked: look again
            if doc.get("claimed_by") is None:
                await dirty.update_one({"_id": user_key}, _merge(priority, due_at, reason))
            else:
                await dirty.update_one({"_id": user_key}, _park(priority, due_at, reason))
            return
        raise StoreError(f"could not mark {user_key!r} dirty: the entry kept changing")

    @translated
    async def claim_dirty(
        self, owner: str, *, limit: int, lease_seconds: float, now: float
    ) -> list[DirtyEntry]:
        """Claim due entries, most urgent first."""
        dirty = self.db.col("dirty")
        claimable = {
            "due_at": {"$lte": now},
            "$or": [{"claimed_by": None}, {"claimed_until": {"$lte": now}}],
        }
        claim = {
            "claimed_by": owner,
            "claimed_until": now + lease_seconds,
            "claim_token": uuid.uuid4().hex,
            "remarked": False,
        }
        update = {"$set": claim, "$unset": _PENDING_FIELDS}
        async with self.db.lock("dirty"):
            if self.db.local_conditions:
                # Read whole and claimed by _id under the lock: what was read is what is claimed.
                docs = [d async for d in dirty.find(claimable).sort(_ORDER).limit(limit)]
                if len(docs) > LOCAL_BATCH:
                    # One command for a large batch (each costs a scan there, but so does
                    # every command); nothing else in this process touches them meanwhile.
                    await dirty.update_many({"_id": {"$in": [d["_id"] for d in docs]}}, update)
                else:
                    for doc in docs:
                        await dirty.update_one({"_id": doc["_id"]}, update)
                return [dirty_from_doc({**doc, **claim}) for doc in docs]
            cursor = dirty.find(claimable, {"_id": 1}).sort(_ORDER).limit(limit)
            keys = [d["_id"] async for d in cursor]
            if not keys:
                return []
            # The filter is evaluated again for every document as it is updated, so an
            # entry another replica claimed in between is skipped rather than stolen.
            await dirty.update_many({"_id": {"$in": keys}, **claimable}, update)
        won = dirty.find({"claim_token": claim["claim_token"]}).sort(_ORDER)
        return [dirty_from_doc(d) async for d in won]

    @translated
    async def ack_dirty(self, owner: str, keys: Iterable[str]) -> int:
        """Remove finished entries; requeue those marked again while claimed."""
        dirty = self.db.col("dirty")
        wanted = list(keys)
        if not wanted:
            return 0
        async with self.db.lock("dirty"):
            if self.db.local_conditions and len(wanted) <= LOCAL_BATCH:
                return await self._ack_local(owner, wanted)
            removed = await dirty.delete_many(
                {"_id": {"$in": wanted}, "claimed_by": owner, "remarked": False}
            )
            async for doc in dirty.find({"_id": {"$in": wanted}, "claimed_by": owner}):
                await self._requeue(doc, owner)
        return removed.deleted_count

    async def _ack_local(self, owner: str, keys: list[str]) -> int:
        dirty = self.db.col("dirty")
        removed = 0
        for key in keys:
            doc = await dirty.find_one({"_id": key})
            if doc is None or doc.get("claimed_by") != owner:
                continue  # not ours (any more): its lease ran out and someone else has it
            if doc.get("remarked"):
                await dirty.update_one({"_id": key}, _requeued(doc))
            else:
                await dirty.delete_one({"_id": key})
                removed += 1
        return removed

    async def _requeue(self, doc: dict[str, Any], owner: str) -> None:
        dirty = self.db.col("dirty")
        for _ in range(RACE_RETRIES):
            # Compare-and-set on the pending values: a mark landing in between changes them
            # and sends us round again with the merged values.
            result = await dirty.update_one(
                {
                    "_id": doc["_id"],
                    "claimed_by": owner,
                    "remarked": True,
                    "pending_priority": doc.get("pending_priority"),
                    "pending_due_at": doc.get("pending_due_at"),
                },
                _requeued(doc),
            )
            if result.matched_count:
                return
            fresh = await dirty.find_one({"_id": doc["_id"], "claimed_by": owner})
            if fresh is None:
                return
            doc = fresh

    @translated
    async def dirty_count(self) -> int:
        """Entries in the queue."""
        return await self.db.col("dirty").count_documents({})
