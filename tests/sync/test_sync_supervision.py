"""Reconciler workers that hit a bug are restarted and sync goes on (DESIGN §2: nothing stops).

The one double: an SQLite store whose `claim_dirty` raises KeyError on its first calls, as a
bug reading a queue entry would. The rest is the real sync service against the sandbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from presence_sync.secrets import SecretBox
from presence_sync.store import SqliteStore
from presence_sync.store.models import DirtyEntry
from tests.sync.conftest import MakeHarness
from tests.sync.harness import until
from tests.sync.test_scenarios import ADMIN, _meeting, _sync


class BuggyClaims(SqliteStore):
    """A real SQLite store, except that claiming dirty users fails `failures` times."""

    def __init__(self, *args: Any, failures: int = 3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failures = failures
        # The store's operations are its parts' bound methods: put the buggy one in front.
        self._real_claim = self.claim_dirty
        self.claim_dirty = self._buggy_claim  # type: ignore[method-assign]

    async def _buggy_claim(self, *args: Any, **kwargs: Any) -> list[DirtyEntry]:
        """KeyError the first `failures` times, then the real claim."""
        if self.failures > 0:
            self.failures -= 1
            raise KeyError("priority")
        return await self._real_claim(*args, **kwargs)


@pytest.fixture
async def buggy_store(tmp_path: Path) -> AsyncIterator[BuggyClaims]:
    """An open BuggyClaims store."""
    store = BuggyClaims(tmp_path / "store.db", SecretBox(SecretBox.generate_key()))
    await store.open()
    yield store
    await store.close()


async def test_workers_failing_three_times_restart_and_a_meeting_still_reaches_ringcentral(
    buggy_store: BuggyClaims, make_harness: MakeHarness
) -> None:
    h = await make_harness(buggy_store)

    def restarts() -> int:
        return sum(x.restarts for x in h.supervisor.health() if x.name.startswith("sync-worker"))

    async def restarted_three_times() -> bool:
        return restarts() == 3 and buggy_store.failures == 0

    await until(restarted_three_times, limit=30)
    email = await h.plain_user()
    await h.admin.set_call_presence_customisation(ADMIN, True)
    await h.admin.set_rules(ADMIN, {"In a meeting": "Do not accept any calls"})
    await _sync(h, email)

    await _meeting(h, email, "start")
    await h.observe_and_settle(email)

    rc = await h.rc(email)
    assert (rc["userStatus"], rc["dndStatus"]) == ("Busy", "DoNotAcceptAnyCalls")
    assert restarts() == 3
    assert h.supervisor.unhealthy() == []
