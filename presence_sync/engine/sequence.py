"""When a RingCentral event's sequence number can be trusted on its own.

RingCentral numbers each extension's presence events; a higher number is a later event. But a
number is only as good as the event carrying it: one forged event with a huge number, taken at
its word, would make every genuine event after it look old, and the person's RingCentral
changes would be ignored. So a number is trusted on its own only a little ahead of the last
trusted one (at most `SEQUENCE_JUMP`, more than any real gap between two deliveries). A larger
jump, or any step back (a late delivery, or RingCentral restarting its count, e.g. for a new
subscription), must first be confirmed by a read of the person's presence: the watchers read,
and `read_confirms` says whether the read shows what the event said.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

__all__ = ["SEQUENCE_JUMP", "needs_verifying", "read_confirms"]

SEQUENCE_JUMP: Final = 1000
"""How far ahead of the last trusted sequence number an event may be and still be trusted."""


def needs_verifying(last: int | None, sequence: int) -> bool:
    """Whether an event numbered `sequence` needs a read before it is trusted.

    `last` is the last trusted number (None before any: the first event is trusted). The
    same number again is a repeat, which the ordinary order check drops without a read.
    """
    if last is None:
        return False
    return sequence < last or sequence > last + SEQUENCE_JUMP


def read_confirms(event: Sequence[object | None], read: Sequence[object | None]) -> bool:
    """Whether a read shows every value an event carried (fields the event omits are None).

    Both are the same fields in the same order. An event that carried nothing at all is not
    confirmed by anything: it would only move the count.
    """
    carried = [(said, seen) for said, seen in zip(event, read, strict=True) if said is not None]
    return bool(carried) and all(said == seen for said, seen in carried)
