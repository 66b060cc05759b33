"""The README's pictures: one for every page of the tab, each committed and a sound PNG.

`scripts/screenshots` (docs/screenshots.py) makes them; these checks only read the committed
files, the tab's own page list and the README, so they are quick and change nothing.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

from docs.screenshots import CARD, MAX_HEIGHT, OUT, SHOTS, TAB_PAGES, WIDTH

REPO = Path(__file__).resolve().parents[1]
ROUTER = REPO / "tab" / "src" / "router.ts"
README = REPO / "README.md"
MAX_BYTES = 300 * 1024
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by PNG colour type


def tab_navigation() -> list[tuple[str, str]]:
    """(label, path) of every page in the tab's navigation, from `PAGES` in router.ts."""
    found = re.search(r"export const PAGES\b[^=]*=\s*\[(.*?)\];", ROUTER.read_text(), re.S)
    assert found, f"no `export const PAGES = [...]` in {ROUTER}"
    return re.findall(r'label:\s*"([^"]+)",\s*path:\s*"([^"]*)"', found.group(1))


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG whose every chunk checks out and whose pixels all decode."""
    data = path.read_bytes()
    assert data.startswith(_SIGNATURE), f"{path.name} is not a PNG"
    at, chunks, pixels = len(_SIGNATURE), [], b""
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"{path.name}: chunk {kind!r} is damaged"
        chunks.append(kind)
        if kind == b"IDAT":
            pixels += body
        at += 12 + length
    assert chunks[0] == b"IHDR", f"{path.name} does not start with its header"
    assert chunks[-1] == b"IEND", f"{path.name} is cut short"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    assert interlace == 0, f"{path.name} is interlaced"
    row = 1 + (width * _CHANNELS[colour] * depth + 7) // 8  # a filter byte, then the pixels
    assert len(zlib.decompress(pixels)) == row * height, f"{path.name}: pixel data is cut short"
    return width, height


def test_every_page_in_the_tab_navigation_has_a_picture() -> None:
    navigation = tab_navigation()
    assert len(navigation) >= 4, navigation
    assert [(page.label, page.path) for page in TAB_PAGES] == navigation


def test_the_committed_pictures_are_sound_pngs_of_the_expected_size() -> None:
    # Only what the command makes is there: a page that went away takes its picture along.
    assert sorted(p.name for p in OUT.iterdir()) == sorted(SHOTS)
    for name in SHOTS:
        path = OUT / name
        assert path.stat().st_size < MAX_BYTES, f"{name}: {path.stat().st_size} bytes"
        width, height = png_size(path)
        # The card is cropped to itself; the pages fill the window's width.
        wide = range(400, WIDTH) if name == CARD else range(WIDTH, WIDTH + 1)
        assert width in wide, (name, width)
        assert 300 <= height <= MAX_HEIGHT, (name, height)


def test_the_readme_opens_with_the_pictures_and_says_how_to_remake_them() -> None:
    first = README.read_text().split("\n## ", 1)[0]  # up to the first section
    for name in SHOTS:
        assert f"docs/screenshots/{name}" in first, f"README's first screen does not show {name}"
    for command in ("scripts/run", "scripts/test", "scripts/screenshots"):
        assert command in first, f"README's first screen does not name {command}"
