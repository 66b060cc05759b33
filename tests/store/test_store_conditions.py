"""Conditional writes checked in-process (FerretDB) mean exactly what the server's filters mean."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from presence_sync.secrets import SecretBox
from presence_sync.store import MongoStore
from presence_sync.store.mongo.match import matches
from tests.mongo_server import MongoTarget

DOCS: list[dict[str, Any]] = [
    {"_id": "missing"},
    {"_id": "null", "seq": None, "at": None, "claimed_by": None, "version": None},
    {"_id": "low", "seq": "0001", "at": 10.0, "claimed_by": None, "version": 0, "flag": False},
    {"_id": "high", "seq": "0009", "at": 20, "claimed_by": "w1", "version": 3, "flag": True},
    {"_id": "int-at", "seq": "0005", "at": 15, "claimed_by": "w2", "version": 1},
    {"_id": "odd-types", "seq": 7, "at": "later", "claimed_by": "", "version": 1.0},
]

# The store's own conditions (observations, engine versions, the dirty queue) and neighbours.
CONDITIONS: list[dict[str, Any]] = [
    {"$or": [{"seq": None}, {"seq": {"$lt": "0005"}}]},
    {"$or": [{"at": None}, {"at": {"$lt": 15}}]},
    {"$or": [{"at": None}, {"at": {"$lt": 15.5}}]},
    {"seq": {"$not": {"$gte": "0005"}}},
    {"version": 1},
    {"version": 0},
    {"version": None},
    {"claimed_by": None},
    {"claimed_by": {"$ne": None}},
    {"claimed_by": "w1", "flag": True},
    {"flag": False},
    {"at": {"$lte": 15}, "$or": [{"claimed_by": None}, {"version": {"$lte": 1}}]},
    {"at": {"$gt": 10}},
    {"at": {"$gte": 10, "$lt": 20}},
    {"claimed_by": {"$in": ["w1", None]}},
]


@pytest.fixture
async def collection(mongo_target: MongoTarget) -> AsyncIterator[AsyncCollection[dict[str, Any]]]:
    """A throwaway collection holding DOCS."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_target.uri)
    name = f"{mongo_target.prefix}{uuid.uuid4().hex[:10]}"
    col = client[name]["docs"]
    await col.insert_many([dict(d) for d in DOCS])
    yield col
    await client.drop_database(name)
    await client.close()


@pytest.mark.parametrize("condition", CONDITIONS, ids=[str(c) for c in CONDITIONS])
async def test_local_check_agrees_with_the_server(
    collection: AsyncCollection[dict[str, Any]], condition: dict[str, Any]
) -> None:
    served = {d["_id"] async for d in collection.find(condition, {"_id": 1})}
    local = {d["_id"] for d in DOCS if matches(d, condition)}
    assert local == served


def test_conditions_it_does_not_know_are_refused_not_guessed() -> None:
    with pytest.raises(ValueError, match=r"\$regex"):
        matches({"a": "x"}, {"a": {"$regex": "x"}})
    with pytest.raises(ValueError, match=r"a\.b"):
        matches({"a": {"b": 1}}, {"a.b": 1})


async def test_the_store_checks_conditions_locally_only_on_ferretdb(
    mongo_target: MongoTarget,
) -> None:
    store = MongoStore(
        mongo_target.uri,
        f"{mongo_target.prefix}{uuid.uuid4().hex[:10]}",
        SecretBox(SecretBox.generate_key()),
    )
    await store.open()
    try:
        assert store.local_conditions is (mongo_target.kind == "FerretDB")
    finally:
        await store.drop_database()
        await store.close()
