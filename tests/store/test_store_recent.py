"""Settings and connection records read through a store object are recent copies: what this
object writes shows at once, what another replica writes shows within STALE_SECONDS."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from presence_sync.errors import ConflictError
from presence_sync.secrets import SecretBox
from presence_sync.store import (
    Connection,
    ConnectionStatus,
    MongoStore,
    OrgSettings,
    SqliteStore,
    Store,
    SyncMode,
)
from presence_sync.store.recent import STALE_SECONDS
from tests.mongo_server import MongoTarget


@pytest.fixture(params=["sqlite", "mongo"])
async def replicas(
    request: pytest.FixtureRequest, tmp_path: Path, box: SecretBox
) -> AsyncIterator[tuple[Store, Store]]:
    """Two store objects on one database, as two replicas have."""
    if request.param == "sqlite":
        pair: tuple[Store, Store] = (
            SqliteStore(tmp_path / "store.db", box),
            SqliteStore(tmp_path / "store.db", box),
        )
    else:
        target: MongoTarget = request.getfixturevalue("mongo_target")
        name = f"{target.prefix}{uuid.uuid4().hex[:10]}"
        pair = (MongoStore(target.uri, name, box), MongoStore(target.uri, name, box))
    for store in pair:
        await store.open()
    yield pair
    if isinstance(pair[0], MongoStore):
        await pair[0].drop_database()
    for store in pair:
        await store.close()


async def test_settings_saved_here_show_at_once_and_another_replicas_within_the_bound(
    replicas: tuple[Store, Store],
) -> None:
    here, there = replicas
    assert (await there.get_settings()).version == 0  # now a recent copy there
    saved = await here.save_settings(OrgSettings(sync_mode=SyncMode.DISABLED), 0)
    assert await here.get_settings() == saved

    await asyncio.sleep(STALE_SECONDS + 0.05)
    assert await there.get_settings() == saved
    # A save from a copy that is behind is refused by the store, not decided from the copy.
    again = await there.save_settings(OrgSettings(sync_mode=SyncMode.ENABLED), 1)
    assert again.version == 2
    with pytest.raises(ConflictError):
        await here.save_settings(OrgSettings(), saved.version)
    assert await there.get_settings() == again


async def test_a_connection_changed_here_shows_at_once_and_anothers_within_the_bound(
    replicas: tuple[Store, Store],
) -> None:
    here, there = replicas
    assert await there.get_connection("ringcentral") is None
    await here.put_connection(Connection("ringcentral", ConnectionStatus.CONNECTED, secret="t"))
    connected = await here.get_connection("ringcentral")
    assert connected is not None
    assert connected.status is ConnectionStatus.CONNECTED

    await asyncio.sleep(STALE_SECONDS + 0.05)
    seen = await there.get_connection("ringcentral")
    assert seen is not None
    assert seen.status is ConnectionStatus.CONNECTED
    await there.put_connection(Connection("ringcentral", ConnectionStatus.BROKEN, reason="revoked"))
    broken = await there.get_connection("ringcentral")
    assert broken is not None
    assert broken.status is ConnectionStatus.BROKEN
    assert await there.delete_connection("ringcentral")
    assert await there.get_connection("ringcentral") is None

    await asyncio.sleep(STALE_SECONDS + 0.05)
    assert await here.get_connection("ringcentral") is None
