"""`presence-sync demo`: sandbox, server, connections, sync all, an office day, and the check.

Order of events: start the sandbox (child process) and the product server (in this process),
tell the sandbox where the bot lives, connect both platforms through the product's consent
routes, run `sync all`, then play the office day until Ctrl-C (or, with `--check`, for a
bounded time, wait for things to settle and verify every linked person on both sides).
Everything started is stopped in reverse order, also on Ctrl-C and on failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from presence_sync.demo.connect import ConnectError, connect_all, missing_routes
from presence_sync.demo.control import ControlError, SandboxControl, as_person, linked_people
from presence_sync.demo.driver import play
from presence_sync.demo.expect import (
    Activity,
    Row,
    baseline_activity,
    check_rows,
    format_table,
    replay,
)
from presence_sync.demo.jobs import (
    MissingPartError,
    admin_missing,
    job_summary,
    refresh_directory,
    sync_all,
)
from presence_sync.demo.observer import PresenceObserver
from presence_sync.demo.sandbox_process import SandboxProcess, SandboxStartError
from presence_sync.demo.scenario import Person, Step, office_day
from presence_sync.demo.server import ProductServer, demo_settings, fresh_store, reserve_port
from presence_sync.errors import SettingsError
from presence_sync.store import LinkState, Store, UserLink
from presence_sync.web.keys import STORE

__all__ = ["EXIT_CHECK_FAILED", "EXIT_MISSING", "DemoOptions", "main", "run_demo"]

logger = logging.getLogger(__name__)

EXIT_CHECK_FAILED = 1
EXIT_MISSING = 3
EXIT_INTERRUPTED = 130
CHECK_DURATION = 60.0  # seconds of office day under --check unless --duration says otherwise
ROUND_SECONDS = 120.0  # without --check the day repeats in rounds of this length
SETTLE_SECONDS = 45.0
SETTLE_FIRST_LOOK = 5.0
STORE_WAIT = 30.0


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


@dataclass
class Console:
    """The demo's tidy console: headings, indented lines, and timed scenario lines."""

    out: TextIO = field(default_factory=lambda: sys.stdout)

    def heading(self, text: str) -> None:
        """A section title."""
        print(f"\n{text}", file=self.out, flush=True)

    def line(self, text: str) -> None:
        """An indented line under the current heading."""
        print(f"  {text}", file=self.out, flush=True)

    def timed(self, elapsed: float, text: str) -> None:
        """A scenario line prefixed with mm:ss since the day began."""
        minutes, seconds = divmod(int(elapsed), 60)
        self.line(f"{minutes:02d}:{seconds:02d}  {text}")


