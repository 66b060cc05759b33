"""`python -m tests.playground`: chat with the bot in Microsoft's Agents Playground.

Starts the offline sandbox, the product connected to it with its bot in loopback mode (no
bot credentials, BOT_DANGEROUSLY_ALLOW_UNAUTHENTICATED_LOOPBACK on), and Agents Playground
as its Teams channel, then prints the URL to open. Ctrl-C stops all three.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
from pathlib import Path

from presence_sync.demo.connect import connect_and_sync_all
from presence_sync.demo.local import sandbox_and_product
from presence_sync.logs import configure_logging
from tests.playground.agents_playground import PlaygroundError, agents_playground, loopback_settings

WARNING = """\
!! The bot runs WITHOUT authentication (BOT_DANGEROUSLY_ALLOW_UNAUTHENTICATED_LOOPBACK=true,
!! no BOT_APP_ID / BOT_APP_SECRET): /api/messages answers anyone on this machine unsigned.
!! This is for trying the bot here only; never run a reachable server like this."""


async def run(data: Path, users: int, playground_port: int | None) -> None:
    """Serve the sandbox, the product and the Playground until cancelled."""
    print(f"Starting the sandbox ({users} people) and the product; logs in {data}/")
    print(WARNING)
    async with sandbox_and_product(data, users=users, settings_for=loopback_settings) as local:
        server = local.server
        _, job = await connect_and_sync_all(
            server, local.control, local.config, local.sandbox.ca_file
        )
        print(f"Product at {server.url}: connected, {job.synced} people synced")
        endpoint = f"{server.url}/api/messages"
        async with agents_playground(endpoint, data / "playground", port=playground_port) as pg:
            print(f"Agents Playground for {endpoint}: open {pg.url}")
            print('In "Personal Chat", type help (or status). Ctrl-C stops everything.')
            await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run until Ctrl-C (exit 130)."""
    parser = argparse.ArgumentParser(prog="scripts/playground", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/playground"))
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument(
        "--port", type=int, default=56150, help="the Playground's port (0: any free one)"
    )
    options = parser.parse_args(argv)
    data = options.data.resolve()
    shutil.rmtree(data, ignore_errors=True)  # each run starts afresh, as the demo does
    data.mkdir(parents=True)
    configure_logging("plain", "INFO", file=data / "server.log")
    try:
        asyncio.run(run(data, options.users, options.port))
    except KeyboardInterrupt:
        print("\nStopped.")
        return 130
    except PlaygroundError as err:
        print(f"playground: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
