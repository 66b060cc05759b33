"""The store as the server sees it: opened in the background, so start-up never waits for it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from presence_sync.errors import StoreError
from presence_sync.store import Store
from presence_sync.tasks import finish_within, stop_tasks

__all__ = ["StoreHandle"]

logger = logging.getLogger(__name__)

PING_TIMEOUT = 2.0
RETRY_SECONDS = 2.0
CLOSE_TIMEOUT = 10.0


@dataclass
class StoreHandle:
    """Owns one store: opens it (retrying until it is reachable), pings it, closes it."""

    store: Store
    opened: bool = False
    last_error: str | None = "store not opened yet"
    _opener: asyncio.Task[None] | None = field(default=None, repr=False)
    _opened_event: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    async def wait_opened(self) -> Store:
        """The store, once it has been opened; background loops wait here before starting."""
        await self._opened_event.wait()
        return self.store

    async def start(self) -> None:
        """Try to open the store now; if it is unreachable keep trying in the background."""
        if await self._try_open():
            return
        self._opener = asyncio.get_running_loop().create_task(self._keep_opening())

    async def _try_open(self) -> bool:
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the
            # cancellation that shutdown sends, and the server would never stop.
            async with asyncio.timeout(PING_TIMEOUT * 5):
                await self.store.open()
        except (StoreError, TimeoutError, OSError) as err:
            self.last_error = _reason(err)
            logger.warning("store not reachable yet: %s", self.last_error)
            return False
        self.opened = True
        self.last_error = None
        self._opened_event.set()
        logger.info("store opened")
        return True

    async def _keep_opening(self) -> None:
        while True:
            await asyncio.sleep(RETRY_SECONDS)
            if await self._try_open():
                return

    async def check(self) -> str | None:
        """None when the store answers a ping, else a readable reason."""
        if not self.opened:
            return self.last_error or "store not opened yet"
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                await self.store.ping()
        except (StoreError, TimeoutError, OSError) as err:
            return _reason(err)
        return None

    async def close(self) -> None:
        """Stop trying to open and close the store."""
        if self._opener is not None:
            await stop_tasks([self._opener])
        await finish_within(CLOSE_TIMEOUT, self.store.close(), "closing the store")


def _reason(err: BaseException) -> str:
    if isinstance(err, TimeoutError):
        return "store did not answer in time"
    return str(err) or type(err).__name__
