"""Reading what outsiders send: one total JSON reader and checks for single text values.

Every webhook and tab API body goes through `parse_json`, so each way a hostile body can
break a plain `json.loads` (a 5,000-digit integer, nesting 100,000 deep, bytes that are not
UTF-8, a lone surrogate escape such as `"\\ud800"` that no store or comparison can encode,
`NaN`) ends as one `ValidationError` naming the problem instead of an exception deep inside
the store, a secret comparison or a worker. What passes holds only valid Unicode, integers
of at most `MAX_INT_DIGITS` digits, finite floats and at most `MAX_DEPTH` levels of nesting.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from presence_sync.errors import ValidationError

__all__ = [
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "checked_header",
    "checked_text",
    "parse_json",
]

MAX_DEPTH = 32  # the deepest real delivery (a Graph notification) nests 4 levels
MAX_INT_DIGITS = 24  # RingCentral ids and sequence numbers fit in 20 digits
_NUMBER_CHARS = 400  # a float longer than this is an attack, not a measurement

_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON string literal (escapes included), for measuring nesting outside strings.
_STRING_LITERAL = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# +1 for an opening bracket, -1 for a closing one, by byte (other bytes are deleted first).
_BRACKETS = b"[]{}"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1
# Visible ASCII and spaces: what HTTP header values carrying tokens may hold.
_HEADER_TOKEN = re.compile(r"[\x20-\x7e]*")


# The checks below raise ValidationError with a phrase that `parse_json` puts after `what`.


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValidationError(f"holds a number of more than {MAX_INT_DIGITS} digits")
    return int(text)


def _float(text: str) -> float:
    value = float(text) if len(text) <= _NUMBER_CHARS else math.inf
    if not math.isfinite(value):
        raise ValidationError("holds a number out of range")
    return value


def _constant(text: str) -> Any:
    raise ValidationError(f"holds {text}, which is not JSON")


def _check_text(text: str) -> None:
    if not text.isascii() and _SURROGATE.search(text):
        raise ValidationError("holds text that is not valid Unicode (a lone surrogate)")


def _check_tree(value: Any) -> None:
    """Walk without recursion: depth and every string and key checked."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _check_text(node)
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise ValidationError(f"is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, dict):
            for key, item in node.items():
                _check_text(key)
                stack.append((item, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in node)


def _deepest(body: bytes) -> int:
    """How deep `body`'s brackets nest outside string literals, measured without recursion.

    An unterminated string leaves its brackets counted, which can only over-measure a body
    that is not JSON anyway.
    """
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return 0  # too few brackets to nest too deep: nothing to measure
    skeleton = _STRING_LITERAL.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, skeleton)), default=0)


def parse_json(body: bytes, what: str = "the request body") -> Any:
    """`body` as JSON, checked as the module docstring says; ValidationError naming `what`.

    Nesting is measured before parsing: a body nested thousands deep would otherwise take
    the parser to the interpreter's recursion limit, where anything else that runs (a
    finaliser the garbage collector calls, a log handler) has no stack left to run in.
    """
    try:
        text = body.decode("utf-8")  # strict: invalid bytes and encoded surrogates refused
    except UnicodeDecodeError as err:
        raise ValidationError(f"{what} is not UTF-8") from err
    if _deepest(body) > MAX_DEPTH:
        raise ValidationError(f"{what} is nested more than {MAX_DEPTH} levels deep")
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except RecursionError as err:  # deeper than the interpreter can even parse
        raise ValidationError(f"{what} is nested more than {MAX_DEPTH} levels deep") from err
    except json.JSONDecodeError as err:
        raise ValidationError(f"{what} must be JSON ({err.msg} at {err.pos})") from err
    except ValidationError as err:
        raise ValidationError(f"{what} {err}") from err
    try:
        _check_tree(value)
    except ValidationError as err:
        raise ValidationError(f"{what} {err}") from err
    return value


def checked_text(
    value: Any, name: str, *, limit: int = 256, pattern: re.Pattern[str] | None = None
) -> str:
    """`value` if it is a non-empty string of at most `limit` characters matching `pattern`."""
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{name} is missing or not text")
    if len(value) > limit:
        raise ValidationError(f"{name} is longer than {limit} characters")
    if _SURROGATE.search(value):
        raise ValidationError(f"{name} is not valid Unicode (a lone surrogate)")
    if pattern is not None and not pattern.fullmatch(value):
        raise ValidationError(f"{name} is not of the expected form")
    return value


def checked_header(value: str | None, name: str, *, limit: int = 1024) -> str | None:
    """A token-carrying header: absent, or visible ASCII of at most `limit` characters."""
    if value is None:
        return None
    if len(value) > limit:
        raise ValidationError(f"the {name} header is longer than {limit} characters")
    if not _HEADER_TOKEN.fullmatch(value):
        raise ValidationError(f"the {name} header holds characters other than visible ASCII")
    return value
