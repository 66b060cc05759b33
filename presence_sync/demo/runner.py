"""`presence-sync demo`: sandbox, server, connections, sync all, an office day, and the check.

Order of events: start the sandbox (child process) and the product server (in this process),
tell the sandbox where the bot lives, connect both platforms through the product's consent
routes, run `sync all`, then play the office day until Ctrl-C (or, with `--check`, for a
bounded time, wait for things to settle and verify every linked person on both sides).
Everything started is stopped in reverse order, also on Ctrl-C, on failure, and when the
sandbox process dies underneath.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from presence_sync.demo.chatting import chat_during_day
from presence_sync.demo.connect import ConnectError, admin_email, connect_all
from presence_sync.demo.console import (
    EXIT_INTERRUPTED,
    Console,
    DemoFailedError,
)
from presence_sync.demo.control import ControlError, SandboxControl, as_person, linked_people
from presence_sync.demo.day import CHECK_DURATION, SETTLE_SECONDS, check_day, run_days
from presence_sync.demo.expect import baseline_activity
from presence_sync.demo.faces import faces_of, non_admin_email, show_faces
from presence_sync.demo.faces_check import check_faces
from presence_sync.demo.jobs import (
    job_summary,
    refresh_directory,
    sync_all,
    synced_links,
)
from presence_sync.demo.sandbox_process import SandboxProcess, SandboxStartError
from presence_sync.demo.server import ProductServer, demo_settings, fresh_store, reserve_port
from presence_sync.errors import SettingsError
from presence_sync.logs import configure_logging
from presence_sync.web.keys import STORE
from sandbox.tls import CertificatePaths, server_ssl_context

__all__ = ["DemoOptions", "main", "run_demo"]

logger = logging.getLogger(__name__)

STORE_WAIT = 30.0
PROGRESS_EVERY = 5.0  # seconds between sync-all progress lines (in a pipe or a file)
LIVE_PROGRESS_EVERY = 1.0  # the same on a terminal, where the line is rewritten in place
_STOPPING = (
    SandboxStartError,
    ConnectError,
    DemoFailedError,
    SettingsError,
    ControlError,
    aiohttp.ClientError,
    TimeoutError,
    OSError,
    ImportError,
)


@dataclass(frozen=True)
class DemoOptions:
    """The demo's command-line options."""

    port: int = 3978
    sandbox_port: int = 8443
    users: int = 40
    scenario: str = "office-day"
    data: Path = Path("data/demo")
    store: str | None = None
    check: bool = False
    duration: float | None = None
    time_scale: float = 1.0
    settle: float = SETTLE_SECONDS
    seed: int = 0
    sync_accounts: int = 1
    chat: bool = False


async def run_demo(options: DemoOptions, console: Console | None = None) -> int:
    """Run the demo to its end (or until cancelled); the exit status."""
    say = console or Console()
    data = options.data.resolve()
    await asyncio.to_thread(data.mkdir, parents=True, exist_ok=True)
    sandbox: SandboxProcess | None = None
    control: SandboxControl | None = None
    server: ProductServer | None = None
    try:
        say.heading("Presence Sync demo")
        say.progress("starting the sandbox")
        sandbox = await SandboxProcess.start(
            data / "sandbox",
            port=options.sandbox_port,
            users=options.users,
            time_scale=options.time_scale,
            log_file=data / "sandbox.log",
        )
        control = SandboxControl.open(sandbox.base_url, sandbox.ca_file)
        config = await control.config()
        say.line(f"sandbox    {sandbox.base_url}  ({options.users} people; log {sandbox.log_file})")
        say.progress("starting the server")
        clock = await sandbox_clock(control)
        server = await _start_server(options, config, data, clock, sandbox.data_dir)
        await control.set_product_url(f"{server.url}/api/messages")
        say.line(f"server     {server.url}  (log {data / 'server.log'})")
        session = asyncio.get_running_loop().create_task(
            _session(options, say, server, control, sandbox, config)
        )
        return await _unless_sandbox_exits(session, sandbox)
    except _STOPPING as err:
        say.heading("The demo stopped")
        say.line(_reason(err))
        say.line(f"logs: {data / 'server.log'}, {data / 'sandbox.log'}")
        return int(getattr(err, "code", 1))
    finally:
        await _stop(server, control, sandbox)


