"""One frozen Settings object, parsed strictly from the environment and an optional `.env` file.

Every variable is documented in `.env.example`. A missing required value or a malformed one
raises `SettingsError` naming the variable; the CLI turns that into exit code 2.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from presence_sync.errors import SettingsError

__all__ = ["Settings", "load_settings", "read_env_file"]

T = TypeVar("T")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_STORE_SCHEMES = ("sqlite", "mongodb", "mongodb+srv")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class Settings:
    """Everything the product is configured with; built once in the entry point."""

    host: str = "0.0.0.0"
    port: int = 3978
    public_url: str = "http://localhost:3978"
    store_url: str = "sqlite:///./data/presence-sync.db"
    data_dir: Path = Path("./data")
    secret_key: str | None = None
    log_format: Literal["plain", "json"] = "plain"
    log_level: str = "INFO"
    ca_file: Path | None = None
    http_timeout: float = 10.0
    metrics_enabled: bool = True

    microsoft_tenant_id: str | None = None
    microsoft_client_id: str | None = None
    microsoft_client_secret: str | None = None
    microsoft_authority_host: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    graph_poll_budget_share: float = 0.2
    graph_presence_budget: int = 1500
    graph_poll_min_interval: float = 1.0
    graph_subscription_renew_before: float = 900.0
    watch_reconcile_interval: float = 300.0

    ringcentral_server_url: str = "https://platform.ringcentral.com"
    ringcentral_client_id: str | None = None
    ringcentral_client_secret: str | None = None
    ringcentral_jwt: str | None = None
    ringcentral_subscription_lifetime: int = 86400
    # Above this p95 delay (seconds, last hour) from a Teams change to its RingCentral write,
    # status suggests adding a RingCentral identity or a higher app limit.
    ringcentral_delay_alert: float = 60.0

    # Admins besides the tenant's Global and Teams Administrators (UPN or mail, any case).
    admin_emails: tuple[str, ...] = ()
    # The bot's Entra app registration (single-tenant, MICROSOFT_TENANT_ID). Without it the
    # bot answers nobody, unless the loopback switch below is on.
    bot_app_id: str | None = None
    bot_app_secret: str | None = None
    # Accept unsigned activities from loopback when no bot credentials are set (Agents
    # Playground sends no token). Never on a reachable server.
    bot_dangerously_allow_unauthenticated_loopback: bool = False
    # Where the Bot Framework channel's signing keys are published and who issues its tokens
    # (default: the public cloud's; change only for other clouds or the sandbox).
    bot_openid_metadata_url: str | None = None
    bot_token_issuer: str | None = None
    # Where the bot opens chats before Teams has told it its regional service URL.
    bot_service_url: str = "https://smba.trafficmanager.net/teams/"
    # The Teams app's id (the manifest's `id`, a GUID): `presence-sync package` writes it into
    # the app package, and the bot installs that app for people who get a notice.
    teams_app_id: str | None = None
    # Install the Teams app for people who get a notice before they ever chatted with the bot.
    bot_install_app: bool = True
    # Host origins teams-js trusts besides Microsoft's own (teams-js `validMessageOrigins`),
    # also allowed to frame the tab. Empty in production; the demo adds its sandbox.
    tab_valid_message_origins: tuple[str, ...] = ()
    # Pace of chat notices across the organisation (a sync all of 50,000 drains in hours).
    bot_messages_per_second: float = 5.0
    bot_installs_per_second: float = 1.0

    def __repr__(self) -> str:
        # Settings objects end up in tracebacks and debug logs: never show a secret there.
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS and value is not None:
                value = "***"
            shown.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @property
    def microsoft_configured(self) -> bool:
        """Whether the product's Entra app registration is configured."""
        return bool(
            self.microsoft_tenant_id and self.microsoft_client_id and self.microsoft_client_secret
        )

    @property
    def ringcentral_configured(self) -> bool:
        """Whether RingCentral app credentials are configured."""
        return bool(self.ringcentral_client_id and self.ringcentral_client_secret)


