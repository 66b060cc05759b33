"""The sandbox fixtures live in tests/sandbox_fixtures.py, registered for the whole suite."""

from tests.sandbox_fixtures import sandbox, sandbox_data_dir, sandbox_options

__all__ = ["sandbox", "sandbox_data_dir", "sandbox_options"]
