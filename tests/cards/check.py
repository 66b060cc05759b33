"""Checks Adaptive Cards with Microsoft's renderer, npm `adaptivecards`, run by Node.

    reports = check_cards({"status": status_card(view)})
    assert all(r.ok for r in reports), "\\n".join(map(str, reports))

Each card is parsed and validated as a Teams host on schema 1.5 reads it (`check-cards.cjs`
beside this module) and measured against Teams' 28 KB limit for one message. Errors:

    CardCheckError      Node or the renderer is missing, or the checker itself failed
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_CARD_BYTES",
    "CardCheckError",
    "CardEvent",
    "CardReport",
    "check_card_files",
    "check_cards",
]

CARDS_DIR = Path(__file__).resolve().parent  # the checker script and its node_modules
REPO = CARDS_DIR.parents[1]
SCRIPT_NAME = "check-cards.cjs"
RENDERER = Path("node_modules", "adaptivecards", "dist", "adaptivecards.js")
MAX_CARD_BYTES = 28 * 1024


class CardCheckError(Exception):
    """The cards could not be checked: Node or the renderer is missing, or the checker failed."""


@dataclass(frozen=True)
class CardEvent:
    """One problem the renderer reported, e.g. Parse UnknownElementType 'Unknown element…'."""

    phase: str  # Parse or Validation (the renderer's phases), Size, or Load (unreadable file)
    event: str  # the renderer's ValidationEvent name, or TooLarge, NotAnObject, Unreadable
    message: str  # the renderer's own words

    def __str__(self) -> str:
        return f"{self.phase} {self.event}: {self.message}"


@dataclass(frozen=True)
class CardReport:
    """What the renderer made of one card."""

    name: str
    ok: bool  # no event at all
    size: int  # bytes of the card's compact JSON
    events: tuple[CardEvent, ...]

    def __str__(self) -> str:
        verdict = "ok" if self.ok else f"{len(self.events)} problem(s)"
        lines = [f"{self.name}: {verdict} ({self.size} of {MAX_CARD_BYTES} bytes)"]
        lines += [f"  {event}" for event in self.events]
        return "\n".join(lines)


def check_cards(
    cards: Mapping[str, Mapping[str, Any]], *, checker_dir: Path = CARDS_DIR, timeout: float = 60
) -> list[CardReport]:
    """Check each named card; the reports come back in the mapping's order, under its names."""
    with tempfile.TemporaryDirectory(prefix="cards-") as folder:
        paths: dict[str, str] = {}
        for index, (name, card) in enumerate(cards.items()):
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60]
            path = Path(folder) / f"{index:03d}-{safe}.json"
            path.write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
            paths[str(path)] = name
        reports = _run([Path(p) for p in paths], checker_dir, timeout)
    return [_renamed(report, paths[report.name]) for report in reports]


def check_card_files(
    paths: Iterable[Path], *, checker_dir: Path = CARDS_DIR, timeout: float = 60
) -> list[CardReport]:
    """Check card snapshot files (one card per file); reports are named by path."""
    return _run(list(paths), checker_dir, timeout)


def _renamed(report: CardReport, name: str) -> CardReport:
    return CardReport(name=name, ok=report.ok, size=report.size, events=report.events)


def _run(paths: list[Path], checker_dir: Path, timeout: float) -> list[CardReport]:
    if not paths:
        return []
    node = shutil.which("node")
    if node is None:
        raise CardCheckError("Node.js (`node`) is not on PATH; the card check needs Node 20+")
    if not (checker_dir / RENDERER).is_file():
        folder = checker_dir.relative_to(REPO) if checker_dir.is_relative_to(REPO) else checker_dir
        raise CardCheckError(
            "Microsoft's Adaptive Cards renderer is not installed: "
            f"run `npm ci --prefix {folder}` (scripts/setup does)"
        )
    try:
        done = subprocess.run(
            [node, str(checker_dir / SCRIPT_NAME), *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise CardCheckError(f"the card check took longer than {timeout:g} s") from err
    # 0: every card is clean; 1: some card has events; anything else: the checker broke.
    if done.returncode not in (0, 1):
        raise CardCheckError(
            f"check-cards.cjs exited {done.returncode}: {done.stderr.strip() or done.stdout}"
        )
    try:
        reports = [_report(json.loads(line)) for line in done.stdout.splitlines() if line]
    except (ValueError, KeyError, TypeError) as err:
        raise CardCheckError(f"check-cards.cjs printed something unexpected: {err}") from err
    if [r.name for r in reports] != [str(p) for p in paths]:
        raise CardCheckError(f"check-cards.cjs reported on other files: {done.stdout[:500]}")
    return reports


def _report(raw: dict[str, Any]) -> CardReport:
    events = tuple(
        CardEvent(phase=e["phase"], event=e["event"], message=e["message"]) for e in raw["events"]
    )
    return CardReport(name=raw["file"], ok=bool(raw["ok"]), size=int(raw["size"]), events=events)
