"""The embedded store on SQLite (stdlib sqlite3, WAL), for a single replica."""

from presence_sync.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
