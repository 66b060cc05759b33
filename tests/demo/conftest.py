"""Fixtures: the shared full sandbox and the MongoDB-protocol server of the store suite."""

from tests.sandbox.conftest import sandbox, sandbox_data_dir, sandbox_options
from tests.store.conftest import mongo_target

__all__ = ["mongo_target", "sandbox", "sandbox_data_dir", "sandbox_options"]
