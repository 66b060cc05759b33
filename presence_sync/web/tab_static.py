"""Serves the built tab (`tab/dist`) at /tab/, its public configuration, and its headers.

The tab is a single-page app: `/tab/people` and the other pages answer `index.html`, files
answer themselves (hashed assets are cached for a year). Pages may be framed only by Teams'
hosts and the configured extra origins. If the tab has not been built, /tab/ says how.
"""

from __future__ import annotations

import html
from pathlib import Path

from aiohttp import web

from presence_sync.web.keys import SETTINGS

__all__ = ["TEAMS_HOSTS", "add_routes", "default_dist"]

# Where Teams, Outlook and the Microsoft 365 app host tabs (Microsoft's documented list).
TEAMS_HOSTS = (
    "https://teams.microsoft.com",
    "https://*.teams.microsoft.com",
    "https://teams.cloud.microsoft",
    "https://*.cloud.microsoft",
    "https://*.office.com",
    "https://*.microsoft365.com",
    "https://outlook.office.com",
    "https://outlook.office365.com",
    "https://*.skype.com",
)

_NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Presence Sync tab not built</title></head><body style="font-family:system-ui">
<main><h1>The Presence Sync tab has not been built</h1>
<p>Build it once with Node 20 or newer: <code>cd tab &amp;&amp; npm ci &amp;&amp;
npm run build</code> (or run <code>scripts/run</code>, which does it), then reload.</p>
<p>Looked for {where}.</p></main></body></html>"""


def default_dist() -> Path:
    """The tab's build folder in a source checkout."""
    return Path(__file__).resolve().parents[2] / "tab" / "dist"


def _headers(request: web.Request) -> dict[str, str]:
    ancestors = " ".join(("'self'", *TEAMS_HOSTS, *request.app[SETTINGS].tab_valid_message_origins))
    return {
        "Content-Security-Policy": f"frame-ancestors {ancestors}",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }


def add_routes(app: web.Application, dist: Path | None = None) -> None:
    """Add /tab/, its files and /tab/config.json."""
    folder = (dist or default_dist()).resolve()

    async def config(request: web.Request) -> web.Response:
        settings = request.app[SETTINGS]
        return web.json_response(
            {
                "productName": "Presence Sync",
                "clientId": settings.microsoft_client_id,
                "validMessageOrigins": list(settings.tab_valid_message_origins),
            },
            headers={"Cache-Control": "no-cache"},
        )

    async def serve(request: web.Request) -> web.StreamResponse:
        index = folder / "index.html"
        if not index.is_file():
            page = _NOT_BUILT.format(where=html.escape(str(folder)))
            return web.Response(text=page, status=503, content_type="text/html")
        wanted = request.match_info.get("path", "")
        try:
            target = (folder / wanted).resolve() if wanted else index
            is_file = target.is_relative_to(folder) and target.is_file()
        except (ValueError, OSError):  # a NUL byte, a name too long for the file system
            raise web.HTTPNotFound() from None
        if not target.is_relative_to(folder):
            raise web.HTTPNotFound()
        headers = _headers(request)
        if is_file and target != index:
            hashed = "/assets/" in str(target)
            cache = "public, max-age=31536000, immutable" if hashed else "no-cache"
            return web.FileResponse(target, headers={**headers, "Cache-Control": cache})
        if target != index and "." in wanted.rsplit("/", 1)[-1]:
            raise web.HTTPNotFound()  # a missing file, not a page of the app
        return web.FileResponse(index, headers={**headers, "Cache-Control": "no-cache"})

    async def to_slash(request: web.Request) -> web.Response:
        raise web.HTTPFound("/tab/")

    app.router.add_get("/tab/config.json", config)
    app.router.add_get("/tab", to_slash)
    app.router.add_get("/tab/", serve)
    app.router.add_get("/tab/{path:.+}", serve)
