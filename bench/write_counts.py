"""Counting presence writes and notifications at the in-process sandbox, and in the audit log.

`write_counts` reads the sandbox's request recorder: every RingCentral presence PUT and every
Graph setPresence, clearPresence, setUserPreferredPresence or clearUserPreferredPresence
(`$batch` replays inner requests through the same recorder), answered or refused with 429.
`ChaosTally` watches the sandbox's notification delivery plans (after its fault controls
shaped them) to count duplicates and notifications planned to arrive before an older one about
the same person. `sync_writes` reads the product's audit log, where every write has its cause.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from presence_sync.store import AuditEntry, Store
from sandbox.context import SandboxContext

__all__ = [
    "ALREADY_TRUE",
    "SIDES",
    "ChaosTally",
    "quiet",
    "side_of_audit",
    "sync_writes",
    "write_counts",
]

SIDES = ("ringcentral", "teams")
ALREADY_TRUE = "already true"  # the dispatcher's audit message for a write it did not send
_TEAMS_WRITES = (
    "/presence/setPresence",
    "/presence/clearPresence",
    "/presence/setUserPreferredPresence",
    "/presence/clearUserPreferredPresence",
)
_SIDE_OF_ACTION = {
    "ringcentral.presence": "ringcentral",
    "teams.session": "teams",
    "teams.session.clear": "teams",
}


def _side_of_route(key: str) -> str | None:
    """Which side a recorder key (`service METHOD route`) writes presence to, if any."""
    service, method, route = key.split(" ", 2)
    if service == "ringcentral" and method == "PUT" and route.endswith("/presence"):
        return "ringcentral"
    if service == "graph" and method == "POST" and route.endswith(_TEAMS_WRITES):
        return "teams"
    return None


def write_counts(ctx: SandboxContext) -> dict[str, dict[str, int]]:
    """Presence writes the sandbox received per side since its recorder was reset, and 429s."""
    counts = {side: {"issued": 0, "throttled": 0} for side in SIDES}
    for key, calls in ctx.recorder.calls.items():
        side = _side_of_route(key)
        if side is not None:
            counts[side]["issued"] += calls
            counts[side]["throttled"] += ctx.recorder.throttled.get(key, 0)
    return counts


async def quiet(ctx: SandboxContext, seconds: float, within: float) -> bool:
    """Wait until no presence write reaches the sandbox for `seconds`; False if `within` passes."""
    deadline = time.monotonic() + within
    last = write_counts(ctx)
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        now = write_counts(ctx)
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= seconds:
            return True
    return False


def side_of_audit(entry: AuditEntry) -> str | None:
    """Which side an audit entry wrote to, or None for entries that are not sync writes."""
    return _SIDE_OF_ACTION.get(entry.action)


async def sync_writes(store: Store, since: float) -> list[AuditEntry]:
    """Sync writes in the audit log at or after `since` (product clock), oldest first."""
    entries: list[AuditEntry] = []
    before: float | None = None
    while True:
        page = await store.list_audit(limit=500, before=before)
        entries.extend(e for e in page if e.at >= since and side_of_audit(e) is not None)
        if len(page) < 500 or page[-1].at < since:
            return sorted(entries, key=lambda e: e.at)
        before = page[-1].at


class ChaosTally:
    """Counts duplicated and out-of-order notifications in the sandbox's delivery plans."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.planned = Counter[str]()
        self.duplicates = Counter[str]()
        self.out_of_order = Counter[str]()
        # Per (side, person): when the latest-arriving notification so far was made and arrives.
        self._latest: dict[tuple[str, str], tuple[float, float]] = {}
        shape = ctx.faults.shape_notifications

        def counted(target: str, items: list[Any]) -> list[tuple[float, Any]]:
            plan = shape(target, items)
            self._tally(target, plan)
            return plan

        # The in-process sandbox's own planning step, observed as it runs; nothing is changed.
        ctx.faults.shape_notifications = counted  # type: ignore[method-assign]

    def reset(self) -> None:
        """Start counting afresh."""
        for counter in (self.planned, self.duplicates, self.out_of_order):
            counter.clear()
        self._latest.clear()

    def _tally(self, target: str, plan: list[tuple[float, Any]]) -> None:
        made = time.monotonic()
        side = "teams" if target.startswith("graph") else "ringcentral"
        self.planned[side] += len(plan)
        self.duplicates[side] += len(plan) - len({id(item) for _, item in plan})
        for delay, item in plan:
            key = (side, _subject(item))
            arrives = made + delay
            latest = self._latest.get(key)
            if latest is not None and latest[0] < made and arrives < latest[1]:
                self.out_of_order[side] += 1  # made later, arrives before an older one
            if latest is None or arrives > latest[1]:
                self._latest[key] = (made, arrives)

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready counts per side (teams: Graph notifications; ringcentral: webhooks)."""
        return {
            side: {
                "sent": self.planned[side],
                "duplicates": self.duplicates[side],
                "arrived_before_an_older_one": self.out_of_order[side],
            }
            for side in SIDES
        }


def _subject(item: Any) -> str:
    """The person a planned notification is about (Graph user id or RingCentral extension id)."""
    if isinstance(item, tuple):  # RingCentral plans (subscription, payload)
        return str(item[1].get("body", {}).get("extensionId", ""))
    return str((item.get("resourceData") or {}).get("id", ""))
