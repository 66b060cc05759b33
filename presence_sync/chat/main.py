"""Running the chat: as its own command, or inside the demo once it is ready."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from presence_sync.chat.session import ChatSession, read_lines
from presence_sync.chat.target import ChatError, ChatTarget, find_target
from presence_sync.chat.teams import TeamsChat

__all__ = ["chat", "run_chat"]

EXIT_INTERRUPTED = 130


async def run_chat(target: ChatTarget, email: str, out: TextIO | None = None) -> None:
    """Chat as `email` through the sandbox at `target`, on stdin and `out` (stdout)."""
    screen = out or sys.stdout
    teams = TeamsChat.open(target, email)
    try:
        session = ChatSession(teams, screen, interactive=sys.stdin.isatty())
        await session.run(read_lines(sys.stdin.fileno()))
    finally:
        await teams.close()


def chat(email: str, data: Path, sandbox: str | None = None, ca_file: Path | None = None) -> int:
    """`presence-sync chat`: the exit status (0 after quit or end of input, 2 with no demo)."""
    try:
        asyncio.run(run_chat(find_target(data, sandbox, ca_file), email))
    except ChatError as err:
        print(f"presence-sync chat: {err}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        print("\nBye.")
        return EXIT_INTERRUPTED
    return 0
