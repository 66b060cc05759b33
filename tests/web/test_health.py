"""Health, readiness and metrics as an operator's probes and Prometheus see them."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient

from presence_sync.app import create_app
from presence_sync.errors import RingCentralRateLimitedError, ValidationError
from presence_sync.logs import JsonFormatter
from presence_sync.settings import Settings, load_settings
from tests.mongo_server import free_port, run_ferretdb

ClientFactory = Callable[[web.Application], Awaitable[TestClient]]


def settings_for(tmp_path: Path, **env: str) -> Settings:
    base = {"STORE_URL": f"sqlite:///{tmp_path}/store.db", "DATA_DIR": str(tmp_path)}
    return load_settings({**base, **env}, env_file=None)


async def wait_for_status(client: TestClient, path: str, status: int, seconds: float) -> dict:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        response = await client.get(path)
        body = await response.json()
        if response.status == status:
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{path} stayed {response.status} ({body}), wanted {status}")
        await asyncio.sleep(0.2)


async def test_embedded_store_is_ready(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    alive = await client.get("/healthz")
    assert alive.status == 200
    assert (await alive.json())["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["checks"]["store"] == {"ok": True}
    assert (tmp_path / "store.db").exists()
    # Without SECRET_KEY a key file is generated, readable by its owner only.
    key_file = tmp_path / "secret.key"
    assert key_file.stat().st_mode & 0o077 == 0


async def test_metrics_count_requests_by_route(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(settings_for(tmp_path)))
    for _ in range(3):
        await client.get("/healthz")
    await client.get("/no/such/page")
    text = await (await client.get("/metrics")).text()
    assert (
        'presence_sync_http_requests_total{method="GET",route="/healthz",status="2xx"} 3.0' in text
    )
    assert 'route="unmatched",status="4xx"' in text


async def test_metrics_can_be_switched_off(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    client = await aiohttp_client(create_app(settings_for(tmp_path, METRICS_ENABLED="false")))
    assert (await client.get("/metrics")).status == 404


async def test_errors_become_clear_http_answers(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    app = create_app(settings_for(tmp_path))

    async def invalid(request: web.Request) -> web.Response:
        raise ValidationError("rule 'Sometimes' is not a known rule")

    async def throttled(request: web.Request) -> web.Response:
        raise RingCentralRateLimitedError("RingCentral asked us to slow down", retry_after=42)

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("token=very-secret")

    app.router.add_get("/invalid", invalid)
    app.router.add_get("/throttled", throttled)
    app.router.add_get("/broken", broken)
    client = await aiohttp_client(app)

    answer = await client.get("/invalid")
    assert answer.status == 400
    assert (await answer.json())["error"]["message"] == "rule 'Sometimes' is not a known rule"
    answer = await client.get("/throttled")
    assert answer.status == 503
    assert answer.headers["Retry-After"] == "42"
    answer = await client.get("/broken")
    assert answer.status == 500
    assert "very-secret" not in await answer.text()


async def test_oversized_bodies_are_refused(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path))

    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    app.router.add_post("/echo", echo)
    client = await aiohttp_client(app)
    answer = await client.post("/echo", data=b"x" * (5 * 1024 * 1024))
    assert answer.status == 413


async def test_readiness_follows_mongodb_down_and_up(
    aiohttp_client: ClientFactory, tmp_path: Path, ferretdb_binary: Path
) -> None:
    port = free_port()
    settings = settings_for(tmp_path, STORE_URL=f"mongodb://127.0.0.1:{port}/presence")
    client = await aiohttp_client(create_app(settings))

    # Nothing listens yet: the process is alive but not ready, and says why.
    body = await wait_for_status(client, "/readyz", 503, 5)
    assert body["checks"]["store"]["ok"] is False
    assert (
        "127.0.0.1" in body["checks"]["store"]["reason"]
        or "unreachable" in body["checks"]["store"]["reason"]
    )
    assert (await client.get("/healthz")).status == 200

    with run_ferretdb(ferretdb_binary, port=port):
        await wait_for_status(client, "/readyz", 200, 20)
    # The server went away: not ready, still alive.
    body = await wait_for_status(client, "/readyz", 503, 10)
    assert body["checks"]["store"]["reason"]
    assert (await client.get("/healthz")).status == 200
    # And it comes back without a restart.
    with run_ferretdb(ferretdb_binary, port=port):
        await wait_for_status(client, "/readyz", 200, 20)


def test_json_logs_carry_extras_and_one_object_per_line() -> None:
    record = logging.LogRecord(
        "presence_sync.sync", logging.INFO, __file__, 1, "wrote %s", ("rc",), None
    )
    record.user = "alice@contoso.example"
    record.provider = "ringcentral"
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "wrote rc"
    assert entry["user"] == "alice@contoso.example"
    assert entry["provider"] == "ringcentral"
    assert entry["level"] == "info"
    assert "\n" not in line
