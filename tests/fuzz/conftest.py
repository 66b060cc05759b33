"""The seeded HTTP fuzz runs only when asked for by its marker (`-m slow`); see its module."""

from __future__ import annotations

from pathlib import Path

import pytest

HTTP_FUZZ = Path(__file__).parent / "test_http_fuzz.py"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the HTTP fuzz unless the marker expression names `slow`."""
    if "slow" in (config.option.markexpr or ""):
        return
    fuzz = [item for item in items if item.path == HTTP_FUZZ]
    if fuzz:
        config.hook.pytest_deselected(items=fuzz)
        items[:] = [item for item in items if item not in fuzz]
