"""Who goes in which shard, and how often polling may read: tables a person can check."""

from __future__ import annotations

import pytest

from presence_sync.watch import plan_polling, plan_shards


def ids(n: int, start: int = 0) -> list[str]:
    """User ids u0000, u0001, ..."""
    return [f"u{i:04d}" for i in range(start, start + n)]


def test_1400_users_and_two_accounts_fill_two_shards_and_leave_100_unsubscribed() -> None:
    plan = plan_shards(["sync1", "sync2"], ids(1400), {})

    assert [len(plan[a]) for a in ("sync1", "sync2")] == [650, 650]
    covered = set(plan["sync1"]) | set(plan["sync2"])
    assert len(covered) == 1300
    assert len(set(ids(1400)) - covered) == 100


def test_a_new_user_changes_only_the_shard_with_room() -> None:
    accounts = ["a", "b", "c"]
    before = plan_shards(accounts, ids(1000), {})
    after = plan_shards(accounts, [*ids(1000), "new"], before)

    changed = [a for a in accounts if after.get(a) != before.get(a)]
    assert changed == ["b"]
    assert "new" in after["b"]


def test_an_unlinked_user_changes_only_their_own_shard() -> None:
    accounts = ["a", "b"]
    before = plan_shards(accounts, ids(900), {})
    leaver = before["a"][10]
    after = plan_shards(accounts, [u for u in ids(900) if u != leaver], before)

    assert after["b"] == before["b"]
    assert leaver not in after["a"]


def test_when_a_sync_account_goes_its_users_move_into_free_room_only() -> None:
    before = plan_shards(["a", "b", "c"], ids(1500), {})
    assert [len(before[a]) for a in "abc"] == [650, 650, 200]
    after = plan_shards(["a", "c"], ids(1500), before)

    assert after["a"] == before["a"]
    assert set(before["c"]) <= set(after["c"])
    assert len(after["c"]) == 650


def test_full_shards_leave_newcomers_to_polling_without_churn() -> None:
    before = plan_shards(["a", "b"], ids(1400), {})
    after = plan_shards(["a", "b"], [*ids(1400), "late"], before)

    assert after == before


@pytest.mark.parametrize(
    ("total", "uncovered", "budget", "fast", "interval", "calls"),
    [
        (500, 500, 1500, True, 1.0, 1),  # one call a second: 10% of the 20% share
        (1400, 100, 1500, True, 1.0, 3),
        (5000, 3700, 1500, True, 1.0, 8),
        (13_000, 11_700, 1500, True, 2.0, 20),
        (20_000, 18_700, 1500, False, 2.9, 29),  # only the unsubscribed, as fast as allowed
        (20_000, 18_700, 10_000, True, 1.0, 31),  # the larger published budget fits everyone
        (0, 0, 1500, False, 1.0, 0),
    ],
)
def test_polling_plan_within_a_fifth_of_the_budget(
    total: int, uncovered: int, budget: int, fast: bool, interval: float, calls: int
) -> None:
    plan = plan_polling(
        total=total, uncovered=uncovered, budget_per_30s=budget, share=0.2, min_interval=1.0
    )

    assert (plan.fast, round(plan.interval, 3), plan.requests_per_poll) == (fast, interval, calls)
    assert plan.requests_per_poll / plan.interval <= budget * 0.2 / 30 + 1e-9


def test_throttling_stretches_the_interval() -> None:
    calm = plan_polling(total=500, uncovered=500, budget_per_30s=1500, share=0.2, min_interval=1)
    throttled = plan_polling(
        total=500, uncovered=500, budget_per_30s=1500, share=0.2, min_interval=1, backoff=4.0
    )

    assert throttled.interval == 4 * calm.interval
