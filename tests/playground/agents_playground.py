"""Microsoft's Agents Playground (npm `@microsoft/m365agentsplayground`) run against the bot.

    async with agents_playground(f"{server.url}/api/messages", log_dir) as playground:
        print(playground.url)  # open it in a browser, or drive it with `say-help.cjs`

The Playground is started from this folder's `node_modules` (`scripts/setup` installs it) on
127.0.0.1 only (`loopback.cjs` binds what it would bind on every interface), with its
telemetry off and no browser of its own, as the bot's Teams channel: it sends the bot
unsigned activities and takes the replies on its own connector at `/_connector`.
Errors:

    PlaygroundError     Node or the Playground is missing, or it did not start in time
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import re
import shutil
import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from presence_sync.demo.server import demo_settings
from presence_sync.settings import Settings

__all__ = [
    "PLAYGROUND_DIR",
    "Playground",
    "PlaygroundError",
    "agents_playground",
    "loopback_settings",
    "say",
]

PLAYGROUND_DIR = Path(__file__).resolve().parent
CLI = PLAYGROUND_DIR / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"
START_SECONDS = 30.0
STOP_SECONDS = 5.0
LISTENING = re.compile(rb"Listening on (\d+)")


class PlaygroundError(Exception):
    """Agents Playground could not be started or driven; the message says why."""


@dataclass(frozen=True)
class Playground:
    """A running Agents Playground: its UI at `url`, its log file at `log_file`."""

    url: str
    log_file: Path


def loopback_settings(config: Mapping[str, Any], *, port: int, data_dir: Path) -> Settings:
    """The demo's settings for the sandbox `config`, its bot unsigned and for this machine only.

    The Playground signs nothing: without bot credentials and with the loudly named loopback
    switch on, `/api/messages` serves loopback callers alone.
    """
    settings = demo_settings(config, port=port, data_dir=data_dir)
    return dataclasses.replace(
        settings,
        bot_app_id=None,
        bot_app_secret=None,
        bot_dangerously_allow_unauthenticated_loopback=True,
    )


def playground_environment(log_file: Path) -> dict[str, str]:
    """The Playground's environment: no browser opened, no telemetry, logs to `log_file`."""
    env = dict(os.environ)
    env.update(
        {
            "TEAMSAPPTESTER_BROWSER": "none",
            "DO_NOT_TRACK": "1",
            # Its Application Insights client is set up even with --disable-telemetry; keep
            # that SDK's own heartbeat ("statsbeat") off too.
            "APPLICATION_INSIGHTS_NO_STATSBEAT": "true",
            "M365_AGENTS_PLAYGROUND_LOGFILE": str(log_file),
        }
    )
    return env


def free_port() -> int:
    """A loopback port nothing listens on now (the Playground names its own connector URL)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def agents_playground(
    endpoint: str, log_dir: Path, *, port: int | None = None
) -> AsyncIterator[Playground]:
    """Agents Playground as the Teams channel of the bot at `endpoint`, stopped at the end."""
    node = shutil.which("node")
    if node is None or not CLI.is_file():
        raise PlaygroundError(
            f"Agents Playground needs Node and {CLI.relative_to(PLAYGROUND_DIR.parents[1])}: "
            "run scripts/setup"
        )
    port = port or free_port()
    await asyncio.to_thread(log_dir.mkdir, parents=True, exist_ok=True)
    log_file = log_dir / "agents-playground.log"
    command = [
        node,
        "--require",
        str(PLAYGROUND_DIR / "loopback.cjs"),
        str(CLI),
        "--port",
        str(port),
        "--app-endpoint",
        endpoint,
        "--channel-id",
        "msteams",
        "--service-url",
        f"http://127.0.0.1:{port}/_connector",
        "--disable-telemetry",
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=log_dir,  # it writes its config and logs under the working folder
        env=playground_environment(log_file),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    drain: asyncio.Task[None] | None = None
    try:
        listening = await _listening(process, log_file)
        if listening != port:
            raise PlaygroundError(f"port {port} was taken; the Playground moved to {listening}")
        drain = asyncio.create_task(_drain(process))
        yield Playground(url=f"http://127.0.0.1:{port}/", log_file=log_file)
    finally:
        await _stop(process)
        if drain is not None:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain


async def _listening(process: asyncio.subprocess.Process, log_file: Path) -> int:
    """The port the Playground says it listens on, within START_SECONDS."""
    if process.stdout is None:
        raise PlaygroundError("the Playground's output is not readable")
    seen = b""
    try:
        async with asyncio.timeout(START_SECONDS):
            while True:
                line = await process.stdout.readline()
                if not line:
                    raise PlaygroundError(
                        f"the Playground exited ({await process.wait()}): "
                        f"{seen.decode(errors='replace')[-2000:]}"
                    )
                seen += line
                found = LISTENING.search(line)
                if found:
                    return int(found.group(1))
    except TimeoutError as err:
        raise PlaygroundError(
            f"the Playground did not listen within {START_SECONDS:.0f} s; see {log_file}"
        ) from err


async def _drain(process: asyncio.subprocess.Process) -> None:
    """Read the Playground's console so it never blocks on a full pipe (it logs to its file)."""
    if process.stdout is not None:
        while await process.stdout.readline():
            pass


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, 15)
    try:
        async with asyncio.timeout(STOP_SECONDS):
            await process.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        await process.wait()


async def say(
    playground_url: str, text: str, expect: Sequence[str], *, within: float = 60.0
) -> dict[str, Any]:
    """Say `text` in the Playground's personal chat in headless Chromium; what it showed.

    Runs `say-help.cjs` and returns its JSON report (`ok`, `sent`, `matched`, `cards`,
    `blocked`, `error`); the script gives up after `within` seconds, and is killed a little
    after that if it hangs.
    """
    node = shutil.which("node")
    if node is None:
        raise PlaygroundError("driving the Playground needs Node: run scripts/setup")
    args = [str(PLAYGROUND_DIR / "say-help.cjs"), playground_url, "--text", text]
    for wanted in expect:
        args += ["--expect", wanted]
    args += ["--timeout-ms", str(int(within * 1000))]
    process = await asyncio.create_subprocess_exec(
        node,
        *args,
        cwd=PLAYGROUND_DIR,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        async with asyncio.timeout(within + 30.0):
            out, err = await process.communicate()
    except TimeoutError as error:
        raise PlaygroundError(
            f"the browser script did not finish within {within + 30:.0f} s"
        ) from error
    finally:
        await _stop(process)
    lines = out.decode(errors="replace").strip().splitlines()
    try:
        report: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, ValueError) as error:
        raise PlaygroundError(
            f"the browser script printed no report (exit {process.returncode}): "
            f"{err.decode(errors='replace')[-2000:]}"
        ) from error
    return report
