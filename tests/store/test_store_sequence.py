"""Sequence order for Teams observations: version order, whatever the digits' lengths."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from presence_sync.store import sequence_key

versions = st.lists(st.integers(0, 10**12), min_size=1, max_size=4)


@given(versions, versions)
def test_dotted_numbers_sort_like_their_integer_tuples(a: list[int], b: list[int]) -> None:
    key_a = sequence_key(".".join(map(str, a)))
    key_b = sequence_key(".".join(map(str, b)))
    assert (key_a < key_b) == (a < b)
    assert (key_a == key_b) == (a == b)


@given(st.integers(0, 10**30), st.integers(0, 10**30))
def test_plain_counters_sort_numerically(a: int, b: int) -> None:
    assert (sequence_key(str(a)) < sequence_key(str(b))) == (a < b)


def test_leading_zeros_and_spaces_do_not_change_the_order() -> None:
    assert sequence_key(" 007 ") == sequence_key("7")
    assert sequence_key("9") < sequence_key("10") < sequence_key("10.1")
