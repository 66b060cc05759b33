"""`presence-sync demo` as a person runs it: the check passes, and Ctrl-C stops everything."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import uuid
from pathlib import Path

import pytest

from tests.demo.command import ROOT, demo_command
from tests.mongo_server import MongoTarget


async def _start(data: Path, *options: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *demo_command(data, *options),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _read_until(process: asyncio.subprocess.Process, marker: str, limit: float) -> str:
    assert process.stdout is not None
    seen = ""
    async with asyncio.timeout(limit):
        while marker not in seen:
            line = await process.stdout.readline()
            if not line:
                break
            seen += line.decode()
    return seen


def _ports(output: str) -> list[int]:
    return [int(p) for p in re.findall(r"(?:localhost|127\.0\.0\.1):(\d+)", output)[:2]]


def _children(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()


def _refused(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(params=["sqlite", "mongo-fast-clock"])
def store_option(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """The embedded store at real speed; a MongoDB-protocol store with sandbox time 60x faster.

    At 60x a RingCentral call still going at the end outlives the ten-minute Teams session the
    product sets for it, so the check also proves the session is refreshed while the call lasts;
    and every real millisecond between RingCentral answering a read and the product recording
    it is 60 sandbox milliseconds, the race that once left a Busy stuck after a meeting.
    """
    if request.param == "sqlite":
        return ()
    target: MongoTarget = request.getfixturevalue("mongo_target")
    database = target.database_uri(f"demo_{uuid.uuid4().hex[:8]}")
    return ("--store", database, "--time-scale", "60")


async def test_demo_check_with_a_small_org_passes_end_to_end(
    tmp_path: Path, store_option: tuple[str, ...]
) -> None:
    process = await _start(tmp_path, "--check", "--users", "14", "--duration", "20", *store_option)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=150)
    output = stdout.decode()
    assert process.returncode == 0, output + stderr.decode()
    assert stderr.decode() == ""
    assert "ok  admin consent granted by admin@contoso.example" in output
    assert "ok  sync account sync1@contoso.example authorised" in output
    assert "ok  RingCentral connected" in output
    assert re.search(r"done: \d+ synced, 0 already in sync, 0 failed", output)
    table = output[output.index("USER") :]
    rows = [line for line in table.splitlines()[1:] if line.strip().endswith(("ok", "FAIL"))]
    assert rows
    assert all(row.endswith("ok") for row in rows)
    assert f"OK: all {len(rows)} linked people show the expected state" in output
    assert re.search(r"\d+ changes carried across: median [\d.]+ s", output)
    assert "Busy/InACall" in table, "someone is still on a RingCentral call at the end"
    # Not a terminal: each start-up phase is a plain line of its own.
    for phase in ("starting the sandbox", "starting the server", "connecting RingCentral"):
        assert f"\n  ... {phase}\n" in output, phase
    assert "\r" not in output
    assert re.search(
        r"ok  the tab lists the sandbox's \d+ people, as admin@contoso\.example", output
    )
    assert re.search(r"ok  the bot's status says \d+ synced, as it should", output)
    assert all(_refused(port) for port in _ports(output))


@pytest.mark.parametrize(
    ("options", "marker"),
    [
        (("--scenario", "none"), "Presence is yours to drive now"),
        ((), "Office day (Ctrl-C stops the demo)"),
    ],
)
async def test_ctrl_c_stops_the_server_and_the_sandbox_cleanly(
    tmp_path: Path, options: tuple[str, ...], marker: str
) -> None:
    process = await _start(tmp_path, "--users", "8", *options)
    seen = await _read_until(process, marker, limit=60)
    assert marker in seen, seen
    ports = _ports(seen)
    assert len(ports) == 2
    assert not any(_refused(port) for port in ports)
    await asyncio.sleep(1.5)  # mid-way through whatever it is doing
    process.send_signal(signal.SIGINT)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 130
    assert stdout.decode().rstrip().endswith("Stopped.")
    assert "Traceback" not in stderr.decode()
    assert all(_refused(port) for port in ports)
    assert "Traceback" not in (tmp_path / "server.log").read_text()


async def test_a_sandbox_that_dies_underneath_stops_the_demo_with_its_reason(
    tmp_path: Path,
) -> None:
    process = await _start(tmp_path, "--users", "6", "--scenario", "none")
    seen = await _read_until(process, "Presence is yours to drive now", limit=60)
    assert "Presence is yours to drive now" in seen, seen
    children = _children(process.pid)
    assert len(children) == 1, "the sandbox is the demo's only child process"
    os.kill(int(children[0]), signal.SIGKILL)
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 1
    rest = stdout.decode()
    assert "The demo stopped" in rest
    assert "the sandbox stopped unexpectedly (exit status -9)" in rest
    assert _refused(_ports(seen)[1])


def _running_with(argument: str) -> list[int]:
    """Processes whose command line holds `argument`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                words = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argument.encode() in words:
                found.append(int(entry.name))
    return found


async def test_ctrl_c_while_the_sandbox_starts_leaves_no_sandbox_running(tmp_path: Path) -> None:
    process = await _start(tmp_path, "--users", "40")
    seen = await _read_until(process, "starting the sandbox", limit=60)
    assert "starting the sandbox" in seen, seen
    await asyncio.sleep(0.4)  # the sandbox process is up, building its org, not yet serving
    process.send_signal(signal.SIGINT)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 130
    assert "sandbox    https:" not in stdout.decode(), "interrupted too late to matter"
    assert stdout.decode().rstrip().endswith("Stopped.")
    assert "Traceback" not in stderr.decode()
    assert _running_with(str(tmp_path / "sandbox")) == []
