"""`presence-sync chat` as a person uses it, against a running `presence-sync demo`.

The demo runs as its own process (8 people, no office day, free ports, a temporary data
folder); the chat is another process that finds it from that folder alone, reads commands on
its standard input and prints the bot's answers on its standard output.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "admin@contoso.example"
READY = "Presence is yours to drive now"
DEMO = ("demo", "--port", "0", "--sandbox-port", "0", "--users", "8", "--scenario", "none")

pytestmark = pytest.mark.timeout(120)


async def _presence_sync(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "presence_sync",
        *args,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _chat(data: Path, typed: str, *, who: str = ADMIN) -> tuple[int, str, str]:
    process = await _presence_sync("chat", "--as", who, "--data", str(data))
    out, err = await asyncio.wait_for(process.communicate(typed.encode()), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _read_until(process: asyncio.subprocess.Process, marker: str, limit: float) -> str:
    """What `process` printed up to and including `marker`; fails with what it did print."""
    assert process.stdout is not None
    try:
        seen = await asyncio.wait_for(process.stdout.readuntil(marker.encode()), limit)
    except asyncio.IncompleteReadError as err:
        raise AssertionError(f"{marker!r} never came; printed: {err.partial.decode()}") from err
    return seen.decode()


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Path]:
    """A running demo whose data folder is the one yielded."""
    process = await _presence_sync(*DEMO, "--data", str(tmp_path))
    try:
        await _read_until(process, READY, 60)
        yield tmp_path
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.communicate(), 30)


async def test_help_status_and_a_confirmation_pressed_by_its_number(demo: Path) -> None:
    code, out, err = await _chat(demo, "help\nstatus\ndisable\n1\n2\nstatus\n")

    assert (code, err) == (0, "")
    help_answer, status, confirm, pressed, again, status_after = out.split("\n> ")[1:7]
    assert help_answer.startswith("help\n")
    assert "bot:\n  What I can do" in help_answer  # a notice may come first, marked as one
    assert "  sync all:" in help_answer
    assert "  disable:" in help_answer
    # Facts line up on the longest label, which "Waiting to be checked" may lengthen.
    assert re.search(r"\n  Synced: +5\n", status), status
    assert "  Microsoft (admin consent)  Connected" in status
    assert "Stop syncing everyone?" in confirm
    assert confirm.rstrip().endswith("[1] Confirm  [2] Cancel")
    assert "Confirmed: syncing is off for everyone." in pressed
    # The answer replaced the pressed card and its buttons: nothing is pressed twice.
    assert again == "2\n(no buttons to press: the last card has none)"
    assert "Syncing is off for everyone." in status_after
    assert out.rstrip().endswith("Bye.")


async def test_someone_who_is_not_in_the_org_is_named_and_nothing_is_sent(demo: Path) -> None:
    code, out, err = await _chat(demo, "status\n", who="nobody@contoso.example")

    assert code == 2
    assert "--as: no Teams user with email nobody@contoso.example" in err
    assert ADMIN in err  # the admins it could be
    assert "bot:" not in out


async def test_without_a_running_demo_the_chat_says_what_is_missing(tmp_path: Path) -> None:
    code, _, err = await _chat(tmp_path, "help\n")

    assert code == 2
    assert f"no running demo found: neither {tmp_path / 'sandbox' / 'sandbox-config.json'}" in err
    assert "presence-sync demo" in err


async def test_demo_chat_chats_as_the_admin_once_ready_and_quit_stops_the_demo(
    tmp_path: Path,
) -> None:
    process = await _presence_sync(*DEMO, "--chat", "--data", str(tmp_path))
    out, err = await asyncio.wait_for(process.communicate(b"status\nquit\n"), 90)

    shown = out.decode()
    assert process.returncode == 0, err.decode()
    assert f"Chatting with the bot as {ADMIN}" in shown
    assert re.search(r"\n  Synced: +5\n", shown), shown
    assert shown.rstrip().endswith("Bye.")
    code, _, gone = await _chat(tmp_path, "help\n")
    assert code == 2
    assert "no demo is running: nothing answers at https://localhost:" in gone


async def test_a_notice_prints_while_the_chat_waits_for_input(demo: Path) -> None:
    chat = await _presence_sync("chat", "--as", ADMIN, "--data", str(demo))
    assert chat.stdin is not None
    try:
        chat.stdin.write(b"sync all\n1\n")
        await chat.stdin.drain()
        pressed = await _read_until(chat, "bot (the card now reads):", 30)
        assert "[1] Confirm  [2] Cancel\n" in pressed
        assert "\n> 1\n" in pressed
        # Nothing more is typed: the job's report comes by itself once the job is done (the
        # demo's own sync all synced everyone, so this one finds all five already in sync).
        seen = await _read_until(chat, "Already in sync: 5", 30)
        last = seen.rsplit("\nbot", 1)[-1]  # the block of the last message printed
        assert last.startswith(" (notice):\n  Sync everyone: Done"), seen
        chat.stdin.write(b"quit\n")
        await chat.stdin.drain()
        rest, _ = await asyncio.wait_for(chat.communicate(), 30)
    finally:
        if chat.returncode is None:
            chat.kill()
            await chat.wait()
    assert chat.returncode == 0
    assert rest.decode().rstrip().endswith("Bye.")
