"""Behaviour of each backend: SQLite files shared by two stores, MongoDB outages, URLs."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest

from presence_sync.errors import StoreError, StoreUnavailableError
from presence_sync.secrets import SecretBox
from presence_sync.store import (
    DEFAULT_MONGO_DATABASE,
    AuditDetails,
    AuditEntry,
    MongoStore,
    SqliteStore,
    UserLink,
    open_store,
)
from presence_sync.store.sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from tests.mongo_server import free_port, run_ferretdb

NOW = 1_800_000_000.0


async def test_two_sqlite_stores_on_one_file_never_share_a_claim(
    tmp_path: Path, box: SecretBox
) -> None:
    path = tmp_path / "shared.db"
    first, second = SqliteStore(path, box), SqliteStore(path, box)
    await first.open()
    await second.open()
    try:
        users = [f"user-{n:03d}" for n in range(80)]
        for key in users:
            await first.mark_dirty(key, priority=1, due_at=NOW, reason="webhook")
        jobs = [(await first.create_job(f"k{n}", "admin", now=NOW + n))[0].id for n in range(8)]
        seen: Counter[str] = Counter()
        jobs_seen: Counter[str] = Counter()

        async def worker(store: SqliteStore, name: str) -> None:
            while batch := await store.claim_dirty(name, limit=3, lease_seconds=300, now=NOW):
                seen.update(e.user_key for e in batch)
                await store.ack_dirty(name, [e.user_key for e in batch])
            while job := await store.claim_job(name, 300, NOW + 100):
                jobs_seen[job.id] += 1

        await asyncio.gather(
            *(worker(first, f"a{n}") for n in range(4)),
            *(worker(second, f"b{n}") for n in range(4)),
        )
        assert set(seen) == set(users)
        assert max(seen.values()) == 1
        assert set(jobs_seen) == set(jobs)
        assert max(jobs_seen.values()) == 1
        assert await second.dirty_count() == 0
    finally:
        await first.close()
        await second.close()


async def test_sqlite_file_uses_wal_keeps_data_across_reopen_and_records_schema(
    tmp_path: Path, box: SecretBox
) -> None:
    path = tmp_path / "nested" / "folder" / "store.db"
    store = SqliteStore(path, box)
    await store.open()
    await store.upsert_links([UserLink(id="a", email="a@contoso.com")])
    await store.mark_dirty("a", priority=1, due_at=NOW, reason="webhook")
    await store.close()
    await store.close()  # closing twice is harmless

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        assert version == SCHEMA_VERSION

    reopened = SqliteStore(path, box)
    await reopened.open()
    try:
        assert await reopened.get_link("a") is not None
        assert await reopened.dirty_count() == 1  # the queue survives a restart
    finally:
        await reopened.close()


async def test_a_version_3_database_keeps_its_audit_log_when_upgraded(
    tmp_path: Path, box: SecretBox
) -> None:
    # A database written by the release before audit entries could be held open.
    path = tmp_path / "v3.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version in (1, 2, 3):
            conn.executescript(MIGRATIONS[version])
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        conn.execute(
            "INSERT INTO audit (at, actor, action, user, details) VALUES (?, ?, ?, ?, ?)",
            (NOW, "system", "ringcentral.presence", "ann@contoso.com", '{"result": "applied"}'),
        )
    store = SqliteStore(path, box)
    await store.open()
    try:
        (kept,) = await store.list_audit()
        assert (kept.user, kept.details) == ("ann@contoso.com", AuditDetails(result="applied"))
        assert await store.list_open_audit() == []  # an old entry is never taken as under way
        assert not await store.close_audit(kept.id, AuditDetails(result="unknown"))
        opened = await store.open_audit(AuditEntry(at=NOW + 1, actor="system", action="x"))
        assert await store.list_open_audit() == [opened]
    finally:
        await store.close()


async def test_closed_store_says_so(tmp_path: Path, box: SecretBox) -> None:
    store = SqliteStore(tmp_path / "x.db", box)
    with pytest.raises(StoreUnavailableError, match="not open"):
        await store.ping()
    await store.close()  # never opened: harmless


async def test_unwritable_sqlite_path_is_unavailable_with_the_reason(
    tmp_path: Path, box: SecretBox
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = SqliteStore(blocker / "store.db", box)
    with pytest.raises(StoreUnavailableError, match=r"SQLite store .*store\.db"):
        await store.open()


async def test_mongo_outage_fails_fast_and_recovers_without_reopening(box: SecretBox) -> None:
    port = free_port()
    store = MongoStore(f"mongodb://127.0.0.1:{port}/", "outage", box, server_selection_timeout=1)
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match=rf"127\.0\.0\.1:{port}") as refused:
        await store.open()
    assert time.monotonic() - started < 5
    assert "Topology" not in str(refused.value)  # a readable reason, not the driver's dump
    await store.close()
    if os.environ.get("MONGODB_URI"):
        return  # the rest stops and starts a server, which only the FerretDB harness can do
    with run_ferretdb(port=port):
        await store.open()
        await store.ping()
        await store.upsert_links([UserLink(id="a", email="a@contoso.com")])
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="unreachable"):
        await store.ping()
    assert time.monotonic() - started < 5
    with pytest.raises(StoreUnavailableError):
        await store.get_link("a")
    with run_ferretdb(port=port):
        await store.ping()  # the same client reconnects by itself
    await store.close()


def test_open_store_reads_sqlite_urls(box: SecretBox) -> None:
    key = SecretBox.generate_key()
    relative = open_store("sqlite:///./data/presence-sync.db", key)
    assert isinstance(relative, SqliteStore)
    assert relative.path == "./data/presence-sync.db"
    absolute = open_store("sqlite:////var/lib/presence/sync.db", key.encode())
    assert isinstance(absolute, SqliteStore)
    assert absolute.path == "/var/lib/presence/sync.db"
    memory = open_store("sqlite:///:memory:", key)
    assert isinstance(memory, SqliteStore)
    assert memory.path == ":memory:"


def test_open_store_reads_mongodb_urls() -> None:
    key = SecretBox.generate_key()
    named = open_store("mongodb://user:pw@db1:27017,db2:27017/presence?replicaSet=rs0", key)
    assert isinstance(named, MongoStore)
    assert named.database_name == "presence"
    default = open_store("mongodb://127.0.0.1:27017", key)
    assert isinstance(default, MongoStore)
    assert default.database_name == DEFAULT_MONGO_DATABASE
    srv = open_store("mongodb+srv://cluster0.example.net/ps", key)
    assert isinstance(srv, MongoStore)
    assert srv.database_name == "ps"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("bogus://x", "unknown store scheme 'bogus'"),
        ("sqlite://host/file.db", "three slashes"),
        ("sqlite:///", "names no file"),
        ("mongodb:///db", "names no host"),
        ("mongodb://h/bad.name", "not allowed"),
    ],
)
def test_open_store_rejects_bad_urls_with_the_reason(url: str, problem: str) -> None:
    with pytest.raises(StoreError, match=problem):
        open_store(url, SecretBox.generate_key())


def test_open_store_rejects_a_malformed_key() -> None:
    with pytest.raises(StoreError, match="SECRET_KEY"):
        open_store("sqlite:///x.db", b"too-short")


async def test_memory_store_works(box: SecretBox) -> None:
    store = open_store("sqlite:///:memory:", SecretBox.generate_key())
    await store.open()
    try:
        await store.upsert_links([UserLink(id="a", email="A@b.c")])
        found = await store.get_link_by_email("a@b.c")
        assert found is not None
        assert found.id == "a"
    finally:
        await store.close()


async def test_a_database_from_a_newer_release_is_refused_not_downgraded(
    tmp_path: Path, box: SecretBox
) -> None:
    path = tmp_path / "store.db"
    store = SqliteStore(path, box)
    await store.open()
    await store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer than this release"):
        await store.open()
    with pytest.raises(StoreUnavailableError, match="not open"):
        await store.ping()
