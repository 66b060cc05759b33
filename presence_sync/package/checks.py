"""What a Teams app package must be: Microsoft's v1.30 schema, then what the schema leaves out.

The schema (`manifest/schema/MicrosoftTeams.schema.json`, from npm `@microsoft/app-manifest`
1.1.2) says nothing about the icon files, allows 12 bot commands where Teams shows 10, and
takes any host anywhere; Teams refuses such a package only at upload, with a vague message.
Each check here returns `Problem`s that name the manifest field and the fix instead.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import referencing

from presence_sync.package.png import Image, decode
from presence_sync.package.template import PLACEHOLDER, SETTING_OF

__all__ = ["SCHEMA_FILE", "Problem", "check_manifest", "load_schema"]

SCHEMA_FILE = Path("schema") / "MicrosoftTeams.schema.json"
SCHEMA_URL = "https://developer.microsoft.com/json-schemas/teams/v1.30/MicrosoftTeams.schema.json"

# Documented limits (Teams app manifest reference) the schema does not enforce, or enforces
# with a message that does not say which field or what to do.
_LENGTHS = {
    ("name", "short"): 30,
    ("name", "full"): 100,
    ("description", "short"): 80,
    ("description", "full"): 4000,
    ("developer", "name"): 32,
}
_COMMAND_TITLE = 32
_COMMAND_DESCRIPTION = 128
_COMMANDS_PER_SCOPE = 10
_ICONS = {"color": 192, "outline": 32}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the package: the manifest field, what is wrong, and the fix."""

    field: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"manifest.json: {self.field}: {self.problem}; {self.fix}"


def check_manifest(
    manifest: Mapping[str, Any],
    files: Mapping[str, bytes],
    *,
    schema: Mapping[str, Any],
    public_url: str | None = None,
) -> list[Problem]:
    """Every problem of a filled manifest with its files (icon name → bytes); [] if none."""
    problems = [*_placeholders(manifest)]
    if public_url is not None:
        problems += _public_url(public_url)
    problems += _lengths(manifest)
    problems += _icons(manifest, files)
    problems += _domains(manifest)
    problems += _commands(manifest)
    # The schema last: a field already named above is not named twice.
    named = {p.field for p in problems}
    problems += [p for p in _schema(manifest, schema) if p.field not in named]
    return problems


def _public_url(public_url: str) -> Iterator[Problem]:
    parts = urlsplit(public_url)
    if parts.scheme != "https":
        yield Problem(
            "PUBLIC_URL",
            f"{public_url} is not https, and Teams loads tabs and bots only over https",
            "set PUBLIC_URL to the server's public https address",
        )
    if parts.path.strip("/") or parts.query:
        # The template puts the tab at https://{host}/tab/, where the server serves it.
        yield Problem(
            "PUBLIC_URL",
            f"{public_url} has a path, but the tab and the bot are served at the host's root",
            "set PUBLIC_URL to the server's origin only, e.g. https://presence.contoso.com",
        )


def _field(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "(top level)"


def _strings(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str, str]]:
    """Every string in the manifest, with its field."""
    if isinstance(value, str):
        yield _field(path), value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))


def _placeholders(manifest: Mapping[str, Any]) -> Iterator[Problem]:
    for field, text in _strings(manifest):
        for match in PLACEHOLDER.finditer(text):
            name = match[1]
            setting = SETTING_OF.get(name)
            fix = (
                f"set {setting} in the environment or the --env file"
                if setting
                else "name a setting (TEAMS_APP_ID, BOT_APP_ID, MICROSOFT_CLIENT_ID, PUBLIC_HOST) "
                "or remove it from manifest/manifest.json"
            )
            yield Problem(field, f"placeholder {match[0]} is not filled", fix)


