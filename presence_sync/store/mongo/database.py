"""What the MongoDB store's parts share: one client and database handle, locks, the error seam."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from presence_sync.errors import StoreError, StoreUnavailableError
from presence_sync.secrets import SecretBox
from presence_sync.store.mongo.match import matches
from presence_sync.store.mongo.schema import INDEXES

__all__ = [
    "COMPARE_BATCH",
    "INSERT_BATCH",
    "RACE_RETRIES",
    "UPDATE_BATCH",
    "Conditions",
    "MongoDatabase",
    "translated",
]

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S")

Doc = dict[str, Any]
Conditions = Literal["auto", "server", "local"]

# FerretDB 1.24 (SQLite handler) stops answering an update command that carries 100 or more
# statements; smaller batches cost MongoDB only a few more round trips.
UPDATE_BATCH = 50
INSERT_BATCH = 1000
# Links already stored are compared with what is being written in groups of this size.
COMPARE_BATCH = 10_000
# Bounded retries for races with other replicas (each retry means someone else progressed).
RACE_RETRIES = 8
# How long close() lets operations still running finish by themselves: a retried operation
# on a server that went away takes two server selections; a hung server is cut off here.
DRAIN_TIMEOUT = 8.0
# Stripes for per-link locks (see MongoDatabase.link_lock).
_LINK_STRIPES = 64


_UNREACHABLE = (ServerSelectionTimeoutError, AutoReconnect, NetworkTimeout, ConnectionFailure)


def _reason(err: PyMongoError) -> str:
    # Server selection errors carry the whole topology description; the first clause
    # ("host:port: [Errno 111] Connection refused") is what a person needs.
    text = str(err).split(", Timeout:")[0].split(" (configured timeouts")[0]
    text = text.split(", full error:")[0]
    return text or type(err).__name__


def translated(
    fn: Callable[Concatenate[S, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]:
    """The one seam where driver errors become store errors, and cancellations stop.

    The operation runs in a task of its own that a cancelled caller stops waiting for, and
    that finishes by itself within the driver's timeouts. PyMongo's async API waits on its
    topology condition through `asyncio.wait_for`; on Python 3.11 a task cancelled twice
    inside that wait leaves the topology lock held by nobody, and every later operation,
    `close()` included, then waits forever (a shutdown, which cancels loops mid-operation,
    hung that way). Nothing outside the driver cancels the driver: `MongoDatabase.close`
    waits for the operations still running, so the event loop's own cancel-everything at
    exit never reaches one either.
    """

    @functools.wraps(fn)
    async def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        async def operation() -> T:
            try:
                return await fn(self, *args, **kwargs)
            except _UNREACHABLE as err:
                raise StoreUnavailableError(f"MongoDB unreachable: {_reason(err)}") from err
            except PyMongoError as err:
                raise StoreError(f"MongoDB: {_reason(err)}") from err

        task = asyncio.ensure_future(operation())
        task.add_done_callback(_consume_outcome)
        database: Any = getattr(self, "db", self)  # a store part, or the database itself
        in_flight: set[asyncio.Future[Any]] = database._in_flight
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        return await asyncio.shield(task)

    return wrapper


def _consume_outcome(task: asyncio.Future[Any]) -> None:
    # The caller may have stopped waiting; its outcome must not be reported as unretrieved.
    if not task.cancelled():
        task.exception()


class MongoDatabase:
    """The client, database handle and in-process locks that every part of a store shares."""

    def __init__(
        self,
        uri: str,
        database: str,
        secrets: SecretBox,
        *,
        server_selection_timeout: float = 2.0,
        conditions: Conditions = "auto",
    ) -> None:
        self.uri = uri
        self.database_name = database
        self.secrets = secrets
        self._timeout = server_selection_timeout
        self.client: AsyncMongoClient[Doc] | None = None
        self._db: AsyncDatabase[Doc] | None = None
        # MongoDB and Cosmos DB apply each single-document update atomically. FerretDB 1.x
        # reads, modifies and writes a document in separate steps, so two concurrent
        # conditional updates of one document can both pass their filter. Serialising this
        # process's conditional writes per queue (and per link stripe) keeps one replica
        # correct on every server; several replicas need MongoDB or Cosmos DB.
        self._locks: dict[str, asyncio.Lock] = {}
        # Operations running in their own tasks (see `translated`), for close() to wait on.
        self._in_flight: set[asyncio.Future[Any]] = set()
        # Where conditional writes check their condition: "server" puts it in the update's
        # filter (atomic on MongoDB and Cosmos DB); "local" reads by _id and checks it here
        # (FerretDB, see `match`); "auto" picks by asking the server at open().
        self.conditions = conditions
        self.local_conditions = conditions == "local"

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
        for name, indexes in INDEXES.items():
            for keys, options in indexes:
                await db[name].create_index(keys, **options)

    async def close(self) -> None:
        """Let the operations still running finish (within the driver's timeouts), then close.

        A shutdown cancels loops mid-operation and the operations carry on in their own
        tasks; closing under them, or leaving them for the event loop to cancel at exit, can
        wedge the driver's topology lock and with it the process's exit.
        """
        running = [task for task in self._in_flight if not task.done()]
        if running:
            _, late = await asyncio.wait(running, timeout=DRAIN_TIMEOUT)
            if late:
                logger.warning(
                    "%d MongoDB operations still running after %.0f s; closing under them",
                    len(late),
                    DRAIN_TIMEOUT,
                )
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
        if self.client is None:
            raise StoreUnavailableError("the MongoDB store is not open")
        await self.client.drop_database(self.database_name)

    def lock(self, name: str) -> asyncio.Lock:
        """The in-process lock for conditional writes to collection `name`."""
        found = self._locks.get(name)
        if found is None:
            found = self._locks[name] = asyncio.Lock()
        return found

    def link_lock(self, link_id: str) -> asyncio.Lock:
        """The in-process lock for conditional writes to one link (striped)."""
        return self.lock(f"links#{hash(link_id) % _LINK_STRIPES}")

    @contextlib.asynccontextmanager
    async def link_locks(self, link_ids: Iterable[str]) -> AsyncIterator[None]:
        """Hold the locks of several links, taken in one global order so none deadlock."""
        stripes = sorted({hash(link_id) % _LINK_STRIPES for link_id in link_ids})
        async with contextlib.AsyncExitStack() as stack:
            for stripe in stripes:
                await stack.enter_async_context(self.lock(f"links#{stripe}"))
            yield

    def database(self) -> AsyncDatabase[Doc]:
        """The store's database; `StoreUnavailableError` before `open()`."""
        if self._db is None:
            raise StoreUnavailableError("the MongoDB store is not open")
        return self._db

    def col(self, name: str) -> AsyncCollection[Doc]:
        """One collection of the store's database."""
        return self.database()[name]

    async def detect_conditions(self) -> None:
        """Choose where conditions are checked: locally on FerretDB, else by the server."""
        if self.conditions != "auto":
            return
        try:
            info = await self.database().client.admin.command("buildInfo")
        except PyMongoError as err:  # a server that will not say: the atomic way is safe
            logger.info("buildInfo unavailable (%s); conditions go to the server", _reason(err))
            return
        self.local_conditions = "ferretdbVersion" in info
        if self.local_conditions:
            logger.info("FerretDB: conditional writes are checked in this process by _id")

    async def update_where(self, name: str, key: str, condition: Doc, update: Doc) -> bool:
        """Apply `update` to document `key` of collection `name` if it meets `condition`.

        True when it did. Callers hold the document's lock (FerretDB needs it either way).
        """
        col = self.col(name)
        if not self.local_conditions:
            result = await col.update_one({"_id": key, **condition}, update)
            return result.matched_count == 1
        doc = await col.find_one({"_id": key})
        if doc is None or not matches(doc, condition):
            return False
        await col.update_one({"_id": key}, update)
        return True

    def _new_client(self) -> AsyncMongoClient[Doc]:
        timeout_ms = int(self._timeout * 1000)
        return AsyncMongoClient(
            self.uri,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            # Long enough for a 1,000-document insert on a slow server, short enough that a
            # hung server surfaces as unavailable rather than a stuck request.
            socketTimeoutMS=30_000,
            appname="presence-sync",
            tz_aware=False,
        )
