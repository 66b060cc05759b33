"""The SQLite schema and the conversions from its rows to records."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from presence_sync.errors import StoreError
from presence_sync.secrets import SecretBox
from presence_sync.store.codec import (
    audit_details_from_json,
    connection_details_from_json,
    failures_from_list,
    rc_from_dict,
    subscription_details_from_json,
    teams_from_dict,
)
from presence_sync.store.models import (
    AuditEntry,
    Connection,
    ConnectionStatus,
    DirtyEntry,
    Job,
    JobStatus,
    LinkState,
    Notice,
    NoticeStatus,
    Subscription,
    UserLink,
)

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "audit_from_row",
    "connection_from_row",
    "create_schema",
    "dirty_from_row",
    "job_from_row",
    "link_from_row",
    "notice_from_row",
    "subscription_from_row",
]

SCHEMA_VERSION = 5

# Version 1. Later versions append statements to a new list in MIGRATIONS.
_V1 = """
CREATE TABLE links (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    teams_user_id TEXT,
    upn TEXT,
    mail TEXT,
    rc_extension_id TEXT,
    rc_extension_number TEXT,
    sync_enabled INTEGER NOT NULL,
    state TEXT NOT NULL,
    reason_code TEXT,
    reason TEXT,
    last_error TEXT,
    search TEXT NOT NULL,
    teams TEXT,
    teams_seq TEXT,
    teams_observed_at REAL,
    rc TEXT,
    rc_seq INTEGER,
    rc_observed_at REAL,
    engine_state TEXT NOT NULL,
    engine_version INTEGER NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX links_teams_user_id ON links (teams_user_id);
CREATE INDEX links_rc_extension_id ON links (rc_extension_id);
CREATE INDEX links_email ON links (email);
CREATE INDEX links_state ON links (state, id);
CREATE TABLE org_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE TABLE connections (
    kind TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    reason TEXT,
    details TEXT NOT NULL,
    secret TEXT,
    updated_at REAL NOT NULL
);
CREATE TABLE subscriptions (
    provider TEXT NOT NULL,
    id TEXT NOT NULL,
    resource TEXT NOT NULL,
    shard_key TEXT,
    expires_at REAL NOT NULL,
    client_state TEXT,
    owner TEXT,
    details TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (provider, id)
);
CREATE INDEX subscriptions_expires_at ON subscriptions (expires_at);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    status TEXT NOT NULL,
    total INTEGER NOT NULL,
    processed INTEGER NOT NULL,
    succeeded INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    failures TEXT NOT NULL,
    cursor TEXT,
    params TEXT NOT NULL,
    lease_owner TEXT,
    lease_until REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL
);
-- At most one active job per kind: concurrent "sync all" requests get the same job.
CREATE UNIQUE INDEX jobs_one_active_per_kind ON jobs (kind)
    WHERE status IN ('queued', 'running');
CREATE INDEX jobs_created_at ON jobs (created_at);
CREATE TABLE dirty (
    user_key TEXT PRIMARY KEY,
    priority INTEGER NOT NULL,
    due_at REAL NOT NULL,
    reason TEXT NOT NULL,
    claimed_by TEXT,
    claimed_until REAL,
    remarked INTEGER NOT NULL DEFAULT 0,
    pending_priority INTEGER,
    pending_due_at REAL,
    pending_reason TEXT
);
CREATE INDEX dirty_order ON dirty (priority, due_at);
CREATE TABLE notices (
    id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    reason TEXT,
    claimed_by TEXT,
    claimed_until REAL,
    next_attempt_at REAL NOT NULL,
    created_at REAL NOT NULL,
    delivered_at REAL
);
CREATE INDEX notices_due ON notices (status, next_attempt_at, created_at);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    user TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_at ON audit (at);
CREATE TABLE conversation_refs (
    user_id TEXT PRIMARY KEY,
    reference TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until REAL NOT NULL
);
"""

# Version 2: single-use records with an expiry (OAuth states and in-flight sign-in flows).
_V2 = """
CREATE TABLE ephemeral (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX ephemeral_expires ON ephemeral (expires_at);
"""

# Version 3: sign-in starts, counted per caller over a sliding window that every replica shares.
_V3 = """
CREATE TABLE starts (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    until REAL NOT NULL
);
CREATE INDEX starts_key ON starts (scope, key, until);
CREATE INDEX starts_until ON starts (scope, until);
"""

# Version 4: audit entries of writes under way (open: 1, closed provisionally: 2, else NULL).
_V4 = """
ALTER TABLE audit ADD COLUMN open INTEGER;
CREATE INDEX audit_open ON audit (open) WHERE open IS NOT NULL;
"""

# Version 5: when each link is next due for reconciliation (observations and engine timers).
_V5 = """
ALTER TABLE links ADD COLUMN due_at REAL;
CREATE INDEX links_due ON links (due_at) WHERE due_at IS NOT NULL;
"""

MIGRATIONS: dict[int, str] = {1: _V1, 2: _V2, 3: _V3, 4: _V4, 5: _V5}


def create_schema(conn: sqlite3.Connection) -> None:
    """Bring the database up to SCHEMA_VERSION; call inside a write transaction."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    current = row[0] or 0
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"the database has schema version {current}, newer than this release "
            f"understands ({SCHEMA_VERSION}); upgrade presence-sync"
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[version].split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))


