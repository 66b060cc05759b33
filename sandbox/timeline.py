"""Timestamps of moments that benchmarks measure between, readable through the control API.

The sandbox notes, while the timeline is switched on, when it starts POSTing each Graph change
notification (per Teams user in it), when each RingCentral presence PUT arrives (per
extension, with whether it changed the presence) and each Graph presence write it accepted
(setPresence, clearPresence, setUserPreferredPresence, clearUserPreferredPresence; a
clearPresence that found no session is stamped too, as `clearPresence (no session)`). Times are
`time.monotonic()`, which on Linux is CLOCK_MONOTONIC, one clock for every process on the
machine: a benchmark in another process can compare them with its own `time.monotonic()`
readings.

Routes: `POST /_sandbox/timeline {"enabled": bool, "limit"?: int}` switches it on or off (on
starts empty), `GET /_sandbox/timeline?after=N` answers the stamps after the first N, and
`DELETE /_sandbox/timeline` forgets them. Off by default, so it costs nothing unless asked for.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

__all__ = [
    "GRAPH_NOTIFICATION",
    "GRAPH_PRESENCE_WRITE",
    "RINGCENTRAL_PRESENCE_PUT",
    "Stamp",
    "Timeline",
    "add_routes",
]

GRAPH_NOTIFICATION = "graph-notification"  # subject: Teams user id; POST to the webhook starts
RINGCENTRAL_PRESENCE_PUT = "ringcentral-presence-put"  # subject: extension id; PUT arrived
GRAPH_PRESENCE_WRITE = "graph-presence-write"  # subject: Teams user id; detail: the action
DEFAULT_LIMIT = 200_000
MAX_LIMIT = 2_000_000


@dataclass(frozen=True)
class Stamp:
    """One moment: what happened, to whom, and when (CLOCK_MONOTONIC seconds)."""

    kind: str
    subject: str
    at: float
    detail: str = ""


@dataclass
class Timeline:
    """An append-only, bounded list of stamps, kept only while enabled."""

    enabled: bool = False
    limit: int = DEFAULT_LIMIT
    dropped: int = 0  # stamps not kept because the limit was reached
    stamps: list[Stamp] = field(default_factory=list)

    def stamp(self, kind: str, subject: str, at: float | None = None, detail: str = "") -> None:
        """Note a moment (now unless `at` is given); a no-op while the timeline is off."""
        if not self.enabled:
            return
        if len(self.stamps) >= self.limit:
            self.dropped += 1  # bounded: a forgotten timeline must not grow without end
            return
        self.stamps.append(Stamp(kind, subject, time.monotonic() if at is None else at, detail))

    def switch(self, enabled: bool, limit: int | None = None) -> None:
        """Turn the timeline on (starting empty) or off (keeping what it holds)."""
        if enabled:
            self.clear()
            if limit is not None:
                self.limit = limit
        self.enabled = enabled

    def clear(self) -> None:
        """Forget every stamp."""
        self.stamps = []
        self.dropped = 0

    def snapshot(self, after: int = 0) -> dict[str, Any]:
        """JSON-ready stamps after the first `after`, with the cursor for the next read."""
        chosen = self.stamps[after:]
        return {
            "enabled": self.enabled,
            "clock": "monotonic",
            "now": time.monotonic(),
            "limit": self.limit,
            "dropped": self.dropped,
            "next": after + len(chosen),
            "stamps": [asdict(s) for s in chosen],
        }


TIMELINE = web.AppKey("sandbox_timeline", Timeline)


def _error(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def get_timeline(request: web.Request) -> web.Response:
    """GET /_sandbox/timeline?after=N: stamps after the first N."""
    raw = request.query.get("after", "0")
    if not raw.isdigit():
        return _error(f"after: a count of stamps already read, not {raw!r}")
    return web.json_response(request.app[TIMELINE].snapshot(int(raw)))


async def post_timeline(request: web.Request) -> web.Response:
    """POST /_sandbox/timeline {"enabled": bool, "limit"?: int}."""
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        return _error("body is not JSON")
    if not isinstance(body, dict):
        return _error("body must be a JSON object")
    unknown = set(body) - {"enabled", "limit"}
    if unknown:
        return _error(f"unknown timeline fields: {sorted(unknown)}")
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        return _error("enabled: true or false")
    limit = body.get("limit")
    if limit is not None and (
        not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT
    ):
        return _error(f"limit: a whole number of stamps from 1 to {MAX_LIMIT}")
    timeline = request.app[TIMELINE]
    timeline.switch(enabled, limit)
    return web.json_response(timeline.snapshot(len(timeline.stamps)))


async def delete_timeline(request: web.Request) -> web.Response:
    """DELETE /_sandbox/timeline: forget every stamp (on or off stays as it was)."""
    timeline = request.app[TIMELINE]
    timeline.clear()
    return web.json_response(timeline.snapshot())


def add_routes(app: web.Application, timeline: Timeline) -> None:
    """Mount the timeline's control routes."""
    app[TIMELINE] = timeline
    app.router.add_get("/_sandbox/timeline", get_timeline)
    app.router.add_post("/_sandbox/timeline", post_timeline)
    app.router.add_delete("/_sandbox/timeline", delete_timeline)
