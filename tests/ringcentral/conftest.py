"""Fixtures: the HTTPS sandbox with admin consent granted (see tests/graph/client_sandbox.py)."""

from tests.graph.client_sandbox import client_sandbox, make_client_sandbox, sandbox_dir

__all__ = ["client_sandbox", "make_client_sandbox", "sandbox_dir"]