def _get(manifest: Mapping[str, Any], *keys: str) -> Any:
    value: Any = manifest
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _lengths(manifest: Mapping[str, Any]) -> Iterator[Problem]:
    for keys, limit in _LENGTHS.items():
        value = _get(manifest, *keys)
        if isinstance(value, str) and len(value) > limit:
            yield Problem(
                ".".join(keys),
                f"{len(value)} characters, more than the {limit} Teams allows",
                f"shorten it to {limit} characters or fewer in manifest/manifest.json",
            )
    short_name, short_description = (
        _get(manifest, "name", "short"),
        _get(manifest, "description", "short"),
    )
    if isinstance(short_name, str) and not short_name.strip():
        yield Problem("name.short", "empty", "give the app a name in manifest/manifest.json")
    if short_description and short_description == short_name:
        yield Problem(
            "description.short",
            "repeats the app's short name",
            "say in a sentence what the app does",
        )


def _icons(manifest: Mapping[str, Any], files: Mapping[str, bytes]) -> Iterator[Problem]:
    for kind, size in _ICONS.items():
        field = f"icons.{kind}"
        name = _get(manifest, "icons", kind)
        if not isinstance(name, str):
            continue  # the schema names a missing icon
        data = files.get(name)
        if data is None:
            yield Problem(
                field, f"{name} is not in the package", f"put {name} beside manifest.json"
            )
            continue
        try:
            image = decode(data)
        except ValueError as err:
            yield Problem(field, f"{name}: {err}", f"save {name} as a {size}x{size} PNG")
            continue
        if (image.width, image.height) != (size, size):
            yield Problem(
                field,
                f"{name} is {image.width}x{image.height}, Teams needs {size}x{size}",
                f"redraw it at {size}x{size} (python -m manifest.icons draws both icons)",
            )
        elif kind == "outline":
            yield from _outline(field, name, image)


def _outline(field: str, name: str, image: Image) -> Iterator[Problem]:
    visible = [p for p in image.pixels if p[3] > 0]
    if not image.has_alpha or len(visible) == len(image.pixels):
        yield Problem(
            field,
            f"{name} has no transparent background",
            "draw it white on a transparent background",
        )
    elif not visible:
        yield Problem(field, f"{name} is fully transparent", "draw the outline in white")
    elif any(p[:3] != (255, 255, 255) for p in visible):
        yield Problem(
            field,
            f"{name} has pixels that are not white",
            "draw it in white only (shade edges with transparency, not grey)",
        )


def _host_allowed(host: str, domains: Sequence[str]) -> bool:
    host = host.lower()
    return any(fnmatch.fnmatchcase(host, domain.lower()) for domain in domains)


def _domains(manifest: Mapping[str, Any]) -> Iterator[Problem]:
    domains = [d for d in manifest.get("validDomains") or [] if isinstance(d, str)]
    for domain in domains:
        if "://" in domain or "/" in domain:
            yield Problem(
                "validDomains",
                f"{domain!r} is not a domain",
                "list host names only, without https:// or a path",
            )
    for field, text in _strings(manifest):
        if field == "$schema" or PLACEHOLDER.search(text):
            continue
        parts = urlsplit(text)
        is_url = parts.scheme in ("http", "https") and bool(parts.netloc)
        if is_url and not _host_allowed(parts.netloc, domains):
            yield Problem(
                field,
                f"host {parts.netloc} is not in validDomains",
                f'add "{parts.netloc}" to validDomains',
            )
    resource = _get(manifest, "webApplicationInfo", "resource")
    client_id = _get(manifest, "webApplicationInfo", "id")
    if isinstance(resource, str) and not PLACEHOLDER.search(resource):
        parts = urlsplit(resource)
        if (
            parts.scheme != "api"
            or not _host_allowed(parts.netloc, domains)
            or parts.path.strip("/") != client_id
        ):
            yield Problem(
                "webApplicationInfo.resource",
                f"{resource} is not api://<a valid domain>/<webApplicationInfo.id>",
                "use the Application ID URI the server accepts, api://{PUBLIC_HOST}/"
                "{MICROSOFT_CLIENT_ID}, and expose it in the Entra app registration",
            )


