"""The terminal chat: read what the person types, show what the bot sends, press buttons.

A line is sent to the bot as typed, except a number, which presses that button of the last
card shown, and `quit`/`exit`. Messages the bot sends on its own (job progress, consent
warnings, sync notices) are read from the connector every second and printed as they come,
also while the person is typing. Input is read by a thread doing plain `os.read` on the file
descriptor, so a terminal, a pipe and a redirected file all work, and Ctrl-D or the end of the
input ends the chat once the answers to everything read have been printed.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from presence_sync.chat.render import Button, Rendered, render_card, render_message
from presence_sync.chat.target import EXIT_REFUSED, ChatError
from presence_sync.chat.teams import TeamsChat

__all__ = ["ChatSession", "read_lines"]

POLL_SECONDS = 1.0
QUIT_WORDS = frozenset({"quit", "exit"})
PROMPT = "> "


def _typed(fd: int) -> Iterator[str]:
    """Lines read from `fd` with plain reads (no buffered stream a thread could hold locked)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    with contextlib.suppress(OSError):  # a closed or broken input ends like its end
        while chunk := os.read(fd, 4096):
            pending += decoder.decode(chunk)
            *lines, pending = pending.split("\n")
            yield from lines
    if pending:
        yield pending


async def read_lines(fd: int) -> AsyncIterator[str]:
    """Lines from file descriptor `fd` as they are typed or piped, until its end."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        try:
            for line in _typed(fd):
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, None)
        except RuntimeError:  # the loop has closed: the chat is over, nobody reads on
            return

    # A daemon thread: a read blocked on a terminal must not keep the process alive.
    threading.Thread(target=pump, name="chat-input", daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line


@dataclass
class ChatSession:
    """The chat between the terminal and one person's Teams chat with the bot."""

    chat: TeamsChat
    out: TextIO
    interactive: bool = False  # a terminal: show a prompt; else echo what was read
    _seen: dict[str, Any] = field(default_factory=dict)  # message id -> its `updated` stamp
    _buttons: tuple[Button, ...] = ()
    _inputs: Mapping[str, str] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def run(self, lines: AsyncIterator[str]) -> None:
        """Chat until `quit`, `exit` or the end of `lines`; the earlier history stays unshown."""
        await self.chat.check()
        for message in await self.chat.messages():
            self._seen[str(message.get("id"))] = message.get("updated")
        self._print(
            f"Chatting with the bot as {self.chat.email} through {self.chat.target.base_url}.",
            "Type a command (help lists them); a number presses that button; quit ends.",
        )
        notices = asyncio.get_running_loop().create_task(self._watch())
        try:
            self._prompt()
            async for line in lines:
                words = line.strip()
                if not self.interactive and words:
                    self._print(f"{PROMPT}{words}")
                if words.lower() in QUIT_WORDS:
                    break
                if words:
                    await self._handle(words)
                self._prompt()
        finally:
            notices.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await notices
        async with self._lock:
            await self._show_new()  # whatever arrived since the last look
        self._print("", "Bye.")

    async def _handle(self, words: str) -> None:
        async with self._lock:
            try:
                if words.isdigit():
                    await self._press(int(words))
                else:
                    await self.chat.say(words)
                await self._show_new()
            except ChatError as err:
                if err.code != EXIT_REFUSED:  # the demo is gone: the chat cannot go on
                    raise
                self._print(f"(not delivered: {err})")

    async def _press(self, number: int) -> None:
        if not self._buttons:
            self._print("(no buttons to press: the last card has none)")
            return
        if not 1 <= number <= len(self._buttons):
            self._print(f"(no button {number}: choose 1 to {len(self._buttons)})")
            return
        button = self._buttons[number - 1]
        data = {**button.data, **(self._inputs if button.with_inputs else {})}
        if button.kind == "Action.OpenUrl":
            self._print(f"(open {button.url} in a browser)")
        elif button.kind == "imBack":
            await self.chat.say(str(button.data.get("text") or button.title))
        elif button.kind == "Action.Submit":
            await self.chat.submit(data)
        else:
            answer = await self.chat.execute(str(button.verb), data)
            await self._show_new()  # messages it sent while it answered come first
            self._show_invoke(answer)

    def _show_invoke(self, answer: Mapping[str, Any]) -> None:
        status = answer.get("statusCode", 200)
        value = answer.get("value")
        if isinstance(status, int) and status >= 400:
            detail = value.get("message") if isinstance(value, Mapping) else value
            self._print(f"(the bot refused the button: {status} {detail or ''})".rstrip())
        elif isinstance(value, Mapping) and value.get("type") == "AdaptiveCard":
            # The answer replaces the pressed card, buttons and all, as it does in Teams.
            self._show("bot (the card now reads)", render_card(value), replaces=True)
        elif isinstance(value, str) and value:
            self._print("bot:", f"  {value}")

    async def _watch(self) -> None:
        """Print what the bot sends on its own, as it comes."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            async with self._lock:
                try:
                    if await self._show_new(interrupting=True):
                        self._prompt()
                except ChatError as err:
                    self._print(f"(cannot read the chat: {err})")
                    return

    async def _show_new(self, *, interrupting: bool = False) -> bool:
        """Print the messages not shown yet; replies to the person, then notices, as sent."""
        shown = False
        for message in await self.chat.messages():
            key, stamp = str(message.get("id")), message.get("updated")
            if key in self._seen and self._seen[key] == stamp:
                continue
            updated = key in self._seen
            self._seen[key] = stamp
            if interrupting and not shown and self.interactive:
                self.out.write("\n")
            label = "bot" if self.chat.answers(message) else "bot (notice)"
            self._show(f"{label} (updated)" if updated else label, render_message(message))
            shown = True
        return shown

    def _show(self, label: str, rendered: Rendered, *, replaces: bool = False) -> None:
        self._print(f"{label}:", *(f"  {line}" if line else "" for line in rendered.lines))
        if rendered.buttons or replaces:
            self._buttons, self._inputs = rendered.buttons, rendered.inputs

    def _prompt(self) -> None:
        if self.interactive:
            self.out.write(PROMPT)
            self.out.flush()

    def _print(self, *lines: str) -> None:
        for line in lines:
            self.out.write(f"{line}\n")
        self.out.flush()
