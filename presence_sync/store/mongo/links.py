"""MongoDB user links: bulk upserts, lookups, pages, patches and conditional observations.

On MongoDB and Cosmos DB each conditional write is one command with its condition in the
filter. On FerretDB (`local_conditions`, one replica per database: README) the condition is
checked here against the document as this process last read or wrote it, kept in a bounded
write-through cache under the link's lock, and the write goes by `_id`: one command, where
reading the document first would cost two on every observation and every decision.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pymongo import ASCENDING, ReturnDocument, UpdateOne
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
    Due,
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
from presence_sync.store.mongo.match import matches, updated
from presence_sync.store.mongo.schema import (
    IDENTITY_FIELDS,
    identity_of,
    link_from_doc,
    link_to_doc,
)

__all__ = ["MongoLinks"]

Doc = dict[str, Any]
# Link documents a FerretDB store keeps (about 2 KB each): the people changing most recently.
CACHE_SIZE = 20_000


def _due_update(due: Due, still_seen: bool) -> Doc:
    """The part of an engine-state update that moves the due time (see `Due`)."""
    if still_seen:
        return {"$unset": {"due_at": ""}} if due.next is None else {"$set": {"due_at": due.next}}
    return {} if due.next is None else {"$min": {"due_at": due.next}}


def _merged(*updates: Doc) -> Doc:
    merged: Doc = {}
    for update in updates:
        for op, fields in update.items():
            merged.setdefault(op, {}).update(fields)
    return merged


class MongoLinks:
    """User links in the `links` collection."""

    def __init__(self, db: MongoDatabase) -> None:
        self.db = db
        # FerretDB only: documents as last read or written here, under their link's lock.
        self._docs: OrderedDict[str, Doc] = OrderedDict()

    def _remember(self, doc: Doc) -> None:
        self._docs[doc["_id"]] = doc
        self._docs.move_to_end(doc["_id"])
        while len(self._docs) > CACHE_SIZE:
            self._docs.popitem(last=False)

    async def _current(self, link_id: str) -> Doc | None:
        """The document, from the cache when held (FerretDB; the caller holds its lock)."""
        doc = self._docs.get(link_id)
        if doc is None:
            doc = await self.db.col("links").find_one({"_id": link_id})
            if doc is not None:
                self._remember(doc)
        else:
            self._docs.move_to_end(link_id)
        return doc

    async def _write_local(
        self, link_id: str, decide: Callable[[Doc], Doc | None]
    ) -> tuple[Doc, Doc | None]:
        """Write `decide(document)` by `_id` (FerretDB; the caller holds the link's lock).

        The document before and after; after is None when `decide` answered no update.
        """
        before = await self._current(link_id)
        if before is None:
            raise NotFoundError(f"no user link {link_id!r}")
        update = decide(before)
        if not update:
            return before, None
        try:
            await self.db.col("links").update_one({"_id": link_id}, update)
        except BaseException:
            self._docs.pop(link_id, None)  # applied or not: read it afresh next time
            raise
        after = updated(before, update)
        self._remember(after)
        return before, after

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
                for key in keys:
                    self._docs.pop(key, None)
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
        if self.db.local_conditions:
            async with self.db.link_lock(link_id):
                doc = await self._current(link_id)
        else:
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
            self._docs.pop(link_id, None)
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
        async with self.db.link_lock(link_id):
            self._docs.pop(link_id, None)
            result = await self.db.col("links").delete_one({"_id": link_id})
        return result.deleted_count == 1

    async def _observe(
        self, link_id: str, condition: Doc, changes: Doc, due_at: float | None
    ) -> UserLink | None:
        update: Doc = {"$set": changes}
        if due_at is not None:
            update["$min"] = {"due_at": due_at}
        links = self.db.col("links")
        async with self.db.link_lock(link_id):
            if self.db.local_conditions:
                _, after = await self._write_local(
                    link_id, lambda doc: update if matches(doc, condition) else None
                )
                return None if after is None else link_from_doc(after)
            doc = await links.find_one_and_update(
                {"_id": link_id, **condition}, update, return_document=ReturnDocument.AFTER
            )
        if doc is not None:
            return link_from_doc(doc)
        if await links.count_documents({"_id": link_id}, limit=1) == 0:
            raise NotFoundError(f"no user link {link_id!r}")
        return None

    @staticmethod
    def _teams_write(observation: TeamsObservation) -> tuple[Doc, Doc]:
        changes: Doc = {
            "teams": teams_to_dict(observation),
            "teams_observed_at": observation.observed_at,
        }
        if observation.sequence:
            key = changes["teams_seq"] = sequence_key(observation.sequence)
            condition = {"$or": [{"teams_seq": None}, {"teams_seq": {"$lt": key}}]}
        else:
            at = observation.observed_at
            condition = {"$or": [{"teams_observed_at": None}, {"teams_observed_at": {"$lt": at}}]}
        return condition, changes

    @staticmethod
    def _rc_write(observation: RcObservation) -> tuple[Doc, Doc]:
        changes: Doc = {
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
        return condition, changes

    @translated
    async def record_teams_observation(self, link_id: str, observation: TeamsObservation) -> bool:
        """Store Teams presence if newer."""
        return await self._observe(link_id, *self._teams_write(observation), None) is not None

    @translated
    async def record_rc_observation(self, link_id: str, observation: RcObservation) -> bool:
        """Store RingCentral presence if newer."""
        return await self._observe(link_id, *self._rc_write(observation), None) is not None

    @translated
    async def observe_teams(
        self, link_id: str, observation: TeamsObservation, *, due_at: float | None = None
    ) -> UserLink | None:
        """Store Teams presence if newer; the link as written."""
        return await self._observe(link_id, *self._teams_write(observation), due_at)

    @translated
    async def observe_rc(
        self, link_id: str, observation: RcObservation, *, due_at: float | None = None
    ) -> UserLink | None:
        """Store RingCentral presence if newer; the link as written."""
        return await self._observe(link_id, *self._rc_write(observation), due_at)

    @translated
    async def mark_link_due(self, link_id: str, due_at: float) -> None:
        """Make the link due by `due_at`."""
        update = {"$min": {"due_at": due_at}}
        async with self.db.link_lock(link_id):
            if self.db.local_conditions:
                await self._write_local(link_id, lambda _doc: update)
                return
            result = await self.db.col("links").update_one({"_id": link_id}, update)
        if result.matched_count == 0:
            raise NotFoundError(f"no user link {link_id!r}")

    @translated
    async def due_links(self, before: float, limit: int) -> list[tuple[str, float]]:
        """Links due by `before`, earliest first."""
        cursor = (
            self.db.col("links")
            .find({"due_at": {"$lte": before}}, {"_id": 1, "due_at": 1})
            .sort("due_at", ASCENDING)
            .limit(limit)
        )
        return [(doc["_id"], float(doc["due_at"])) async for doc in cursor]

    @translated
    async def set_engine_state(
        self,
        link_id: str,
        state: Mapping[str, Any],
        expected_version: int,
        due: Due | None = None,
    ) -> int:
        """Replace engine state under optimistic concurrency."""
        links = self.db.col("links")
        base: Doc = {"$set": {"engine_state": dumps(dict(state))}, "$inc": {"engine_version": 1}}
        found: int | None = None
        async with self.db.link_lock(link_id):
            if self.db.local_conditions:

                def decide(doc: Doc) -> Doc | None:
                    nonlocal found
                    found = int(doc["engine_version"])
                    if found != expected_version:
                        return None
                    if due is None:
                        return base
                    return _merged(base, _due_update(due, doc.get("due_at") == due.seen))

                _, after = await self._write_local(link_id, decide)
                if after is not None:
                    return expected_version + 1
            else:
                attempts: list[tuple[Doc, Doc]] = [({}, base)]
                if due is not None:
                    attempts = [
                        ({"due_at": due.seen}, _merged(base, _due_update(due, True))),
                        ({}, _merged(base, _due_update(due, False))),
                    ]
                for condition, update in attempts:
                    result = await links.update_one(
                        {"_id": link_id, "engine_version": expected_version, **condition}, update
                    )
                    if result.matched_count:
                        return expected_version + 1
        if found is None:
            doc = await links.find_one({"_id": link_id}, {"engine_version": 1})
            if doc is None:
                raise NotFoundError(f"no user link {link_id!r}")
            found = int(doc["engine_version"])
        raise ConflictError(
            f"engine state of {link_id!r} is at version {found}, not {expected_version}"
        )
