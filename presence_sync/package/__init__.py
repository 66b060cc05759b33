"""The Teams app package: the manifest template filled from settings, checked, zipped."""

from presence_sync.package.build import ManifestError, Package, build_package, render
from presence_sync.package.checks import Problem, check_manifest, load_schema

__all__ = [
    "ManifestError",
    "Package",
    "Problem",
    "build_package",
    "check_manifest",
    "load_schema",
    "render",
]
