"""Which parts of the product the demo needs are missing, named so a person knows what to add."""

from __future__ import annotations

import importlib
import importlib.util

from aiohttp import web

from presence_sync.demo.connect import missing_routes

__all__ = ["missing_modules", "missing_parts"]

# Module, the names the demo uses from it, and what the part does. The sync service comes
# first, as in create_app: importing presence_sync.admin on its own is circular today.
_MODULES = (
    ("presence_sync.sync", ("SYNC", "CLOCK", "setup_sync"), "the sync service"),
    ("presence_sync.admin", ("Admin",), "the admin use cases (sync all)"),
    ("presence_sync.directory", ("DirectorySync",), "matching both directories"),
    (
        "presence_sync.watch.service",
        ("WATCHERS", "WATCH_OPTIONS", "WatchOptions"),
        "the watchers (subscriptions, polling, webhooks)",
    ),
)


def missing_modules() -> list[str]:
    """Modules (or names in them) the demo needs that are not there."""
    missing = []
    for module, names, purpose in _MODULES:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(f"{module}: {purpose}")
            continue
        loaded = importlib.import_module(module)
        absent = [name for name in names if not hasattr(loaded, name)]
        if absent:
            missing.append(f"{module}.{absent[0]}: {purpose}")
    return missing


def missing_parts(app: web.Application) -> list[str]:
    """Everything the demo needs that `app` lacks: modules, their wiring, the consent routes."""
    missing = missing_modules()
    if missing:
        return missing
    from presence_sync.watch.service import WATCHERS

    if WATCHERS not in app:
        missing.append("setup_watchers(app) in create_app: nothing would watch presence")
    missing += [f"consent route {route}" for route in missing_routes(app)]
    return missing
