"""The product's server in a process of its own, so the fault soak can kill it outright.

    python -m tests.soak.server --sandbox URL --ca-file CA --port P --data DIR --store-url URL
                                [--reconcile SECONDS] [--connect]

It serves the product on 127.0.0.1:P with settings pointing at the sandbox (as the demo's
server does) on the sandbox's faster clock, sealing secrets with the key in `$SECRET_KEY`.
With `--connect` it first connects both platforms through the consent routes and runs
`sync all`, as an admin would on the first day; restarts
leave it out, since the store keeps the connections. It prints `SERVING <url>` once it serves,
then runs until SIGTERM (a clean stop) or SIGKILL (the soak's crash).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections import Counter
from pathlib import Path

from pymongo import monitoring

from presence_sync.demo.connect import connect_and_sync_all
from presence_sync.demo.control import SandboxControl
from presence_sync.demo.runner import _sandbox_clock
from presence_sync.demo.server import ProductServer, demo_environment, reserve_port
from presence_sync.logs import configure_logging
from presence_sync.settings import Settings, load_settings

__all__ = ["SECRET_KEY", "SERVING", "main", "soak_settings"]

logger = logging.getLogger("tests.soak.server")

SERVING = "SERVING"
COUNT_EVERY = 30.0  # real seconds between the store-command summaries in server.log
SECRET_KEY = "SECRET_KEY"  # the environment variable the soak hands its store key over in


class StoreCommands(monitoring.CommandListener):
    """Counts the commands the server sends to the store, by command and collection."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.callers: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Count a command as it leaves, and the store method that sent it."""
        self.counts[f"{event.command_name} {event.command.get(event.command_name)}"] += 1
        # Each store operation runs in a task of its own (`translated`), so the outermost
        # frame of the product's code on this stack, below that wrapper, is the store method.
        frame, caller = sys._getframe(1), "?"
        while frame is not None:
            code = frame.f_code
            if "presence_sync" in code.co_filename and not code.co_qualname.endswith("operation"):
                caller = code.co_qualname
            frame = frame.f_back
        self.callers[caller] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Nothing more to count."""

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Nothing more to count."""

    async def report(self) -> None:
        """Log the commands of each COUNT_EVERY seconds: where the store's time goes."""
        while True:
            await asyncio.sleep(COUNT_EVERY)
            counts, self.counts = self.counts, Counter()
            callers, self.callers = self.callers, Counter()
            top = ", ".join(f"{name} {n}" for name, n in counts.most_common(8))
            by = ", ".join(f"{name} {n}" for name, n in callers.most_common(10))
            logger.info(
                "store commands in %.0f s: %d (%.0f/s): %s; sent by %s",
                COUNT_EVERY, sum(counts.values()), sum(counts.values()) / COUNT_EVERY, top, by,
            )  # fmt: skip


def soak_settings(
    config: dict[str, object],
    *,
    port: int,
    data_dir: Path,
    store_url: str,
    reconcile: float,
    secret_key: str,
) -> Settings:
    """The demo's settings, with the soak's key and reconciliation interval."""
    env = demo_environment(config, port=port, data_dir=data_dir, store_url=store_url)
    env["WATCH_RECONCILE_INTERVAL"] = str(reconcile)
    env["SECRET_KEY"] = secret_key
    return load_settings(env, env_file=None)


async def serve(args: argparse.Namespace) -> int:
    """Serve until SIGTERM; the exit status."""
    control = SandboxControl.open(args.sandbox, args.ca_file)
    try:
        config = await control.config()
        clock = await _sandbox_clock(control)
        settings = soak_settings(
            config,
            port=args.port,
            data_dir=Path(args.data),
            store_url=args.store_url,
            reconcile=args.reconcile,
            secret_key=os.environ[SECRET_KEY],
        )
        counting = asyncio.get_running_loop().create_task(COMMANDS.report())
        sock = reserve_port(args.port)
        scale = float(config.get("time_scale", 1.0))
        server = await ProductServer.start(settings, sock, clock=clock, time_scale=scale)
        try:
            if args.connect:
                _store, job = await connect_and_sync_all(server, control, config, args.ca_file)
                print(f"SYNCED {job.status} {job.synced} of {job.total}", flush=True)
            print(f"{SERVING} {server.url}", flush=True)
            stop = asyncio.Event()
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
            await stop.wait()
        finally:
            await server.stop()
    finally:
        counting.cancel()
        await control.close()
    return 0


COMMANDS = StoreCommands()


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m tests.soak.server")
    parser.add_argument("--sandbox", required=True)
    parser.add_argument("--ca-file", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--store-url", required=True)
    parser.add_argument("--reconcile", type=float, default=600.0)
    parser.add_argument("--connect", action="store_true")
    args = parser.parse_args(argv)
    configure_logging("plain", "INFO", file=Path(args.data) / "server.log")
    monitoring.register(COMMANDS)  # before the store's client exists
    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
