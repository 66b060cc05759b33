"""`open_store`: the store named by a STORE_URL."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from presence_sync.errors import StoreError
from presence_sync.secrets import SecretBox, SecretKeyError
from presence_sync.store.base import Store

__all__ = ["DEFAULT_MONGO_DATABASE", "open_store"]

DEFAULT_MONGO_DATABASE = "presence_sync"


def open_store(url: str, secret_key: bytes | str) -> Store:
    """The (not yet opened) store for `url`; secrets in it are sealed with `secret_key`.

    `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, `sqlite:///:memory:`,
    `mongodb://…/database` or `mongodb+srv://…/database` (database defaults to
    "presence_sync"). Raises `StoreError` naming what is wrong with the URL or key.
    """
    try:
        box = SecretBox(secret_key)
    except SecretKeyError as err:
        raise StoreError(f"SECRET_KEY: {err}") from err
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        if parts.netloc:
            raise StoreError(f"sqlite URL must have three slashes (sqlite:///path.db), got {url!r}")
        path = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
        if not path:
            raise StoreError("sqlite URL names no file: use sqlite:///./data/presence-sync.db")
        from presence_sync.store.sqlite import SqliteStore

        return SqliteStore(path, box)
    if scheme in ("mongodb", "mongodb+srv"):
        if not parts.netloc:
            raise StoreError(f"MongoDB URL names no host: {_redact(url)}")
        database = unquote(parts.path.lstrip("/")) or DEFAULT_MONGO_DATABASE
        if any(c in database for c in '/\\. "$'):
            raise StoreError(f"MongoDB database name {database!r} is not allowed")
        # Imported only when chosen: an SQLite deployment never loads pymongo.
        from presence_sync.store.mongo import MongoStore

        return MongoStore(url, database, box)
    raise StoreError(
        f"unknown store scheme {parts.scheme!r}: use sqlite:///path.db or mongodb://host/db"
    )


def _redact(url: str) -> str:
    """`url` with any password replaced, fit for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
