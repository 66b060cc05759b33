"""Settings and paths for the package tests: what an organisation's .env names."""

from __future__ import annotations

from pathlib import Path

from presence_sync.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_DIR = ROOT / "manifest"
# The manifest PACKAGE_ENV gives. After a deliberate change to the template, rewrite it from
# presence_sync.package.render(package_settings()).manifest and review the diff.
GOLDEN = ROOT / "tests" / "fixtures" / "manifest" / "expected.json"

# What an organisation's .env names for a package: its own ids and public address.
PACKAGE_ENV = {
    "PUBLIC_URL": "https://presence.contoso.com",
    "TEAMS_APP_ID": "3f5b0c1e-7d2a-4e8b-9c6f-1a2b3c4d5e6f",
    "BOT_APP_ID": "0b6e8f8a-51f4-4f63-9a2b-7d1c2e3f4a5b",
    "BOT_APP_SECRET": "bot-secret",
    "MICROSOFT_TENANT_ID": "7c0d9e1f-2a3b-4c5d-8e9f-0a1b2c3d4e5f",
    "MICROSOFT_CLIENT_ID": "5d2f1c3b-8a9e-4b7c-9d6e-1f2a3b4c5d6e",
    "MICROSOFT_CLIENT_SECRET": "app-secret",
}


def package_settings(**changes: str | None) -> Settings:
    """Settings from PACKAGE_ENV with `changes` (None drops a variable); no .env is read."""
    env = {**PACKAGE_ENV, **changes}
    return load_settings({k: v for k, v in env.items() if v is not None}, env_file=None)
