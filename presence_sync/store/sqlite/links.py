"""SQLite user links: bulk upserts, lookups, pages, patches and conditional observations.

The SQL functions take the connection and run on the store's worker thread; `SqliteLinks`
calls them, the writing ones inside a `BEGIN IMMEDIATE` transaction each.
"""

# SQL here is assembled only from constant fragments; values always travel as ? parameters.
# ruff: noqa: S608

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from presence_sync.errors import ConflictError, NotFoundError
from presence_sync.store.codec import (
    check_link_changes,
    dumps,
    rc_to_dict,
    search_text,
    teams_to_dict,
)
from presence_sync.store.models import (
    LINK_IDENTITY,
    Due,
    LinkPage,
    LinkState,
    RcObservation,
    TeamsObservation,
    UserLink,
    normalise_email,
    sequence_key,
)
from presence_sync.store.sqlite.database import SqliteDatabase
from presence_sync.store.sqlite.schema import link_from_row

__all__ = ["SqliteLinks"]

# Rows per write transaction in bulk upserts: large enough to amortise the commit, small
# enough that other tasks' writes are not held up for long.
UPSERT_BATCH = 5000

_LINK_COLUMNS = (
    "id, email, display_name, teams_user_id, upn, mail, rc_extension_id, rc_extension_number, "
    "sync_enabled, state, reason_code, reason, last_error, search, teams, teams_seq, "
    "teams_observed_at, rc, rc_seq, rc_observed_at, engine_state, engine_version, updated_at"
)
_IDENTITY_SET = [*sorted(LINK_IDENTITY), "search"]
# Existing rows are only rewritten when something actually changed: a directory refresh of
# 50,000 unchanged users then costs reads, not writes.
_UPSERT_LINK = (
    f"INSERT INTO links ({_LINK_COLUMNS}) VALUES ({', '.join('?' * 23)}) "
    "ON CONFLICT(id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in [*_IDENTITY_SET, "updated_at"])
    + " WHERE "
    + " OR ".join(f"links.{c} IS NOT excluded.{c}" for c in _IDENTITY_SET)
)


def _link_row(link: UserLink, now: float) -> tuple[Any, ...]:
    teams, rc = link.teams, link.rc
    return (
        link.id,
        link.email,
        link.display_name,
        link.teams_user_id,
        link.upn,
        link.mail,
        link.rc_extension_id,
        link.rc_extension_number,
        int(link.sync_enabled),
        link.state.value,
        link.reason_code,
        link.reason,
        link.last_error,
        search_text(link.email, link.upn, link.mail, link.display_name),
        dumps(teams_to_dict(teams)) if teams else None,
        sequence_key(teams.sequence) if teams and teams.sequence else None,
        teams.observed_at if teams else None,
        dumps(rc_to_dict(rc)) if rc else None,
        link.rc_sequence if link.rc_sequence is not None else (rc.sequence if rc else None),
        rc.observed_at if rc else None,
        dumps(dict(link.engine_state)),
        link.engine_version,
        now,
    )


def upsert_links(conn: sqlite3.Connection, links: Sequence[UserLink], now: float) -> int:
    """Insert new links whole and refresh identity fields of existing ones."""
    cursor = conn.executemany(_UPSERT_LINK, [_link_row(link, now) for link in links])
    return cursor.rowcount


def get_link_where(conn: sqlite3.Connection, column: str, value: str) -> UserLink | None:
    """The first link (by id) whose `column` equals `value`."""
    row = conn.execute(
        f"SELECT * FROM links WHERE {column} = ? ORDER BY id LIMIT 1", (value,)
    ).fetchone()
    return link_from_row(row) if row else None


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_links(
    conn: sqlite3.Connection,
    state: LinkState | None,
    sync_enabled: bool | None,
    search: str | None,
    after: str | None,
    limit: int,
    failed: bool | None = None,
) -> LinkPage:
    """A page of links by id with optional filters."""
    where: list[str] = []
    args: list[Any] = []
    if failed is not None:
        where.append("last_error IS NOT NULL" if failed else "last_error IS NULL")
    if state is not None:
        where.append("state = ?")
        args.append(LinkState(state).value)
    if sync_enabled is not None:
        where.append("sync_enabled = ?")
        args.append(int(sync_enabled))
    if search and search.strip():
        where.append("search LIKE ? ESCAPE '\\'")
        args.append(_like(search.strip()))
    if after is not None:
        where.append("id > ?")
        args.append(after)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"SELECT * FROM links {clause} ORDER BY id LIMIT ?", (*args, limit + 1)
    ).fetchall()
    links = tuple(link_from_row(r) for r in rows[:limit])
    return LinkPage(links, links[-1].id if len(rows) > limit else None)


def count_links_by_state(conn: sqlite3.Connection) -> dict[str, int]:
    """Links per state, every state present."""
    counts = {s.value: 0 for s in LinkState}
    for state, count in conn.execute("SELECT state, COUNT(*) FROM links GROUP BY state"):
        counts[state] = count
    return counts


