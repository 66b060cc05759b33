"""Fixtures for the store contract suite: each test runs on SQLite and on a MongoDB server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from presence_sync.secrets import SecretBox
from presence_sync.store import MongoStore, SqliteStore, Store
from presence_sync.store.mongo import Conditions
from tests.mongo_server import MongoServerError, MongoTarget, mongo_uri


@pytest.fixture(scope="session")
def mongo_target() -> Iterator[MongoTarget]:
    """MONGODB_URI (throwaway databases) or a FerretDB started for this session."""
    try:
        with mongo_uri() as target:
            yield target
    except MongoServerError as err:
        pytest.fail(
            f"no MongoDB-protocol server for the Mongo half of the store suite: {err}",
            pytrace=False,
        )


@pytest.fixture
def box() -> SecretBox:
    """A secret box with a fresh key."""
    return SecretBox(SecretBox.generate_key())


@pytest.fixture(params=["sqlite", "mongo-local", "mongo-server"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which store implementation a test runs on.

    MongoDB runs twice: with conditions in the update filters (what MongoDB and Cosmos DB get)
    and checked in-process after a read by _id (what FerretDB gets), whatever the server.
    """
    return str(request.param)


@pytest.fixture
async def store(
    store_kind: str, tmp_path: Path, box: SecretBox, request: pytest.FixtureRequest
) -> AsyncIterator[Store]:
    """An open, empty store of each kind."""
    if store_kind == "sqlite":
        sqlite = SqliteStore(tmp_path / "store.db", box)
        await sqlite.open()
        yield sqlite
        await sqlite.close()
        return
    target: MongoTarget = request.getfixturevalue("mongo_target")
    conditions: Conditions = "local" if store_kind == "mongo-local" else "server"
    mongo = MongoStore(
        target.uri, f"{target.prefix}{uuid.uuid4().hex[:10]}", box, conditions=conditions
    )
    await mongo.open()
    yield mongo
    await mongo.drop_database()
    await mongo.close()
