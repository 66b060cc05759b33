"""A headless browser just capable enough for sign-in pages: redirects, cookies, form_post.

The demo connects both platforms through the product's real consent and sign-in routes, the
way an admin's browser would: it follows 302s between the product and the sandbox's Entra ID,
keeps cookies, and submits Entra's self-posting `form_post` pages.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import aiohttp

__all__ = ["HeadlessBrowser", "Page", "auto_form"]

MAX_HOPS = 12


@dataclass(frozen=True)
class Page:
    """Where the browser ended up and what it shows."""

    url: str
    status: int
    text: str
    hops: tuple[str, ...]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "get"
        self.fields: dict[str, str] = {}
        self.auto = False
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "body" and "submit()" in values.get("onload", ""):
            self.auto = True
        elif tag == "form" and self.action is None:
            self._in_form = True
            self.action = values.get("action", "")
            self.method = values.get("method", "get").lower()
        elif tag == "input" and self._in_form and values.get("type") == "hidden":
            self.fields[values.get("name", "")] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def auto_form(html: str) -> tuple[str, str, dict[str, str]] | None:
    """(method, action, hidden fields) of a page that submits its form on load, else None."""
    parser = _FormParser()
    parser.feed(html)
    if not parser.auto or parser.action is None:
        return None
    return parser.method, parser.action, parser.fields


class HeadlessBrowser:
    """Follows a sign-in journey across the product (http) and the sandbox (https)."""

    def __init__(self, ca_file: str) -> None:
        """A browser trusting `ca_file` with its own cookie jar."""
        context = ssl.create_default_context(cafile=ca_file)
        # unsafe=True keeps cookies set by IP-address hosts such as 127.0.0.1.
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=context),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=30),
        )

    async def close(self) -> None:
        """Close the session."""
        await self.session.close()

    async def visit(
        self,
        url: str,
        *,
        method: str = "GET",
        data: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Page:
        """Open `url` and follow redirects and self-posting forms to the final page.

        `headers` go with the first request only, as a page's script adds them to its own call.
        """
        hops: list[str] = []
        sent = dict(headers or {})
        for _ in range(MAX_HOPS):
            hops.append(url)
            async with self.session.request(
                method, url, data=data, headers=sent, allow_redirects=False
            ) as response:
                text = await response.text()
                location = response.headers.get("Location")
                status = response.status
            sent = {}
            if status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                if status != 307 and status != 308:
                    method, data = "GET", None
                continue
            form = auto_form(text) if status == 200 else None
            if form is not None:
                method, action, fields = form
                url, data = urljoin(url, action), fields
                method = method.upper()
                continue
            return Page(url=url, status=status, text=text, hops=tuple(hops))
        raise RuntimeError(f"more than {MAX_HOPS} redirects, last at {url}")
