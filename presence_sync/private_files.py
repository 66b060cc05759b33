"""Files the product keeps for itself (the SQLite store, the key file): its own user's only.

The data folder holds encrypted secrets, audit history and the key that opens them, so it
is 0700 and every file the product creates in it 0600, whatever the umask. Creating the
SQLite file 0600 before SQLite opens it is enough for its `-wal` and `-shm` files too:
SQLite gives them the permissions of the database file. Files and folders made by an older
version with looser permissions are tightened when they are opened again.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["FILE_MODE", "FOLDER_MODE", "SQLITE_COMPANIONS", "private_file", "private_folder"]

FOLDER_MODE = 0o700
FILE_MODE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_folder(path: Path, *, tighten: bool = True) -> None:
    """Create `path` (and missing parents) as 0700; with `tighten`, an existing one too.

    Without `tighten` an existing folder is left alone: a SQLite file may sit in a folder
    the product does not own, such as the working directory.
    """
    if path.is_dir():
        if tighten:
            os.chmod(path, FOLDER_MODE)
        return
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    os.chmod(path, FOLDER_MODE)  # mkdir's mode is filtered by the umask


def private_file(path: Path, companions: tuple[str, ...] = ()) -> None:
    """Create `path` empty as 0600 if missing, else tighten it (and its `companions`)."""
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    for target in (path, *(path.with_name(path.name + suffix) for suffix in companions)):
        with contextlib.suppress(FileNotFoundError, PermissionError):  # not ours: leave it
            os.chmod(target, FILE_MODE)