_SECRET_FIELDS = frozenset(
    {
        "secret_key",
        "microsoft_client_secret",
        "ringcentral_client_secret",
        "ringcentral_jwt",
        "bot_app_secret",
    }
)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE pairs of a `.env` file; blank lines and `#` comments are ignored."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise SettingsError(f"{path}:{number}", "expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    """Settings from `environ` (default: the process environment) over an optional `.env`."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        merged.update(read_env_file(env_file))
    merged.update(os.environ if environ is None else environ)
    return _parse(merged)


def _parse(env: Mapping[str, str]) -> Settings:
    defaults = Settings()

    def get(name: str, parse: Callable[[str, str], T], default: T) -> T:
        raw = env.get(name)
        if raw is None or raw.strip() == "":
            return default
        return parse(name, raw.strip())

    store_url = get("STORE_URL", _store_url, defaults.store_url)
    port = get("PORT", _port, defaults.port)
    values: dict[str, Any] = {
        "host": get("HOST", _text, defaults.host),
        "port": port,
        "public_url": get("PUBLIC_URL", _http_url, f"http://localhost:{port}"),
        "store_url": store_url,
        "data_dir": get("DATA_DIR", _path, defaults.data_dir),
        "secret_key": get("SECRET_KEY", _secret_key, None),
        "log_format": get("LOG_FORMAT", _choice("plain", "json"), defaults.log_format),
        "log_level": get("LOG_LEVEL", _log_level, defaults.log_level),
        "ca_file": get("PRESENCE_SYNC_CA_FILE", _existing_file, None),
        "http_timeout": get("HTTP_TIMEOUT", _positive_float, defaults.http_timeout),
        "metrics_enabled": get("METRICS_ENABLED", parse_bool, defaults.metrics_enabled),
        "microsoft_tenant_id": get("MICROSOFT_TENANT_ID", _text, None),
        "microsoft_client_id": get("MICROSOFT_CLIENT_ID", _text, None),
        "microsoft_client_secret": get("MICROSOFT_CLIENT_SECRET", _text, None),
        "microsoft_authority_host": get(
            "MICROSOFT_AUTHORITY_HOST", _https_url, defaults.microsoft_authority_host
        ),
        "graph_url": get("GRAPH_URL", _https_url, defaults.graph_url),
        "graph_poll_budget_share": get(
            "GRAPH_POLL_BUDGET_SHARE", _fraction, defaults.graph_poll_budget_share
        ),
        "graph_presence_budget": get(
            "GRAPH_PRESENCE_BUDGET", _positive_int, defaults.graph_presence_budget
        ),
        "graph_poll_min_interval": get(
            "GRAPH_POLL_MIN_INTERVAL", _positive_float, defaults.graph_poll_min_interval
        ),
        "graph_subscription_renew_before": get(
            "GRAPH_SUBSCRIPTION_RENEW_BEFORE",
            _renew_before,
            defaults.graph_subscription_renew_before,
        ),
        "watch_reconcile_interval": get(
            "WATCH_RECONCILE_INTERVAL", _positive_float, defaults.watch_reconcile_interval
        ),
        "ringcentral_server_url": get(
            "RINGCENTRAL_SERVER_URL", _https_url, defaults.ringcentral_server_url
        ),
        "ringcentral_client_id": get("RINGCENTRAL_CLIENT_ID", _text, None),
        "ringcentral_client_secret": get("RINGCENTRAL_CLIENT_SECRET", _text, None),
        "ringcentral_jwt": get("RINGCENTRAL_JWT", _text, None),
        "ringcentral_subscription_lifetime": get(
            "RINGCENTRAL_SUBSCRIPTION_LIFETIME",
            _positive_int,
            defaults.ringcentral_subscription_lifetime,
        ),
        "ringcentral_delay_alert": get(
            "RINGCENTRAL_DELAY_ALERT_SECONDS", _positive_float, defaults.ringcentral_delay_alert
        ),
        "admin_emails": get("ADMIN_EMAILS", _emails, defaults.admin_emails),
        "bot_app_id": get("BOT_APP_ID", _text, None),
        "bot_app_secret": get("BOT_APP_SECRET", _text, None),
        "bot_dangerously_allow_unauthenticated_loopback": get(
            "BOT_DANGEROUSLY_ALLOW_UNAUTHENTICATED_LOOPBACK", parse_bool, False
        ),
        "bot_openid_metadata_url": get("BOT_OPENID_METADATA_URL", _https_url, None),
        "bot_token_issuer": get("BOT_TOKEN_ISSUER", _text, None),
        "bot_service_url": get("BOT_SERVICE_URL", _https_url, defaults.bot_service_url),
        "teams_app_id": get("TEAMS_APP_ID", _text, None),
        "tab_valid_message_origins": get(
            "TAB_VALID_MESSAGE_ORIGINS", _origins, defaults.tab_valid_message_origins
        ),
        "bot_install_app": get("BOT_INSTALL_APP", parse_bool, defaults.bot_install_app),
        "bot_messages_per_second": get(
            "BOT_MESSAGES_PER_SECOND", _positive_float, defaults.bot_messages_per_second
        ),
        "bot_installs_per_second": get(
            "BOT_INSTALLS_PER_SECOND", _positive_float, defaults.bot_installs_per_second
        ),
    }
    _require_together(
        env,
        ("MICROSOFT_TENANT_ID", "MICROSOFT_CLIENT_ID", "MICROSOFT_CLIENT_SECRET"),
    )
    _require_together(env, ("BOT_APP_ID", "BOT_APP_SECRET"))
    if env.get("BOT_APP_ID", "").strip() and not env.get("MICROSOFT_TENANT_ID", "").strip():
        raise SettingsError(
            "MICROSOFT_TENANT_ID", "required when BOT_APP_ID is set (the bot is single-tenant)"
        )
    _require_together(env, ("RINGCENTRAL_CLIENT_ID", "RINGCENTRAL_CLIENT_SECRET"))
    return Settings(**values)


def _require_together(env: Mapping[str, str], names: tuple[str, ...]) -> None:
    present = [n for n in names if env.get(n, "").strip()]
    if present and len(present) != len(names):
        missing = next(n for n in names if n not in present)
        raise SettingsError(missing, f"required when {present[0]} is set")


def _text(name: str, raw: str) -> str:
    return raw


def _emails(name: str, raw: str) -> tuple[str, ...]:
    emails = tuple(e.strip().lower() for e in raw.replace(";", ",").split(",") if e.strip())
    for email in emails:
        local, at, domain = email.partition("@")
        if not at or not local or "." not in domain or " " in email:
            raise SettingsError(name, f"{email!r} is not an email address (comma-separated)")
    return emails


def _port(name: str, raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise SettingsError(name, f"{raw!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise SettingsError(name, f"{port} is outside 0-65535")
    return port


def _positive_float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(name, f"{raw!r} is not a number") from None
    if value <= 0:
        raise SettingsError(name, "must be greater than 0")
    return value


def _positive_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(name, f"{raw!r} is not a whole number") from None
    if value <= 0:
        raise SettingsError(name, "must be greater than 0")
    return value


def _renew_before(name: str, raw: str) -> float:
    value = _positive_float(name, raw)
    # Presence subscriptions live at most an hour: renewing earlier than that never waits.
    if value >= 3600:
        raise SettingsError(name, "must be less than 3600 seconds (a subscription's lifetime)")
    return value


def _fraction(name: str, raw: str) -> float:
    value = _positive_float(name, raw)
    if value > 1:
        raise SettingsError(name, "must be a fraction between 0 and 1, e.g. 0.2 for 20%")
    return value


def _path(name: str, raw: str) -> Path:
    return Path(raw)


def _existing_file(name: str, raw: str) -> Path:
    path = Path(raw)
    if not path.is_file():
        raise SettingsError(name, f"no such file: {raw}")
    return path


def _choice(*options: str) -> Callable[[str, str], Any]:
    def parse(name: str, raw: str) -> str:
        value = raw.lower()
        if value not in options:
            raise SettingsError(name, f"{raw!r} is not one of {', '.join(options)}")
        return value

    return parse


def _log_level(name: str, raw: str) -> str:
    value = raw.upper()
    if value not in _LOG_LEVELS:
        raise SettingsError(name, f"{raw!r} is not one of {', '.join(_LOG_LEVELS)}")
    return value


def parse_bool(name: str, raw: str) -> bool:
    """A strict boolean: true/false, 1/0, yes/no, on/off; anything else names the variable."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(name, f"{raw!r} is not a boolean (use true or false)")