class DemoFailedError(Exception):
    """The demo cannot go on; the message says why, `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


async def run_demo(options: DemoOptions, console: Console | None = None) -> int:
    """Run the demo to its end (or until cancelled); the exit status."""
    say = console or Console()
    data = options.data.resolve()
    data.mkdir(parents=True, exist_ok=True)
    sandbox: SandboxProcess | None = None
    control: SandboxControl | None = None
    server: ProductServer | None = None
    try:
        say.heading("Presence Sync demo")
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
        server = await _start_server(options, config, data, await _sandbox_clock(control))
        await control.set_product_url(f"{server.url}/api/messages")
        say.line(f"server     {server.url}  (log {data / 'server.log'})")
        say.line(f"live page  {sandbox.base_url}/_sandbox/")
        _require_parts(server)
        store = await asyncio.wait_for(server.app[STORE].wait_opened(), STORE_WAIT)

        say.heading("Connecting Microsoft and RingCentral")
        admin = _admin_email(config)
        accounts = list(config.get("sync_account_candidates", []))[: max(1, options.sync_accounts)]
        connected = await connect_all(
            server.url, store, control, sandbox.ca_file, admin=admin, sync_accounts=accounts
        )
        say.line(f"ok  admin consent granted by {connected.admin}")
        for upn in connected.sync_accounts:
            say.line(f"ok  sync account {upn} authorised")
        say.line("ok  RingCentral connected")

        say.heading("Sync all")
        found = await refresh_directory(server.app)
        say.line(f"directory: {found.linked} people matched, {found.unmatched} unmatched")
        began = time.monotonic()
        job = await sync_all(server.app, admin)
        say.line(job_summary(job, time.monotonic() - began))

        links = await _synced_links(store)
        state = await control.state()
        entries = linked_people(state, {link.teams_user_id for link in links if link.teams_user_id})
        people = {p.teams_email.lower(): p for p in map(as_person, entries)}
        baseline = {
            str(e["teams"]["userPrincipalName"]).lower(): baseline_activity(e) for e in entries
        }
        # People signed out of Teams stay so: a meeting would sign them in. The check still
        # expects their RingCentral status to say Offline.
        actors = {k: p for k, p in people.items() if baseline[k].teams_choice != "Offline"}
        rc_mode = str(state.get("rc_mode", "legacy"))
        away = len(people) - len(actors)
        say.line(
            f"{len(links)} people linked and synced; {len(actors)} take part in the day"
            + (f", {away} signed out of Teams" if away else "")
        )
        if options.check:
            return await _check(options, say, control, people, actors, baseline, rc_mode)
        await _run_until_stopped(options, say, control, actors, rc_mode)
        return 0
    except (SandboxStartError, ConnectError, MissingPartError, DemoFailedError, SettingsError,
            ControlError, aiohttp.ClientError, TimeoutError, OSError) as err:
        code = getattr(err, "code", EXIT_MISSING if isinstance(err, MissingPartError) else 1)
        say.heading("The demo stopped")
        say.line(_reason(err))
        say.line(f"logs: {data / 'server.log'}, {data / 'sandbox.log'}")
        return int(code)
    finally:
        await _stop(server, control, sandbox)


def _reason(err: BaseException) -> str:
    if isinstance(err, SettingsError):
        return f"setting {err.variable}: {err.problem}"
    if isinstance(err, MissingPartError):
        return f"a part of the product is missing: {err}"
    if isinstance(err, OSError) and not isinstance(err, TimeoutError):
        return f"cannot listen or connect: {err}"
    return str(err) or type(err).__name__


async def _start_server(
    options: DemoOptions,
    config: dict[str, Any],
    data: Path,
    clock: Callable[[], float] | None,
) -> ProductServer:
    sock = reserve_port(options.port)
    port = sock.getsockname()[1]
    try:
        settings = demo_settings(
            config, port=port, data_dir=data / "server", store_url=options.store
        )
        if options.store is None:
            # The sandbox starts afresh each run, so the product's embedded store does too:
            # connections, subscriptions and engine state of an earlier sandbox mean nothing.
            fresh_store(data / "server")
        return await ProductServer.start(
            settings, sock, clock=clock, time_scale=options.time_scale
        )
    except BaseException:
        sock.close()
        raise


async def _sandbox_clock(control: SandboxControl) -> Callable[[], float] | None:
    """The sandbox's faster clock as the product should read it; None at real speed."""
    state = await control.state()
    scale = float(state.get("time_scale", 1.0))
    if scale == 1.0:
        return None
    start_now, start_mono = float(state["now"]), time.monotonic()
    return lambda: start_now + (time.monotonic() - start_mono) * scale


def _require_parts(server: ProductServer) -> None:
    missing = [f"consent route {route}" for route in missing_routes(server.app)]
    admin = admin_missing()
    if admin is not None:
        missing.append(admin)
    if missing:
        raise DemoFailedError(
            "the demo needs parts of the product that are not there yet:\n    "
            + "\n    ".join(missing),
            code=EXIT_MISSING,
        )


def _admin_email(config: dict[str, Any]) -> str:
    for admin in config.get("admins", []):
        if "Global Administrator" in admin.get("roles", []):
            return str(admin["email"])
    raise DemoFailedError("the sandbox org has no Global Administrator to grant consent")


async def _synced_links(store: Store) -> list[UserLink]:
    links: list[UserLink] = []
    cursor: str | None = None
    while True:
        page = await store.list_links(
            state=LinkState.LINKED, sync_enabled=True, after=cursor, limit=500
        )
        links.extend(page.links)
        cursor = page.next_cursor
        if cursor is None:
            return links


