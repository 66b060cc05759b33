"""The product's server as the demo runs it: settings pointing at the sandbox, served in-process."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from presence_sync.settings import Settings, load_settings

__all__ = [
    "ProductServer",
    "demo_environment",
    "demo_settings",
    "fresh_store",
    "reserve_port",
]

logger = logging.getLogger(__name__)

# The demo's day is short: reconcile every linked user often enough that a lost notification
# is repaired well within the check's settling time.
DEMO_RECONCILE_SECONDS = 20
DEMO_TEAMS_APP_ID = "3f5b0c1e-7d2a-4e8b-9c6f-1a2b3c4d5e6f"


def demo_environment(
    config: Mapping[str, Any],
    *,
    port: int,
    data_dir: Path,
    store_url: str | None = None,
    log_level: str = "INFO",
    https: bool = False,
) -> dict[str, str]:
    """The product's environment variables for a sandbox whose `/_sandbox/config` is `config`.

    `https` says the product is served over TLS (see `ProductServer.start`'s `ssl_context`).
    """
    base = str(config["base_url"]).rstrip("/")
    return {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "PUBLIC_URL": f"{'https' if https else 'http'}://127.0.0.1:{port}",
        "STORE_URL": store_url or f"sqlite:///{data_dir.resolve()}/presence-sync.db",
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": log_level,
        "PRESENCE_SYNC_CA_FILE": str(config["ca_file"]),
        "MICROSOFT_TENANT_ID": str(config["tenant_id"]),
        "MICROSOFT_CLIENT_ID": str(config["app_client_id"]),
        "MICROSOFT_CLIENT_SECRET": str(config["app_client_secret"]),
        "MICROSOFT_AUTHORITY_HOST": f"{base}/entra",
        "GRAPH_URL": f"{base}/graph/v1.0",
        "RINGCENTRAL_SERVER_URL": f"{base}/ringcentral",
        "RINGCENTRAL_CLIENT_ID": str(config["rc_client_id"]),
        "RINGCENTRAL_CLIENT_SECRET": str(config["rc_client_secret"]),
        "RINGCENTRAL_JWT": str(config["rc_jwt"]),
        "WATCH_RECONCILE_INTERVAL": str(DEMO_RECONCILE_SECONDS),
        # Whoever installs the product names themselves, as the README asks: before consent
        # Graph cannot say who the Global Administrators are, and every admin route needs one.
        "ADMIN_EMAILS": ",".join(
            str(admin["email"])
            for admin in config.get("admins", [])
            if "Global Administrator" in admin.get("roles", [])
        ),
        # The bot signs in as the sandbox's bot app and trusts the sandbox's channel tokens.
        "BOT_APP_ID": str(config["bot_app_id"]),
        "BOT_APP_SECRET": str(config["bot_app_secret"]),
        "BOT_OPENID_METADATA_URL": str(config["bot"]["to_bot_from_channel_openid_metadata_url"]),
        "BOT_TOKEN_ISSUER": str(config["bot"]["to_bot_from_channel_token_issuer"]),
        "BOT_SERVICE_URL": str(config["bot"]["service_url"]),
        # The Teams app the bot installs for people it has a notice for (the sandbox's catalog
        # holds every manifest id).
        "TEAMS_APP_ID": DEMO_TEAMS_APP_ID,
        # The sandbox's Teams host page frames the tab: teams-js must trust its origin. Only
        # the demo's configuration names it; a production tab trusts Teams' hosts alone.
        "TAB_VALID_MESSAGE_ORIGINS": _origin(base),
    }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def demo_settings(
    config: Mapping[str, Any],
    *,
    port: int,
    data_dir: Path,
    store_url: str | None = None,
    log_level: str = "INFO",
    https: bool = False,
) -> Settings:
    """Validated settings for the demo's server (SettingsError names a bad value)."""
    env = demo_environment(
        config, port=port, data_dir=data_dir, store_url=store_url, log_level=log_level, https=https
    )
    # No .env and no process environment: the demo must not pick up a real deployment's values.
    return load_settings(env, env_file=None)


@dataclass
class ProductServer:
    """The product's aiohttp application served on 127.0.0.1 until `stop()`."""

    app: web.Application
    runner: web.AppRunner
    url: str

    @classmethod
    async def start(
        cls,
        settings: Settings,
        sock: socket.socket,
        clock: Callable[[], float] | None = None,
        time_scale: float = 1.0,
        middlewares: Sequence[Middleware] = (),
        ssl_context: ssl.SSLContext | None = None,
    ) -> ProductServer:
        """Build the app with `create_app(settings)` and serve it on `sock` (see reserve_port).

        `clock` replaces `time.time` for the product's timers when the sandbox runs
        `time_scale` times faster, so sessions and subscriptions are renewed in its time.
        `middlewares` run before the product's own (benchmarks time requests with them).
        `ssl_context` serves HTTPS (the demo uses the sandbox's certificate, so the tab framed
        by the sandbox's Teams host page may open teams-js pop-ups, which refuse http).
        """
        from presence_sync.app import create_app

        if clock is None:
            app = create_app(settings)
        else:
            app = create_app(settings, clock=clock, time_scale=time_scale)
        for middleware in reversed(middlewares):
            app.middlewares.insert(0, middleware)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        try:
            await web.SockSite(runner, sock, ssl_context=ssl_context).start()
        except BaseException:
            await runner.cleanup()
            raise
        scheme = "http" if ssl_context is None else "https"
        return cls(app=app, runner=runner, url=f"{scheme}://127.0.0.1:{sock.getsockname()[1]}")

    async def stop(self) -> None:
        """Stop serving and run every cleanup context (background loops, store, HTTP)."""
        await self.runner.cleanup()


def reserve_port(port: int) -> socket.socket:
    """A socket bound to 127.0.0.1:`port` (0: any free port), so settings can name the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


def fresh_store(data_dir: Path) -> None:
    """Remove the demo's embedded store from an earlier run (the database and its journals)."""
    for path in data_dir.glob("presence-sync.db*"):
        path.unlink()
