"""The data folder keeps secrets: only the product's own user may read what it puts there."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

from sandbox.server import RunningSandbox
from tests.connections.product import free_port, product_settings, start_product


def mode(path: Path) -> int:
    """The permission bits of `path`."""
    return stat.S_IMODE(path.stat().st_mode)


async def run_once(sandbox: RunningSandbox, data: Path) -> None:
    """Start the product on SQLite in `data`, without SECRET_KEY (so with a key file), stop it."""
    settings = product_settings(
        sandbox, f"sqlite:///{data / 'presence-sync.db'}", data, free_port(), ""
    )
    server = await start_product(replace(settings, secret_key=None))
    await server.stop()


async def test_a_new_data_folder_and_its_files_are_private(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    previous = os.umask(0o022)  # the usual umask, which would leave files world-readable
    try:
        await run_once(sandbox, data)
    finally:
        os.umask(previous)

    assert mode(data) == 0o700
    files = sorted(p.name for p in data.iterdir())
    assert "presence-sync.db" in files
    assert "secret.key" in files
    assert {name: mode(data / name) for name in files} == {name: 0o600 for name in files}


async def test_files_an_older_version_left_readable_are_tightened(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    await run_once(sandbox, data)
    os.chmod(data, 0o755)
    for name in ("presence-sync.db", "secret.key"):
        os.chmod(data / name, 0o644)

    await run_once(sandbox, data)

    assert mode(data) == 0o700
    assert {p.name: mode(p) for p in data.iterdir()} == {p.name: 0o600 for p in data.iterdir()}
