"""`python -m sandbox`: options, the config file, a clean stop, stable identities."""

from __future__ import annotations

import asyncio
import json
import signal
import stat
import sys
from pathlib import Path

import aiohttp

from sandbox.__main__ import main
from sandbox.server import build_context
from sandbox.tls import client_ssl_context

ROOT = Path(__file__).parents[2]


async def test_the_command_serves_https_writes_its_config_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox", "--port", "0", "--data", str(tmp_path),
        "--users", "12", "--time-scale", "60", "--log-level", "WARNING",
        stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        first = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
        base_url = first.rsplit(" ", 1)[1].strip()
        assert base_url.startswith("https://localhost:")
        config_path = tmp_path / "sandbox-config.json"
        assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
        written = json.loads(config_path.read_text())
        ssl = client_ssl_context(tmp_path / "ca.pem")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base_url}/_sandbox/config", ssl=ssl) as response:
                served = await response.json()
            await http.post(f"{base_url}/_sandbox/consent", json={"granted": True}, ssl=ssl)
            form = {"grant_type": "client_credentials", "client_id": served["app_client_id"],
                    "client_secret": served["app_client_secret"],
                    "scope": "https://graph.microsoft.com/.default"}
            token_url = served["entra"]["token_endpoint"]
            async with http.post(token_url, data=form, ssl=ssl) as response:
                token = await response.json()
        assert served == written
        assert served["time_scale"] == 60
        assert token["expires_in"] == 60  # one sandbox hour at 60x
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_bad_options_exit_with_status_2(tmp_path: Path) -> None:
    assert main(["--seed", str(tmp_path / "missing.json"), "--data", str(tmp_path)]) == 2
    assert main(["--users", "1", "--data", str(tmp_path)]) == 2
    assert main(["--time-scale", "0", "--data", str(tmp_path)]) == 2


def test_a_restart_on_the_same_data_folder_keeps_ids_and_secrets(tmp_path: Path) -> None:
    first = build_context(users=10, data_dir=tmp_path).config
    second = build_context(users=10, data_dir=tmp_path).config
    assert first.app_client_secret == second.app_client_secret
    assert first.bot_app_id == second.bot_app_id
    assert first.rc_jwt == second.rc_jwt
    other = build_context(users=10, data_dir=tmp_path / "elsewhere").config
    assert other.app_client_secret != first.app_client_secret
    assert other.tenant_id == first.tenant_id  # same seed, same tenant
