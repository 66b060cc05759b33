"""A turn that fails is logged with a correlation id, and the person gets an apology quoting it."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from botbuilder.core import TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ChannelAccount, ConversationAccount

from bot.service import BotChannel, TeamsBot
from presence_sync.admin import Admin
from presence_sync.graph import GraphClient
from presence_sync.providers import NotConnectedError, RcWriter
from presence_sync.ringcentral import RingCentralClient
from presence_sync.secrets import SecretBox
from presence_sync.settings import Settings
from presence_sync.store import SqliteStore


class Unconnected:
    """Providers before anything is connected."""

    async def graph(self) -> GraphClient:
        """Not connected."""
        raise NotConnectedError("Microsoft is not connected")

    async def ringcentral(self) -> RingCentralClient:
        """Not connected."""
        raise NotConnectedError("RingCentral is not connected")

    async def ringcentral_writers(self) -> list[RcWriter]:
        """Nobody to write as."""
        return []

    async def sync_accounts(self) -> list[str]:
        """None."""
        return []

    async def report_failure(self, provider: str, error: BaseException) -> None:
        """Nothing to report to."""


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[TeamsBot]:
    """The product's bot over an SQLite store (its turns are driven by a test adapter)."""
    store = SqliteStore(tmp_path / "store.db", SecretBox(SecretBox.generate_key()))
    await store.open()
    settings = Settings(data_dir=tmp_path)
    providers = Unconnected()
    channel = BotChannel(settings, store, providers)
    yield TeamsBot(channel, store, Admin(store, time.time), providers, time.time)
    await store.close()


async def test_a_failed_turn_is_logged_with_an_id_the_apology_quotes(
    bot: TeamsBot, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = TestAdapter()
    activity = Activity(
        type="message",
        text="status",
        channel_id="msteams",
        service_url="https://localhost/connector/",
        from_property=ChannelAccount(id="29:someone", name="Someone"),
        recipient=ChannelAccount(id="28:bot"),
        conversation=ConversationAccount(id="a:chat", conversation_type="personal"),
    )
    turn = TurnContext(adapter, activity)

    with caplog.at_level(logging.ERROR, logger="bot.service"):
        await bot._on_turn_error(turn, RuntimeError("the store went away mid-turn"))

    (record,) = [r for r in caplog.records if "bot turn failed" in r.getMessage()]
    assert record.exc_info is not None
    assert "the store went away mid-turn" in str(record.exc_info[1])
    correlation = record.getMessage().split("correlation id ")[1].split(",")[0]
    (apology,) = adapter.activity_buffer
    card = apology.attachments[0].content
    assert correlation in str(card)
    assert "the store went away" not in str(card)  # the person sees the id, not the internals
