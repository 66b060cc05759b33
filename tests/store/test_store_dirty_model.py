"""Property: the dirty-user queue behaves like a small reference model, on both stores.

Random interleavings of marks, claims by several workers, acknowledgements and the clock
moving on must never hand one user to two live claims, never lose a mark and always keep
the most urgent request for each user.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from presence_sync.store import Store

LEASE = 30.0
USERS = ["ann", "bob", "cat", "dan"]
WORKERS = ["w1", "w2", "w3"]


@dataclass
class Entry:
    """The model's view of one queued user."""

    priority: int
    due_at: float
    claimed_by: str | None = None
    claimed_until: float = 0.0
    pending: tuple[int, float] | None = None


@dataclass
class Model:
    """Reference semantics of mark / claim / ack."""

    entries: dict[str, Entry] = field(default_factory=dict)

    def mark(self, user: str, priority: int, due_at: float) -> None:
        entry = self.entries.get(user)
        if entry is None:
            self.entries[user] = Entry(priority, due_at)
        elif entry.claimed_by is None:
            entry.priority = min(entry.priority, priority)
            entry.due_at = min(entry.due_at, due_at)
        elif entry.pending is None:
            entry.pending = (priority, due_at)
        else:
            entry.pending = (min(entry.pending[0], priority), min(entry.pending[1], due_at))

    def claim(self, owner: str, limit: int, now: float) -> list[str]:
        ready = sorted(
            (e.priority, e.due_at, user)
            for user, e in self.entries.items()
            if e.due_at <= now and (e.claimed_by is None or e.claimed_until <= now)
        )[:limit]
        for _, _, user in ready:
            entry = self.entries[user]
            entry.claimed_by, entry.claimed_until, entry.pending = owner, now + LEASE, None
        return [user for _, _, user in ready]

    def ack(self, owner: str, users: list[str]) -> int:
        removed = 0
        for user in users:
            entry = self.entries.get(user)
            if entry is None or entry.claimed_by != owner:
                continue
            if entry.pending is None:
                del self.entries[user]
                removed += 1
            else:
                entry.priority, entry.due_at = entry.pending
                entry.claimed_by, entry.claimed_until, entry.pending = None, 0.0, None
        return removed


mark_op = st.tuples(st.just("mark"), st.sampled_from(USERS), st.integers(0, 3), st.integers(0, 40))
claim_op = st.tuples(st.just("claim"), st.sampled_from(WORKERS), st.integers(1, 3))
ack_op = st.tuples(st.just("ack"), st.sampled_from(WORKERS), st.sets(st.sampled_from(USERS)))
tick_op = st.tuples(st.just("tick"), st.sampled_from([1, 5, 15, 31]))
operations = st.lists(st.one_of(mark_op, claim_op, ack_op, tick_op), min_size=1, max_size=25)
_runs = itertools.count()


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
async def test_dirty_queue_matches_the_reference_model(
    store: Store, ops: list[tuple[Any, ...]]
) -> None:
    # One store serves every example: empty the queue first, and use a fresh key prefix so
    # a failure in one example cannot leak into the next.
    leftovers = await store.claim_dirty("reset", limit=1000, lease_seconds=1, now=1e12)
    await store.ack_dirty("reset", [e.user_key for e in leftovers])
    prefix = f"run{next(_runs)}-"
    model = Model()
    now = 1_800_000_000.0
    live: dict[str, tuple[str, float]] = {}  # user -> (owner, until) of the latest claim
    for op in ops:
        if op[0] == "mark":
            _, user, priority, delay = op
            model.mark(user, priority, now + delay)
            await store.mark_dirty(prefix + user, priority=priority, due_at=now + delay, reason="r")
        elif op[0] == "claim":
            _, owner, limit = op
            expected = model.claim(owner, limit, now)
            got = await store.claim_dirty(owner, limit=limit, lease_seconds=LEASE, now=now)
            got_users = [e.user_key.removeprefix(prefix) for e in got]
            assert [e.user_key.startswith(prefix) for e in got] == [True] * len(got)
            assert got_users == expected
            for user in got_users:
                holder = live.get(user)
                assert holder is None or holder[1] <= now, f"{user} was still claimed by {holder}"
                live[user] = (owner, now + LEASE)
        elif op[0] == "ack":
            _, owner, users = op
            chosen = sorted(users)
            expected_removed = model.ack(owner, chosen)
            removed = await store.ack_dirty(owner, [prefix + u for u in chosen])
            assert removed == expected_removed
            for user in chosen:
                if live.get(user, ("", 0.0))[0] == owner:
                    del live[user]
        else:
            now += op[1]
    # Drain: everything the model still holds comes out once its time has come.
    far = now + 1000
    remaining = await store.claim_dirty("drain", limit=100, lease_seconds=LEASE, now=far)
    drained = {e.user_key.removeprefix(prefix): (e.priority, e.due_at) for e in remaining}
    expected_drain = model.claim("drain", 100, far)
    assert set(drained) == set(expected_drain)
    for user in expected_drain:
        entry = model.entries[user]
        assert drained[user] == (entry.priority, entry.due_at)
    await store.ack_dirty("drain", [prefix + u for u in drained])
