"""The bot's text understanding and its cards are pure: they load without Bot Framework or I/O."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def loaded_by(modules: str, heavy: set[str]) -> list[str]:
    """The modules under the `heavy` top-level packages that importing `modules` loads."""
    probe = (
        f"import json, sys, {modules}\n"
        f"heavy = {sorted(heavy)!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def test_parsing_and_resolving_load_nothing_with_io() -> None:
    """Importing the parser and the resolver pulls in no botbuilder, aiohttp or product code."""
    heavy = {"botbuilder", "aiohttp", "presence_sync", "pymongo", "sqlite3"}
    assert loaded_by("bot.commands, bot.people", heavy) == []


def test_cards_load_without_bot_framework() -> None:
    """The cards are built from the admin views alone: importing them pulls in no botbuilder."""
    assert loaded_by("bot.cards", {"botbuilder", "botframework"}) == []
