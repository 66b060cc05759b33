"""`python -m sandbox` (and `presence-sync sandbox`): run the sandbox until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from sandbox.control import write_config
from sandbox.server import bind_socket, build_context, start_sandbox
from sandbox.tls import CertificatePaths, server_ssl_context

__all__ = ["main", "parser"]

logger = logging.getLogger(__name__)

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def parser(prog: str = "python -m sandbox") -> argparse.ArgumentParser:
    """The command line of the sandbox, as `prog` (the name its usage line shows)."""
    p = argparse.ArgumentParser(
        prog=prog,
        description="Offline HTTPS stand-ins for Entra ID, Microsoft Graph, the Bot Connector "
        "and RingCentral.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8443, help="port (default 8443; 0 picks a free one)")
    p.add_argument("--users", type=int, default=40, help="people in the generated org (default 40)")
    seed = p.add_mutually_exclusive_group()
    seed.add_argument("--seed", metavar="FILE", type=Path, help="load the org from seed JSON")
    seed.add_argument(
        "--seed-number", metavar="N", type=int, default=0, help="generator seed (default 0)"
    )
    p.add_argument(
        "--time-scale", type=float, default=1.0, help="run sandbox time N times faster (default 1)"
    )
    p.add_argument(
        "--data", type=Path, default=Path("data/sandbox"), help="certificates and config folder"
    )
    p.add_argument("--product-url", help="where the bot's /api/messages is (can be set later)")
    p.add_argument("--rc-mode", choices=("legacy", "chs"), default="legacy",
                   help="RingCentral account mode (default legacy)")
    p.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return p


async def _serve(args: argparse.Namespace) -> None:
    sock = bind_socket(args.host, args.port)
    port = sock.getsockname()[1]
    name = "localhost" if args.host in LOOPBACK_NAMES else args.host
    ctx = build_context(
        users=args.users,
        seed=args.seed_number,
        time_scale=args.time_scale,
        data_dir=args.data,
        base_url=f"https://{name}:{port}",
        seed_file=args.seed,
        rc_mode=args.rc_mode,
        product_url=args.product_url,
    )
    config_path = write_config(ctx)
    runner = await start_sandbox(
        ctx, ssl_context=server_ssl_context(CertificatePaths.in_folder(args.data)), sock=sock
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Without loop signal support (Windows) Ctrl-C still ends the process the default way.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print(f"Presence Sync sandbox at {ctx.config.base_url}", flush=True)
    print(f"  config:    {config_path}", flush=True)
    print(f"  CA file:   {ctx.config.ca_file}", flush=True)
    print(f"  live page: {ctx.config.base_url}/_sandbox/", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None, prog: str = "python -m sandbox") -> int:
    """Run the sandbox; the exit status (0 after a clean stop, 2 for bad options)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:  # `presence-sync sandbox -- --help` passes the separator through
        argv = argv[1:]
    args = parser(prog).parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s %(message)s")
    if args.users < 2:
        print("--users: at least 2", file=sys.stderr)
        return 2
    if args.time_scale <= 0:
        print("--time-scale: must be positive", file=sys.stderr)
        return 2
    if args.seed is not None and not args.seed.is_file():
        print(f"--seed: no such file {args.seed}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(args))
    except OSError as err:
        print(f"cannot start the sandbox: {err}", file=sys.stderr)
        return 1
    except ValueError as err:
        print(f"bad seed or option: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
