"""Fixtures: the shared sandbox wrapped for clients, and a factory of product replicas."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.graph.client_sandbox import ClientSandbox, client_sandbox
from tests.sandbox.conftest import sandbox, sandbox_data_dir, sandbox_options
from tests.watch.harness import ProductFactory

__all__ = ["client_sandbox", "products", "sandbox", "sandbox_data_dir", "sandbox_options"]


@pytest.fixture
async def products(client_sandbox: ClientSandbox, tmp_path: Path) -> AsyncIterator[ProductFactory]:
    """Starts product replicas on one SQLite store; stops them after the test."""
    factory = ProductFactory(client_sandbox, tmp_path)
    yield factory
    await factory.close()
