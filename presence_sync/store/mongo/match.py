"""The store's own query conditions, evaluated in Python on a document already read by `_id`.

`MongoStore` writes conditionally (a newer observation, an expected version, an unclaimed
queue entry). On MongoDB and Cosmos DB the condition goes into the update's filter, where the
server applies it atomically. FerretDB 1.x reads, modifies and writes a document in separate
steps anyway, and uses an index only for a filter that is exactly `{"_id": …}`: any other
filter scans the whole collection. There the store reads the document by `_id`, checks the
condition here and writes by `_id`, under the per-document locks it already holds for
FerretDB's sake (see `MongoBase`).

Only what the store's conditions use is supported, with MongoDB's meaning: field equality
(None also matches a missing field), `$lt` `$lte` `$gt` `$gte` (numbers with numbers, strings
with strings; nothing matches null or a missing field), `$ne`, `$in`, `$not` and `$or`.
Anything else raises ValueError, so a new condition cannot be silently misread.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["matches", "updated"]

_MISSING = object()

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "$lt": operator.lt,
    "$lte": operator.le,
    "$gt": operator.gt,
    "$gte": operator.ge,
}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _comparable(left: Any, right: Any) -> bool:
    # MongoDB compares within a type bracket only: a string is never "less" than a number.
    if _number(left) and _number(right):
        return True
    return isinstance(left, str) and isinstance(right, str)


def _equal(value: Any, wanted: Any) -> bool:
    if wanted is None:
        return value is _MISSING or value is None
    if value is _MISSING:
        return False
    if isinstance(wanted, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(wanted, bool) and value == wanted
    return bool(value == wanted)


def _operators(value: Any, spec: Mapping[str, Any]) -> bool:
    for op, arg in spec.items():
        if op in _ORDER:
            if value is _MISSING or not _comparable(value, arg) or not _ORDER[op](value, arg):
                return False
        elif op == "$ne":
            if _equal(value, arg):
                return False
        elif op == "$in":
            if not any(_equal(value, choice) for choice in arg):
                return False
        elif op == "$not":
            if not isinstance(arg, Mapping) or _operators(value, arg):
                return False
        else:
            raise ValueError(f"unsupported query operator {op!r}")
    return True


def _is_operator_spec(spec: Any) -> bool:
    return isinstance(spec, Mapping) and bool(spec) and all(str(k).startswith("$") for k in spec)


def matches(doc: Mapping[str, Any], condition: Mapping[str, Any]) -> bool:
    """Whether `doc` satisfies `condition` as MongoDB would evaluate it."""
    for key, spec in condition.items():
        if key == "$or":
            if not any(matches(doc, branch) for branch in spec):
                return False
            continue
        if key.startswith("$") or "." in key:
            raise ValueError(f"unsupported query key {key!r}")
        value = doc.get(key, _MISSING)
        if _is_operator_spec(spec):
            if not _operators(value, spec):
                return False
        elif not _equal(value, spec):
            return False
    return True


def updated(doc: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """`doc` after `update` as MongoDB applies it: a new dict, `doc` is left as it was.

    The store's own updates only: `$set`, `$unset`, `$inc` and `$min` of top-level fields.
    Anything else raises ValueError, so a new update cannot be silently misapplied.
    """
    result = dict(doc)
    for op, fields in update.items():
        for key, value in fields.items():
            if "." in key or key.startswith("$"):
                raise ValueError(f"unsupported update key {key!r}")
            if op == "$set":
                result[key] = value
            elif op == "$unset":
                result.pop(key, None)
            elif op == "$inc":
                result[key] = result.get(key, 0) + value
            elif op == "$min":
                current = result.get(key, _MISSING)
                if current is _MISSING or (_comparable(current, value) and value < current):
                    result[key] = value
                elif not _comparable(current, value) and current is not None:
                    raise ValueError(f"$min of {key!r} across types")
            else:
                raise ValueError(f"unsupported update operator {op!r}")
    return result
