"""The full HTTPS sandbox on a free loopback port, for tests of any service in it (a plugin)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import RunningSandbox, run_sandbox


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """Override in a test module to change users, seed, time_scale, rc_mode or seed_file."""
    return {}


@pytest.fixture(scope="session")
def sandbox_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data folder for the session, so the CA and server certificate are made once."""
    return tmp_path_factory.mktemp("sandbox-data")


@pytest.fixture
async def sandbox(
    sandbox_data_dir: Path, sandbox_options: dict[str, Any]
) -> AsyncIterator[RunningSandbox]:
    """The whole sandbox over HTTPS on 127.0.0.1, port chosen by the OS; fresh state each test.

    Yields a `sandbox.server.RunningSandbox`: `.ctx`, `.base_url`, `.ca_file`, `.config`,
    `.app`, `.http` (an aiohttp session trusting the CA) and `.control(method, path, body)`.
    """
    async with run_sandbox(sandbox_data_dir, **sandbox_options) as running:
        yield running
