"""`presence-sync package`: fill the manifest template from settings, check it, write the zip.

The zip holds `manifest.json` and the two icons at its root, as Teams (Apps → Manage your
apps → Upload an app) and the Teams admin center take it. Nothing is written unless every
check passes, so an old package is never replaced by one Teams would refuse.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from presence_sync.errors import ValidationError
from presence_sync.package.checks import Problem, check_manifest, load_schema
from presence_sync.package.template import default_manifest_dir, fill, values_from
from presence_sync.settings import Settings

__all__ = ["ManifestError", "Package", "build_package", "render"]

# Fixed timestamps: the same settings give the same zip, byte for byte.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class ManifestError(ValidationError):
    """The package would be refused by Teams; `problems` name each field and its fix."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Package:
    """A checked app package: the filled manifest and the files beside it (name → bytes)."""

    manifest: dict[str, Any]
    files: dict[str, bytes]

    def zip_bytes(self) -> bytes:
        """The package as Teams uploads it: manifest.json and the icons at the zip's root."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            entries = {"manifest.json": _manifest_bytes(self.manifest), **self.files}
            for name, data in entries.items():
                info = zipfile.ZipInfo(name, _ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        return buffer.getvalue()


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()


def render(settings: Settings, manifest_dir: Path | None = None) -> Package:
    """The package the settings give, checked; raises ManifestError naming every problem."""
    folder = manifest_dir or default_manifest_dir()
    try:
        template = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        problem = Problem("(file)", f"cannot read {folder / 'manifest.json'}: {err}", "fix it")
        raise ManifestError([problem]) from err
    manifest = fill(template, values_from(settings))
    icons = manifest.get("icons") if isinstance(manifest, dict) else None
    names = [n for n in icons.values() if isinstance(n, str)] if isinstance(icons, dict) else []
    files = {}
    for name in names:
        path = folder / name
        # Only files inside the folder: the checks name a missing one.
        if path.resolve().is_relative_to(folder.resolve()) and path.is_file():
            files[name] = path.read_bytes()
    problems = check_manifest(
        manifest, files, schema=load_schema(folder), public_url=settings.public_url
    )
    if problems:
        raise ManifestError(problems)
    return Package(manifest, files)


def build_package(settings: Settings, out: Path, manifest_dir: Path | None = None) -> Package:
    """Render and check the package, then write it to `out` (replacing it only whole)."""
    package = render(settings, manifest_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_bytes(package.zip_bytes())
    os.replace(partial, out)
    return package
