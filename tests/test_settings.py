"""Settings are parsed strictly: a bad value names its variable and nothing starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from presence_sync.errors import SettingsError
from presence_sync.settings import Settings, load_settings, read_env_file


def parse(env: dict[str, str], env_file: Path | None = None) -> Settings:
    return load_settings(env, env_file=env_file)


def test_defaults_start_with_nothing_configured() -> None:
    settings = parse({})
    assert settings.store_url == "sqlite:///./data/presence-sync.db"
    assert settings.port == 3978
    assert settings.public_url == "http://localhost:3978"
    assert not settings.microsoft_configured
    assert not settings.ringcentral_configured


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("STORE_URL", "bogus://x", "unknown store scheme 'bogus'"),
        ("STORE_URL", "sqlite://", "needs a file path"),
        ("STORE_URL", "sqlite:///", "needs a file path"),
        ("STORE_URL", "mongodb:///db", "needs a host"),
        ("PORT", "eighty", "not a port number"),
        ("PORT", "70000", "outside 0-65535"),
        ("PUBLIC_URL", "localhost:3978", "not a http or https URL"),
        ("GRAPH_URL", "http://graph.example.com/v1.0", "not a https URL"),
        ("METRICS_ENABLED", "maybe", "not a boolean"),
        ("LOG_FORMAT", "xml", "not one of plain, json"),
        ("LOG_LEVEL", "loud", "not one of"),
        ("GRAPH_POLL_BUDGET_SHARE", "1.5", "fraction between 0 and 1"),
        ("GRAPH_POLL_BUDGET_SHARE", "-1", "greater than 0"),
        ("HTTP_TIMEOUT", "soon", "not a number"),
        ("SECRET_KEY", "too-short", "Fernet key"),
        ("PRESENCE_SYNC_CA_FILE", "/nonexistent/ca.pem", "no such file"),
        ("TAB_VALID_MESSAGE_ORIGINS", "https://host.example/tab", "not an origin"),
        ("TAB_VALID_MESSAGE_ORIGINS", "http://host.example", "not a https URL"),
    ],
)
def test_malformed_value_names_the_variable(variable: str, value: str, problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse({variable: value})
    assert caught.value.variable == variable
    assert problem in caught.value.problem


def test_credentials_are_required_together() -> None:
    with pytest.raises(SettingsError) as caught:
        parse({"MICROSOFT_TENANT_ID": "t", "MICROSOFT_CLIENT_ID": "c"})
    assert caught.value.variable == "MICROSOFT_CLIENT_SECRET"
    with pytest.raises(SettingsError) as caught:
        parse({"RINGCENTRAL_CLIENT_SECRET": "s"})
    assert caught.value.variable == "RINGCENTRAL_CLIENT_ID"


def test_full_configuration_parses() -> None:
    key = Fernet.generate_key().decode()
    settings = parse(
        {
            "STORE_URL": "mongodb://127.0.0.1:27017/presence",
            "PORT": "8080",
            "PUBLIC_URL": "https://presence.contoso.example/",
            "SECRET_KEY": key,
            "LOG_FORMAT": "JSON",
            "METRICS_ENABLED": "no",
            "MICROSOFT_TENANT_ID": "tenant",
            "MICROSOFT_CLIENT_ID": "client",
            "MICROSOFT_CLIENT_SECRET": "secret",
            "RINGCENTRAL_CLIENT_ID": "rc",
            "RINGCENTRAL_CLIENT_SECRET": "rcsecret",
            "RINGCENTRAL_SERVER_URL": "http://127.0.0.1:9000/ringcentral",
        }
    )
    assert settings.port == 8080
    assert settings.public_url == "https://presence.contoso.example"
    assert settings.log_format == "json"
    assert settings.metrics_enabled is False
    assert settings.microsoft_configured
    assert settings.ringcentral_configured
    assert settings.ringcentral_server_url == "http://127.0.0.1:9000/ringcentral"


def test_repr_never_shows_secrets() -> None:
    key = Fernet.generate_key().decode()
    settings = parse(
        {
            "SECRET_KEY": key,
            "MICROSOFT_TENANT_ID": "t",
            "MICROSOFT_CLIENT_ID": "c",
            "MICROSOFT_CLIENT_SECRET": "very-secret-value",
            "RINGCENTRAL_CLIENT_ID": "rc",
            "RINGCENTRAL_CLIENT_SECRET": "rc-secret-value",
            "RINGCENTRAL_JWT": "eyJhbGciOi.jwt-value",
        }
    )
    text = repr(settings)
    for secret in (key, "very-secret-value", "rc-secret-value", "jwt-value"):
        assert secret not in text
    assert "microsoft_client_id='c'" in text


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\n\nPORT=4000\nexport LOG_LEVEL='debug'\nSTORE_URL=\"sqlite:///x.db\"\n"
    )
    settings = parse({"PORT": "5000"}, env_file=env_file)
    assert settings.port == 5000
    assert settings.log_level == "DEBUG"
    assert settings.store_url == "sqlite:///x.db"


def test_env_file_syntax_error_names_the_line(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=1\nthis is not a setting\n")
    with pytest.raises(SettingsError) as caught:
        read_env_file(env_file)
    assert caught.value.variable.endswith(".env:2")


def test_bot_settings_are_read_and_checked() -> None:
    settings = load_settings(
        {
            "MICROSOFT_TENANT_ID": "t",
            "MICROSOFT_CLIENT_ID": "c",
            "MICROSOFT_CLIENT_SECRET": "s",
            "BOT_APP_ID": "bot",
            "BOT_APP_SECRET": "secret",
            "ADMIN_EMAILS": " It.Lead@Contoso.com; helpdesk@contoso.com ",
            "BOT_MESSAGES_PER_SECOND": "2.5",
        },
        env_file=None,
    )
    assert settings.admin_emails == ("it.lead@contoso.com", "helpdesk@contoso.com")
    assert settings.bot_messages_per_second == 2.5
    assert "'secret'" not in repr(settings)  # the value, not the field's name
    with pytest.raises(SettingsError, match="BOT_APP_SECRET"):
        load_settings({"BOT_APP_ID": "bot"}, env_file=None)
    with pytest.raises(SettingsError, match="MICROSOFT_TENANT_ID"):
        load_settings({"BOT_APP_ID": "bot", "BOT_APP_SECRET": "x"}, env_file=None)
    with pytest.raises(SettingsError, match="not an email"):
        load_settings({"ADMIN_EMAILS": "alice"}, env_file=None)


def test_extra_tab_host_origins_are_a_list_of_origins() -> None:
    settings = parse(
        {"TAB_VALID_MESSAGE_ORIGINS": "https://teams-host.example, https://localhost:8443/"}
    )
    assert settings.tab_valid_message_origins == (
        "https://teams-host.example",
        "https://localhost:8443",
    )
    assert parse({}).tab_valid_message_origins == ()
