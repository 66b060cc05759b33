"""Every presence write the providers receive is in the audit log exactly once, even when the
server stops with the answer still to come or the store cannot record the write."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from presence_sync.errors import StoreUnavailableError
from presence_sync.secrets import SecretBox
from presence_sync.store import AuditDetails, AuditEntry, SqliteStore, Store
from presence_sync.sync.reconciler import SENDING, UNKNOWN_OUTCOME
from tests.sync.conftest import MakeHarness
from tests.sync.harness import until
from tests.sync.test_scenarios import _meeting, _sync


async def _rc_writes(store: Store, email: str) -> list[AuditEntry]:
    entries = await store.list_audit(limit=200)
    return [e for e in entries if e.action == "ringcentral.presence" and e.user == email]


async def test_a_write_the_server_stopped_holding_is_audited_as_unknown_after_the_restart(
    make_harness: MakeHarness, any_store: Store
) -> None:
    first = await make_harness(any_store)
    email = await first.plain_user()
    await _sync(first, email)
    # RingCentral answers slowly, so the server dies with the meeting's Busy under way.
    await first.sb.control("POST", "/_sandbox/faults", {"target": "ringcentral", "delay_ms": 4000})
    await _meeting(first, email, "start")
    await first.observe(email)

    async def sending() -> bool:
        return [e.details["result"] for e in await _rc_writes(any_store, email)] == [SENDING]

    await until(sending, limit=20.0, step=0.02)
    (under_way,) = await _rc_writes(any_store, email)
    assert under_way.details["write"] == {"userStatus": "Busy"}
    await first.stop()
    await first.sb.control("DELETE", "/_sandbox/faults")

    second = await make_harness(any_store, owner="replica-2", refresh=False)

    # The restarted server audits that write as of unknown outcome and, the person being
    # still in the meeting, writes the Busy again at once, not after the half hour a write
    # may wait for RingCentral's budget.
    async def written_again() -> bool:
        results = [e.details["result"] for e in await _rc_writes(any_store, email)]
        return results == ["applied", UNKNOWN_OUTCOME]  # newest first

    await until(written_again, limit=20.0, step=0.05)
    again, entry = await _rc_writes(any_store, email)
    assert (entry.id, entry.at, entry.details["write"]) == (
        under_way.id,
        under_way.at,
        {"userStatus": "Busy"},
    )
    assert "server stopped" in str(entry.details["message"])
    assert again.details["write"] == {"userStatus": "Busy"}
    assert await any_store.list_open_audit() == []
    assert (await second.rc(email))["userStatus"] == "Busy"


class StoreDownForAudit(SqliteStore):
    """A real SQLite store whose audit log does not answer: `failures` times when a write is
    about to be sent, `close_failures` times when its outcome comes back."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failures = self.close_failures = 0
        # The store's operations are its parts' bound methods: put the failing ones in front.
        self._real_open, self._real_close = self.open_audit, self.close_audit
        self.open_audit = self._failing_open  # type: ignore[method-assign]
        self.close_audit = self._failing_close  # type: ignore[method-assign]

    async def _failing_open(self, entry: AuditEntry) -> AuditEntry:
        if self.failures > 0:
            self.failures -= 1
            raise StoreUnavailableError("the store is not answering")
        return await self._real_open(entry)

    async def _failing_close(self, entry_id: str, details: AuditDetails, **kw: Any) -> bool:
        if self.close_failures > 0:
            self.close_failures -= 1
            raise StoreUnavailableError("the store is not answering")
        return await self._real_close(entry_id, details, **kw)


@pytest.fixture
async def audit_down(tmp_path: Path) -> AsyncIterator[StoreDownForAudit]:
    """An open StoreDownForAudit store."""
    store = StoreDownForAudit(tmp_path / "store.db", SecretBox(SecretBox.generate_key()))
    await store.open()
    yield store
    await store.close()


async def test_a_write_that_cannot_be_recorded_is_not_sent_and_goes_out_once_the_store_answers(
    make_harness: MakeHarness, audit_down: StoreDownForAudit
) -> None:
    h = await make_harness(audit_down)
    email = await h.plain_user()
    await _sync(h, email)
    sent_before = h.service.dispatcher.sent
    audit_down.failures = 1
    await _meeting(h, email, "start")
    await h.observe(email)

    # The refused write was never sent; the engine's retry (after its back-off) was.
    async def busy() -> bool:
        return (await h.rc(email))["userStatus"] == "Busy"

    await until(busy, limit=30.0, step=1.0)  # reads spend the Light budget: sparingly
    assert audit_down.failures == 0  # the store refused once
    await h.settle()
    writes = await _rc_writes(audit_down, email)
    applied = [e for e in writes if e.details["result"] == "applied"]
    assert len(applied) == 1
    assert applied[0].details["write"] == {"userStatus": "Busy"}
    assert h.service.dispatcher.sent - sent_before == 1


async def test_an_outcome_the_store_could_not_take_at_once_is_recorded_when_it_answers(
    make_harness: MakeHarness, audit_down: StoreDownForAudit
) -> None:
    h = await make_harness(audit_down)
    email = await h.plain_user()
    await _sync(h, email)
    audit_down.close_failures = 2
    await _meeting(h, email, "start")
    await h.observe_and_settle(email)
    assert audit_down.close_failures == 0

    (entry,) = await _rc_writes(audit_down, email)
    assert (entry.details["result"], entry.details["write"]) == ("applied", {"userStatus": "Busy"})
    # The engine took the acknowledgement too: the Busy is ours, and goes when the meeting ends.
    record = (await h.link(email)).engine_state["rc_writes"][0]
    assert record["applied_at"] is not None
    await _meeting(h, email, "end")
    await h.observe_and_settle(email)
    assert (await h.rc(email))["userStatus"] == "Available"
