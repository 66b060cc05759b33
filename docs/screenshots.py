"""`scripts/screenshots`: the README's pictures, taken from the running product.

    scripts/screenshots [--out docs/screenshots] [--users 20] [--log data/screenshots.log]

Starts the sandbox and the product as the benchmarks and the Playground do (`demo.local`:
the HTTPS sandbox in this process, the product on SQLite in a temporary folder, both platforms
connected through the product's own consent and sign-in routes, `sync all` run), puts a few
people in a meeting, on a call or in Do not disturb so there is something to see, asks the
bot for `status` in the admin's Teams chat, then has Debian's Chromium (Playwright from
`tests/tab_e2e`, `screenshots.cjs` beside this file) take, at 1280 px wide:

- every page of the tab (`TAB_PAGES`), signed in as the Global Administrator;
- the bot's answer to `status`, drawn by Microsoft's Adaptive Cards renderer (npm
  `adaptivecards` from `tests/cards`);
- the sandbox's live presence page.

Only this command writes `docs/screenshots/`; the tests read what it committed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from asyncio.subprocess import PIPE, STDOUT
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the repository importable
    sys.path.insert(0, str(REPO))

from presence_sync.demo.connect import admin_email, connect_and_sync_all  # noqa: E402
from presence_sync.demo.control import SandboxControl, as_person, linked_people  # noqa: E402
from presence_sync.demo.local import sandbox_and_product  # noqa: E402
from presence_sync.demo.scenario import Step  # noqa: E402
from presence_sync.logs import configure_logging  # noqa: E402

__all__ = ["CARD", "LIVE_PAGE", "OUT", "SHOTS", "TAB_PAGES", "TabPage", "main"]

OUT = REPO / "docs" / "screenshots"
SCRIPT = Path(__file__).resolve().with_suffix(".cjs")
PLAYWRIGHT_MODULES = REPO / "tests" / "tab_e2e" / "node_modules"  # @playwright/test
RENDERER = REPO / "tests" / "cards" / "node_modules" / "adaptivecards" / "dist" / "adaptivecards.js"
TAB_DIST = REPO / "tab" / "dist" / "index.html"
CHROMIUM = Path("/usr/bin/chromium")

# The browser's window: the tab's pages and the live page are this wide and, cropped to their
# content, at most this tall; the card is cropped to itself.
WIDTH = 1280
MAX_HEIGHT = 800
BROWSER_RUN = 180.0
SETTLE_WAIT = 30.0


@dataclass(frozen=True)
class TabPage:
    """One page of the tab's navigation (tab/src/router.ts `PAGES`) and its picture."""

    label: str  # the navigation tab's name and the page's h1
    path: str  # under /tab/
    file: str  # in docs/screenshots/


TAB_PAGES: tuple[TabPage, ...] = (
    TabPage("Overview", "", "tab-overview.png"),
    TabPage("People", "people", "tab-people.png"),
    TabPage("Call presence rules", "rules", "tab-rules.png"),
    TabPage("Activity", "activity", "tab-activity.png"),
)
CARD = "bot-status-card.png"  # the bot's `status` answer, as Microsoft's renderer draws it
LIVE_PAGE = "sandbox-live.png"  # the sandbox's live page with both presences of everyone
SHOTS: tuple[str, ...] = (*(page.file for page in TAB_PAGES), CARD, LIVE_PAGE)

# What a few people are doing when the pictures are taken (scenario actions), so both the
# tab's activity and the live page show presence the product has carried across.
DOING: tuple[str, ...] = (
    "meeting-start",
    "rc-call-start",
    "teams-dnd-on",
    "meeting-start",
    "rc-call-start",
)


class ScreenshotError(Exception):
    """Something the pictures need is missing or failed; the message says what to do."""


def check_tools() -> None:
    """Every tool the pictures need is installed (scripts/setup installs them)."""
    missing = [
        f"{what} ({path.relative_to(REPO) if path.is_relative_to(REPO) else path})"
        for what, path in (
            ("Playwright in tests/tab_e2e", PLAYWRIGHT_MODULES / "@playwright" / "test"),
            ("Microsoft's Adaptive Cards renderer in tests/cards", RENDERER),
            ("the built tab", TAB_DIST),
            ("Debian's Chromium", CHROMIUM),
        )
        if not path.exists()
    ]
    if shutil.which("node") is None:
        missing.append("Node.js (node on PATH)")
    if missing:
        raise ScreenshotError("missing: " + "; ".join(missing) + ". Run scripts/setup.")


async def capture(out: Path, users: int) -> list[Path]:
    """Bring everything up, take every picture into `out`; the files written."""
    data = Path(tempfile.mkdtemp(prefix="presence-sync-shots-"))
    try:
        async with sandbox_and_product(data, users=users) as local:
            control, config = local.control, local.config
            product, sandbox = local.server.url, local.sandbox
            await control.set_product_url(f"{product}/api/messages")
            _, job = await connect_and_sync_all(local.server, control, config, sandbox.ca_file)
            print(f"connected and synced: {job.synced} people")
            await _play(control, config)
            admin = admin_email(config)
            card = data / "status-card.json"
            card.write_text(json.dumps(await _status_card(control, admin)), encoding="utf-8")
            await control.consent(sign_in_as=admin)
            try:
                await _browser(out, product, sandbox.base_url, admin, card)
            finally:
                await control.consent(sign_in_as=None)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return [out / name for name in SHOTS]


