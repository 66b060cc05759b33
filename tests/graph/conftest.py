"""Fixtures: the shared full sandbox, wrapped for client tests (see client_sandbox.py)."""

from tests.graph.client_sandbox import client_sandbox
from tests.sandbox.conftest import sandbox, sandbox_options

__all__ = ["client_sandbox", "sandbox", "sandbox_options"]