async def _session(
    options: DemoOptions,
    say: Console,
    server: ProductServer,
    control: SandboxControl,
    sandbox: SandboxProcess,
    config: dict[str, Any],
) -> int:
    """Connect, sync everyone, then play the day; the exit status."""
    store = await asyncio.wait_for(server.app[STORE].wait_opened(), STORE_WAIT)
    say.heading("Connecting Microsoft and RingCentral")
    admin = admin_email(config)
    accounts = list(config.get("sync_account_candidates", []))[: max(1, options.sync_accounts)]
    connected = await connect_all(
        server.url,
        store,
        control,
        sandbox.ca_file,
        admin=admin,
        sync_accounts=accounts,
        progress=say.progress,
    )
    say.line(f"ok  admin consent granted by {connected.admin}")
    for upn in connected.sync_accounts:
        say.line(f"ok  sync account {upn} authorised")
    say.line("ok  RingCentral connected")

    say.heading("Sync all")
    say.progress("matching Teams and RingCentral people by email")
    found = await refresh_directory(server.app)
    say.line(f"directory: {found.linked} people matched, {found.unmatched} unmatched")
    began = time.monotonic()
    job = await sync_all(
        server.app,
        admin,
        progress=lambda j: say.progress(f"sync all: {j.processed} of {j.total} done"),
        progress_every=LIVE_PROGRESS_EVERY if say.live else PROGRESS_EVERY,
    )
    say.line(job_summary(job, time.monotonic() - began))

    links = await synced_links(store)
    state = await control.state()
    entries = linked_people(state, {link.teams_user_id for link in links if link.teams_user_id})
    people = {p.teams_email.lower(): p for p in map(as_person, entries)}
    baseline = {str(e["teams"]["userPrincipalName"]).lower(): baseline_activity(e) for e in entries}
    # People signed out of Teams stay so: a meeting would sign them in. The check still
    # expects their RingCentral status to say Offline.
    actors = {k: p for k, p in people.items() if baseline[k].teams_choice != "Offline"}
    rc_mode = str(state.get("rc_mode", "legacy"))
    away = len(people) - len(actors)
    say.line(
        f"{len(links)} people linked and synced; {len(actors)} take part in the day"
        + (f", {away} signed out of Teams" if away else "")
    )
    show_faces(
        say,
        faces_of(
            server.url,
            sandbox.base_url,
            sandbox.ca_file,
            admin=admin,
            non_admin=non_admin_email(config, state),
        ),
    )
    playing = options.scenario != "none"
    if options.chat:  # ready: the admin chats here while the day plays on
        day_log = options.data.resolve() / "day.log"
        return await chat_during_day(
            say, control, sandbox, admin, actors, rc_mode, options.seed, playing, day_log
        )
    if options.check:
        presence = await check_day(
            say,
            control,
            people=people,
            actors=actors,
            baseline=baseline,
            rc_mode=rc_mode,
            duration=options.duration or CHECK_DURATION,
            settle=options.settle,
            seed=options.seed,
            scenario=playing,
        )
        faces = await check_faces(say, control, server.url, sandbox.ca_file, admin)
        return presence or faces
    await run_days(
        say,
        control,
        actors=actors,
        rc_mode=rc_mode,
        total=options.duration,
        seed=options.seed,
        scenario=playing,
    )
    return 0


