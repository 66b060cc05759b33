"""What a refused sign-in start tells the caller, on a real store: the wait in real seconds
whatever the product's clock, a full store turning new callers away, and a store that cannot
count refusing the start instead of letting it through."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from presence_sync.errors import StoreUnavailableError, TooManyRequestsError
from presence_sync.secrets import SecretBox
from presence_sync.store import SqliteStore
from presence_sync.web.auth.limits import StartLimit, login_limit, step_limit


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """An open SQLite store."""
    opened = SqliteStore(tmp_path / "store.db", SecretBox(SecretBox.generate_key()))
    await opened.open()
    yield opened
    await opened.close()


async def test_the_wait_is_in_real_seconds_when_the_product_clock_runs_faster(
    store: SqliteStore,
) -> None:
    clock = Clock()
    limit = step_limit(store, clock, time_scale=60.0)  # a product minute is a real second
    for _ in range(10):
        await limit.take("admin-oid")
    clock.now += 30.0  # half a product minute

    with pytest.raises(TooManyRequestsError) as refused:
        await limit.take("admin-oid")

    assert refused.value.retry_after == 1
    assert str(refused.value) == (
        "10 sign-in steps were started by you in the last minute, the most allowed; "
        "wait 1 second before starting another"
    )
    clock.now += 30.0
    await limit.take("admin-oid")


async def test_the_wait_names_when_the_oldest_start_leaves_the_minute(store: SqliteStore) -> None:
    clock = Clock()
    limit = login_limit(store, clock)
    for _ in range(20):
        clock.now += 1.0
        await limit.take("203.0.113.7")

    with pytest.raises(TooManyRequestsError, match="from this address") as refused:
        await limit.take("203.0.113.7")
    assert refused.value.retry_after == 41  # the first was 19 s ago
    await limit.take("198.51.100.1")  # another address has its own twenty


async def test_a_new_caller_waits_while_too_many_are_starting(store: SqliteStore) -> None:
    clock = Clock()
    limit = StartLimit(store, "logins", 20, "sign-ins", "from this address", clock=clock, most=3)
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        await limit.take(address)

    with pytest.raises(TooManyRequestsError) as refused:
        await limit.take("192.0.2.4")

    assert str(refused.value) == (
        "too many sign-ins are being started right now; try again in a minute"
    )
    assert refused.value.retry_after == 60
    await limit.take("192.0.2.1")  # who is counted already goes on


async def test_a_start_the_store_cannot_count_is_refused(tmp_path: Path) -> None:
    never_opened = SqliteStore(tmp_path / "store.db", SecretBox(SecretBox.generate_key()))
    limit = step_limit(never_opened, Clock())

    with pytest.raises(StoreUnavailableError):
        await limit.take("admin-oid")
