"""Slow tests a folder runs only when the marker expression names `slow` (`-m slow`)."""

from __future__ import annotations

from pathlib import Path

import pytest

__all__ = ["deselect_slow_unless_asked"]


def deselect_slow_unless_asked(
    config: pytest.Config, items: list[pytest.Item], folder: Path
) -> None:
    """Deselect the `slow` tests under `folder` unless `-m` names `slow`."""
    if "slow" in (config.option.markexpr or ""):
        return
    slow = [
        item
        for item in items
        if item.get_closest_marker("slow") is not None and item.path.is_relative_to(folder)
    ]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item not in slow]
