"""SQLite records: org settings, connections, subscriptions, conversation references,
single-use (ephemeral) records and sign-in start counts.

The SQL functions take the connection and run on the store's worker thread; `SqliteRecords`
calls them, the writing ones inside a `BEGIN IMMEDIATE` transaction each.
"""

# SQL here is assembled only from constant fragments; values always travel as ? parameters.
# ruff: noqa: S608

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping
from typing import Any

from presence_sync.errors import ConflictError
from presence_sync.secrets import SecretBox
from presence_sync.store.codec import (
    connection_details_to_json,
    dumps,
    settings_from_dict,
    settings_to_dict,
    subscription_details_to_json,
)
from presence_sync.store.models import Connection, OrgSettings, StartRefusal, Subscription
from presence_sync.store.sqlite.database import SqliteDatabase
from presence_sync.store.sqlite.schema import connection_from_row, subscription_from_row

__all__ = ["SqliteRecords"]


def get_settings(conn: sqlite3.Connection) -> OrgSettings:
    """Stored settings or defaults."""
    row = conn.execute("SELECT body, version FROM org_settings WHERE id = 1").fetchone()
    if row is None:
        return OrgSettings()
    return settings_from_dict(json.loads(row["body"]), row["version"])


def save_settings(
    conn: sqlite3.Connection, settings: OrgSettings, expected_version: int
) -> OrgSettings:
    """Save settings under optimistic concurrency."""
    body = dumps(settings_to_dict(settings))
    if expected_version == 0:
        cursor = conn.execute(
            "INSERT INTO org_settings (id, body, version) VALUES (1, ?, 1) "
            "ON CONFLICT(id) DO NOTHING",
            (body,),
        )
    else:
        cursor = conn.execute(
            "UPDATE org_settings SET body = ?, version = version + 1 WHERE id = 1 AND version = ?",
            (body, expected_version),
        )
    if cursor.rowcount == 0:
        current = get_settings(conn).version
        raise ConflictError(
            f"settings were changed by someone else (version {current}, not {expected_version})"
        )
    return settings_from_dict(settings_to_dict(settings), expected_version + 1)


def put_connection(conn: sqlite3.Connection, item: Connection, box: SecretBox) -> None:
    """Create or replace a connection with its secret sealed."""
    conn.execute(
        "INSERT OR REPLACE INTO connections (kind, status, reason, details, secret, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            item.kind,
            item.status.value,
            item.reason,
            connection_details_to_json(item.details),
            box.encrypt(item.secret) if item.secret is not None else None,
            item.updated_at,
        ),
    )


def list_connections(conn: sqlite3.Connection, box: SecretBox) -> list[Connection]:
    """All connections by kind."""
    rows = conn.execute("SELECT * FROM connections ORDER BY kind").fetchall()
    return [connection_from_row(r, box) for r in rows]


def put_subscription(conn: sqlite3.Connection, item: Subscription, box: SecretBox) -> None:
    """Create or replace a subscription with its client state sealed."""
    conn.execute(
        "INSERT OR REPLACE INTO subscriptions (provider, id, resource, shard_key, expires_at, "
        "client_state, owner, details, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            item.provider,
            item.id,
            item.resource,
            item.shard_key,
            item.expires_at,
            box.encrypt(item.client_state) if item.client_state is not None else None,
            item.owner,
            subscription_details_to_json(item.details),
            item.updated_at,
        ),
    )


def select_subscriptions(
    conn: sqlite3.Connection, box: SecretBox, where: str, args: tuple[Any, ...]
) -> list[Subscription]:
    """Subscriptions matching `where`, soonest expiry first."""
    rows = conn.execute(
        f"SELECT * FROM subscriptions {where} ORDER BY expires_at, provider, id", args
    ).fetchall()
    return [subscription_from_row(r, box) for r in rows]


def count_start(
    conn: sqlite3.Connection,
    scope: str,
    key: str,
    limit: int,
    most: int,
    now: float,
    until: float,
) -> StartRefusal | None:
    """Count one start unless the caller's window (or the scope) is full; drops ended ones."""
    conn.execute("DELETE FROM starts WHERE scope = ? AND until <= ?", (scope, now))
    mine, first = conn.execute(
        "SELECT COUNT(*), MIN(until) FROM starts WHERE scope = ? AND key = ?", (scope, key)
    ).fetchone()
    if mine >= limit:
        return StartRefusal(busy=False, free_at=first)
    if mine == 0:
        (held,) = conn.execute("SELECT COUNT(*) FROM starts WHERE scope = ?", (scope,)).fetchone()
        if held >= most:
            return StartRefusal(busy=True, free_at=until)
    conn.execute("INSERT INTO starts (scope, key, until) VALUES (?, ?, ?)", (scope, key, until))
    return None


