"""Fixtures for the sign-in tests: the real product over HTTP beside the HTTPS sandbox, Teams SSO
tokens minted by the sandbox's own Entra issuer, and browsers with and without a session."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from presence_sync.secrets import SecretBox
from sandbox.server import RunningSandbox
from tests.connections.product import (
    ADMIN,
    Browser,
    ProductServer,
    free_port,
    product_settings,
    start_product,
)
from tests.web.tab_session import Mint, sso_token


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """A small organisation: sign-in needs few people."""
    return {"users": 12}


@pytest.fixture
async def product(sandbox: RunningSandbox, tmp_path: Path) -> AsyncIterator[ProductServer]:
    """The product on SQLite, ADMIN_EMAILS naming the sandbox's Global Administrator only."""
    settings = product_settings(
        sandbox,
        f"sqlite:///{tmp_path / 'presence-sync.db'}",
        tmp_path / "data",
        free_port(),
        SecretBox.generate_key(),
    )
    server = await start_product(settings)
    yield server
    await server.stop()


@pytest.fixture
async def admin(sandbox: RunningSandbox, product: ProductServer) -> AsyncIterator[Browser]:
    """ADMIN's browser, signed in to the tab."""
    browser = Browser(sandbox.ca_file)
    await browser.sign_in(product, ADMIN)
    yield browser
    await browser.close()


@pytest.fixture
async def stranger(sandbox: RunningSandbox) -> AsyncIterator[Browser]:
    """A browser nobody signed in with."""
    browser = Browser(sandbox.ca_file)
    yield browser
    await browser.close()


@pytest.fixture
def mint(sandbox: RunningSandbox, product: ProductServer) -> Mint:
    """Teams SSO tokens for the running product (see `tests.web.tab_session.sso_token`)."""
    return functools.partial(sso_token, sandbox, product.url)