def _json(value: str | None) -> Any:
    return json.loads(value) if value else None


def link_from_row(row: sqlite3.Row) -> UserLink:
    """A link from a `links` row."""
    return UserLink(
        id=row["id"],
        email=row["email"],
        display_name=row["display_name"],
        teams_user_id=row["teams_user_id"],
        upn=row["upn"],
        mail=row["mail"],
        rc_extension_id=row["rc_extension_id"],
        rc_extension_number=row["rc_extension_number"],
        sync_enabled=bool(row["sync_enabled"]),
        state=LinkState(row["state"]),
        reason_code=row["reason_code"],
        reason=row["reason"],
        last_error=row["last_error"],
        teams=teams_from_dict(_json(row["teams"])),
        rc=rc_from_dict(_json(row["rc"])),
        rc_sequence=row["rc_seq"],
        engine_state=json.loads(row["engine_state"]),
        engine_version=row["engine_version"],
        updated_at=row["updated_at"],
        due_at=row["due_at"],
    )


def connection_from_row(row: sqlite3.Row, box: SecretBox) -> Connection:
    """A connection from a `connections` row, secret opened."""
    sealed = row["secret"]
    return Connection(
        kind=row["kind"],
        status=ConnectionStatus(row["status"]),
        reason=row["reason"],
        details=connection_details_from_json(row["details"]),
        secret=box.decrypt_text(sealed) if sealed else None,
        updated_at=row["updated_at"],
    )


def subscription_from_row(row: sqlite3.Row, box: SecretBox) -> Subscription:
    """A subscription from a `subscriptions` row, client state opened."""
    sealed = row["client_state"]
    return Subscription(
        provider=row["provider"],
        id=row["id"],
        resource=row["resource"],
        expires_at=row["expires_at"],
        shard_key=row["shard_key"],
        client_state=box.decrypt_text(sealed) if sealed else None,
        owner=row["owner"],
        details=subscription_details_from_json(row["details"]),
        updated_at=row["updated_at"],
    )


def job_from_row(row: sqlite3.Row) -> Job:
    """A job from a `jobs` row."""
    return Job(
        id=row["id"],
        kind=row["kind"],
        requested_by=row["requested_by"],
        status=JobStatus(row["status"]),
        total=row["total"],
        processed=row["processed"],
        succeeded=row["succeeded"],
        skipped=row["skipped"],
        failed=row["failed"],
        failures=failures_from_list(json.loads(row["failures"])),
        cursor=row["cursor"],
        params=json.loads(row["params"]),
        lease_owner=row["lease_owner"],
        lease_until=row["lease_until"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
    )


def dirty_from_row(row: sqlite3.Row) -> DirtyEntry:
    """A dirty-queue entry from a `dirty` row."""
    return DirtyEntry(
        user_key=row["user_key"],
        priority=row["priority"],
        due_at=row["due_at"],
        reason=row["reason"],
        claimed_by=row["claimed_by"],
        claimed_until=row["claimed_until"],
    )


def notice_from_row(row: sqlite3.Row) -> Notice:
    """A notice from a `notices` row."""
    return Notice(
        id=row["id"],
        recipient=row["recipient"],
        channel=row["channel"],
        kind=row["kind"],
        subject=row["subject"],
        payload=json.loads(row["payload"]),
        status=NoticeStatus(row["status"]),
        attempts=row["attempts"],
        reason=row["reason"],
        claimed_by=row["claimed_by"],
        claimed_until=row["claimed_until"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        delivered_at=row["delivered_at"],
    )


def audit_from_row(row: sqlite3.Row) -> AuditEntry:
    """An audit entry from an `audit` row."""
    return AuditEntry(
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        user=row["user"],
        details=audit_details_from_json(row["details"]),
        id=str(row["id"]),
    )