def _require_link(conn: sqlite3.Connection, link_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM links WHERE id = ?", (link_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no user link {link_id!r}")
    return row


def update_link(
    conn: sqlite3.Connection, link_id: str, changes: Mapping[str, Any], now: float
) -> UserLink:
    """Apply a validated patch to one link."""
    clean = check_link_changes(changes)
    row = _require_link(conn, link_id)
    if clean:
        merged = {k: row[k] for k in ("email", "upn", "mail", "display_name")} | clean
        clean["search"] = search_text(
            merged["email"], merged["upn"], merged["mail"], merged["display_name"]
        )
        clean["updated_at"] = now
        assignments = ", ".join(f"{column} = ?" for column in clean)
        conn.execute(f"UPDATE links SET {assignments} WHERE id = ?", (*clean.values(), link_id))
    return link_from_row(_require_link(conn, link_id))


def _observe(
    conn: sqlite3.Connection,
    link_id: str,
    assignments: str,
    values: tuple[Any, ...],
    condition: str,
    condition_values: tuple[Any, ...],
    due_at: float | None,
) -> bool:
    """Apply an observation's columns where `condition` holds; True when applied."""
    if due_at is not None:
        assignments += ", due_at = MIN(COALESCE(due_at, ?), ?)"
        values = (*values, due_at, due_at)
    cursor = conn.execute(
        f"UPDATE links SET {assignments} WHERE id = ? AND ({condition})",
        (*values, link_id, *condition_values),
    )
    if cursor.rowcount == 0:
        _require_link(conn, link_id)
        return False
    return True


def record_teams(
    conn: sqlite3.Connection, link_id: str, obs: TeamsObservation, due_at: float | None = None
) -> bool:
    """Store a Teams observation if it is newer; True when applied."""
    body = dumps(teams_to_dict(obs))
    if obs.sequence:
        key = sequence_key(obs.sequence)
        return _observe(
            conn,
            link_id,
            "teams = ?, teams_seq = ?, teams_observed_at = ?",
            (body, key, obs.observed_at),
            "teams_seq IS NULL OR teams_seq < ?",
            (key,),
            due_at,
        )
    return _observe(
        conn,
        link_id,
        "teams = ?, teams_observed_at = ?",
        (body, obs.observed_at),
        "teams_observed_at IS NULL OR teams_observed_at < ?",
        (obs.observed_at,),
        due_at,
    )


def record_rc(
    conn: sqlite3.Connection, link_id: str, obs: RcObservation, due_at: float | None = None
) -> bool:
    """Store a RingCentral observation if it is newer; True when applied."""
    body = dumps(rc_to_dict(obs))
    at = obs.observed_at
    if obs.sequence is not None and obs.verified:
        # Confirmed by a read: its number restarts the count, unless something newer is held.
        return _observe(
            conn,
            link_id,
            "rc = ?, rc_seq = ?, rc_observed_at = ?",
            (body, obs.sequence, at),
            "rc_observed_at IS NULL OR rc_observed_at <= ?",
            (at,),
            due_at,
        )
    if obs.sequence is not None:
        return _observe(
            conn,
            link_id,
            "rc = ?, rc_seq = ?, rc_observed_at = ?",
            (body, obs.sequence, at),
            "rc_seq IS NULL OR rc_seq < ?",
            (obs.sequence,),
            due_at,
        )
    return _observe(
        conn,
        link_id,
        "rc = ?, rc_observed_at = ?",
        (body, at),
        "rc_observed_at IS NULL OR rc_observed_at < ?",
        (at,),
        due_at,
    )


def observe_teams(
    conn: sqlite3.Connection, link_id: str, obs: TeamsObservation, due_at: float | None
) -> UserLink | None:
    """`record_teams`, answering the link as written (None when not newer)."""
    if not record_teams(conn, link_id, obs, due_at):
        return None
    return link_from_row(_require_link(conn, link_id))


def observe_rc(
    conn: sqlite3.Connection, link_id: str, obs: RcObservation, due_at: float | None
) -> UserLink | None:
    """`record_rc`, answering the link as written (None when not newer)."""
    if not record_rc(conn, link_id, obs, due_at):
        return None
    return link_from_row(_require_link(conn, link_id))


def mark_link_due(conn: sqlite3.Connection, link_id: str, due_at: float) -> None:
    """Make a link due by `due_at` at the latest."""
    cursor = conn.execute(
        "UPDATE links SET due_at = MIN(COALESCE(due_at, ?), ?) WHERE id = ?",
        (due_at, due_at, link_id),
    )
    if cursor.rowcount == 0:
        raise NotFoundError(f"no user link {link_id!r}")


