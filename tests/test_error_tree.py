"""The tree drawn in `presence_sync/errors.py` is the exception tree the code really has."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import presence_sync
from presence_sync import errors

# A drawn class: after a branch ("├── ", "└── ") or, for a root, alone on its indented line.
_CHILD = re.compile(r"^(?P<lead>[ │]*[├└]── )(?P<name>[A-Z]\w+)")
_ROOT = re.compile(r"^(?P<lead> {4})(?P<name>[A-Z]\w+)$")


def drawn_parents() -> dict[str, str | None]:
    """Each class drawn in the docstring, with the class it is drawn under."""
    parents: dict[str, str | None] = {}
    path: list[tuple[int, str]] = []  # (column, name) from the root down
    for line in (errors.__doc__ or "").splitlines():
        match = _CHILD.match(line) or _ROOT.match(line)
        if match is None:
            continue
        column, name = len(match["lead"]), match["name"]
        while path and path[-1][0] >= column:
            path.pop()
        parents[name] = path[-1][1] if path else None
        path.append((column, name))
    return parents


def product_exceptions() -> dict[str, type[BaseException]]:
    """Every exception class defined in a module of the package."""
    found: dict[str, type[BaseException]] = {}
    # The composition root first: it imports the modules in an order without cycles.
    importlib.import_module("presence_sync.app")
    for info in pkgutil.walk_packages(presence_sync.__path__, "presence_sync."):
        if info.name.endswith(".__main__"):
            continue  # runs the command line when imported
        module = importlib.import_module(info.name)
        for name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == info.name:
                found[name] = value
    return found


def _drawn_base(cls: type[BaseException]) -> str:
    return next(b.__name__ for b in cls.__bases__ if issubclass(b, BaseException))


def test_every_exception_class_is_drawn_under_its_base() -> None:
    drawn = drawn_parents()
    classes = product_exceptions()

    assert sorted(set(classes) - set(drawn)) == []
    assert {name: drawn[name] for name in classes} == {
        name: (None if cls is errors.PresenceSyncError else _drawn_base(cls))
        for name, cls in classes.items()
    }


def test_the_tree_draws_no_class_that_does_not_exist() -> None:
    drawn = set(drawn_parents())

    assert sorted(drawn - set(product_exceptions()) - {"Exception"}) == []
    assert {"GraphRefusedError", "RingCentralFieldRefusedError", "EntraError"} <= drawn
