"""The processes the fault soak starts, kills and restarts: the product's server and the store.

Both are children of the soak, so it can do to them what an operator's bad day does: SIGKILL
the server (no clean shutdown, no last writes) and stop the store for a while, then start them
again on the same port with the same data.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.mongo_server import (
    MongoServerError,
    build_ferretdb,
    ferretdb_command,
    free_port,
    wait_until_answering,
)
from tests.soak.server import SECRET_KEY, SERVING

__all__ = ["ServerProcess", "StoreProcess", "rss_bytes"]

REPO = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def rss_bytes(pid: int) -> int:
    """Resident memory of process `pid` (VmRSS in /proc), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"process {pid} reports no VmRSS")


@dataclass
class ServerProcess:
    """`python -m tests.soak.server` as a child: started, killed, started again."""

    sandbox_url: str
    ca_file: str
    port: int
    data_dir: Path
    store_url: str
    reconcile: float
    secret_key: str
    url: str = ""
    starts: int = 0
    _process: asyncio.subprocess.Process | None = field(default=None, repr=False)
    _drain: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        """The running server's process id."""
        if self._process is None or self._process.returncode is not None:
            raise RuntimeError("the server is not running")
        return self._process.pid

    async def start(self, *, connect: bool = False, within: float = START_TIMEOUT) -> float:
        """Start it and wait until it serves; the seconds that took."""
        began = time.monotonic()
        args = [
            sys.executable, "-m", "tests.soak.server",
            "--sandbox", self.sandbox_url, "--ca-file", self.ca_file,
            "--port", str(self.port), "--data", str(self.data_dir),
            "--store-url", self.store_url, "--reconcile", str(self.reconcile),
        ]  # fmt: skip
        if connect:
            args.append("--connect")
        env = dict(os.environ, REQUESTS_CA_BUNDLE=self.ca_file, SSL_CERT_FILE=self.ca_file)
        env[SECRET_KEY] = self.secret_key
        log = (self.data_dir / "server.stderr").open("ab")
        try:
            self._process = await asyncio.create_subprocess_exec(
                *args, cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=log
            )
        finally:
            log.close()
        self.starts += 1
        try:
            await asyncio.wait_for(self._serving(), within)
        except TimeoutError as err:
            await self.kill()
            doing = "connect and sync everyone" if connect else "start"
            raise TimeoutError(
                f"the server did not {doing} within {within:.0f} s (log: {self.data_dir})"
            ) from err
        except BaseException:
            await self.kill()
            raise
        self._drain = asyncio.get_running_loop().create_task(self._drain_stdout())
        return time.monotonic() - began

    def _stdout(self) -> asyncio.StreamReader:
        if self._process is None or self._process.stdout is None:
            raise RuntimeError("the server process has no output pipe")
        return self._process.stdout

    async def _serving(self) -> None:
        stdout = self._stdout()
        while True:
            line = (await stdout.readline()).decode(errors="replace")
            if not line:
                code = await self._process.wait() if self._process is not None else None
                tail = (self.data_dir / "server.stderr").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the server exited with status {code} before serving:\n{tail}")
            if line.startswith(SERVING):
                self.url = line.split()[1]
                return

    async def _drain_stdout(self) -> None:
        stdout = self._stdout()
        while await stdout.readline():
            pass

    async def kill(self) -> None:
        """SIGKILL: the server gets no chance to finish anything."""
        await self._end(signal.SIGKILL)

    async def stop(self) -> None:
        """SIGTERM and wait (SIGKILL if it does not stop in time)."""
        await self._end(signal.SIGTERM)

    async def _end(self, sig: signal.Signals) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain
            self._drain = None


@dataclass
class StoreProcess:
    """A FerretDB of the soak's own, stopped and started again on the same port and data."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def uri(self) -> str:
        """The server's URI, without a database."""
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> float:
        """Start FerretDB and wait until it answers; the seconds that took."""
        began = time.monotonic()
        binary = build_ferretdb(log=False)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with (self.data_dir / "ferretdb.log").open("ab") as log:
            self._process = subprocess.Popen(
                ferretdb_command(binary, self.port, self.data_dir), stdout=log, stderr=log
            )
        try:
            wait_until_answering(self.uri, START_TIMEOUT, self._process)
        except MongoServerError:
            self.stop()
            raise
        return time.monotonic() - began

    def stop(self) -> None:
        """Stop FerretDB (SIGTERM, then SIGKILL) and wait for it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