async def _unless_sandbox_exits(session: asyncio.Task[int], sandbox: SandboxProcess) -> int:
    """The session's result, or DemoFailedError if the sandbox process ends first."""
    exited = asyncio.get_running_loop().create_task(sandbox.wait())
    try:
        done, _ = await asyncio.wait({session, exited}, return_when=asyncio.FIRST_COMPLETED)
        if session in done:
            return session.result()
        raise DemoFailedError(
            f"the sandbox stopped unexpectedly (exit status {exited.result()}); "
            f"see {sandbox.log_file}"
        )
    finally:
        for task in (exited, session):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _reason(err: BaseException) -> str:
    if isinstance(err, SettingsError):
        return f"setting {err.variable}: {err.problem}"
    if isinstance(err, OSError) and not isinstance(err, TimeoutError):
        return f"cannot listen or connect: {err}"
    return str(err) or type(err).__name__


async def _start_server(
    options: DemoOptions,
    config: dict[str, Any],
    data: Path,
    clock: Callable[[], float] | None,
    sandbox_data: Path,
) -> ProductServer:
    try:
        sock = reserve_port(options.port)
    except OSError as err:
        raise DemoFailedError(
            f"cannot listen on 127.0.0.1:{options.port}: {err.strerror or err}; "
            "choose another --port (0 picks a free one)"
        ) from err
    port = sock.getsockname()[1]
    try:
        settings = demo_settings(
            config, port=port, data_dir=data / "server", store_url=options.store, https=True
        )
        if options.store is None:
            # The sandbox starts afresh each run, so the product's embedded store does too:
            # connections, subscriptions and engine state of an earlier sandbox mean nothing.
            fresh_store(data / "server")
        # HTTPS on the sandbox's certificate: teams-js opens pop-ups for https tabs only.
        tls = server_ssl_context(CertificatePaths.in_folder(sandbox_data))
        return await ProductServer.start(
            settings, sock, clock=clock, time_scale=options.time_scale, ssl_context=tls
        )
    except BaseException:
        sock.close()
        raise


async def sandbox_clock(control: SandboxControl) -> Callable[[], float] | None:
    """The sandbox's faster clock as the product should read it; None at real speed.

    The engine compares RingCentral's timestamps with its own clock within a two-second
    tolerance, and at 60x that is 33 real milliseconds: an estimate from a request's round
    trip can be off by more when either process is busy (a restart under load), and our own
    echo then looks stamped before our write left. The sandbox runs on this machine and
    publishes its clock's origin on CLOCK_MONOTONIC, which every process here shares, so the
    product reads exactly the sandbox's time.
    """
    state = await control.call("GET", "/_sandbox/state?limit=0")
    scale = float(state.get("time_scale", 1.0))
    if scale == 1.0:
        return None
    epoch = float(state["clock_origin"]["epoch"])
    origin = float(state["clock_origin"]["monotonic"])
    return lambda: epoch + (time.monotonic() - origin) * scale


async def _stop(
    server: ProductServer | None, control: SandboxControl | None, sandbox: SandboxProcess | None
) -> None:
    # The server first: its loops still talk to the sandbox while they stop.
    if server is not None:
        try:
            await server.stop()
        except Exception:
            logger.exception("the server did not stop cleanly")
    if control is not None:
        await control.close()
    if sandbox is not None:
        await sandbox.stop()


def main(options: DemoOptions, console: Console | None = None) -> int:
    """Run the demo in a fresh event loop; Ctrl-C or SIGTERM stop it cleanly (exit 130)."""
    # The server's log goes to a file so the console shows only the demo's own lines.
    configure_logging("plain", "INFO", file=options.data.resolve() / "server.log")
    return asyncio.run(_main(options, console))


async def _main(options: DemoOptions, console: Console | None) -> int:
    loop = asyncio.get_running_loop()
    task = loop.create_task(run_demo(options, console))
    interrupted = False

    def stop() -> None:
        nonlocal interrupted
        # A second Ctrl-C while stopping changes nothing: every stop step is bounded.
        if not interrupted:
            interrupted = True
            task.cancel()

    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Loops without signal support (Windows, or not the main thread) keep Python's
        # default: Ctrl-C still raises KeyboardInterrupt, which the CLI turns into exit 130.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop)
            installed.append(sig)
    try:
        return await task
    except asyncio.CancelledError:
        if not interrupted:
            raise
        (console or Console()).heading("Stopped.")
        return EXIT_INTERRUPTED
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
