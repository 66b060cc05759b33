"""Where the running demo's sandbox is, found from the files the sandbox leaves behind.

The sandbox writes `sandbox-config.json` (its address and CA file, among its identities) into
its data folder when it starts; the demo keeps that folder at `<--data>/sandbox`. So `chat`
finds a demo started with the same `--data` (default `data/demo`) with no other flag, and a
sandbox started on its own (`presence-sync sandbox --data DIR`) with `--data DIR`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CONFIG_FILE", "EXIT_NO_DEMO", "EXIT_REFUSED", "ChatError", "ChatTarget", "find_target"]

CONFIG_FILE = "sandbox-config.json"
EXIT_NO_DEMO = 2
EXIT_REFUSED = 1  # one request was refused; the chat goes on


class ChatError(Exception):
    """The chat cannot start or go on; the message names what is missing, `code` the status."""

    def __init__(self, message: str, code: int = EXIT_NO_DEMO) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ChatTarget:
    """The sandbox to chat through: its base URL and the CA that signed its certificate."""

    base_url: str
    ca_file: str
    found_in: str  # where the address came from, for error messages


def _config_file(data: Path) -> Path | None:
    for candidate in (data / "sandbox" / CONFIG_FILE, data / CONFIG_FILE):
        if candidate.is_file():
            return candidate
    return None


def find_target(data: Path, sandbox: str | None = None, ca_file: Path | None = None) -> ChatTarget:
    """The sandbox named by `--sandbox`/`--ca`, else the one whose config is under `data`."""
    if ca_file is not None and not ca_file.is_file():
        raise ChatError(f"--ca: no such file {ca_file}")
    found = _config_file(data)
    if sandbox is not None:
        ca = ca_file or (found.parent / "ca.pem" if found else None)
        if ca is None or not ca.is_file():
            raise ChatError(
                f"--ca: the sandbox's CA file is needed to trust {sandbox} "
                f"(no {CONFIG_FILE} under {data} names one)"
            )
        return ChatTarget(sandbox.rstrip("/"), str(ca), "--sandbox")
    if found is None:
        raise ChatError(
            f"no running demo found: neither {data / 'sandbox' / CONFIG_FILE} nor "
            f"{data / CONFIG_FILE} exists; start one with `presence-sync demo` "
            "(or name its folder with --data, or the sandbox with --sandbox URL --ca FILE)"
        )
    try:
        config = json.loads(found.read_text())
        base_url, ca = str(config["base_url"]), Path(ca_file or config["ca_file"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ChatError(f"{found}: not a sandbox config the chat can read ({err})") from err
    if not ca.is_file():
        raise ChatError(f"{found} names the CA file {ca}, which does not exist")
    return ChatTarget(base_url.rstrip("/"), str(ca), str(found))
