"""What `presence-sync demo` shows a person at a terminal: progress, then addresses that work.

The demo runs on a pseudo-terminal, as in a person's shell, so its start-up phases rewrite
one line; once it is ready every address it prints is opened over real HTTP(S), trusting
only the CA file the block names, and Ctrl-C stops it.
"""

from __future__ import annotations

import asyncio
import os
import pty
import re
import signal
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp

from presence_sync.demo.browser import HeadlessBrowser
from presence_sync.demo.console import CLEAR_LINE
from tests.demo.command import ROOT, demo_command

ADMIN = "admin@contoso.example"
READY = "Presence is yours to drive now"


class Terminal:
    """A child process on a pseudo-terminal, and everything it wrote so far."""

    def __init__(self, *args: str) -> None:
        """Start `args` with stdout on a new pseudo-terminal (stderr goes to a pipe)."""
        import subprocess

        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            args, cwd=ROOT, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        )
        os.close(slave)
        self.seen = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # the child closed the terminal
                return
            if not chunk:
                return
            self.seen += chunk

    @property
    def text(self) -> str:
        """What the terminal received, as text."""
        return self.seen.decode(errors="replace")

    async def wait_for(self, marker: str, limit: float) -> str:
        """The output once `marker` appears (AssertionError with the output if it does not)."""
        async with asyncio.timeout(limit):
            while marker not in self.text:
                assert self.process.poll() is None, self.text
                await asyncio.sleep(0.2)
        return self.text


def _block(output: str) -> dict[str, str]:
    """The printed block's rows, `label -> value`, from the visible lines after its heading."""
    visible = output.replace("\r", "")
    block = visible[visible.index("Open these") :].split("\n\n")[0]
    rows: dict[str, str] = {}
    for line in block.splitlines()[1:]:
        match = re.match(r"  (\S.*?)\s{2,}(\S.*)$", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


async def _session(browser: HeadlessBrowser, product: str) -> dict[str, object]:
    async with browser.session.get(f"{product}/api/tab/session") as response:
        assert response.status == 200, await response.text()
        body: dict[str, object] = await response.json()
        return body


async def test_the_demo_shows_progress_then_addresses_that_answer_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    terminal = Terminal(*demo_command(tmp_path, "--users", "8", "--scenario", "none"))
    try:
        output = await terminal.wait_for(READY, limit=90)
        # Start-up phases rewrite one line in place on a terminal.
        for phase in (
            "starting the sandbox",
            "starting the server",
            f"admin consent by {ADMIN}",
            "authorising the sync account sync1@contoso.example",
            "connecting RingCentral",
            "matching Teams and RingCentral people by email",
        ):
            assert f"{CLEAR_LINE}  ... {phase}" in output, phase
        assert "\n  ... " not in output.replace("\r\n", "\n"), "no phase gets a line of its own"

        rows = _block(output)
        ca_file = rows["CA file"]
        assert await asyncio.to_thread(Path(ca_file).is_file)
        assert rows["chat with bot"] == f"presence-sync chat --as {ADMIN}"
        admin_tab, refused_tab = rows["tab, as admin"], rows["tab, refused"]
        product = f"{urlsplit(admin_tab).scheme}://{urlsplit(admin_tab).netloc}"
        assert product.startswith("https://127.0.0.1:")
        sandbox = f"https://{urlsplit(rows['live presence']).netloc}"

        admin_browser, other_browser = HeadlessBrowser(ca_file), HeadlessBrowser(ca_file)
        try:
            # The admin's link goes into the sandbox's Entra sign-in, and back to the tab.
            async with admin_browser.session.get(admin_tab, allow_redirects=False) as response:
                assert response.status == 302
                assert response.headers["Location"].startswith(f"{sandbox}/entra/")
            page = await admin_browser.visit(admin_tab)
            assert (page.status, page.url) == (200, f"{product}/tab/"), page.text[:500]
            session = await _session(admin_browser, product)
            assert session["admin"] is True
            assert session["user"]["email"] == ADMIN  # type: ignore[index]

            # The other link signs in someone the tab refuses, and says why.
            page = await other_browser.visit(refused_tab)
            assert (page.status, page.url) == (200, f"{product}/tab/")
            session = await _session(other_browser, product)
            refused = parse_qs(urlsplit(refused_tab).query)["login_hint"][0]
            assert session["user"]["email"] == refused  # type: ignore[index]
            assert session["admin"] is False
            assert session["reason"]

            # The Teams host page frames the product's tab, for the admin.
            teams = rows["tab in Teams"]
            query = parse_qs(urlsplit(teams).query)
            assert query["tab"] == [f"{product}/tab/"]
            assert query["user"] == [ADMIN]
            async with other_browser.session.get(teams) as response:
                assert response.status == 200
                assert response.content_type == "text/html"
            async with other_browser.session.get(query["tab"][0]) as response:
                assert response.status == 200
                assert response.content_type == "text/html"

            async with other_browser.session.get(rows["live presence"]) as response:
                assert response.status == 200
                assert response.content_type == "text/html"
        finally:
            await admin_browser.close()
            await other_browser.close()

        # Only the CA the block names makes these addresses trusted.
        async with aiohttp.ClientSession() as untrusting:
            try:
                async with untrusting.get(admin_tab):
                    raise AssertionError("the product's certificate is not a public one")
            except aiohttp.ClientConnectorCertificateError:
                pass

        terminal.process.send_signal(signal.SIGINT)
        code = await asyncio.to_thread(terminal.process.wait, 20)
        assert code == 130
        await asyncio.sleep(0.3)  # the terminal's last bytes
        assert terminal.text.replace("\r", "").rstrip().endswith("Stopped.")
        assert terminal.process.stderr is not None
        assert "Traceback" not in terminal.process.stderr.read().decode()
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
            terminal.process.wait()
        os.close(terminal.master)
