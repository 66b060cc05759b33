"""An SQLite deployment never loads the MongoDB driver."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from presence_sync.secrets import SecretBox

OPEN_SQLITE = """
import asyncio, sys
from presence_sync.store import open_store

async def main(url, key):
    store = open_store(url, key)
    await store.open()
    await store.ping()
    await store.close()

asyncio.run(main(sys.argv[1], sys.argv[2]))
print("opened", "pymongo" in sys.modules, "bson" in sys.modules)
"""


def test_opening_an_sqlite_store_does_not_import_pymongo(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    run = subprocess.run(
        [sys.executable, "-c", OPEN_SQLITE, url, SecretBox.generate_key()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["opened", "False", "False"]


def test_choosing_mongodb_is_what_loads_pymongo() -> None:
    # The counterpart: the check above sees pymongo as soon as the factory picks MongoDB.
    script = (
        "import sys; from presence_sync.store import open_store; "
        "open_store(sys.argv[1], sys.argv[2]); print('pymongo' in sys.modules)"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, "mongodb://127.0.0.1:1/x", SecretBox.generate_key()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True"]
