"""The full soak runs only when asked for by its marker (`-m slow`); the short one always."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the full soak (15 minutes) unless the marker expression names `slow`."""
    if "slow" in (config.option.markexpr or ""):
        return
    full = [
        item
        for item in items
        if item.get_closest_marker("slow") is not None and item.path.is_relative_to(HERE)
    ]
    if full:
        config.hook.pytest_deselected(items=full)
        items[:] = [item for item in items if item not in full]
