"""What a person sees of the demo: tidy console lines, and failures that carry an exit status.

While the demo starts, each phase is shown with `progress`: on a terminal one line rewritten in
place (so start-up reads as one line that moves on), in a pipe or a file a plain line each, so
logs and tests see every phase.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO

__all__ = ["CLEAR_LINE", "EXIT_CHECK_FAILED", "EXIT_INTERRUPTED", "Console", "DemoFailedError"]

EXIT_CHECK_FAILED = 1
EXIT_INTERRUPTED = 130
CLEAR_LINE = "\r\x1b[K"  # back to the line's start, then erase it


@dataclass
class Console:
    """The demo's console: headings, indented lines, and timed scenario lines."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    _showing: bool = field(default=False, init=False, repr=False)

    @property
    def live(self) -> bool:
        """Whether the console is a terminal, where progress rewrites one line."""
        isatty = getattr(self.out, "isatty", None)
        return bool(isatty is not None and isatty())

    def progress(self, text: str) -> None:
        """The phase the demo is in now: rewritten in place on a terminal, a line otherwise."""
        if self.live:
            print(f"{CLEAR_LINE}  ... {text}", end="", file=self.out, flush=True)
            self._showing = True
        else:
            print(f"  ... {text}", file=self.out, flush=True)

    def heading(self, text: str) -> None:
        """A section title."""
        self._end_progress()
        print(f"\n{text}", file=self.out, flush=True)

    def line(self, text: str) -> None:
        """An indented line under the current heading."""
        self._end_progress()
        print(f"  {text}", file=self.out, flush=True)

    def _end_progress(self) -> None:
        # The next line takes the progress line's place rather than following it.
        if self._showing:
            print(CLEAR_LINE, end="", file=self.out)
            self._showing = False

    def timed(self, elapsed: float, text: str) -> None:
        """A scenario line prefixed with mm:ss since the day began."""
        minutes, seconds = divmod(int(elapsed), 60)
        self.line(f"{minutes:02d}:{seconds:02d}  {text}")


class DemoFailedError(Exception):
    """The demo cannot go on; the message says why, `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
