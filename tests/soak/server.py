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
import os
import signal
import sys
from pathlib import Path

from presence_sync.demo.connect import connect_and_sync_all
from presence_sync.demo.control import SandboxControl
from presence_sync.demo.runner import _sandbox_clock
from presence_sync.demo.server import ProductServer, demo_environment, reserve_port
from presence_sync.logs import configure_logging
from presence_sync.settings import Settings, load_settings

__all__ = ["SECRET_KEY", "SERVING", "main", "soak_settings"]

SERVING = "SERVING"
SECRET_KEY = "SECRET_KEY"  # the environment variable the soak hands its store key over in


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
        await control.close()
    return 0


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
    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
