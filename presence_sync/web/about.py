"""The public pages the Teams app package links to: about, privacy and terms of use.

Teams shows the manifest's developer website, privacy and terms links to everyone who looks at
the app before installing it, so these answer anyone, signed in or not, and say nothing about
the organisation's data beyond what kinds of it the product keeps. They describe this server:
Presence Sync runs on the organisation's own host, so the organisation is who operates it.
"""

from __future__ import annotations

import html

from aiohttp import web

__all__ = ["ABOUT", "PRIVACY", "TERMS", "add_routes"]

ABOUT = "/about"
PRIVACY = "/about/privacy"
TERMS = "/about/terms"

_STYLE = (
    "body{font-family:'Segoe UI',system-ui,sans-serif;background:#f5f5f5;margin:0;color:#242424;"
    "line-height:1.5}main{background:#fff;max-width:720px;margin:48px auto;padding:28px 40px;"
    "border-radius:8px;box-shadow:0 2px 8px rgba(0,0,0,.15)}h1{font-size:24px;margin:0 0 12px}"
    "h2{font-size:18px;margin:24px 0 8px}a{color:#115ea3}nav a{margin-right:16px}"
)

_NAV = (
    f"<nav><a href='{ABOUT}'>About</a><a href='{PRIVACY}'>Privacy</a>"
    f"<a href='{TERMS}'>Terms of use</a></nav>"
)

# Each page: (title, [(heading or "", [paragraphs])]). Plain text, escaped when drawn.
_PAGES: dict[str, tuple[str, list[tuple[str, list[str]]]]] = {
    ABOUT: (
        "Presence Sync",
        [
            (
                "",
                [
                    "Presence Sync keeps each linked person's presence the same in Microsoft "
                    "Teams and RingCentral. A Teams meeting, call or Do not disturb changes "
                    "their RingCentral presence and, through call presence rules an admin "
                    "chooses, whether RingCentral rings them; a RingCentral phone call shows "
                    "them In a call in Teams.",
                    "IT admins use it from Teams: the Presence Sync tab (connections, people, "
                    "call presence rules, activity) and the bot they chat with (help, status, "
                    "sync all, unsync). Synced people get a chat message when their presence "
                    "starts or stops being synced.",
                    "This server is run by your organisation. Presence Sync is open-source "
                    "software under the MIT licence.",
                ],
            )
        ],
    ),
    PRIVACY: (
        "Privacy",
        [
            (
                "Who runs it",
                [
                    "Presence Sync runs on your organisation's own server and stores its data "
                    "in your organisation's own database. Your organisation's IT administrators "
                    "operate it and decide who is synced; questions about your data go to them.",
                ],
            ),
            (
                "What it keeps",
                [
                    "For each person in the directory: their name, email address, Microsoft "
                    "Teams user id, RingCentral extension id and number, whether they are "
                    "synced, and the presence it last saw and last set on each platform.",
                    "An activity log of every presence change it made and every admin action "
                    "(who, when, what and why), and reports of sync jobs.",
                    "The sign-ins it needs to act: the Microsoft consent, the sync accounts' "
                    "and RingCentral's tokens, encrypted with the server's secret key. Admin "
                    "sign-in sessions to the tab last at most eight hours.",
                ],
            ),
            (
                "Where it sends data",
                [
                    "Only to Microsoft 365 (Microsoft Graph, Entra ID and the Bot Framework, to "
                    "read and set presence, read the directory and send chat messages or "
                    "email) and to RingCentral (to read and set presence and call handling). "
                    "It sends nothing anywhere else: no analytics, no telemetry.",
                ],
            ),
            (
                "Stopping",
                [
                    "An admin can stop syncing anyone (unsync), pause sync for everyone, or "
                    "remove the app's consent in Microsoft Entra ID and its RingCentral "
                    "connection; the records then stay in the organisation's database until "
                    "its administrators delete them.",
                ],
            ),
        ],
    ),
    TERMS: (
        "Terms of use",
        [
            (
                "",
                [
                    "Presence Sync is open-source software under the MIT licence, provided "
                    "as is, without warranty of any kind. Your organisation installs and "
                    "operates this server and is responsible for its use under its own "
                    "policies and its agreements with Microsoft and RingCentral.",
                    "Use it as your organisation's IT administrators direct: admin commands "
                    "and the tab's settings are for the administrators they name.",
                ],
            )
        ],
    ),
}


def _page(path: str) -> str:
    title, sections = _PAGES[path]
    parts = [f"<h1>{html.escape(title)}</h1>"]
    for heading, paragraphs in sections:
        if heading:
            parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.extend(f"<p>{html.escape(text)}</p>" for text in paragraphs)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)} · Presence Sync</title><style>{_STYLE}</style></head>"
        f"<body><main>{_NAV}{''.join(parts)}</main></body></html>"
    )


def add_routes(app: web.Application) -> None:
    """Serve the three pages; drawn once, they never change while the server runs."""
    pages = {path: _page(path) for path in _PAGES}

    async def serve(request: web.Request) -> web.Response:
        return web.Response(
            text=pages[request.path],
            content_type="text/html",
            headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    for path in pages:
        app.router.add_get(path, serve)
