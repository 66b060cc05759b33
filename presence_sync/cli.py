"""Command line: `presence-sync serve | doctor | sandbox | version`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from presence_sync import __version__
from presence_sync.errors import SettingsError
from presence_sync.settings import Settings, load_settings

__all__ = ["main"]

SETTINGS_EXIT = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="presence-sync",
        description="Keep presence consistent between Microsoft Teams and RingCentral.",
        epilog="Settings come from the environment and ./.env; see .env.example.",
    )
    parser.add_argument("--version", action="version", version=f"presence-sync {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser("serve", help="run the server", description="Run the server.")
    serve.add_argument("--host", help="address to listen on (default HOST or 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port to listen on (default PORT or 3978)")

    sub.add_parser(
        "doctor",
        help="check settings and dependencies",
        description="Check the settings and every configured dependency; print what to fix.",
    )
    sandbox = sub.add_parser(
        "sandbox",
        help="run the offline Microsoft and RingCentral sandbox",
        description="Run the offline Entra ID, Graph, Bot Connector and RingCentral sandbox.",
        add_help=False,
    )
    sandbox.add_argument("args", nargs=argparse.REMAINDER, help="sandbox options (see --help)")
    return parser


def _settings() -> Settings:
    return load_settings()


def _serve(args: argparse.Namespace) -> int:
    settings = _settings()

    from aiohttp import web

    from presence_sync.app import create_app
    from presence_sync.logs import configure_logging

    configure_logging(settings.log_format, settings.log_level)
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    # run_app turns SIGINT and SIGTERM into a graceful shutdown that runs every cleanup_ctx.
    web.run_app(
        create_app(settings),
        host=host,
        port=port,
        shutdown_timeout=10.0,
        print=lambda _msg: print(f"presence-sync {__version__} listening on http://{host}:{port}"),
    )
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from presence_sync.doctor import format_table, run_checks

    results = asyncio.run(run_checks(_settings()))
    print(format_table(results))
    return 1 if any(r.status == "fail" for r in results) else 0


def _sandbox(args: argparse.Namespace) -> int:
    from sandbox.server import main as sandbox_main

    return sandbox_main(list(args.args))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `presence-sync` command; returns the exit code."""
    args = _parser().parse_args(argv)
    commands = {"serve": _serve, "doctor": _doctor, "sandbox": _sandbox}
    try:
        return commands[args.command](args)
    except SettingsError as err:
        print(f"presence-sync: setting {err.variable}: {err.problem}", file=sys.stderr)
        return SETTINGS_EXIT
    except KeyboardInterrupt:
        return 130
