"""`MongoStore`: the store on MongoDB, Azure Cosmos DB for MongoDB or FerretDB.

Only what all three support: single-document updates (conditional filters, `$inc`,
`$min`, upserts), unique indexes, `insert_many`/`bulk_write` and a `$group` count. No
transactions, TTL indexes or change streams: expiry is an explicit timestamp field.

Five parts over one `MongoDatabase` (the client, the database handle and the in-process
locks), composed by `ComposedStore`.
"""

from __future__ import annotations

from presence_sync.secrets import SecretBox
from presence_sync.store.bell import DirtyBell
from presence_sync.store.composed import ComposedStore
from presence_sync.store.mongo.database import Conditions, MongoDatabase
from presence_sync.store.mongo.dirty import MongoDirtyQueue
from presence_sync.store.mongo.jobs import MongoJobs
from presence_sync.store.mongo.links import MongoLinks
from presence_sync.store.mongo.queues import MongoQueues
from presence_sync.store.mongo.records import MongoRecords

__all__ = ["MongoStore"]


class MongoStore(ComposedStore):
    """The `Store` on a MongoDB-protocol server."""

    def __init__(
        self,
        uri: str,
        database: str,
        secrets: SecretBox,
        *,
        server_selection_timeout: float = 2.0,
        conditions: Conditions = "auto",
    ) -> None:
        self.database = db = MongoDatabase(
            uri,
            database,
            secrets,
            server_selection_timeout=server_selection_timeout,
            conditions=conditions,
        )
        bell = DirtyBell()
        super().__init__(
            bell,
            MongoLinks(db),
            MongoRecords(db),
            MongoJobs(db),
            MongoDirtyQueue(db, bell),
            MongoQueues(db),
        )
        self.open, self.close, self.ping = db.open, db.close, db.ping
        self.raw_document, self.drop_database, self.col = db.raw_document, db.drop_database, db.col

    def __repr__(self) -> str:
        return f"MongoStore(database={self.database.database_name!r})"

    @property
    def uri(self) -> str:
        """The server's URI, as given."""
        return self.database.uri

    @property
    def database_name(self) -> str:
        """The database the store keeps its collections in."""
        return self.database.database_name

    @property
    def local_conditions(self) -> bool:
        """Whether conditional writes are checked in this process (FerretDB)."""
        return self.database.local_conditions
