"""A copy of `manifest/` for the package tests to break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.manifest.package_env import MANIFEST_DIR


@pytest.fixture
def manifest_copy(tmp_path: Path) -> Path:
    """A copy of manifest/ (template, icons, schema) a test may break."""
    folder = tmp_path / "manifest"
    shutil.copytree(MANIFEST_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder
