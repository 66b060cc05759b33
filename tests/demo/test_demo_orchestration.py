"""Starting and stopping the demo's pieces: the sandbox process and the product server."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import aiohttp
import pytest

from presence_sync.demo import Console, DemoOptions, run_demo
from presence_sync.demo.control import SandboxControl
from presence_sync.demo.sandbox_process import SandboxProcess, SandboxStartError
from presence_sync.demo.server import ProductServer, demo_settings, reserve_port
from sandbox.server import RunningSandbox


async def test_the_sandbox_process_starts_on_a_free_port_and_stops(tmp_path: Path) -> None:
    running = await SandboxProcess.start(tmp_path / "sandbox", port=0, users=6)
    control = SandboxControl.open(running.base_url, running.ca_file)
    try:
        assert running.base_url.startswith("https://localhost:")
        config = await control.config()
        assert config["base_url"] == running.base_url
        assert Path(config["ca_file"]) == Path(running.ca_file)
        assert (await control.state())["total_people"] >= 6
    finally:
        await running.stop()
    assert not running.running
    try:
        with pytest.raises(aiohttp.ClientConnectionError):
            await control.config()
    finally:
        await control.close()
    assert "Presence Sync sandbox at" in running.log_file.read_text()


async def test_a_sandbox_that_cannot_start_says_why_and_where_its_log_is(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            SandboxStartError, match=r"exited with status 1: cannot start the sandbox: .*in use"
        ) as caught:
            await SandboxProcess.start(tmp_path / "sandbox", port=port, users=6)
    assert str(tmp_path / "sandbox.log") in str(caught.value)
    assert "cannot start the sandbox" in (tmp_path / "sandbox.log").read_text()


async def test_the_server_runs_against_the_sandbox_and_stops_cleanly(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = await SandboxControl(sandbox.base_url, sandbox.http).config()
    sock = reserve_port(0)
    port = sock.getsockname()[1]
    settings = demo_settings(config, port=port, data_dir=tmp_path / "server")
    assert settings.public_url == f"http://127.0.0.1:{port}"
    assert settings.graph_url == f"{sandbox.base_url}/graph/v1.0"
    assert settings.microsoft_authority_host == f"{sandbox.base_url}/entra"
    assert settings.ringcentral_server_url == f"{sandbox.base_url}/ringcentral"
    assert settings.microsoft_configured
    assert settings.ringcentral_configured
    assert settings.store_url == f"sqlite:///{(tmp_path / 'server').resolve()}/presence-sync.db"

    server = await ProductServer.start(settings, sock)
    async with aiohttp.ClientSession() as client:
        async with client.get(f"{server.url}/readyz") as response:
            assert response.status == 200
        await server.stop()
        with pytest.raises(aiohttp.ClientConnectionError):
            async with client.get(f"{server.url}/readyz"):
                pass
    assert (tmp_path / "server" / "presence-sync.db").is_file()


async def test_a_taken_server_port_is_named_with_the_option_that_fixes_it(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = io.StringIO()
        options = DemoOptions(port=port, sandbox_port=0, users=4, data=tmp_path)
        code = await run_demo(options, Console(out))
    assert code == 1
    text = out.getvalue()
    assert f"cannot listen on 127.0.0.1:{port}" in text
    assert "choose another --port (0 picks a free one)" in text
    assert "Traceback" not in text
