"""The dirty bell: an in-process wake-up for dirty-queue workers when a user is marked dirty.

Workers claim from the store, so any replica's mark reaches any replica's worker on its next
claim; between claims an idle worker waits a short interval. A mark made in this process
rings the bell with its due time as soon as the store has it, so this replica's workers start
on a real-time change at once instead of at their next round (DESIGN §2: the store stays the
only shared state; the bell is a hint and carries no data).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["DirtyBell", "Listener"]

logger = logging.getLogger(__name__)

Listener = Callable[[float], None]
"""Called with the due time (epoch seconds) of each mark this process made."""


class DirtyBell:
    """Calls its listeners each time this process marks a user dirty."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` on every ring until the returned function is called."""
        self._listeners.append(listener)

        def stop() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return stop

    def ring(self, due_at: float) -> None:
        """A user was marked dirty, due at `due_at`."""
        for listener in list(self._listeners):
            try:
                listener(due_at)
            except Exception:  # a listener's bug must not fail the store write that rang
                logger.exception("dirty bell listener failed")