def _others(config: Mapping[str, Any], state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Linked people who are neither admins nor sync accounts: the ones who act."""
    taken = {str(a["email"]).lower() for a in config.get("admins", [])}
    taken |= {str(a).lower() for a in config.get("sync_account_candidates", [])}
    return [
        person
        for person in linked_people(dict(state))
        if str(person["teams"]["userPrincipalName"]).lower() not in taken
        and person["teams"]["presence"].get("availability") != "Offline"
    ]


async def _play(control: SandboxControl, config: Mapping[str, Any]) -> None:
    """Put a few people in meetings, calls and DND; wait until the product carried them."""
    state = await control.state()
    rc_mode = str(state.get("rc_mode", "legacy"))
    acting = _others(config, state)[: len(DOING)]
    before = {p["email"]: _sides(p) for p in acting}
    for action, entry in zip(DOING, acting, strict=False):
        person = as_person(entry)
        await control.act(Step(0.0, person.teams_email, action), person, rc_mode)
    # Each action changes one side; the product changes the other. Wait for both to differ.
    deadline = time.monotonic() + SETTLE_WAIT
    while time.monotonic() < deadline:
        users = (await control.state())["users"]
        now = {p["email"]: _sides(p) for p in users if p["email"] in before}
        carried = [
            email
            for email, (teams, rc) in before.items()
            if email in now and now[email][0] != teams and now[email][1] != rc
        ]
        if len(carried) == len(before):
            return
        await asyncio.sleep(1.0)
    print(f"note: not every change reached the other platform within {SETTLE_WAIT:.0f} s")


def _sides(person: Mapping[str, Any]) -> tuple[str, str]:
    teams = person["teams"]["presence"]
    rc = person["ringcentral"]["presence"]
    return (
        f"{teams.get('availability')}/{teams.get('activity')}",
        f"{rc.get('userStatus')}/{rc.get('dndStatus')}/{rc.get('telephonyStatus')}",
    )


async def _status_card(control: SandboxControl, admin: str) -> dict[str, Any]:
    """The Adaptive Card the bot answers `status` with in the admin's personal chat."""
    path = f"/_sandbox/teams/{quote(admin)}"
    said = await control.call("POST", f"{path}/say", {"text": "status"})
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline:
        chat = await control.call("GET", f"/_sandbox/chats/{quote(admin)}")
        answers = [m for m in chat["messages"] if m.get("replyToId") == said["activity_id"]]
        for message in answers:
            for attachment in message.get("attachments") or []:
                if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                    content: dict[str, Any] = attachment["content"]
                    return content
        await asyncio.sleep(0.5)
    raise ScreenshotError(f"the bot sent no card for `status` to {admin} within 15 s")


async def _browser(out: Path, product: str, sandbox: str, admin: str, card: Path) -> None:
    """Run screenshots.cjs in Node with Playwright; it writes every picture into `out`."""
    shots = {
        "width": WIDTH,
        "maxHeight": MAX_HEIGHT,
        "pages": [{"label": p.label, "path": p.path, "file": p.file} for p in TAB_PAGES],
        "card": CARD,
        "live": LIVE_PAGE,
    }
    env = {
        **{k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"},
        "DO_NOT_TRACK": "1",
        "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
        "NODE_PATH": str(PLAYWRIGHT_MODULES),
        "PRODUCT_URL": product,
        "SANDBOX_URL": sandbox,
        "SIGN_IN_URL": f"{product}/tab/auth/login?{urlencode({'login_hint': admin})}",
        "OUT_DIR": str(out),
        "CARD_FILE": str(card),
        "RENDERER": str(RENDERER),
        "SHOTS": json.dumps(shots),
    }
    node = await asyncio.create_subprocess_exec(
        "node", str(SCRIPT), env=env, stdout=PIPE, stderr=STDOUT
    )
    said = b""
    try:
        async with asyncio.timeout(BROWSER_RUN):
            said, _ = await node.communicate()
    except TimeoutError:
        node.kill()
        await node.wait()
        raise ScreenshotError(f"the browser took longer than {BROWSER_RUN:.0f} s") from None
    if node.returncode != 0:
        raise ScreenshotError(f"the browser run failed:\n{said.decode(errors='replace')[-4000:]}")
    print(said.decode(errors="replace").rstrip())


def main(argv: list[str] | None = None) -> int:
    """Parse the options, take the pictures; 0 when every one was written."""
    parser = argparse.ArgumentParser(
        prog="scripts/screenshots", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNGs go")
    parser.add_argument("--users", type=int, default=20, help="people in the sandbox org")
    parser.add_argument(
        "--log", type=Path, default=REPO / "data" / "screenshots.log", help="the server's log"
    )
    options = parser.parse_args(argv)
    if options.users < 8:
        parser.error(f"--users {options.users}: at least 8 people, so the pages have content")
    configure_logging("plain", "INFO", file=options.log)
    out: Path = options.out.resolve()
    try:
        check_tools()
        out.mkdir(parents=True, exist_ok=True)
        written = asyncio.run(capture(out, options.users))
    except ScreenshotError as err:
        parser.exit(1, f"screenshots: {err}\n")
    except KeyboardInterrupt:
        parser.exit(130, "\nStopped.\n")
    for path in written:
        shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        print(f"{shown}  {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
