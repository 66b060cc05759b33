"""RingCentral write capacity in words: what status, the tab and /metrics say about it.

The dispatcher measures (`Dispatcher.capacity()`); this module judges: when the p95 delay
from a decision to its RingCentral write over the last hour is above the setting, admins are
told to add a RingCentral identity (each brings its own 40 writes a minute) or to ask
RingCentral for a higher limit for the app, which the product then uses from the headers.
"""

from __future__ import annotations

from dataclasses import dataclass

from presence_sync.sync.dispatcher import CapacityView

__all__ = ["WriteCapacity", "advise"]


@dataclass(frozen=True)
class WriteCapacity:
    """The dispatcher's view of RingCentral's write capacity, with advice when it falls short."""

    view: CapacityView
    alert_after: float  # seconds of p95 delay above which `advice` is given
    advice: str | None


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.0f} min"


def advise(view: CapacityView, alert_after: float) -> WriteCapacity:
    """Judge the capacity: advice when the last hour's p95 delay is above `alert_after`."""
    advice = None
    if view.p95_delay is not None and view.p95_delay > alert_after:
        n = view.identities
        allowing = (
            f", allowing {view.allowed_per_minute} writes a minute"
            if view.allowed_per_minute
            else ""
        )
        advice = (
            f"RingCentral writes waited {_seconds(view.p95_delay)} (95th percentile, last hour), "
            f"above the {_seconds(alert_after)} target, with {n} RingCentral "
            f"identit{'y' if n == 1 else 'ies'}{allowing}. Add a RingCentral identity "
            "(each adds its own 40 writes a minute), or ask RingCentral for a higher API limit "
            "for the app: Presence Sync uses it as soon as RingCentral's answers show it."
        )
    return WriteCapacity(view, alert_after, advice)
