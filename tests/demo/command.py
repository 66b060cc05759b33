"""The demo's command line as the tests start it: free ports, its own data folder."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["ROOT", "demo_command"]

ROOT = Path(__file__).resolve().parents[2]


def demo_command(data: Path, *options: str) -> list[str]:
    """`python -m presence_sync demo` on free ports with its files in `data`, then `options`."""
    return [
        sys.executable,
        "-m",
        "presence_sync",
        "demo",
        "--port",
        "0",
        "--sandbox-port",
        "0",
        "--data",
        str(data),
        *options,
    ]