def set_engine_state(
    conn: sqlite3.Connection,
    link_id: str,
    state: Mapping[str, Any],
    expected_version: int,
    due: Due | None = None,
) -> int:
    """Replace engine state under optimistic concurrency; the new version."""
    assignments = "engine_state = ?, engine_version = engine_version + 1"
    values: tuple[Any, ...] = (dumps(dict(state)),)
    if due is not None:
        # Still the due time the decision read: the engine's next timer replaces it. Moved
        # by an observation since: keep the earlier of the two.
        assignments += (
            ", due_at = CASE WHEN due_at IS ? THEN ?"
            " WHEN ? IS NULL THEN due_at ELSE MIN(COALESCE(due_at, ?), ?) END"
        )
        values = (*values, due.seen, due.next, due.next, due.next, due.next)
    cursor = conn.execute(
        f"UPDATE links SET {assignments} WHERE id = ? AND engine_version = ?",
        (*values, link_id, expected_version),
    )
    if cursor.rowcount == 0:
        row = _require_link(conn, link_id)
        raise ConflictError(
            f"engine state of {link_id!r} is at version {row['engine_version']}, "
            f"not {expected_version}"
        )
    return expected_version + 1


def due_links(conn: sqlite3.Connection, before: float, limit: int) -> list[tuple[str, float]]:
    """Links due by `before`, earliest first."""
    rows = conn.execute(
        "SELECT id, due_at FROM links WHERE due_at <= ? ORDER BY due_at LIMIT ?",
        (before, limit),
    ).fetchall()
    return [(row[0], float(row[1])) for row in rows]


class SqliteLinks:
    """User links in the `links` table."""

    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db

    async def upsert_links(self, links: Iterable[UserLink], now: float | None = None) -> int:
        """Insert or refresh links, one transaction per batch."""
        stamp = time.time() if now is None else now
        batch: list[UserLink] = []
        written = 0
        for link in links:
            batch.append(link)
            if len(batch) >= UPSERT_BATCH:
                written += await self.db.write(upsert_links, batch, stamp)
                batch = []
        if batch:
            written += await self.db.write(upsert_links, batch, stamp)
        return written

    async def get_link(self, link_id: str) -> UserLink | None:
        """The link with this id."""
        return await self.db.read(get_link_where, "id", link_id)

    async def get_link_by_teams_id(self, teams_user_id: str) -> UserLink | None:
        """The link of this Teams user."""
        return await self.db.read(get_link_where, "teams_user_id", teams_user_id)

    async def get_link_by_rc_extension(self, extension_id: str) -> UserLink | None:
        """The link of this RingCentral extension."""
        return await self.db.read(get_link_where, "rc_extension_id", extension_id)

    async def get_link_by_email(self, email: str) -> UserLink | None:
        """The link with this normalised email."""
        return await self.db.read(get_link_where, "email", normalise_email(email))

    async def list_links(
        self,
        *,
        state: LinkState | None = None,
        sync_enabled: bool | None = None,
        search: str | None = None,
        after: str | None = None,
        limit: int = 100,
        failed: bool | None = None,
    ) -> LinkPage:
        """A page of links by id."""
        return await self.db.read(list_links, state, sync_enabled, search, after, limit, failed)

    async def count_links_by_state(self) -> dict[str, int]:
        """Links per state."""
        return await self.db.read(count_links_by_state)

    async def count_synced_links(self) -> int:
        """Links with sync enabled."""
        row = await self.db.read(
            lambda c: c.execute("SELECT COUNT(*) FROM links WHERE sync_enabled = 1").fetchone()
        )
        return int(row[0])

    async def update_link(self, link_id: str, now: float | None = None, **changes: Any) -> UserLink:
        """Patch one link."""
        stamp = time.time() if now is None else now
        return await self.db.write(update_link, link_id, changes, stamp)

    async def delete_link(self, link_id: str) -> bool:
        """Remove one link."""
        cursor = await self.db.write(
            lambda c: c.execute("DELETE FROM links WHERE id = ?", (link_id,))
        )
        return cursor.rowcount == 1

    async def record_teams_observation(self, link_id: str, observation: TeamsObservation) -> bool:
        """Store Teams presence if newer."""
        return await self.db.write(record_teams, link_id, observation)

    async def record_rc_observation(self, link_id: str, observation: RcObservation) -> bool:
        """Store RingCentral presence if newer."""
        return await self.db.write(record_rc, link_id, observation)

    async def observe_teams(
        self, link_id: str, observation: TeamsObservation, *, due_at: float | None = None
    ) -> UserLink | None:
        """Store Teams presence if newer; the link as written."""
        return await self.db.write(observe_teams, link_id, observation, due_at)

    async def observe_rc(
        self, link_id: str, observation: RcObservation, *, due_at: float | None = None
    ) -> UserLink | None:
        """Store RingCentral presence if newer; the link as written."""
        return await self.db.write(observe_rc, link_id, observation, due_at)

    async def mark_link_due(self, link_id: str, due_at: float) -> None:
        """Make the link due by `due_at`."""
        await self.db.write(mark_link_due, link_id, due_at)

    async def set_engine_state(
        self,
        link_id: str,
        state: Mapping[str, Any],
        expected_version: int,
        due: Due | None = None,
    ) -> int:
        """Replace engine state under optimistic concurrency."""
        return await self.db.write(set_engine_state, link_id, state, expected_version, due)

    async def due_links(self, before: float, limit: int) -> list[tuple[str, float]]:
        """Links due by `before`, earliest first."""
        return await self.db.read(due_links, before, limit)
