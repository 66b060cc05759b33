"""Suite-wide fixtures: the full sandbox is available to every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mongo_server import MongoServerError, build_ferretdb

pytest_plugins = ["tests.sandbox_fixtures"]


@pytest.fixture(scope="session")
def ferretdb_binary() -> Path:
    """A FerretDB build, for tests that stop and start a MongoDB-protocol server themselves."""
    try:
        return build_ferretdb()
    except MongoServerError as err:
        pytest.fail(f"FerretDB is needed to stop and start a MongoDB server: {err}", pytrace=False)
