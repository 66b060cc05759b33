"""`presence-sync demo --chat`: once the demo is ready, the admin chats with the bot here.

The office day plays on meanwhile, its lines written to a file rather than over the chat;
ending the chat (quit, exit, Ctrl-D) ends the demo, which then stops everything in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from pathlib import Path

from presence_sync.chat import ChatError, ChatTarget, run_chat
from presence_sync.demo.console import Console, DemoFailedError
from presence_sync.demo.control import SandboxControl
from presence_sync.demo.day import run_days
from presence_sync.demo.sandbox_process import SandboxProcess
from presence_sync.demo.scenario import Person

__all__ = ["chat_during_day"]


async def chat_during_day(
    say: Console,
    control: SandboxControl,
    sandbox: SandboxProcess,
    admin: str,
    actors: Mapping[str, Person],
    rc_mode: str,
    seed: int,
    scenario: bool,
    day_log: Path,
) -> int:
    """Chat as `admin` until the chat ends, the day playing in the background; exit status."""
    say.heading(f"Chat with the bot as {admin} (the office day's lines go to {day_log})")
    target = ChatTarget(sandbox.base_url, sandbox.ca_file, "the demo")
    with day_log.open("a", encoding="utf-8") as log:
        day = asyncio.get_running_loop().create_task(
            run_days(
                Console(log), control, actors=actors, rc_mode=rc_mode, seed=seed, scenario=scenario
            )
        )
        try:
            await run_chat(target, admin)
        except ChatError as err:
            raise DemoFailedError(f"the chat stopped: {err}", err.code) from err
        finally:
            day.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await day
    return 0
