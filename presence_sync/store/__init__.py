"""Persistence: the `Store` protocol, its records, and the SQLite and MongoDB stores."""

from presence_sync.store.base import Store
from presence_sync.store.factory import DEFAULT_MONGO_DATABASE, open_store
from presence_sync.store.models import (
    AuditEntry,
    Connection,
    ConnectionStatus,
    DirtyEntry,
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
    Subscription,
    SyncMode,
    TeamsObservation,
    UserLink,
    normalise_email,
    sequence_key,
)
from presence_sync.store.mongo import MongoStore
from presence_sync.store.sqlite import SqliteStore

__all__ = [
    "DEFAULT_MONGO_DATABASE",
    "AuditEntry",
    "Connection",
    "ConnectionStatus",
    "DirtyEntry",
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
    "Store",
    "Subscription",
    "SyncMode",
    "TeamsObservation",
    "UserLink",
    "normalise_email",
    "open_store",
    "sequence_key",
]
