"""MongoDB user links: bulk upserts, lookups, pages, patches and conditional observations."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.errors import BulkWriteError

from presence_sync.errors import ConflictError, NotFoundError
from presence_sync.store.codec import (
    check_link_changes,
    dumps,
    rc_to_dict,
    search_text,
    teams_to_dict,
)
from presence_sync.store.models import (
    LinkPage,
    LinkState,
    RcObservation,
    TeamsObservation,
    UserLink,
    normalise_email,
    sequence_key,
)
from presence_sync.store.mongo.database import (
    COMPARE_BATCH,
    INSERT_BATCH,
    UPDATE_BATCH,
    MongoDatabase,
    translated,
)
from presence_sync.store.mongo.schema import (
    IDENTITY_FIELDS,
    identity_of,
    link_from_doc,
    link_to_doc,
)

__all__ = ["MongoLinks"]


class MongoLinks:
    """User links in the `links` collection."""

    def __init__(self, db: MongoDatabase) -> None:
        self.db = db

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
            return len((await self.db.col("links").insert_many(fresh, ordered=False)).inserted_ids)
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
        links = self.db.col("links")
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
            async with self.db.link_locks(keys):
                result = await links.bulk_write(updates, ordered=True)
            changed += result.modified_count
        return changed

    async def _find_link(self, query: dict[str, Any]) -> UserLink | None:
        # A plain find_one: FerretDB 1.x answers it from the index in about a millisecond,
        # while adding a sort or a larger limit makes it scan the collection.
        doc = await self.db.col("links").find_one(query)
        return link_from_doc(doc) if doc else None

    @translated
    async def get_link(self, link_id: str) -> UserLink | None:
        """The link with this id."""
        doc = await self.db.col("links").find_one({"_id": link_id})
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
        failed: bool | None = None,
    ) -> LinkPage:
        """A page of links by id."""
        query: dict[str, Any] = {}
        if failed is not None:
            query["last_error"] = {"$ne": None} if failed else None
        if state is not None:
            query["state"] = LinkState(state).value
        if sync_enabled is not None:
            query["sync_enabled"] = sync_enabled
        if search and search.strip():
            query["search"] = {"$regex": re.escape(search.strip().lower())}
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self.db.col("links").find(query).sort("_id", ASCENDING).limit(limit + 1)
        docs = [d async for d in cursor]
        links = tuple(link_from_doc(d) for d in docs[:limit])
        return LinkPage(links, links[-1].id if len(docs) > limit else None)

    @translated
    async def count_links_by_state(self) -> dict[str, int]:
        """Links per state."""
        counts = {s.value: 0 for s in LinkState}
        cursor = await self.db.col("links").aggregate(
            [{"$group": {"_id": "$state", "n": {"$sum": 1}}}]
        )
        async for row in cursor:
            counts[row["_id"]] = int(row["n"])
        return counts

    @translated
    async def count_synced_links(self) -> int:
        """Links with sync enabled."""
        return await self.db.col("links").count_documents({"sync_enabled": True})

    @translated
    async def update_link(
        self, /, link_id: str, now: float | None = None, **changes: Any
    ) -> UserLink:
        """Patch one link."""
        clean = check_link_changes(changes)
        links = self.db.col("links")
        async with self.db.link_lock(link_id):
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
        result = await self.db.col("links").delete_one({"_id": link_id})
        return result.deleted_count == 1

    async def _conditional_observation(
        self, link_id: str, condition: dict[str, Any], changes: dict[str, Any]
    ) -> bool:
        links = self.db.col("links")
        async with self.db.link_lock(link_id):
            if await self.db.update_where("links", link_id, condition, {"$set": changes}):
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
        at = observation.observed_at
        if observation.sequence is not None and observation.verified:
            # Confirmed by a read: its number restarts the count, unless something newer is held.
            changes["rc_seq"] = observation.sequence
            condition = {"$or": [{"rc_observed_at": None}, {"rc_observed_at": {"$lte": at}}]}
        elif observation.sequence is not None:
            seq = changes["rc_seq"] = observation.sequence
            condition = {"$or": [{"rc_seq": None}, {"rc_seq": {"$lt": seq}}]}
        else:
            condition = {"$or": [{"rc_observed_at": None}, {"rc_observed_at": {"$lt": at}}]}
        return await self._conditional_observation(link_id, condition, changes)

    @translated
    async def set_engine_state(
        self, link_id: str, state: Mapping[str, Any], expected_version: int
    ) -> int:
        """Replace engine state under optimistic concurrency."""
        links = self.db.col("links")
        async with self.db.link_lock(link_id):
            updated = await self.db.update_where(
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