async def _check(
    options: DemoOptions,
    say: Console,
    control: SandboxControl,
    people: dict[str, Person],
    actors: dict[str, Person],
    baseline: dict[str, Activity],
    rc_mode: str,
) -> int:
    if not people:
        raise DemoFailedError("nobody is linked and synced, so there is nothing to check")
    duration = options.duration or CHECK_DURATION
    steps: list[Step] = []
    observer = PresenceObserver(control, people, say=say.timed, started=time.monotonic())
    watching = asyncio.get_running_loop().create_task(observer.run())
    try:
        if options.scenario != "none" and actors:
            steps = office_day(list(actors.values()), duration, options.seed, hold_some=True)
            say.heading(f"Office day: {len(steps)} actions over {duration:.0f} s")
            steps = await play(
                steps, actors, control, rc_mode=rc_mode, say=say.timed, acted=observer.acted
            )
        expected = replay(steps, baseline)
        say.heading(f"Letting presence settle (up to {options.settle:.0f} s)")
        rows = await _settle(control, set(people), expected, rc_mode, options.settle)
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
    say.line(observer.propagation.summary())
    say.heading("Check")
    for line in format_table(rows).splitlines():
        say.line(line)
    failed = [r for r in rows if not r.ok]
    if failed:
        say.heading(f"FAILED: {len(failed)} of {len(rows)} people are not in the expected state")
        for row in failed:
            say.line(f"{row.email}: {row.problem}")
        return EXIT_CHECK_FAILED
    say.heading(f"OK: all {len(rows)} linked people show the expected state on both sides")
    return 0


async def _settle(
    control: SandboxControl,
    emails: set[str],
    expected: dict[str, Activity],
    rc_mode: str,
    settle: float,
) -> list[Row]:
    # Give the last actions time to travel, and pass only on two right readings in a row, so a
    # state that is right for a moment on its way elsewhere does not count.
    await asyncio.sleep(min(settle, SETTLE_FIRST_LOOK))
    deadline = time.monotonic() + settle
    right_in_a_row = 0
    while True:
        state = await control.state()
        entries = [
            e for e in state.get("users", [])
            if e.get("teams") and str(e["teams"]["userPrincipalName"]).lower() in emails
        ]
        rows = check_rows(entries, expected, rc_mode)
        right_in_a_row = right_in_a_row + 1 if all(r.ok for r in rows) else 0
        if right_in_a_row >= 2 or time.monotonic() >= deadline:
            return rows
        await asyncio.sleep(1.0)


async def _run_until_stopped(
    options: DemoOptions,
    say: Console,
    control: SandboxControl,
    people: dict[str, Person],
    rc_mode: str,
) -> None:
    if options.scenario == "none" or not people:
        say.heading("Presence is yours to drive now (sandbox control API or live page)")
        say.line("Ctrl-C stops the demo")
        await asyncio.Event().wait()
        return
    say.heading("Office day (Ctrl-C stops the demo)")
    total = options.duration
    began = time.monotonic()
    observer = PresenceObserver(control, people, say=say.timed, started=began)
    watching = asyncio.get_running_loop().create_task(observer.run())
    round_number = 0
    try:
        while total is None or time.monotonic() - began < total:
            length = ROUND_SECONDS if total is None else min(ROUND_SECONDS, total)
            steps = office_day(list(people.values()), length, options.seed + round_number)
            offset = time.monotonic() - began

            def timed(elapsed: float, text: str, offset: float = offset) -> None:
                say.timed(offset + elapsed, text)

            await play(steps, people, control, rc_mode=rc_mode, say=timed, acted=observer.acted)
            round_number += 1
            say.line(f"round {round_number} over: {observer.propagation.summary()}")
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
    say.heading("The office day is over; presence is yours to drive (Ctrl-C stops the demo)")
    await asyncio.Event().wait()


async def _stop(
    server: ProductServer | None, control: SandboxControl | None, sandbox: SandboxProcess | None
) -> None:
    # The server first: its loops still talk to the sandbox while they stop.
    if server is not None:
        with contextlib.suppress(Exception):
            await server.stop()
    if control is not None:
        with contextlib.suppress(Exception):
            await control.close()
    if sandbox is not None:
        await sandbox.stop()


def _log_to_file(path: Path, level: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def main(options: DemoOptions, console: Console | None = None) -> int:
    """Run the demo in a fresh event loop; Ctrl-C or SIGTERM stop it cleanly (exit 130)."""
    # The server's log goes to a file so the console shows only the demo's own lines.
    _log_to_file(options.data.resolve() / "server.log", "INFO")
    return asyncio.run(_main(options, console))


async def _main(options: DemoOptions, console: Console | None) -> int:
    loop = asyncio.get_running_loop()
    task = loop.create_task(run_demo(options, console))
    interrupted = False

    def stop() -> None:
        nonlocal interrupted
        if not interrupted:
            interrupted = True
            task.cancel()

    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
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

