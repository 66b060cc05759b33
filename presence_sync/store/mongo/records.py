"""MongoDB records: org settings, connections, subscriptions, conversation references,
single-use (ephemeral) records and sign-in start counts."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from presence_sync.errors import ConflictError
from presence_sync.store.codec import dumps, settings_from_dict, settings_to_dict
from presence_sync.store.models import Connection, OrgSettings, StartRefusal, Subscription
from presence_sync.store.mongo.database import RACE_RETRIES, MongoDatabase, translated
from presence_sync.store.mongo.schema import (
    connection_from_doc,
    connection_to_doc,
    subscription_from_doc,
    subscription_to_doc,
)

__all__ = ["MongoRecords"]


class MongoRecords:
    """Settings, connections, subscriptions, references, ephemeral records and start counts."""

    def __init__(self, db: MongoDatabase) -> None:
        self.db = db

    @translated
    async def get_settings(self) -> OrgSettings:
        """Stored settings or defaults."""
        doc = await self.db.col("settings").find_one({"_id": "org"})
        if doc is None:
            return OrgSettings()
        return settings_from_dict(json.loads(doc["body"]), int(doc["version"]))

    @translated
    async def save_settings(self, settings: OrgSettings, expected_version: int) -> OrgSettings:
        """Save settings under optimistic concurrency."""
        col = self.db.col("settings")
        body = dumps(settings_to_dict(settings))
        async with self.db.lock("settings"):
            if expected_version == 0:
                try:
                    await col.insert_one({"_id": "org", "body": body, "version": 1})
                    applied = True
                except DuplicateKeyError:
                    applied = False
            else:
                result = await col.update_one(
                    {"_id": "org", "version": expected_version},
                    {"$set": {"body": body}, "$inc": {"version": 1}},
                )
                applied = result.matched_count == 1
        if not applied:
            current = await self.get_settings()
            raise ConflictError(
                f"settings were changed by someone else (version {current.version}, "
                f"not {expected_version})"
            )
        return settings_from_dict(settings_to_dict(settings), expected_version + 1)

    @translated
    async def get_connection(self, kind: str) -> Connection | None:
        """One connection."""
        doc = await self.db.col("connections").find_one({"_id": kind})
        return connection_from_doc(doc, self.db.secrets) if doc else None

    @translated
    async def put_connection(self, connection: Connection) -> None:
        """Create or replace a connection."""
        doc = connection_to_doc(connection, self.db.secrets)
        await self.db.col("connections").replace_one({"_id": doc["_id"]}, doc, upsert=True)

    @translated
    async def list_connections(self) -> list[Connection]:
        """All connections by kind."""
        cursor = self.db.col("connections").find({}).sort("_id", ASCENDING)
        return [connection_from_doc(d, self.db.secrets) async for d in cursor]

    @translated
    async def delete_connection(self, kind: str) -> bool:
        """Forget a connection."""
        result = await self.db.col("connections").delete_one({"_id": kind})
        return result.deleted_count == 1

    @translated
    async def put_subscription(self, subscription: Subscription) -> None:
        """Create or replace a subscription."""
        doc = subscription_to_doc(subscription, self.db.secrets)
        await self.db.col("subscriptions").replace_one({"_id": doc["_id"]}, doc, upsert=True)

    @translated
    async def get_subscription(self, provider: str, subscription_id: str) -> Subscription | None:
        """One subscription."""
        doc = await self.db.col("subscriptions").find_one({"_id": f"{provider}:{subscription_id}"})
        return subscription_from_doc(doc, self.db.secrets) if doc else None

    async def _subscriptions(self, query: dict[str, Any]) -> list[Subscription]:
        cursor = self.db.col("subscriptions").find(query).sort([("expires_at", 1), ("_id", 1)])
        return [subscription_from_doc(d, self.db.secrets) async for d in cursor]

    @translated
    async def list_subscriptions(self, provider: str | None = None) -> list[Subscription]:
        """Subscriptions by expiry."""
        return await self._subscriptions({"provider": provider} if provider else {})

    @translated
    async def delete_subscription(self, provider: str, subscription_id: str) -> bool:
        """Forget a subscription."""
        result = await self.db.col("subscriptions").delete_one(
            {"_id": f"{provider}:{subscription_id}"}
        )
        return result.deleted_count == 1

    @translated
    async def list_expiring_subscriptions(self, before: float) -> list[Subscription]:
        """Subscriptions expiring before `before`."""
        return await self._subscriptions({"expires_at": {"$lt": before}})

    @translated
    async def get_conversation_ref(self, user_id: str) -> dict[str, Any] | None:
        """The bot's reference for a user."""
        doc = await self.db.col("conversation_refs").find_one({"_id": user_id})
        return dict(json.loads(doc["reference"])) if doc else None

    @translated
    async def put_conversation_ref(self, user_id: str, reference: Mapping[str, Any]) -> None:
        """Remember the bot's reference for a user."""
        await self.db.col("conversation_refs").replace_one(
            {"_id": user_id},
            {"_id": user_id, "reference": dumps(dict(reference)), "updated_at": time.time()},
            upsert=True,
        )

    @translated
    async def put_ephemeral(self, key: str, value: Mapping[str, Any], expires_at: float) -> None:
        """Keep `value` (sealed) under `key` until `expires_at`; drops expired records."""
        records = self.db.col("ephemeral")
        # No TTL index (Cosmos DB and FerretDB differ there): expired records go on each put.
        await records.delete_many({"expires_at": {"$lte": time.time()}})
        sealed = self.db.secrets.encrypt(dumps(dict(value)))
        await records.replace_one(
            {"_id": key}, {"_id": key, "value": sealed, "expires_at": expires_at}, upsert=True
        )

    @translated
    async def take_ephemeral(self, key: str, now: float) -> dict[str, Any] | None:
        """Read and delete `key` atomically; None when missing, expired or already taken."""
        async with self.db.lock("ephemeral"):
            doc = await self.db.col("ephemeral").find_one_and_delete({"_id": key})
        if doc is None or float(doc["expires_at"]) <= now:
            return None
        loaded: dict[str, Any] = json.loads(self.db.secrets.decrypt_text(doc["value"]))
        return loaded

    @translated
    async def peek_ephemeral(self, key: str, now: float) -> dict[str, Any] | None:
        """Read `key` and leave it; None when missing or expired."""
        doc = await self.db.col("ephemeral").find_one({"_id": key})
        if doc is None or float(doc["expires_at"]) <= now:
            return None
        loaded: dict[str, Any] = json.loads(self.db.secrets.decrypt_text(doc["value"]))
        return loaded

    @translated
    async def count_start(
        self, scope: str, key: str, *, limit: int, most: int, now: float, until: float
    ) -> StartRefusal | None:
        """Count one start: insert it, then count; take it back when that made too many.

        Inserts and counts are single operations on every server (FerretDB has no atomic
        read-modify-write to lean on, and replicas share no lock), and a start is kept only
        when the count that followed its insert saw no more than `limit`: of the starts kept,
        the last one counted saw them all, so no more than `limit` are ever kept. Two
        replicas racing for the last place may both give it up; each then tries again while
        a place is left. This process's own counts take turns (`lock`), so they never race.
        """
        starts = self.db.col("starts")
        mine = {"scope": scope, "key": key, "until": {"$gt": now}}
        async with self.db.lock("starts"):
            # No TTL index (DESIGN §5): ended starts go on each count.
            await starts.delete_many({"scope": scope, "until": {"$lte": now}})
            for _ in range(RACE_RETRIES):
                inserted = await starts.insert_one({"scope": scope, "key": key, "until": until})
                held = await starts.count_documents(mine)
                if held <= limit:
                    if held > 1:
                        return None
                    everyone = await starts.count_documents({"scope": scope, "until": {"$gt": now}})
                    if everyone <= most:
                        return None
                    await starts.delete_one({"_id": inserted.inserted_id})
                    return StartRefusal(busy=True, free_at=until)
                await starts.delete_one({"_id": inserted.inserted_id})
                if await starts.count_documents(mine) >= limit:
                    break  # full, not a race with another replica
            first = await starts.find_one(mine, sort=[("until", ASCENDING)])
        return StartRefusal(busy=False, free_at=float(first["until"]) if first else until)
