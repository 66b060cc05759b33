"""The demo names each part of the product it needs and finds missing."""

from __future__ import annotations

from aiohttp import web

from presence_sync.app import create_app
from presence_sync.demo.parts import missing_modules, missing_parts
from presence_sync.settings import Settings


def test_the_product_as_built_has_every_part_the_demo_needs() -> None:
    assert missing_modules() == []
    assert missing_parts(create_app(Settings())) == []


def test_an_app_without_the_services_is_told_what_to_wire() -> None:
    missing = missing_parts(web.Application())
    assert missing == [
        "setup_watchers(app) in create_app: nothing would watch presence",
        "consent route admin consent (/connect/microsoft/consent)",
        "consent route sync account sign-in (/connect/microsoft/sync-account)",
        "consent route RingCentral connect (/connect/ringcentral)",
    ]
