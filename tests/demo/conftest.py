"""Fixtures: the shared full sandbox (tests/sandbox/conftest.py), for the scenario and checker."""

from tests.sandbox.conftest import sandbox, sandbox_data_dir, sandbox_options

__all__ = ["sandbox", "sandbox_data_dir", "sandbox_options"]
