"""Command line: `presence-sync serve | doctor | sandbox | demo | chat | package | version`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

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
    _add_demo_parser(sub)
    _add_chat_parser(sub)
    package = sub.add_parser(
        "package",
        help="build the Teams app package (manifest.json and icons in a zip)",
        description="Fill manifest/manifest.json from the settings, check it against Teams' "
        "v1.30 schema and rules, and write the zip to upload in Teams.",
    )
    package.add_argument(
        "--env", type=Path, metavar="FILE", help="settings file to read (default ./.env)"
    )
    package.add_argument(
        "--out",
        type=Path,
        default=Path("build/presence-sync.zip"),
        help="where to write the zip (default build/presence-sync.zip)",
    )
    return parser


def _add_demo_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser(
        "demo",
        help="run the product against the offline sandbox, with an office day",
        description="Start the sandbox and the server, connect both platforms, sync everyone, "
        "then play an office day of meetings, calls and DND. Ctrl-C stops everything.",
    )
    demo.add_argument("--port", type=int, default=3978, help="server port (default 3978; 0: any)")
    demo.add_argument(
        "--sandbox-port", type=int, default=8443, help="sandbox port (default 8443; 0: any)"
    )
    demo.add_argument("--users", type=int, default=40, help="people in the org (default 40)")
    demo.add_argument(
        "--scenario",
        choices=("office-day", "none"),
        default="office-day",
        help="office-day (default) or none: set up and sync, then leave presence to you",
    )
    demo.add_argument(
        "--data", type=Path, default=Path("data/demo"), help="data folder (default data/demo)"
    )
    demo.add_argument("--store", help="STORE_URL (default sqlite in the data folder)")
    demo.add_argument(
        "--check",
        action="store_true",
        help="run for a bounded time, then verify everyone on both sides; exit 0 only if right",
    )
    demo.add_argument(
        "--duration", type=float, help="seconds of office day (default 60 with --check, else on)"
    )
    demo.add_argument(
        "--time-scale", type=float, default=1.0, help="sandbox time runs N times faster"
    )
    demo.add_argument(
        "--chat",
        action="store_true",
        help="once ready, chat with the bot here as the Global Administrator",
    )


def _add_chat_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    chat = sub.add_parser(
        "chat",
        help="chat with the bot of a running demo in this terminal",
        description="Chat with the bot as a person of the sandbox's org, through the sandbox's "
        "Teams: cards print as text, a number presses that button, notices print as they "
        "come; quit, exit, Ctrl-D or Ctrl-C end it.",
    )
    chat.add_argument(
        "--as", dest="email", required=True, help="who chats, e.g. admin@contoso.example"
    )
    chat.add_argument(
        "--data",
        type=Path,
        default=Path("data/demo"),
        help="the demo's (or sandbox's) data folder, where it wrote sandbox-config.json "
        "(default data/demo)",
    )
    chat.add_argument("--sandbox", metavar="URL", help="the sandbox's address instead")
    chat.add_argument(
        "--ca", type=Path, metavar="FILE", help="the sandbox's CA file, with --sandbox"
    )


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
    from presence_sync.demo.sandbox_process import run_sandbox

    return run_sandbox(list(args.args))


def _package(args: argparse.Namespace) -> int:
    from presence_sync.package import ManifestError, build_package

    if args.env is not None and not args.env.is_file():
        print(f"presence-sync package: --env: no such file: {args.env}", file=sys.stderr)
        return SETTINGS_EXIT
    settings = load_settings(env_file=args.env) if args.env else _settings()
    try:
        package = build_package(settings, args.out)
    except ManifestError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        print(f"presence-sync package: nothing written to {args.out}", file=sys.stderr)
        return SETTINGS_EXIT
    names = ", ".join(["manifest.json", *package.files])
    print(f"presence-sync package: wrote {args.out} ({names}) for {settings.public_url}")
    print("Upload it in Teams: Apps > Manage your apps > Upload an app (see manifest/README.md)")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from presence_sync.demo import DemoOptions
    from presence_sync.demo import main as demo_main

    problem = _demo_problem(args)
    if problem:
        print(f"presence-sync demo: {problem}", file=sys.stderr)
        return SETTINGS_EXIT
    options = DemoOptions(
        port=args.port,
        sandbox_port=args.sandbox_port,
        users=args.users,
        scenario=args.scenario,
        data=args.data,
        store=args.store,
        check=args.check,
        duration=args.duration,
        time_scale=args.time_scale,
        chat=args.chat,
    )
    return demo_main(options)


def _chat(args: argparse.Namespace) -> int:
    from presence_sync.chat import chat

    return chat(args.email, args.data, args.sandbox, args.ca)


def _demo_problem(args: argparse.Namespace) -> str | None:
    if args.users < 2:
        return "--users: at least 2"
    if args.duration is not None and args.duration <= 0:
        return "--duration: must be positive"
    if args.time_scale <= 0:
        return "--time-scale: must be positive"
    if args.chat and args.check:
        return "--chat and --check: choose one (the check ends by itself, the chat when you quit)"
    for name in ("port", "sandbox_port"):
        if not 0 <= getattr(args, name) <= 65535:
            return f"--{name.replace('_', '-')}: outside 0-65535"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `presence-sync` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sandbox"]:
        # The sandbox has its own options (and --help); argparse's REMAINDER would swallow
        # neither a leading option nor --help, so hand everything after the word over as is.
        from presence_sync.demo.sandbox_process import run_sandbox

        return run_sandbox(argv[1:])
    args = _parser().parse_args(argv)
    commands = {
        "serve": _serve,
        "doctor": _doctor,
        "sandbox": _sandbox,
        "demo": _demo,
        "chat": _chat,
        "package": _package,
    }
    try:
        return commands[args.command](args)
    except SettingsError as err:
        print(f"presence-sync: setting {err.variable}: {err.problem}", file=sys.stderr)
        return SETTINGS_EXIT
    except KeyboardInterrupt:
        return 130
