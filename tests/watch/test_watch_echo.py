"""The echo of our own acknowledged RingCentral write is recorded but sends nobody to the
reconciler: deciding on it would change nothing, and it cost a third of a change's store
commands. Anything else a RingCentral event shows still marks the person dirty."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from presence_sync.domain import OrgSettings
from presence_sync.engine import (
    RingCentralObserved,
    SetRingCentralPresence,
    SyncEnabled,
    TeamsObserved,
    UserState,
    WriteApplied,
    decide,
)
from presence_sync.ringcentral.models import RcPresence
from presence_sync.secrets import SecretBox
from presence_sync.store import RcObservation, SqliteStore, Store, UserLink
from presence_sync.watch.observe import Observer

NOW = 1_800_000_000.0
EXT = "62000000001"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """An open SQLite store holding one person whose meeting Busy RingCentral acknowledged."""
    opened = SqliteStore(tmp_path / "store.db", SecretBox(SecretBox.generate_key()))
    await opened.open()
    link = UserLink("ann", "ann@contoso.com", teams_user_id="t-ann", rc_extension_id=EXT)
    await opened.upsert_links([link])
    available = RcObservation("Available", "TakeAllCalls", None, None, "NoCall", 7, NOW)
    await opened.record_rc_observation("ann", available)
    state, settings = UserState(), OrgSettings()
    for event in (
        SyncEnabled(),
        RingCentralObserved(
            user_status="Available",
            dnd_status="TakeAllCalls",
            telephony_status="NoCall",
            sequence=7,
            observed_at=NOW,
        ),
        TeamsObserved("Busy", "InAMeeting", "2", NOW + 1),
    ):
        decision = decide(state, event, settings, NOW + 1)
        state = decision.state
    (busy,) = [c for c in decision.commands if isinstance(c, SetRingCentralPresence)]
    state = decide(state, WriteApplied(busy, sent_at=NOW + 2), settings, NOW + 2).state
    stored = await opened.get_link("ann")
    assert stored is not None
    await opened.set_engine_state("ann", state.to_dict(), stored.engine_version)
    yield opened
    await opened.close()


def _event(sequence: int, user_status: str, dnd: str = "TakeAllCalls") -> RcPresence:
    return RcPresence(
        EXT,
        user_status=user_status,
        telephony_status="NoCall",
        dnd_status=dnd,
        sequence=sequence,
        reported_at=NOW + 3,
    )


async def test_our_busys_echo_is_recorded_and_marks_nobody_dirty(store: Store) -> None:
    observer = Observer(store, lambda: NOW + 3, verify=lambda _event: None)
    assert await observer.rc(_event(8, "Busy"), reason="rc-notification")
    link = await store.get_link("ann")
    assert link is not None
    assert link.rc is not None
    assert (link.rc.user_status, link.rc_sequence) == ("Busy", 8)
    assert await store.dirty_count() == 0


@pytest.mark.parametrize(
    ("user_status", "dnd"),
    [("Away", "TakeAllCalls"), ("Busy", "DoNotAcceptAnyCalls"), ("Available", "TakeAllCalls")],
)
async def test_an_event_showing_anything_but_our_write_marks_the_person_dirty(
    store: Store, user_status: str, dnd: str
) -> None:
    observer = Observer(store, lambda: NOW + 3, verify=lambda _event: None)
    assert await observer.rc(_event(8, user_status, dnd), reason="rc-notification")
    assert await store.dirty_count() == 1
