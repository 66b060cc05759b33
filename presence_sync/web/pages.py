"""The small HTML pages the product answers at the end of a sign-in or consent step.

A page names what happened and what to do next. It loads the tab's `auth-end.js` when the tab
is built: inside a Teams pop-up that script tells Teams the step ended (teams-js
`authentication.notifySuccess`/`notifyFailure`), which closes the pop-up; in a browser pop-up
it tells the tab that opened it, so the tab refreshes.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from aiohttp import web

__all__ = ["result_page"]

_STYLE = (
    "body{font-family:'Segoe UI',system-ui,sans-serif;background:#f5f5f5;margin:0;color:#242424}"
    ".card{background:#fff;max-width:520px;margin:64px auto;padding:28px 36px;"
    "border-radius:8px;box-shadow:0 2px 8px rgba(0,0,0,.15)}"
    "h1{font-size:22px;margin:0 0 12px}.ok{color:#0e700e}.fail{color:#b10e1c}"
    "a{color:#115ea3}"
)


def result_page(
    title: str,
    message: str,
    *,
    ok: bool,
    status: int = 200,
    notes: Sequence[str] = (),
    next_step: str = "You can close this window and return to the Presence Sync tab in Teams.",
    link: tuple[str, str] | None = None,
) -> web.Response:
    """An HTML page that says how a step ended; `link` is (text, same-origin path)."""
    mark = "ok" if ok else "fail"
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    action = ""
    if link is not None:
        action = f"<p><a href='{html.escape(link[1])}'>{html.escape(link[0])}</a></p>"
    body = (
        f"<h1 class='{mark}'>{html.escape(title)}</h1>"
        f"<p>{html.escape(message)}</p>"
        + (f"<ul>{items}</ul>" if items else "")
        + action
        + f"<p>{html.escape(next_step)}</p>"
    )
    text = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
        "<script src='/tab/auth-end.js' defer></script></head>"
        f"<body data-outcome='{mark}' data-title='{html.escape(title)}' "
        f"data-message='{html.escape(message)}'><main class='card'>{body}</main></body></html>"
    )
    return web.Response(text=text, status=status, content_type="text/html")
