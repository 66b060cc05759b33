"""`MongoStore`: the store on MongoDB, Azure Cosmos DB for MongoDB or FerretDB.

Only what all three support: single-document updates (conditional filters, `$inc`,
`$min`, upserts), unique indexes, `insert_many`/`bulk_write` and a `$group` count. No
transactions, TTL indexes or change streams: expiry is an explicit timestamp field.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from presence_sync.errors import ConflictError, NotFoundError
from presence_sync.store.codec import (
    check_link_changes,
    dumps,
    rc_to_dict,
    search_text,
    settings_from_dict,
    settings_to_dict,
    teams_to_dict,
)
from presence_sync.store.models import (
    Connection,
    LinkPage,
    LinkState,
    OrgSettings,
    RcObservation,
    Subscription,
    TeamsObservation,
    UserLink,
    normalise_email,
    sequence_key,
)
from presence_sync.store.mongo_base import COMPARE_BATCH, INSERT_BATCH, UPDATE_BATCH, translated
from presence_sync.store.mongo_docs import (
    IDENTITY_FIELDS,
    connection_from_doc,
    connection_to_doc,
    identity_of,
    link_from_doc,
    link_to_doc,
    subscription_from_doc,
    subscription_to_doc,
)
from presence_sync.store.mongo_queues import MongoQueues

__all__ = ["MongoStore"]

logger = logging.getLogger(__name__)

_INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict[str, Any]]]] = {
    "links": [
        ([("teams_user_id", ASCENDING)], {}),
        ([("rc_extension_id", ASCENDING)], {}),
        ([("email", ASCENDING)], {}),
        ([("state", ASCENDING), ("_id", ASCENDING)], {}),
    ],
    "subscriptions": [([("expires_at", ASCENDING)], {})],
    "jobs": [
        # One active job per kind: finished jobs carry "~<id>" here instead of the kind.
        ([("active_key", ASCENDING)], {"unique": True}),
        ([("created_at", ASCENDING)], {}),
    ],
    "dirty": [([("priority", ASCENDING), ("due_at", ASCENDING)], {}), ([("claim_token", 1)], {})],
    "notices": [
        ([("status", ASCENDING), ("next_attempt_at", ASCENDING)], {}),
        ([("claim_token", ASCENDING)], {}),
        ([("created_at", ASCENDING)], {}),
    ],
    "audit": [([("at", ASCENDING)], {})],
}


class MongoStore(MongoQueues):
    """The `Store` on a MongoDB-protocol server."""

    def __repr__(self) -> str:
        return f"MongoStore(database={self.database_name!r})"

    # -- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, check the server answers and create the indexes."""
        if self.client is not None:
            return
        self.client = self._new_client()
        self._db = self.client[self.database_name]
        try:
            await self._prepare()
        except BaseException:
            await self.close()
            raise
        logger.info("MongoDB store open (database %s)", self.database_name)

    @translated
    async def _prepare(self) -> None:
        db = self.database()
        await db.command("ping")
        await self.detect_conditions()
        for name, indexes in _INDEXES.items():
            for keys, options in indexes:
                await db[name].create_index(keys, **options)

    async def close(self) -> None:
        """Close the client."""
        client, self.client, self._db = self.client, None, None
        if client is not None:
            await client.close()

    @translated
    async def ping(self) -> None:
        """Answer when the server does (within the server-selection timeout)."""
        await self.database().command("ping")

    @translated
    async def raw_document(self, collection: str, key: str) -> dict[str, Any] | None:
        """A document exactly as stored (for checking what reaches the disk)."""
        return await self.col(collection).find_one({"_id": key})

    @translated
    async def drop_database(self) -> None:
        """Delete the whole database (throwaway test databases)."""
        assert self.client is not None
        await self.client.drop_database(self.database_name)

    # -- links -------------------------------------------------------------------------

    @translated
    async def upsert_links(self, links: Iterable[UserLink], now: float | None = None) -> int:
        """Insert new links whole and refresh identity fields of changed ones."""
        stamp = time.time() if now is None else now
        written = 0
        batch: dict[str, UserLink] = {}
        existing: dict[str, UserLink] = {}
        for link in links:
            batch[link.id] = link
            if len(batch) >= INSERT_BATCH:
                written += await self._insert_new(batch, existing, stamp)
                batch = {}
            if len(existing) >= COMPARE_BATCH:
                written += await self._refresh_existing(existing, stamp)
                existing = {}
        if batch:
            written += await self._insert_new(batch, existing, stamp)
        if existing:
            written += await self._refresh_existing(existing, stamp)
        return written

    async def _insert_new(
        self, batch: dict[str, UserLink], existing: dict[str, UserLink], now: float
    ) -> int:
        """Insert the batch; links already stored are added to `existing`."""
        # Insert first: on a first import every link is new and this is the whole job.
        fresh = [link_to_doc(link, now) for link in batch.values()]
        try:
            return len((await self.col("links").insert_many(fresh, ordered=False)).inserted_ids)
        except BulkWriteError as err:
            failures = err.details.get("writeErrors", [])
            if any(failure.get("code") != 11000 for failure in failures):
                raise
            for failure in failures:
                key = fresh[failure["index"]]["_id"]
                existing[key] = batch[key]
            return int(err.details.get("nInserted", 0))

    async def _refresh_existing(self, existing: dict[str, UserLink], now: float) -> int:
        """Rewrite the identity fields of stored links that differ from `existing`."""
        links = self.col("links")
        # One $in query for many links: FerretDB's SQLite handler reads the whole collection
        # for any query not on _id alone, so fewer, larger queries are much faster there.
        projection = dict.fromkeys(IDENTITY_FIELDS, 1)
        stored = links.find({"_id": {"$in": list(existing)}}, projection)
        stale = [
            current["_id"]
            async for current in stored
            if any(current.get(f) != v for f, v in identity_of(existing[current["_id"]]).items())
        ]
        changed = 0
        for start in range(0, len(stale), UPDATE_BATCH):
            keys = stale[start : start + UPDATE_BATCH]
            updates = [
                UpdateOne({"_id": k}, {"$set": {**identity_of(existing[k]), "updated_at": now}})
                for k in keys
            ]
            async with self.link_locks(keys):
                result = await links.bulk_write(updates, ordered=True)
            changed += result.modified_count
        return changed

    async def _find_link(self, query: dict[str, Any]) -> UserLink | None:
        # A plain find_one: FerretDB 1.x answers it from the index in about a millisecond,
        # while adding a sort or a larger limit makes it scan the collection.
        doc = await self.col("links").find_one(query)
        return link_from_doc(doc) if doc else None

    @translated
    async def get_link(self, link_id: str) -> UserLink | None:
        """The link with this id."""
        doc = await self.col("links").find_one({"_id": link_id})
        return link_from_doc(doc) if doc else None

    @translated
    async def get_link_by_teams_id(self, teams_user_id: str) -> UserLink | None:
        """The link of this Teams user."""
        return await self._find_link({"teams_user_id": teams_user_id})

    @translated
    async def get_link_by_rc_extension(self, extension_id: str) -> UserLink | None:
        """The link of this RingCentral extension."""
        return await self._find_link({"rc_extension_id": extension_id})

    @translated
    async def get_link_by_email(self, email: str) -> UserLink | None:
        """The link with this normalised email."""
        return await self._find_link({"email": normalise_email(email)})

    @translated
    async def list_links(
        self,
        *,
        state: LinkState | None = None,
        sync_enabled: bool | None = None,
        search: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> LinkPage:
        """A page of links by id."""
        query: dict[str, Any] = {}
        if state is not None:
            query["state"] = LinkState(state).value
        if sync_enabled is not None:
            query["sync_enabled"] = sync_enabled
        if search and search.strip():
            query["search"] = {"$regex": re.escape(search.strip().lower())}
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self.col("links").find(query).sort("_id", ASCENDING).limit(limit + 1)
        docs = [d async for d in cursor]
        links = tuple(link_from_doc(d) for d in docs[:limit])
        return LinkPage(links, links[-1].id if len(docs) > limit else None)

    @translated
    async def count_links_by_state(self) -> dict[str, int]:
        """Links per state."""
        counts = {s.value: 0 for s in LinkState}
        cursor = await self.col("links").aggregate(
            [{"$group": {"_id": "$state", "n": {"$sum": 1}}}]
        )
        async for row in cursor:
            counts[row["_id"]] = int(row["n"])
        return counts

    @translated
    async def count_synced_links(self) -> int:
        """Links with sync enabled."""
        return await self.col("links").count_documents({"sync_enabled": True})

    @translated
    async def update_link(
        self, /, link_id: str, now: float | None = None, **changes: Any
    ) -> UserLink:
        """Patch one link."""
        clean = check_link_changes(changes)
        links = self.col("links")
        async with self.link_lock(link_id):
            current = await links.find_one({"_id": link_id})
            if current is None:
                raise NotFoundError(f"no user link {link_id!r}")
            if clean:
                merged = {k: current.get(k) for k in ("email", "upn", "mail", "display_name")}
                merged.update(clean)
                clean["search"] = search_text(
                    merged["email"] or "",
                    merged["upn"],
                    merged["mail"],
                    merged["display_name"] or "",
                )
                clean["updated_at"] = time.time() if now is None else now
                await links.update_one({"_id": link_id}, {"$set": clean})
                current.update(clean)
        return link_from_doc(current)

    @translated
    async def delete_link(self, link_id: str) -> bool:
        """Remove one link."""
        result = await self.col("links").delete_one({"_id": link_id})
        return result.deleted_count == 1

    async def _conditional_observation(
        self, link_id: str, condition: dict[str, Any], changes: dict[str, Any]
    ) -> bool:
        links = self.col("links")
        async with self.link_lock(link_id):
            if await self.update_where("links", link_id, condition, {"$set": changes}):
                return True
        if await links.count_documents({"_id": link_id}, limit=1) == 0:
            raise NotFoundError(f"no user link {link_id!r}")
        return False

    @translated
    async def record_teams_observation(self, link_id: str, observation: TeamsObservation) -> bool:
        """Store Teams presence if newer."""
        changes: dict[str, Any] = {
            "teams": teams_to_dict(observation),
            "teams_observed_at": observation.observed_at,
        }
        if observation.sequence:
            key = changes["teams_seq"] = sequence_key(observation.sequence)
            condition = {"$or": [{"teams_seq": None}, {"teams_seq": {"$lt": key}}]}
        else:
            at = observation.observed_at
            condition = {"$or": [{"teams_observed_at": None}, {"teams_observed_at": {"$lt": at}}]}
        return await self._conditional_observation(link_id, condition, changes)

    @translated
    async def record_rc_observation(self, link_id: str, observation: RcObservation) -> bool:
        """Store RingCentral presence if newer."""
        changes: dict[str, Any] = {
            "rc": rc_to_dict(observation),
            "rc_observed_at": observation.observed_at,
        }
        if observation.sequence is not None:
            seq = changes["rc_seq"] = observation.sequence
            condition = {"$or": [{"rc_seq": None}, {"rc_seq": {"$lt": seq}}]}
        else:
            at = observation.observed_at
            condition = {"$or": [{"rc_observed_at": None}, {"rc_observed_at": {"$lt": at}}]}
        return await self._conditional_observation(link_id, condition, changes)

    @translated
    async def set_engine_state(
        self, link_id: str, state: Mapping[str, Any], expected_version: int
    ) -> int:
        """Replace engine state under optimistic concurrency."""
        links = self.col("links")
        async with self.link_lock(link_id):
            updated = await self.update_where(
                "links",
                link_id,
                {"engine_version": expected_version},
                {"$set": {"engine_state": dumps(dict(state))}, "$inc": {"engine_version": 1}},
            )
        if not updated:
            doc = await links.find_one({"_id": link_id}, {"engine_version": 1})
            if doc is None:
                raise NotFoundError(f"no user link {link_id!r}")
            raise ConflictError(
                f"engine state of {link_id!r} is at version {doc['engine_version']}, "
                f"not {expected_version}"
            )
        return expected_version + 1

    # -- settings, connections, subscriptions, references ------------------------------

    @translated
    async def get_settings(self) -> OrgSettings:
        """Stored settings or defaults."""
        doc = await self.col("settings").find_one({"_id": "org"})
        if doc is None:
            return OrgSettings()
        return settings_from_dict(json.loads(doc["body"]), int(doc["version"]))

    @translated
    async def save_settings(self, settings: OrgSettings, expected_version: int) -> OrgSettings:
        """Save settings under optimistic concurrency."""
        col = self.col("settings")
        body = dumps(settings_to_dict(settings))
        async with self.lock("settings"):
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
        doc = await self.col("connections").find_one({"_id": kind})
        return connection_from_doc(doc, self._box) if doc else None

    @translated
    async def put_connection(self, connection: Connection) -> None:
        """Create or replace a connection."""
        doc = connection_to_doc(connection, self._box)
        await self.col("connections").replace_one({"_id": doc["_id"]}, doc, upsert=True)

    @translated
    async def list_connections(self) -> list[Connection]:
        """All connections by kind."""
        cursor = self.col("connections").find({}).sort("_id", ASCENDING)
        return [connection_from_doc(d, self._box) async for d in cursor]

    @translated
    async def delete_connection(self, kind: str) -> bool:
        """Forget a connection."""
        result = await self.col("connections").delete_one({"_id": kind})
        return result.deleted_count == 1

    @translated
    async def put_subscription(self, subscription: Subscription) -> None:
        """Create or replace a subscription."""
        doc = subscription_to_doc(subscription, self._box)
        await self.col("subscriptions").replace_one({"_id": doc["_id"]}, doc, upsert=True)

    @translated
    async def get_subscription(self, provider: str, subscription_id: str) -> Subscription | None:
        """One subscription."""
        doc = await self.col("subscriptions").find_one({"_id": f"{provider}:{subscription_id}"})
        return subscription_from_doc(doc, self._box) if doc else None

    async def _subscriptions(self, query: dict[str, Any]) -> list[Subscription]:
        cursor = self.col("subscriptions").find(query).sort([("expires_at", 1), ("_id", 1)])
        return [subscription_from_doc(d, self._box) async for d in cursor]

    @translated
    async def list_subscriptions(self, provider: str | None = None) -> list[Subscription]:
        """Subscriptions by expiry."""
        return await self._subscriptions({"provider": provider} if provider else {})

    @translated
    async def delete_subscription(self, provider: str, subscription_id: str) -> bool:
        """Forget a subscription."""
        result = await self.col("subscriptions").delete_one(
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
        doc = await self.col("conversation_refs").find_one({"_id": user_id})
        return dict(json.loads(doc["reference"])) if doc else None

    @translated
    async def put_conversation_ref(self, user_id: str, reference: Mapping[str, Any]) -> None:
        """Remember the bot's reference for a user."""
        await self.col("conversation_refs").replace_one(
            {"_id": user_id},
            {"_id": user_id, "reference": dumps(dict(reference)), "updated_at": time.time()},
            upsert=True,
        )
