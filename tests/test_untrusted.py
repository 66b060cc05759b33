"""The total JSON reader: for any bytes at all, a value safe to store, or a ValidationError."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from presence_sync.errors import ValidationError
from presence_sync.untrusted import MAX_DEPTH, MAX_INT_DIGITS, checked_header, parse_json

SURROGATES = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff"])
# Text as an attacker writes it: any code point, lone surrogates included.
TEXT = st.text(alphabet=st.characters() | SURROGATES, max_size=20)
NUMBERS = st.integers(min_value=-(10**30), max_value=10**30) | st.floats(
    allow_nan=False, allow_infinity=False
)
LEAVES = st.none() | st.booleans() | NUMBERS | TEXT
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=30,
)


def depth(value: Any) -> int:
    """How deeply `value` nests objects and arrays."""
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def assert_storable(value: Any) -> None:
    """What the reader let through can be encoded, compared and bound into real SQLite."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    text.encode("utf-8")  # raises on a lone surrogate
    assert depth(value) <= MAX_DEPTH
    sqlite3.connect(":memory:").execute("select ?", (text,)).fetchone()


def attempt(body: bytes, what: str = "the request body") -> Any:
    """What `parse_json` returns, or the ValidationError it raised."""
    try:
        return parse_json(body, what)
    except ValidationError as err:
        return err


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_are_refused(body: bytes) -> None:
    result = attempt(body)
    if isinstance(result, ValidationError):
        assert str(result).startswith("the request body ")
    else:
        assert_storable(result)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_any_json_value_parses_to_itself_or_is_refused_for_a_named_reason(value: Any) -> None:
    body = json.dumps(value).encode()  # ASCII: surrogates travel as \\ud800 escapes
    parsed = attempt(body, "the delivery")
    if isinstance(parsed, ValidationError):
        reasons = ("surrogate", "digits", "nested")
        assert any(word in str(parsed) for word in reasons), parsed
    else:
        assert parsed == value
        assert_storable(parsed)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=60))
def test_nesting_is_bounded(levels: int) -> None:
    body = ("[" * levels + "]" * levels).encode()
    if levels <= MAX_DEPTH:
        assert depth(parse_json(body)) == levels
    else:
        with pytest.raises(ValidationError, match="nested more than"):
            parse_json(body)


# Text made of what a nesting measure could mistake for structure.
BRACKETY = st.text(alphabet='[]{}"\\ab', max_size=40)
BRACKETY_VALUES = st.recursive(
    st.none() | BRACKETY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(BRACKETY, inner, max_size=3),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(BRACKETY_VALUES, st.integers(min_value=0, max_value=MAX_DEPTH - 6))
def test_brackets_and_quotes_inside_strings_are_not_nesting(value: Any, wrap: int) -> None:
    value = ["[[[[{{{{" * 10, value]
    for _ in range(wrap):
        value = [value]
    assert parse_json(json.dumps(value).encode()) == value


def test_a_deep_body_is_refused_without_the_parser_recursing_into_it() -> None:
    """Nothing recurses through a hostile body, so the stack is never left near its limit.

    Were the parser run first, it would reach the interpreter's recursion limit and be
    stopped by a RecursionError; meanwhile a finaliser or log handler running at that depth
    would fail for want of stack.
    """
    for body in (b"[" * 1000 + b"]" * 1000, b'{"value": ' + b"[" * 100_000):
        with pytest.raises(ValidationError, match="nested more than 32 levels") as refused:
            parse_json(body)
        assert refused.value.__cause__ is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"9" * 5000, "more than 24 digits"),
        (b"[" * 100_000 + b"]" * 100_000, "nested more than"),
        (b'"\\ud800"', "lone surrogate"),
        (b'{"\\udfff": 1}', "lone surrogate"),
        (b"\xed\xa0\x80", "not UTF-8"),  # a surrogate encoded as UTF-8 bytes
        (b"[1e400]", "out of range"),
        (b"[Infinity]", "not JSON"),
        (b"{not json", "must be JSON"),
    ],
)
def test_each_known_attack_names_its_problem(body: bytes, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        parse_json(body)


def test_numbers_up_to_the_limit_still_parse() -> None:
    assert parse_json(b"9" * MAX_INT_DIGITS) == int("9" * MAX_INT_DIGITS)
    assert parse_json(b'{"sequence": 18446744073709551616}') == {"sequence": 2**64}


@given(st.text(alphabet=st.characters(max_codepoint=0x2FFF) | SURROGATES, max_size=40))
def test_token_headers_are_visible_ascii_or_refused(value: str) -> None:
    if value.isascii() and value.isprintable():
        assert checked_header(value, "Verification-Token") == value
    else:
        with pytest.raises(ValidationError, match="Verification-Token header"):
            checked_header(value, "Verification-Token")
