"""The whole `run_all.py --quick` run (minutes) only on `-m slow`; the rest always."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.slow_marker import deselect_slow_unless_asked

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the quick run of every benchmark unless the marker expression names `slow`."""
    deselect_slow_unless_asked(config, items, HERE)
