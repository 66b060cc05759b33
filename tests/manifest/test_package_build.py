"""`presence-sync package` builds a zip Teams accepts: the official schema and the extra checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from presence_sync import __version__
from presence_sync.package import build_package, check_manifest, load_schema
from tests.manifest.package_env import GOLDEN, MANIFEST_DIR, PACKAGE_ENV, ROOT, package_settings


def read_zip(path: Path) -> tuple[dict[str, object], dict[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        files = {name: archive.read(name) for name in names}
    return json.loads(files.pop("manifest.json")), files


def test_the_built_zip_passes_the_official_schema_and_every_check(tmp_path: Path) -> None:
    out = tmp_path / "build" / "presence-sync.zip"
    build_package(package_settings(), out)

    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
    manifest, files = read_zip(out)
    assert sorted(files) == ["color.png", "outline.png"]  # at the zip's root, beside manifest
    assert manifest == json.loads(GOLDEN.read_text(encoding="utf-8"))
    problems = check_manifest(
        manifest, files, schema=load_schema(MANIFEST_DIR), public_url="https://presence.contoso.com"
    )
    assert problems == []


def test_the_manifest_carries_the_settings_ids_and_the_servers_address(tmp_path: Path) -> None:
    out = tmp_path / "p.zip"
    build_package(package_settings(), out)
    manifest, _ = read_zip(out)

    assert manifest["id"] == PACKAGE_ENV["TEAMS_APP_ID"]
    assert manifest["version"] == __version__
    assert manifest["bots"][0]["botId"] == PACKAGE_ENV["BOT_APP_ID"]
    assert manifest["staticTabs"][0]["contentUrl"] == "https://presence.contoso.com/tab/"
    assert manifest["staticTabs"][0]["scopes"] == ["personal"]
    assert manifest["validDomains"] == ["presence.contoso.com"]
    client_id = PACKAGE_ENV["MICROSOFT_CLIENT_ID"]
    # The audience the tab API accepts for Teams SSO (presence_sync/web/auth/tokens.py).
    assert manifest["webApplicationInfo"] == {
        "id": client_id,
        "resource": f"api://presence.contoso.com/{client_id}",
    }
    full = manifest["description"]["full"]
    for permission in ("Presence.ReadWrite.All", "User.Read.All", "Mail.Send", "Edit Presence"):
        assert permission in full


def test_the_same_settings_give_the_same_zip_byte_for_byte(tmp_path: Path) -> None:
    build_package(package_settings(), tmp_path / "a.zip")
    build_package(package_settings(), tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"manifestVersion": "1.29"}, "manifestVersion", "'1.30' was expected"),
        ({"accentColor": "blue"}, "accentColor", "does not match"),
        ({"colour": "#1F5FBF"}, "(top level)", "'colour' was unexpected"),
    ],
)
def test_the_official_schema_itself_refuses_what_it_forbids(
    change: dict[str, str], field: str, words: str
) -> None:
    manifest = json.loads(GOLDEN.read_text(encoding="utf-8")) | change
    files = {name: (MANIFEST_DIR / name).read_bytes() for name in ("color.png", "outline.png")}
    problems = check_manifest(manifest, files, schema=load_schema(MANIFEST_DIR))
    assert [p.field for p in problems] == [field]
    assert words in problems[0].problem


def _cli(tmp_path: Path, env_file: Path, out: Path) -> subprocess.CompletedProcess[str]:
    # Only what Python needs: no setting may leak in from the calling environment.
    env = {"PATH": os.environ.get("PATH", ""), "DO_NOT_TRACK": "1"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "presence_sync",
            "package",
            "--env",
            str(env_file),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )


def _write_env(path: Path, **changes: str | None) -> Path:
    env = {**PACKAGE_ENV, **changes}
    path.write_text("".join(f"{k}={v}\n" for k, v in env.items() if v is not None))
    return path


def test_the_command_writes_the_zip_and_says_where(tmp_path: Path) -> None:
    out = tmp_path / "build" / "presence-sync.zip"
    result = _cli(tmp_path, _write_env(tmp_path / "prod.env"), out)

    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    manifest, files = read_zip(out)
    assert manifest == json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(files) == ["color.png", "outline.png"]


def test_the_command_exits_2_naming_the_field_and_the_fix(tmp_path: Path) -> None:
    out = tmp_path / "presence-sync.zip"
    env_file = _write_env(tmp_path / "prod.env", TEAMS_APP_ID=None, PUBLIC_URL="http://host.test")
    result = _cli(tmp_path, env_file, out)

    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert (
        "manifest.json: id: placeholder ${{TEAMS_APP_ID}} is not filled; "
        "set TEAMS_APP_ID in the environment or the --env file"
    ) in lines
    assert any(
        line.startswith("manifest.json: PUBLIC_URL: http://host.test is not https")
        for line in lines
    )
    assert not out.exists()


def test_the_command_names_a_missing_env_file(tmp_path: Path) -> None:
    result = _cli(tmp_path, tmp_path / "missing.env", tmp_path / "p.zip")
    assert result.returncode == 2
    assert "--env: no such file" in result.stderr


def test_the_repository_ships_the_schema_and_the_toolkit_project_file() -> None:
    schema = load_schema(MANIFEST_DIR)
    assert schema["properties"]["manifestVersion"]["const"] == "1.30"
    project = (ROOT / "m365agents.yml").read_text(encoding="utf-8")
    assert "manifestPath: ./manifest/manifest.json" in project
