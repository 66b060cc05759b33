"""Signing an admin in to the product's tab outside Teams, as their browser would.

The admin routes answer only a signed-in admin (presence_sync/web/auth). The demo, the
benchmarks and the tests sign in the way a person does outside Teams: open
`/tab/auth/login?login_hint=<admin>`, let Entra (the sandbox's, which signs the hinted user in
without a click) post its answer back, and keep the session cookie. Changes then carry the
CSRF token that `GET /api/tab/session` hands the signed-in page, as the tab's script does.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from presence_sync.demo.browser import HeadlessBrowser, Page

__all__ = ["SignInError", "SignedInAdmin", "sign_in", "signed_in_admin"]

LOGIN = "/tab/auth/login"
SESSION = "/api/tab/session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInError(Exception):
    """Signing in failed, or the person who signed in is not an admin; the message says why."""


@dataclass
class SignedInAdmin:
    """A browser with an admin's session cookie, and the CSRF token its changes carry."""

    browser: HeadlessBrowser
    product_url: str
    email: str
    csrf: str

    @property
    def headers(self) -> dict[str, str]:
        """What the tab's script adds to every change it sends."""
        return {CSRF_HEADER: self.csrf}

    async def visit(self, path_or_url: str, *, method: str = "GET", data: Any = None) -> Page:
        """Open a product page or route (changes with the CSRF token) and follow it through."""
        headers = self.headers if method.upper() not in _SAFE_METHODS else None
        return await self.browser.visit(
            self._url(path_or_url), method=method, data=data, headers=headers
        )

    async def call(self, method: str, path_or_url: str, body: Any = None) -> tuple[int, Any]:
        """Call a product JSON route as the tab does: (status, decoded JSON or None)."""
        headers = self.headers if method.upper() not in _SAFE_METHODS else {}
        async with self.browser.session.request(
            method, self._url(path_or_url), json=body, headers=headers, allow_redirects=False
        ) as response:
            text = await response.text()
            return response.status, _json_or_none(text)

    async def sign_out(self) -> int:
        """POST /tab/auth/logout; the product's status (204 when the session ended)."""
        status, _ = await self.call("POST", "/tab/auth/logout")
        return status

    def _url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.product_url}{path_or_url}"


async def sign_in(browser: HeadlessBrowser, product_url: str, email: str) -> SignedInAdmin:
    """Sign `email` in to the product at `product_url` in `browser`; they must be an admin."""
    base = product_url.rstrip("/")
    page = await browser.visit(f"{base}{LOGIN}?{urlencode({'login_hint': email})}")
    async with browser.session.get(f"{base}{SESSION}", allow_redirects=False) as response:
        status, answer = response.status, _json_or_none(await response.text())
    if status != 200 or not isinstance(answer, dict):
        said = _message(answer) or f"the sign-in ended at {page.url.split('?')[0]} ({page.status})"
        if page.status >= 400 and (shown := _shown(page.text)):
            said = f"{said}; the sign-in page said: {shown}"
        raise SignInError(f"signing {email} in to {base} failed: {said}")
    if not answer.get("admin"):
        raise SignInError(str(answer.get("reason") or f"{email} is not a Presence Sync admin"))
    return SignedInAdmin(browser, base, email, str(answer["csrfToken"]))


@contextlib.asynccontextmanager
async def signed_in_admin(
    product_url: str, ca_file: str, email: str
) -> AsyncIterator[SignedInAdmin]:
    """A fresh browser trusting `ca_file`, signed in as admin `email`; closed afterwards."""
    browser = HeadlessBrowser(ca_file)
    try:
        yield await sign_in(browser, product_url, email)
    finally:
        await browser.close()


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _shown(html: str) -> str:
    """The words of a result page, without its markup, bounded for one line."""
    words = " ".join(
        re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(script|style).*?</\1>", "", html)).split()
    )
    return words[:300]


def _message(answer: Any) -> str | None:
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        return str(answer["error"].get("message") or "") or None
    return None
