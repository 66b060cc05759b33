"""The import contracts of pyproject.toml hold, and a wrong import is reported by name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).parent / "lint-imports"


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """Run the contracts of `root`/pyproject.toml over the packages in `root`."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def copy_of_repo(tmp_path: Path) -> Path:
    """The three packages and the contracts, copied so a test can break them."""
    ignore = shutil.ignore_patterns("__pycache__")
    for package in ("presence_sync", "bot", "sandbox"):
        shutil.copytree(REPO / package, tmp_path / package, ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_code_keeps_every_contract() -> None:
    result = lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "wrong_import", "contract", "reported"),
    [
        (
            "watch/poller.py",
            "from presence_sync.web import keys",
            "The product's layers import downwards only BROKEN",
            "presence_sync.watch.poller -> presence_sync.web.keys",
        ),
        (
            "store/bell.py",
            "from presence_sync.sync import budget",
            "sit below every layer BROKEN",
            "presence_sync.store.bell -> presence_sync.sync",
        ),
        (
            "watch/coverage.py",
            "import sandbox.server",
            "Only the demo imports the sandbox",
            "presence_sync.watch.coverage -> sandbox.server",
        ),
    ],
)
def test_a_wrong_import_is_reported_with_both_module_names(
    copy_of_repo: Path, module: str, wrong_import: str, contract: str, reported: str
) -> None:
    path = copy_of_repo / "presence_sync" / module
    path.write_text(path.read_text() + f"\n{wrong_import}  # noqa\n")

    result = lint(copy_of_repo)

    assert result.returncode != 0
    assert contract in result.stdout
    assert reported in result.stdout


@pytest.mark.parametrize(
    "module",
    [
        "presence_sync.admin",
        "presence_sync.sync",
        "presence_sync.watch",
        "presence_sync.web.keys",
        "presence_sync.services",
        "presence_sync.app",
    ],
)
def test_each_package_imports_on_its_own(module: str) -> None:
    # A fresh interpreter per module: an import cycle would fail here, whatever ran before.
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
