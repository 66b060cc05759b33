"""The sandbox as a child process of the demo: started, waited for, and stopped cleanly.

The sandbox runs in its own process rather than the demo's event loop: MSAL, the ringcentral
SDK and botbuilder make blocking HTTP calls, and one of them blocking the loop that also
serves the sandbox would stall both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SandboxProcess", "SandboxStartError", "run_sandbox"]

logger = logging.getLogger(__name__)

START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
_BANNER = re.compile(r"Presence Sync sandbox at (https://\S+)")


class SandboxStartError(Exception):
    """The sandbox did not come up; the message says why and where its log is."""


@dataclass
class SandboxProcess:
    """A running `python -m sandbox` child process and where it listens."""

    data_dir: Path
    log_file: Path
    base_url: str = ""
    _process: asyncio.subprocess.Process | None = field(default=None, repr=False)
    _drain: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def ca_file(self) -> str:
        """The sandbox CA that every client of it must trust."""
        return str((self.data_dir / "ca.pem").resolve())

    @classmethod
    async def start(
        cls,
        data_dir: Path,
        *,
        port: int = 8443,
        users: int = 40,
        time_scale: float = 1.0,
        rc_mode: str = "legacy",
        log_file: Path | None = None,
    ) -> SandboxProcess:
        """Start the sandbox and wait until it serves; SandboxStartError if it does not."""
        await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
        log_path = log_file or data_dir.parent / "sandbox.log"
        running = cls(data_dir=data_dir, log_file=log_path)
        args = [
            sys.executable,
            "-m",
            "sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--users",
            str(users),
            "--time-scale",
            str(time_scale),
            "--rc-mode",
            rc_mode,
            "--data",
            str(data_dir),
        ]
        with log_path.open("ab") as log:
            # A session of its own: Ctrl-C reaches the demo, which then stops the sandbox in
            # order, after the product server that still talks to it.
            running._process = await asyncio.create_subprocess_exec(
                *args,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        try:
            running.base_url = await asyncio.wait_for(running._banner(), START_TIMEOUT)
        except (TimeoutError, SandboxStartError) as err:
            await running.stop()
            reason = str(err) or f"no answer within {START_TIMEOUT:.0f} s"
            said = _last_words(log_path)
            message = f"the sandbox did not start: {reason}{said} (log: {log_path})"
            raise SandboxStartError(message) from err
        except asyncio.CancelledError:
            # Ctrl-C while it starts: the child has a session of its own, so no terminal
            # signal reaches it and only this stops it.
            await running.stop()
            raise
        running._drain = asyncio.get_running_loop().create_task(running._drain_stdout())
        return running

    def _stdout(self) -> asyncio.StreamReader:
        if self._process is None or self._process.stdout is None:
            raise SandboxStartError("the sandbox process has no output pipe")
        return self._process.stdout

    async def _banner(self) -> str:
        stdout = self._stdout()
        while True:
            line = await stdout.readline()
            with self.log_file.open("ab") as log:
                log.write(line)
            if not line:
                code = await self._process.wait() if self._process is not None else None
                raise SandboxStartError(f"it exited with status {code}")
            match = _BANNER.search(line.decode(errors="replace"))
            if match:
                return match.group(1)

    async def _drain_stdout(self) -> None:
        # Keep reading so the child never blocks on a full pipe; its lines go to the log file.
        stdout = self._stdout()
        with self.log_file.open("ab") as log:
            while line := await stdout.readline():
                log.write(line)
                log.flush()

    @property
    def running(self) -> bool:
        """Whether the child process is still alive."""
        return self._process is not None and self._process.returncode is None

    async def wait(self) -> int | None:
        """Wait until the sandbox process ends; its exit status."""
        if self._process is None:
            return None
        return await self._process.wait()

    async def stop(self) -> None:
        """Ask the sandbox to stop (SIGTERM) and wait; kill it if it does not stop in time."""
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                logger.warning("the sandbox did not stop within %.0f s; killing it", STOP_TIMEOUT)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._drain is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._drain, STOP_TIMEOUT)
            self._drain = None


def _last_words(log_path: Path) -> str:
    """The sandbox's own last line, which names the problem (e.g. an address in use)."""
    try:
        lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    said = next((line for line in reversed(lines) if line), "")
    return f": {said}" if said else ""


def run_sandbox(argv: list[str]) -> int:
    """`presence-sync sandbox ARGS`: run the sandbox in the foreground with its own options."""
    from sandbox.server import main as sandbox_main

    return sandbox_main(argv, prog="presence-sync sandbox")
