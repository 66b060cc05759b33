"""Persistence: the `Store` protocol, its records, and the SQLite and MongoDB stores.

`SqliteStore` and `MongoStore` are imported on first use only, so a deployment loads the
driver of the store it runs on and no other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from presence_sync.store.base import Store
from presence_sync.store.factory import DEFAULT_MONGO_DATABASE, open_store
from presence_sync.store.models import (
    SYSTEM,
    AuditDetails,
    AuditEntry,
    Connection,
    ConnectionDetails,
    ConnectionStatus,
    DirtyEntry,
    Due,
    Job,
    JobFailure,
    JobStatus,
    Lease,
    LinkPage,
    LinkState,
    Notice,
    NoticeStatus,
    OrgSettings,
    RcObservation,
    StartRefusal,
    Subscription,
    SubscriptionDetails,
    SyncMode,
    TeamsObservation,
    UserLink,
    normalise_email,
    sequence_key,
)

if TYPE_CHECKING:
    from presence_sync.store.mongo import MongoStore
    from presence_sync.store.sqlite import SqliteStore

__all__ = [
    "DEFAULT_MONGO_DATABASE",
    "SYSTEM",
    "AuditDetails",
    "AuditEntry",
    "Connection",
    "ConnectionDetails",
    "ConnectionStatus",
    "DirtyEntry",
    "Due",
    "Job",
    "JobFailure",
    "JobStatus",
    "Lease",
    "LinkPage",
    "LinkState",
    "MongoStore",
    "Notice",
    "NoticeStatus",
    "OrgSettings",
    "RcObservation",
    "SqliteStore",
    "StartRefusal",
    "Store",
    "Subscription",
    "SubscriptionDetails",
    "SyncMode",
    "TeamsObservation",
    "UserLink",
    "normalise_email",
    "open_store",
    "sequence_key",
]


def __getattr__(name: str) -> Any:
    # The backends on first use: importing the store package must not import pymongo.
    if name == "SqliteStore":
        from presence_sync.store.sqlite import SqliteStore

        return SqliteStore
    if name == "MongoStore":
        from presence_sync.store.mongo import MongoStore

        return MongoStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