class SqliteRecords:
    """Settings, connections, subscriptions, references, ephemeral records, start counts."""

    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    async def get_settings(self) -> OrgSettings:
        """Stored settings or defaults."""
        return await self.db.read(get_settings)

    async def save_settings(self, settings: OrgSettings, expected_version: int) -> OrgSettings:
        """Save settings under optimistic concurrency."""
        return await self.db.write(save_settings, settings, expected_version)

    async def get_connection(self, kind: str) -> Connection | None:
        """One connection."""
        row = await self.db.read(
            lambda c: c.execute("SELECT * FROM connections WHERE kind = ?", (kind,)).fetchone()
        )
        return connection_from_row(row, self.db.secrets) if row else None

    async def put_connection(self, connection: Connection) -> None:
        """Create or replace a connection."""
        await self.db.write(put_connection, connection, self.db.secrets)

    async def list_connections(self) -> list[Connection]:
        """All connections."""
        return await self.db.read(list_connections, self.db.secrets)

    async def delete_connection(self, kind: str) -> bool:
        """Forget a connection."""
        cursor = await self.db.write(
            lambda c: c.execute("DELETE FROM connections WHERE kind = ?", (kind,))
        )
        return cursor.rowcount == 1

    async def put_subscription(self, subscription: Subscription) -> None:
        """Create or replace a subscription."""
        await self.db.write(put_subscription, subscription, self.db.secrets)

    async def get_subscription(self, provider: str, subscription_id: str) -> Subscription | None:
        """One subscription."""
        found = await self.db.read(
            select_subscriptions,
            self.db.secrets,
            "WHERE provider = ? AND id = ?",
            (provider, subscription_id),
        )
        return found[0] if found else None

    async def list_subscriptions(self, provider: str | None = None) -> list[Subscription]:
        """Subscriptions by expiry."""
        where, args = ("WHERE provider = ?", (provider,)) if provider else ("", ())
        return await self.db.read(select_subscriptions, self.db.secrets, where, args)

    async def delete_subscription(self, provider: str, subscription_id: str) -> bool:
        """Forget a subscription."""
        cursor = await self.db.write(
            lambda c: c.execute(
                "DELETE FROM subscriptions WHERE provider = ? AND id = ?",
                (provider, subscription_id),
            )
        )
        return cursor.rowcount == 1

    async def list_expiring_subscriptions(self, before: float) -> list[Subscription]:
        """Subscriptions expiring before `before`."""
        return await self.db.read(
            select_subscriptions, self.db.secrets, "WHERE expires_at < ?", (before,)
        )

    async def get_conversation_ref(self, user_id: str) -> dict[str, Any] | None:
        """The bot's reference for a user."""
        row = await self.db.read(
            lambda c: c.execute(
                "SELECT reference FROM conversation_refs WHERE user_id = ?", (user_id,)
            ).fetchone()
        )
        return dict(json.loads(row[0])) if row else None

    async def put_conversation_ref(self, user_id: str, reference: Mapping[str, Any]) -> None:
        """Remember the bot's reference for a user."""
        body = dumps(dict(reference))
        await self.db.write(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO conversation_refs (user_id, reference, updated_at) "
                "VALUES (?, ?, ?)",
                (user_id, body, time.time()),
            )
        )

    async def put_ephemeral(self, key: str, value: Mapping[str, Any], expires_at: float) -> None:
        """Keep `value` (sealed) under `key` until `expires_at`; drops expired records."""
        sealed = self.db.secrets.encrypt(dumps(dict(value)))

        def put(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM ephemeral WHERE expires_at <= ?", (time.time(),))
            conn.execute(
                "INSERT INTO ephemeral (key, value, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
                "expires_at = excluded.expires_at",
                (key, sealed, expires_at),
            )

        await self.db.write(put)

    async def take_ephemeral(self, key: str, now: float) -> dict[str, Any] | None:
        """Read and delete `key` in one statement; None when missing, expired or taken."""
        row = await self.db.write(
            lambda c: c.execute(
                "DELETE FROM ephemeral WHERE key = ? RETURNING value, expires_at", (key,)
            ).fetchone()
        )
        if row is None or row["expires_at"] <= now:
            return None
        loaded: dict[str, Any] = json.loads(self.db.secrets.decrypt_text(row["value"]))
        return loaded

    async def peek_ephemeral(self, key: str, now: float) -> dict[str, Any] | None:
        """Read `key` and leave it; None when missing or expired."""
        row = await self.db.read(
            lambda c: c.execute(
                "SELECT value, expires_at FROM ephemeral WHERE key = ?", (key,)
            ).fetchone()
        )
        if row is None or row["expires_at"] <= now:
            return None
        loaded: dict[str, Any] = json.loads(self.db.secrets.decrypt_text(row["value"]))
        return loaded

    async def count_start(
        self, scope: str, key: str, *, limit: int, most: int, now: float, until: float
    ) -> StartRefusal | None:
        """Count one start in one transaction (`BEGIN IMMEDIATE` orders every replica's)."""
        return await self.db.write(count_start, scope, key, limit, most, now, until)
