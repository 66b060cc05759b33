"""What the SQLite store's parts share: one connection on one worker thread, the error seam.

All SQL runs on one dedicated worker thread holding one connection, so the event loop
never blocks on disk and operations of concurrent tasks never interleave inside a
transaction. Writes use `BEGIN IMMEDIATE`, which SQLite serialises across processes too,
so several store instances on one file stay correct (they wait up to `busy_timeout`).
"""

# SQL here is assembled only from constant fragments; values always travel as ? parameters.
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from presence_sync.errors import StoreError, StoreUnavailableError
from presence_sync.private_files import SQLITE_COMPANIONS, private_file, private_folder
from presence_sync.secrets import SecretBox
from presence_sync.store.sqlite.schema import create_schema

__all__ = ["BUSY_TIMEOUT_MS", "SqliteDatabase"]

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000


@contextlib.contextmanager
def _translated(path: str) -> Iterator[None]:
    """The one seam where sqlite3 and file-system errors become store errors."""
    try:
        yield
    except (sqlite3.OperationalError, OSError) as err:
        # Locked past busy_timeout, disk full, unreadable or unwritable file or folder.
        raise StoreUnavailableError(f"SQLite store {path}: {err}") from err
    except sqlite3.Error as err:
        raise StoreError(f"SQLite store {path}: {err}") from err


class SqliteDatabase:
    """The connection, worker thread and transactions that every part of a store shares."""

    def __init__(self, path: str | Path, secrets: SecretBox) -> None:
        self.path = str(path)
        self.secrets = secrets
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None

    # -- plumbing ----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            path = Path(self.path)
            private_folder(path.parent, tighten=False)
            private_file(path, SQLITE_COMPANIONS)
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        # WAL with synchronous=NORMAL survives process crashes; only an OS crash can lose
        # the last transactions, and the product re-polls both sides after a restart.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            create_schema(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            conn.close()
            raise
        return conn

    async def _call(self, fn: Callable[[], T]) -> T:
        if self._executor is None or self._conn is None:
            raise StoreUnavailableError("the SQLite store is not open")
        with _translated(self.path):
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def read(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run `fn(connection, ...)` on the worker thread."""
        conn = self._conn
        return await self._call(lambda: fn(conn, *args, **kwargs))  # type: ignore[arg-type]

    async def write(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run `fn(connection, ...)` on the worker thread inside one `BEGIN IMMEDIATE`."""
        conn = self._conn

        def transaction() -> T:
            assert conn is not None
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn, *args, **kwargs)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._call(transaction)

    # -- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        """Open the file, switch to WAL and create or migrate the schema."""
        if self._conn is not None:
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        loop = asyncio.get_running_loop()
        try:
            with _translated(self.path):
                self._conn = await loop.run_in_executor(executor, self._connect)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        self._executor = executor
        logger.info("SQLite store open at %s", self.path)

    async def close(self) -> None:
        """Close the connection and stop the worker thread."""
        conn, executor = self._conn, self._executor
        self._conn, self._executor = None, None
        if executor is None:
            return
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(executor, conn.close)
        executor.shutdown(wait=True)

    async def ping(self) -> None:
        """Answer when a trivial query runs."""
        await self.read(lambda conn: conn.execute("SELECT 1").fetchone())

    async def raw_row(self, table: str, key_column: str, key: str) -> dict[str, Any] | None:
        """A row exactly as stored (for checking what reaches the disk)."""

        def select(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute(f"SELECT * FROM {table} WHERE {key_column} = ?", (key,)).fetchone()
            return dict(row) if row else None

        return await self.read(select)
