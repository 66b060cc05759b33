"""Recent copies of the two records nearly every change reads: settings and connections.

A Teams change is decided with the organisation's settings and written with a client built
from a connection record, and both change a few times a year. Reading each from the store
for every change cost two of the commands a change sends (issue 14), so a store object keeps
what it last read for `STALE_SECONDS` of real time:

- what this store object writes (`save_settings`, `put_connection`, `delete_connection`)
  replaces or drops its copy at once, so a change made through this process shows at once;
- a change another replica makes shows here within `STALE_SECONDS`. That is staleness the
  product already lives with: settings saved a second later, or a connection that broke a
  second before its next call fails, which reports it and drops the copy.

Conditional writes never use a copy: `save_settings` checks the stored version itself.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Final

from presence_sync.store.models import Connection, OrgSettings

__all__ = ["STALE_SECONDS", "RecentRecords"]

STALE_SECONDS: Final = 1.0
"""Real seconds a copy is used before the store is asked again."""


class RecentRecords:
    """Settings and connection records as last read or written through one store object."""

    def __init__(
        self,
        read_settings: Callable[[], Awaitable[OrgSettings]],
        read_connection: Callable[[str], Awaitable[Connection | None]],
        *,
        clock: Callable[[], float] = time.monotonic,
        stale_seconds: float = STALE_SECONDS,
    ) -> None:
        self._read_settings = read_settings
        self._read_connection = read_connection
        self._clock = clock
        self._stale = stale_seconds
        self._settings: tuple[float, OrgSettings] | None = None
        self._connections: dict[str, tuple[float, Connection | None]] = {}
        # Bumped by every write through this object: a read that began before a write ended
        # may hold the old record, and is returned but not kept.
        self._writes = 0

    async def get_settings(self) -> OrgSettings:
        """The settings, read again once the copy is `stale_seconds` old."""
        now = self._clock()
        if self._settings is not None and now - self._settings[0] < self._stale:
            return self._settings[1]
        writes = self._writes
        settings = await self._read_settings()
        if writes == self._writes:
            self._settings = (now, settings)
        return settings

    async def get_connection(self, kind: str) -> Connection | None:
        """One connection record (or None), read again once the copy is stale."""
        now = self._clock()
        held = self._connections.get(kind)
        if held is not None and now - held[0] < self._stale:
            return held[1]
        writes = self._writes
        record = await self._read_connection(kind)
        if writes == self._writes:
            self._connections[kind] = (now, record)
        return record

    def saved_settings(self, settings: OrgSettings) -> None:
        """This store object saved `settings`: they are the copy from now."""
        self._writes += 1
        self._settings = (self._clock(), settings)

    def forget_connection(self, kind: str) -> None:
        """This store object changed a connection record: read it afresh next time."""
        self._writes += 1
        self._connections.pop(kind, None)
