"""The sandbox CA and server certificate: created once, reused, trusted by clients."""

from __future__ import annotations

import stat
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from sandbox.tls import client_ssl_context, ensure_certificates, server_ssl_context


def test_first_start_creates_private_keys_readable_by_owner_only(tmp_path: Path) -> None:
    paths = ensure_certificates(tmp_path / "data")
    for key in (paths.key_file, paths.ca_key_file):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert paths.ca_file.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")


def test_later_starts_reuse_the_same_ca(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path)
    ca = first.ca_file.read_bytes()
    cert = first.cert_file.read_bytes()
    second = ensure_certificates(tmp_path)
    assert second.ca_file.read_bytes() == ca
    assert second.cert_file.read_bytes() == cert


def test_a_lost_server_certificate_is_reissued_under_the_same_ca(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path)
    ca = first.ca_file.read_bytes()
    first.cert_file.unlink()
    second = ensure_certificates(tmp_path)
    assert second.cert_file.is_file()
    assert second.ca_file.read_bytes() == ca


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_clients_trusting_the_ca_connect_by_name_and_address(
    tmp_path: Path, host: str
) -> None:
    paths = ensure_certificates(tmp_path)
    app = web.Application()

    async def hello(_: web.Request) -> web.Response:
        return web.Response(text="hello")

    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl_context(paths))
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as http:
            trusted = client_ssl_context(paths.ca_file)
            async with http.get(f"https://{host}:{port}/", ssl=trusted) as r:
                assert await r.text() == "hello"
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await http.get(f"https://{host}:{port}/")
    finally:
        await runner.cleanup()