def _url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not parts.netloc:
        raise SettingsError(name, f"{raw!r} is not a {' or '.join(schemes)} URL")
    return raw.rstrip("/")


def _http_url(name: str, raw: str) -> str:
    return _url(name, raw, ("http", "https"))


def _origins(name: str, raw: str) -> tuple[str, ...]:
    origins = []
    for item in (o.strip() for o in raw.split(",")):
        if not item:
            continue
        url = _https_url(name, item)
        parts = urlsplit(url)
        if parts.path or parts.query or parts.fragment:
            raise SettingsError(name, f"{item!r} is not an origin (scheme://host[:port] only)")
        origins.append(url)
    return tuple(origins)


def _https_url(name: str, raw: str) -> str:
    # Only https in production; http is accepted for loopback test doubles.
    parts = urlsplit(raw)
    if parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1"):
        return raw.rstrip("/")
    return _url(name, raw, ("https",))


def _store_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in _STORE_SCHEMES:
        raise SettingsError(
            name,
            f"unknown store scheme {parts.scheme or raw!r}; "
            "use sqlite:///path/to/file.db or mongodb://host:port/database",
        )
    if parts.scheme == "sqlite" and not parts.path.lstrip("/"):
        raise SettingsError(
            name, "sqlite URL needs a file path, e.g. sqlite:///./data/presence-sync.db"
        )
    if parts.scheme.startswith("mongodb") and not parts.netloc:
        raise SettingsError(
            name, "mongodb URL needs a host, e.g. mongodb://127.0.0.1:27017/presence"
        )
    return raw


def _secret_key(name: str, raw: str) -> str:
    import base64
    import binascii

    try:
        decoded = base64.urlsafe_b64decode(raw.encode())
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) != 32:
        raise SettingsError(
            name,
            "must be a Fernet key (32 url-safe base64-encoded bytes); "
            'generate one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"',
        )
    return raw
