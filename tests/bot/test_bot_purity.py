"""The bot's text understanding is pure: it loads without Bot Framework, HTTP or the store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_parsing_and_resolving_load_nothing_with_io() -> None:
    """Importing the parser and the resolver pulls in no botbuilder, aiohttp or product code."""
    probe = (
        "import sys, bot.commands, bot.people\n"
        "heavy = {'botbuilder', 'aiohttp', 'presence_sync', 'pymongo', 'sqlite3'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"
