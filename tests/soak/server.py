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
from presence_sync.demo.runner import sandbox_clock
from presence_sync.demo.server import ProductServer, demo_environment, reserve_port
from presence_sync.logs import configure_logging
from presence_sync.settings import Settings, load_settings
from tests.mongo_server import CommandCounter

__all__ = ["SECRET_KEY", "SERVING", "main", "soak_settings"]

logger = logging.getLogger("tests.soak.server")

SERVING = "SERVING"
COUNT_EVERY = 30.0  # real seconds between the store-command summaries in server.log
SECRET_KEY = "SECRET_KEY"  # the environment variable the soak hands its store key over in


async def report_commands(commands: CommandCounter) -> None:
    """Log the store commands of each COUNT_EVERY seconds: where the store's time goes."""
    while True:
        await asyncio.sleep(COUNT_EVERY)
        counts, callers = (Counter(c) for c in commands.take_both())
        total = sum(counts.values())
        top = ", ".join(f"{name} {n}" for name, n in counts.most_common(8))
        by = ", ".join(f"{name} {n}" for name, n in callers.most_common(10))
        logger.info(
            "store commands in %.0f s: %d (%.0f/s): %s; sent by %s",
            COUNT_EVERY, total, total / COUNT_EVERY, top, by,
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
        clock = await sandbox_clock(control)
        settings = soak_settings(
            config,
            port=args.port,
            data_dir=Path(args.data),
            store_url=args.store_url,
            reconcile=args.reconcile,
            secret_key=os.environ[SECRET_KEY],
        )
        counting = asyncio.get_running_loop().create_task(report_commands(COMMANDS))
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


COMMANDS = CommandCounter(callers=True)


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
