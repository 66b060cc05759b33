"""MongoDB notices, audit and leases (the dirty-user queue is in `dirty`).

Claims are conditional single-document updates; a batch claim tags the documents it won
with a fresh token and reads back only those, so concurrent claimers never share one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from presence_sync.store.codec import audit_details_to_json, dumps
from presence_sync.store.models import (
    AuditDetails,
    AuditEntry,
    Lease,
    Notice,
    NoticeStatus,
)
from presence_sync.store.mongo.database import Doc, MongoDatabase, translated
from presence_sync.store.mongo.schema import audit_from_doc, notice_from_doc

__all__ = ["MongoQueues"]

_OPEN: Final = 1  # an audit entry whose outcome is still to come
_PROVISIONAL: Final = 2  # closed by someone else (unknown); its writer may still close it


class MongoQueues:
    """The notice outbox, the audit log and named leases on MongoDB."""

    def __init__(self, db: MongoDatabase) -> None:
        self.db = db

    # -- notices -----------------------------------------------------------------------

    @translated
    async def enqueue_notice(
        self,
        *,
        recipient: str,
        channel: str,
        kind: str,
        subject: str,
        payload: Mapping[str, Any],
        now: float,
    ) -> Notice:
        """Add a pending notice."""
        doc = {
            "_id": uuid.uuid4().hex,
            "recipient": recipient,
            "channel": channel,
            "kind": kind,
            "subject": subject,
            "payload": dumps(dict(payload)),
            "status": NoticeStatus.PENDING.value,
            "attempts": 0,
            "reason": None,
            "claimed_by": None,
            "claimed_until": None,
            "claim_token": None,
            "next_attempt_at": now,
            "created_at": now,
            "delivered_at": None,
        }
        await self.db.col("notices").insert_one(doc)
        return notice_from_doc(doc)

    @translated
    async def claim_notices(
        self, owner: str, *, limit: int, lease_seconds: float, now: float
    ) -> list[Notice]:
        """Claim due pending notices, oldest first."""
        notices = self.db.col("notices")
        claimable = {
            "status": NoticeStatus.PENDING.value,
            "next_attempt_at": {"$lte": now},
            "$or": [{"claimed_by": None}, {"claimed_until": {"$lte": now}}],
        }
        token = uuid.uuid4().hex
        async with self.db.lock("notices"):
            cursor = notices.find(claimable, {"_id": 1}).sort([("created_at", 1), ("_id", 1)])
            ids = [d["_id"] async for d in cursor.limit(limit)]
            if not ids:
                return []
            await notices.update_many(
                {"_id": {"$in": ids}, **claimable},
                {
                    "$set": {
                        "claimed_by": owner,
                        "claimed_until": now + lease_seconds,
                        "claim_token": token,
                    },
                    "$inc": {"attempts": 1},
                },
            )
        won = notices.find({"claim_token": token}).sort([("created_at", 1), ("_id", 1)])
        return [notice_from_doc(d) async for d in won]

    async def _settle(self, notice_id: str, owner: str, changes: dict[str, Any]) -> bool:
        async with self.db.lock("notices"):
            result = await self.db.col("notices").update_one(
                {"_id": notice_id, "claimed_by": owner, "status": NoticeStatus.PENDING.value},
                {"$set": {**changes, "claimed_by": None, "claimed_until": None}},
            )
        return result.matched_count == 1

    @translated
    async def mark_notice_delivered(self, notice_id: str, owner: str, now: float) -> bool:
        """Record a delivery by the claim holder."""
        changes = {"status": NoticeStatus.DELIVERED.value, "delivered_at": now, "reason": None}
        return await self._settle(notice_id, owner, changes)

    @translated
    async def mark_notice_failed(
        self, notice_id: str, owner: str, reason: str, *, retry_at: float | None, now: float
    ) -> bool:
        """Record a failed attempt; retry later or give up."""
        changes: dict[str, Any] = {"reason": reason}
        if retry_at is None:
            changes["status"] = NoticeStatus.FAILED.value
        else:
            changes["next_attempt_at"] = retry_at
        return await self._settle(notice_id, owner, changes)

    @translated
    async def get_notice(self, notice_id: str) -> Notice | None:
        """One notice."""
        doc = await self.db.col("notices").find_one({"_id": notice_id})
        return notice_from_doc(doc) if doc else None

    @translated
    async def list_notices(self, *, status: str | None = None, limit: int = 50) -> list[Notice]:
        """Notices, newest first."""
        query = {"status": status} if status else {}
        cursor = self.db.col("notices").find(query).sort([("created_at", -1), ("_id", -1)])
        return [notice_from_doc(d) async for d in cursor.limit(limit)]

    # -- audit -------------------------------------------------------------------------

    @translated
    async def append_audit(self, entry: AuditEntry) -> AuditEntry:
        """Record an audit entry."""
        return await self._insert_audit(entry, {})

    @translated
    async def open_audit(self, entry: AuditEntry) -> AuditEntry:
        """Record an entry whose outcome is still to come (`open` set until it is closed)."""
        return await self._insert_audit(entry, {"open": _OPEN})

    async def _insert_audit(self, entry: AuditEntry, extra: Doc) -> AuditEntry:
        # Ids sort like (at, insertion order): an ObjectId grows with time and, within a
        # second, with this process's counter.
        entry_id = f"{entry.at:017.6f}-{ObjectId()}"
        await self.db.col("audit").insert_one(
            {
                "_id": entry_id,
                "at": entry.at,
                "actor": entry.actor,
                "action": entry.action,
                "user": entry.user,
                "details": audit_details_to_json(entry.details),
                **extra,
            }
        )
        return AuditEntry(entry.at, entry.actor, entry.action, entry.user, entry.details, entry_id)

    @translated
    async def close_audit(
        self, entry_id: str, details: AuditDetails, *, final: bool = True
    ) -> bool:
        """Give an open (or provisionally closed) entry its details."""
        change: Doc = {"$set": {"details": audit_details_to_json(details)}}
        if final:
            change["$unset"] = {"open": ""}
        else:
            change["$set"]["open"] = _PROVISIONAL
        query = {"_id": entry_id, "open": {"$in": [_OPEN, _PROVISIONAL]}}
        result = await self.db.col("audit").update_one(query, change)
        return result.matched_count == 1

    @translated
    async def list_open_audit(self, *, limit: int = 500) -> list[AuditEntry]:
        """Entries still open, oldest first."""
        cursor = self.db.col("audit").find({"open": _OPEN}).sort([("at", 1), ("_id", 1)])
        return [audit_from_doc(d) async for d in cursor.limit(limit)]

    @translated
    async def list_audit(self, *, limit: int = 50, before: float | None = None) -> list[AuditEntry]:
        """Audit entries newest first."""
        query = {"at": {"$lt": before}} if before is not None else {}
        cursor = self.db.col("audit").find(query).sort([("at", -1), ("_id", -1)]).limit(limit)
        return [audit_from_doc(d) async for d in cursor]

    @translated
    async def prune_audit(self, older_than: float) -> int:
        """Delete entries older than `older_than`."""
        result = await self.db.col("audit").delete_many({"at": {"$lt": older_than}})
        return result.deleted_count

    # -- leases ------------------------------------------------------------------------

    @translated
    async def acquire_lease(self, name: str, owner: str, seconds: float, now: float) -> bool:
        """Take a free or expired lease, or renew our own."""
        leases = self.db.col("leases")
        async with self.db.lock("leases"):
            if await self.db.update_where(
                "leases",
                name,
                {"$or": [{"owner": owner}, {"until": {"$lte": now}}]},
                {"$set": {"owner": owner, "until": now + seconds}},
            ):
                return True
            try:
                await leases.insert_one({"_id": name, "owner": owner, "until": now + seconds})
            except DuplicateKeyError:
                return False  # held by someone else
            return True

    @translated
    async def release_lease(self, name: str, owner: str) -> bool:
        """Give a lease up."""
        async with self.db.lock("leases"):
            result = await self.db.col("leases").delete_one({"_id": name, "owner": owner})
        return result.deleted_count == 1

    @translated
    async def get_lease(self, name: str) -> Lease | None:
        """The lease's holder."""
        doc = await self.db.col("leases").find_one({"_id": name})
        return Lease(doc["_id"], doc["owner"], float(doc["until"])) if doc else None
