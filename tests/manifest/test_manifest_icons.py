"""The committed icons are what `manifest/icons.py` draws."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from presence_sync.package.png import decode
from tests.manifest.package_env import MANIFEST_DIR, ROOT


def test_the_icons_script_draws_the_committed_pngs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "manifest.icons", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for name, size in (("color.png", 192), ("outline.png", 32)):
        drawn = decode((tmp_path / name).read_bytes())
        committed = decode((MANIFEST_DIR / name).read_bytes())
        assert (drawn.width, drawn.height) == (size, size)
        assert drawn == committed, f"{name} differs: run python -m manifest.icons and commit"


def test_the_colour_icon_is_full_colour_and_the_outline_white_on_transparent() -> None:
    color = decode((MANIFEST_DIR / "color.png").read_bytes())
    outline = decode((MANIFEST_DIR / "outline.png").read_bytes())

    assert len({p[:3] for p in color.pixels if p[3] == 255}) > 3  # not a white silhouette
    assert {p[:3] for p in outline.pixels if p[3] > 0} == {(255, 255, 255)}
    assert any(p[3] == 0 for p in outline.pixels)
