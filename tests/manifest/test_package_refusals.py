"""A package Teams would refuse is refused here first, naming the field and the fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from presence_sync.package import ManifestError, build_package
from presence_sync.package.png import Image, encode
from tests.manifest.package_env import package_settings


def edit_template(folder: Path, change: Callable[[dict], None]) -> None:
    path = folder / "manifest.json"
    template = json.loads(path.read_text(encoding="utf-8"))
    change(template)
    path.write_text(json.dumps(template, indent=2), encoding="utf-8")


def long_short_name(folder: Path) -> None:
    name = "Presence Sync for Teams and RC!"
    assert len(name) == 31

    def change(t: dict) -> None:
        t["name"]["short"] = name

    edit_template(folder, change)


def no_valid_domain(folder: Path) -> None:
    edit_template(folder, lambda t: t.update(validDomains=[]))


def outline_of(size: int, pixel: tuple[int, int, int, int]) -> Callable[[Path], None]:
    def draw(folder: Path) -> None:
        pixels = tuple(
            pixel if size // 4 <= x < 3 * size // 4 else (0, 0, 0, 0)
            for _y in range(size)
            for x in range(size)
        )
        (folder / "outline.png").write_bytes(encode(Image(size, size, pixels)))

    return draw


def unchanged(folder: Path) -> None:
    pass


def too_many_commands(folder: Path) -> None:
    def change(t: dict) -> None:
        t["bots"][0]["commandLists"][0]["commands"].append({"title": "connect"})

    edit_template(folder, change)


@pytest.mark.parametrize(
    ("breakage", "settings", "line"),
    [
        (
            long_short_name,
            {},
            "manifest.json: name.short: 31 characters, more than the 30 Teams allows; "
            "shorten it to 30 characters or fewer in manifest/manifest.json",
        ),
        (
            no_valid_domain,
            {},
            "manifest.json: staticTabs[0].contentUrl: host presence.contoso.com is not in "
            'validDomains; add "presence.contoso.com" to validDomains',
        ),
        (
            outline_of(64, (255, 255, 255, 255)),
            {},
            "manifest.json: icons.outline: outline.png is 64x64, Teams needs 32x32; "
            "redraw it at 32x32 (python -m manifest.icons draws both icons)",
        ),
        (
            unchanged,
            {"TEAMS_APP_ID": None},
            "manifest.json: id: placeholder ${{TEAMS_APP_ID}} is not filled; "
            "set TEAMS_APP_ID in the environment or the --env file",
        ),
        (
            outline_of(32, (128, 128, 128, 255)),
            {},
            "manifest.json: icons.outline: outline.png has pixels that are not white; "
            "draw it in white only (shade edges with transparency, not grey)",
        ),
        (
            lambda folder: (folder / "color.png").unlink(),
            {},
            "manifest.json: icons.color: color.png is not in the package; "
            "put color.png beside manifest.json",
        ),
        (
            too_many_commands,
            {},
            "manifest.json: bots[0].commandLists[0].commands: 11 commands, Teams shows at most "
            "10 a scope; keep the 10 most used",
        ),
        (
            unchanged,
            {"TEAMS_APP_ID": "presence-sync"},
            "manifest.json: id: 'presence-sync' does not match "
            "'^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$'; "
            "set TEAMS_APP_ID to the Teams app's id (a GUID)",
        ),
        (
            unchanged,
            {"PUBLIC_URL": "https://contoso.com/presence"},
            "manifest.json: PUBLIC_URL: https://contoso.com/presence has a path, but the tab and "
            "the bot are served at the host's root; set PUBLIC_URL to the server's origin only, "
            "e.g. https://presence.contoso.com",
        ),
        (
            unchanged,
            {"PUBLIC_URL": "http://presence.contoso.com"},
            "manifest.json: PUBLIC_URL: http://presence.contoso.com is not https, and Teams loads "
            "tabs and bots only over https; set PUBLIC_URL to the server's public https address",
        ),
    ],
    ids=[
        "31-character short name",
        "missing valid domain",
        "64x64 outline",
        "unfilled placeholder",
        "grey outline",
        "missing colour icon",
        "11 personal commands",
        "app id not a GUID",
        "public url with a path",
        "http public url",
    ],
)
def test_a_broken_package_is_refused_naming_the_field(
    manifest_copy: Path,
    tmp_path: Path,
    breakage: Callable[[Path], None],
    settings: dict[str, str | None],
    line: str,
) -> None:
    out = tmp_path / "presence-sync.zip"
    out.write_bytes(b"the package built last week")
    breakage(manifest_copy)

    with pytest.raises(ManifestError) as refused:
        build_package(package_settings(**settings), out, manifest_copy)

    assert line in [str(problem) for problem in refused.value.problems]
    assert out.read_bytes() == b"the package built last week"  # nothing was replaced


def test_a_missing_domain_names_every_url_that_needs_it(
    manifest_copy: Path, tmp_path: Path
) -> None:
    no_valid_domain(manifest_copy)
    with pytest.raises(ManifestError) as refused:
        build_package(package_settings(), tmp_path / "p.zip", manifest_copy)
    fields = {p.field for p in refused.value.problems}
    assert {
        "developer.websiteUrl",
        "staticTabs[0].contentUrl",
        "staticTabs[0].websiteUrl",
        "webApplicationInfo.resource",
    } <= fields
    assert not (tmp_path / "p.zip").exists()


def test_an_opaque_outline_is_refused(manifest_copy: Path, tmp_path: Path) -> None:
    white = tuple((255, 255, 255, 255) for _ in range(32 * 32))
    (manifest_copy / "outline.png").write_bytes(encode(Image(32, 32, white)))
    with pytest.raises(ManifestError) as refused:
        build_package(package_settings(), tmp_path / "p.zip", manifest_copy)
    assert [str(p) for p in refused.value.problems] == [
        "manifest.json: icons.outline: outline.png has no transparent background; "
        "draw it white on a transparent background"
    ]
