"""The about, privacy and terms pages the Teams app package links to answer anyone."""

from __future__ import annotations

import json
import re
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from presence_sync.web import about

MANIFEST = Path(__file__).resolve().parents[2] / "manifest" / "manifest.json"


async def _client() -> TestClient:
    app = web.Application()
    about.add_routes(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_every_page_the_manifest_links_answers_a_stranger_with_html() -> None:
    developer = json.loads(MANIFEST.read_text())["developer"]
    paths = [
        re.sub(r"^https://\$\{\{PUBLIC_HOST\}\}", "", developer[key])
        for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl")
    ]
    assert paths == [about.ABOUT, about.PRIVACY, about.TERMS]
    client = await _client()
    try:
        for path in paths:
            async with client.get(path) as response:
                text = await response.text()
                assert response.status == 200, path
                assert response.content_type == "text/html"
                assert response.headers["X-Content-Type-Options"] == "nosniff"
            # Each page links the other two, so a reader finds all three from any.
            for other in paths:
                assert f"href='{other}'" in text
    finally:
        await client.close()


async def test_the_privacy_page_says_what_is_kept_and_where_it_goes() -> None:
    client = await _client()
    try:
        async with client.get(about.PRIVACY) as response:
            text = await response.text()
    finally:
        await client.close()
    for words in ("email address", "encrypted", "Microsoft", "RingCentral", "no telemetry"):
        assert words in text
