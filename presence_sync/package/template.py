"""The manifest template and how settings fill it.

Placeholders are the settings' own names in the Agents Toolkit's `${{NAME}}` form, so the same
`manifest/manifest.json` serves `presence-sync package` and the toolkit's `m365agents.yml`.
`PUBLIC_HOST` is the host (and port, if any) of `PUBLIC_URL`: the server's tab, its domain
and the Application ID URI Teams single sign-on asks a token for (the audience the tab API
accepts, `api://{host}/{client id}`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from presence_sync.settings import Settings

__all__ = ["PLACEHOLDER", "SETTING_OF", "default_manifest_dir", "fill", "values_from"]

PLACEHOLDER = re.compile(r"\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

# Which setting to set when a placeholder is left unfilled.
SETTING_OF = {
    "TEAMS_APP_ID": "TEAMS_APP_ID",
    "BOT_APP_ID": "BOT_APP_ID",
    "MICROSOFT_CLIENT_ID": "MICROSOFT_CLIENT_ID",
    "PUBLIC_HOST": "PUBLIC_URL",
}


def default_manifest_dir() -> Path:
    """The `manifest/` folder of a source checkout: the template and its icons."""
    return Path(__file__).resolve().parents[2] / "manifest"


def values_from(settings: Settings) -> dict[str, str]:
    """The placeholder values the settings give; an unset setting gives none."""
    values = {
        "TEAMS_APP_ID": settings.teams_app_id,
        "BOT_APP_ID": settings.bot_app_id,
        "MICROSOFT_CLIENT_ID": settings.microsoft_client_id,
        "PUBLIC_HOST": urlsplit(settings.public_url).netloc,
    }
    return {name: value for name, value in values.items() if value}


def fill(template: Any, values: Mapping[str, str]) -> Any:
    """The template with every placeholder `values` names replaced; others are left as is."""
    if isinstance(template, str):
        return PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), template)
    if isinstance(template, list):
        return [fill(item, values) for item in template]
    if isinstance(template, dict):
        return {key: fill(item, values) for key, item in template.items()}
    return template
