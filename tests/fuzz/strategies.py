"""Hostile variations of genuine deliveries, for Hypothesis and for the seeded HTTP fuzz.

A variation starts from a genuine body (a fixture delivery, an activity Teams would send),
replaces, removes or adds a few fields with values that broke parsers before (lone
surrogates, 5,000-digit numbers, NaN, text where an object belongs, 10,000 characters), and
is then encoded in one of several ways, not all of them JSON. The same code draws its choices
from Hypothesis (`bodies`, `variants`) or from a seeded `random.Random` (`hostile_body`), so
the property tests and the HTTP fuzz explore the same space.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from hypothesis import strategies as st

__all__ = [
    "HOSTILE",
    "Pick",
    "bodies",
    "callback_queries",
    "hostile_body",
    "mutated",
    "variants",
]

T = TypeVar("T")

HOSTILE: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    2**64,
    10**30,
    1.5,
    float("nan"),
    float("inf"),
    "",
    " ",
    "\ud800",
    "ok\udfff",
    "é\u2028ü",
    "x" * 10_000,
    "CallConnected\n",
    "Busy\r\nX-Forged: 1",
    "62000864101; DROP",
    "<script>alert(1)</script>",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "NaN",
    "00000000-0000-0000-0000-000000000000",
    [],
    {},
    [[[[[[]]]]]],
    {"value": [{}]},
    ["\ud800", 2**70],
)


class Pick(Protocol):
    """Where choices come from: `random.Random` has these two, `_Draw` wraps Hypothesis."""

    def choice(self, seq: Sequence[T]) -> T:
        """One of `seq`."""
        ...

    def randint(self, a: int, b: int) -> int:
        """An integer from `a` to `b`, both included."""
        ...


class _Draw:
    """Hypothesis choices behind the `Pick` protocol (so they shrink)."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self._draw = draw

    def choice(self, seq: Sequence[T]) -> T:
        return self._draw(st.sampled_from(list(seq)))  # type: ignore[no-any-return]

    def randint(self, a: int, b: int) -> int:
        return self._draw(st.integers(a, b))  # type: ignore[no-any-return]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in `value` a field could be replaced (the root excluded)."""
    found: list[tuple[Any, ...]] = []
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, item in items:
        found.append((*path, key))
        found.extend(_paths(item, (*path, key)))
    return found


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    node = root
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node if isinstance(node, dict | list) else None


def mutated(pick: Pick, template: Any, *, keep: frozenset[str] = frozenset()) -> Any:
    """`template` with up to three fields replaced, removed, retyped or added.

    Paths whose first key is in `keep` stay as they are (fields that must stay genuine for
    the body to reach the parser under test at all, such as an activity's routing).
    """
    value = copy.deepcopy(template)
    paths = [p for p in _paths(value) if str(p[0]) not in keep]
    for _ in range(pick.randint(0 if paths else 1, 3)):
        action = pick.choice(("replace", "replace", "remove", "add", "retype"))
        if action == "add" or not paths:
            target = value if isinstance(value, dict) else None
            if target is not None:
                target[pick.choice(("extra", "\ud800", "value", "body", "x" * 300))] = pick.choice(
                    HOSTILE
                )
            continue
        path = pick.choice(paths)
        parent = _parent(value, path)
        key = path[-1]
        if isinstance(parent, list):
            if not isinstance(key, int) or key >= len(parent):
                continue  # an earlier change reshaped this part
        elif parent is None or key not in parent:
            continue
        if action == "remove":
            del parent[key]
        elif action == "retype":
            old = parent[key]
            parent[key] = [old] if not isinstance(old, list) else {"0": old}
        else:
            parent[key] = pick.choice(HOSTILE)
    return value


def _dumps(value: Any, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def encoded(pick: Pick, value: Any) -> bytes:
    """`value` as bytes: mostly JSON (some not UTF-8), sometimes truncated, wrapped or junk."""
    kind = pick.choice(("json", "json", "json", "json", "raw", "cut", "array", "deep", "junk"))
    if kind == "json":
        return _dumps(value, ascii_only=True)
    if kind == "raw":
        return _dumps(value, ascii_only=False)  # lone surrogates become invalid UTF-8
    text = _dumps(value, ascii_only=True)
    if kind == "cut":
        return text[: pick.randint(0, max(0, len(text) - 1))]
    if kind == "array":
        return b"[" + text + b"]"
    if kind == "deep":
        depth = pick.choice((33, 1000, 100_000))
        return b'{"value": ' + b"[" * depth + b"]" * depth + b"}"
    return pick.choice((b"", b"\xff\xfe\x00", b"null", b"1e999999", b'"just text"', b"\x1f\x8b"))


def hostile_body(rng: random.Random, template: Any, keep: frozenset[str] = frozenset()) -> bytes:
    """One seeded hostile variation of `template`, encoded."""
    return encoded(rng, mutated(rng, template, keep=keep))


def variants(template: Any, keep: frozenset[str] = frozenset()) -> st.SearchStrategy[Any]:
    """Hypothesis: hostile variations of `template` as values (encode them with `encoded`)."""
    return st.composite(lambda draw: mutated(_Draw(draw), template, keep=keep))()


def bodies(template: Any, keep: frozenset[str] = frozenset()) -> st.SearchStrategy[bytes]:
    """Hypothesis: hostile variations of `template`, encoded."""
    return st.composite(
        lambda draw: encoded(_Draw(draw), mutated(_Draw(draw), template, keep=keep))
    )()


_CALLBACK_NAMES = (
    "state",
    "code",
    "error",
    "error_description",
    "admin_consent",
    "tenant",
    "session_state",
    "client_info",
    "id_token",
    "unrelated",
)
_PARAM_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from([v for v in HOSTILE if isinstance(v, str)]),
    st.text(alphabet=st.characters(codec=None, categories=("Cs", "Cc", "Zl")), max_size=5),
    st.just("a" * 20_000),
)


def callback_queries() -> st.SearchStrategy[list[tuple[str, str]]]:
    """Hypothesis: query parameters an OAuth callback might be sent (names may repeat)."""
    return st.lists(st.tuples(st.sampled_from(_CALLBACK_NAMES), _PARAM_TEXT), max_size=6)