def _commands(manifest: Mapping[str, Any]) -> Iterator[Problem]:
    for b, bot in enumerate(manifest.get("bots") or []):
        if not isinstance(bot, Mapping):
            continue
        bot_scopes = set(bot.get("scopes") or [])
        seen: dict[str, int] = {}
        for c, command_list in enumerate(bot.get("commandLists") or []):
            if not isinstance(command_list, Mapping):
                continue
            field = f"bots[{b}].commandLists[{c}]"
            commands = [x for x in command_list.get("commands") or [] if isinstance(x, Mapping)]
            for scope in command_list.get("scopes") or []:
                if scope not in bot_scopes:
                    yield Problem(
                        f"{field}.scopes",
                        f"{scope} is not one of the bot's scopes",
                        f"add {scope} to bots[{b}].scopes or drop this list",
                    )
                if scope in seen:
                    yield Problem(
                        f"{field}.scopes",
                        f"{scope} already has commandLists[{seen[scope]}]",
                        "give each scope one command list",
                    )
                seen.setdefault(scope, c)
            if len(commands) > _COMMANDS_PER_SCOPE:
                yield Problem(
                    f"{field}.commands",
                    f"{len(commands)} commands, Teams shows at most {_COMMANDS_PER_SCOPE} a scope",
                    f"keep the {_COMMANDS_PER_SCOPE} most used",
                )
            titles = [x.get("title") for x in commands]
            for i, command in enumerate(commands):
                title, description = command.get("title"), command.get("description")
                if isinstance(title, str) and len(title) > _COMMAND_TITLE:
                    yield Problem(
                        f"{field}.commands[{i}].title",
                        f"{len(title)} characters, more than {_COMMAND_TITLE}",
                        "use the command's own words",
                    )
                if isinstance(description, str) and len(description) > _COMMAND_DESCRIPTION:
                    yield Problem(
                        f"{field}.commands[{i}].description",
                        f"{len(description)} characters, more than {_COMMAND_DESCRIPTION}",
                        f"shorten it to {_COMMAND_DESCRIPTION} characters",
                    )
                if titles.index(title) != i:
                    yield Problem(
                        f"{field}.commands[{i}].title",
                        f"{title!r} is listed twice",
                        "list each command once",
                    )


# Fixes for schema errors in fields the settings fill; others point at the template.
_SCHEMA_FIXES = {
    "id": "set TEAMS_APP_ID to the Teams app's id (a GUID)",
    "bots[0].botId": "set BOT_APP_ID to the bot's Entra app (client) id (a GUID)",
    "webApplicationInfo.id": "set MICROSOFT_CLIENT_ID to the Entra app's client id (a GUID)",
}


@cache
def _validator_class() -> Any:
    # The v1.30 schema says draft-04 yet uses draft-06's `const` (manifestVersion "1.30"), as
    # the toolkit's Ajv validator accepts; draft-04 plus `const` reads it as Microsoft means.
    const = jsonschema.Draft6Validator.VALIDATORS["const"]
    return jsonschema.validators.extend(jsonschema.Draft4Validator, {"const": const})


def _schema(manifest: Mapping[str, Any], schema: Mapping[str, Any]) -> Iterator[Problem]:
    # An explicit, empty registry: a reference outside the schema fails instead of being fetched.
    validator = _validator_class()(schema, registry=referencing.Registry())
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        field = _field(list(error.absolute_path))
        fix = _SCHEMA_FIXES.get(
            field, f"make manifest/manifest.json follow the Teams manifest schema ({SCHEMA_URL})"
        )
        yield Problem(field, error.message, fix)


def load_schema(manifest_dir: Path) -> dict[str, Any]:
    """Microsoft's v1.30 manifest schema, kept under `manifest/schema/`."""
    loaded: dict[str, Any] = json.loads((manifest_dir / SCHEMA_FILE).read_text(encoding="utf-8"))
    return loaded
