"""`SqliteStore`: the embedded store (stdlib sqlite3, WAL), for a single replica.

Five parts over one `SqliteDatabase`, which runs all SQL on one worker thread (reads
directly, writes inside one `BEGIN IMMEDIATE` transaction each), composed by `ComposedStore`.
"""

from __future__ import annotations

from pathlib import Path

from presence_sync.secrets import SecretBox
from presence_sync.store.bell import DirtyBell
from presence_sync.store.composed import ComposedStore
from presence_sync.store.sqlite.database import SqliteDatabase
from presence_sync.store.sqlite.dirty import SqliteDirtyQueue
from presence_sync.store.sqlite.jobs import SqliteJobs
from presence_sync.store.sqlite.links import SqliteLinks
from presence_sync.store.sqlite.queues import SqliteQueues
from presence_sync.store.sqlite.records import SqliteRecords

__all__ = ["SqliteStore"]


class SqliteStore(ComposedStore):
    """The `Store` on a SQLite file (or ":memory:")."""

    def __init__(self, path: str | Path, secrets: SecretBox) -> None:
        self.database = db = SqliteDatabase(path, secrets)
        bell = DirtyBell()
        super().__init__(
            bell,
            SqliteLinks(db),
            SqliteRecords(db),
            SqliteJobs(db),
            SqliteDirtyQueue(db, bell),
            SqliteQueues(db),
        )
        self.open, self.close, self.ping, self.raw_row = db.open, db.close, db.ping, db.raw_row

    def __repr__(self) -> str:
        return f"SqliteStore({self.database.path!r})"

    @property
    def path(self) -> str:
        """The database file (or ":memory:")."""
        return self.database.path
