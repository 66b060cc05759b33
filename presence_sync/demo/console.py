"""What a person sees of the demo: tidy console lines, and failures that carry an exit status."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO

__all__ = ["EXIT_CHECK_FAILED", "EXIT_INTERRUPTED", "Console", "DemoFailedError"]

EXIT_CHECK_FAILED = 1
EXIT_INTERRUPTED = 130


@dataclass
class Console:
    """The demo's console: headings, indented lines, and timed scenario lines."""

    out: TextIO = field(default_factory=lambda: sys.stdout)

    def heading(self, text: str) -> None:
        """A section title."""
        print(f"\n{text}", file=self.out, flush=True)

    def line(self, text: str) -> None:
        """An indented line under the current heading."""
        print(f"  {text}", file=self.out, flush=True)

    def timed(self, elapsed: float, text: str) -> None:
        """A scenario line prefixed with mm:ss since the day began."""
        minutes, seconds = divmod(int(elapsed), 60)
        self.line(f"{minutes:02d}:{seconds:02d}  {text}")


class DemoFailedError(Exception):
    """The demo cannot go on; the message says why, `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
