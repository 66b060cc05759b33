"""The README's reference parts are checked against the code, so the deployment guide cannot drift.

An admin follows the README to register apps and write `.env`: a setting it leaves out, a default
it misstates, a redirect URI the server does not answer or a Graph permission it forgets all
show up as a broken deployment. These tests read the README and the code side by side.
"""

from __future__ import annotations

import ast
import re
from dataclasses import fields
from pathlib import Path

from presence_sync.app import create_app
from presence_sync.connections.explain import REQUIRED_ROLES
from presence_sync.errors import SettingsError
from presence_sync.graph.auth import SYNC_ACCOUNT_SCOPES
from presence_sync.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
UNSET = "—"  # how the settings table writes "no default"


def prose_lines() -> list[str]:
    """README's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in README.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def table_after(heading: str) -> list[list[str]]:
    """The body rows (their cells) of the first table after the `heading` line."""
    lines = prose_lines()
    assert heading in lines, f"README has no {heading!r} heading"
    rows: list[list[str]] = []
    for line in lines[lines.index(heading) + 1 :]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    assert len(rows) > 2, f"no table after {heading!r}"
    return rows[2:]  # without the header and its rule


def code_spans(cell: str) -> list[str]:
    """The `code` spans of a table cell."""
    return re.findall(r"`([^`]+)`", cell)


def variables_read_by_settings() -> dict[str, str]:
    """Each variable settings.py parses → the Settings field it fills, from `get("NAME", …)`."""
    tree = ast.parse((ROOT / "presence_sync" / "settings.py").read_text(encoding="utf-8"))
    parse = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "_parse"
    )
    calls: list[ast.Call] = []
    fields_by_call: dict[int, str] = {}
    for node in ast.walk(parse):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "get":
            calls.append(node)
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant):
                    fields_by_call[id(value)] = str(key.value)
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            fields_by_call[id(node.value)] = node.targets[0].id
    found: dict[str, str] = {}
    for call in calls:
        name = call.args[0]
        where = f"settings.py line {call.lineno}"
        assert isinstance(name, ast.Constant), f"{where}: the variable's name is not a literal"
        assert id(call) in fields_by_call, f"{where}: no Settings field for {name.value}"
        found[str(name.value)] = fields_by_call[id(call)]
    return found


def test_settings_table_names_exactly_the_settings_the_code_reads() -> None:
    code = variables_read_by_settings()
    assert set(code.values()) == {f.name for f in fields(Settings)}, "a field no variable fills"
    listed = [code_spans(row[0])[0] for row in table_after("### Settings")]
    assert len(listed) == len(set(listed)), "a setting is listed twice"
    assert sorted(set(code) - set(listed)) == [], "settings missing from README's table"
    assert sorted(set(listed) - set(code)) == [], "README lists settings the code does not read"


def test_settings_table_defaults_are_the_code_defaults() -> None:
    code = variables_read_by_settings()
    defaults = load_settings({}, env_file=None)
    wrong = []
    for name_cell, default_cell, *_ in table_after("### Settings"):
        variable = code_spans(name_cell)[0]
        expected = getattr(defaults, code[variable])
        if default_cell == UNSET:
            if expected not in (None, ()):
                wrong.append(f"{variable}: README says unset, the code defaults to {expected!r}")
            continue
        written = code_spans(default_cell)[0]
        try:
            # The README's default, read by the product's own parser, must be the default.
            read = getattr(load_settings({variable: written}, env_file=None), code[variable])
        except SettingsError as err:
            wrong.append(f"{variable}: README's default {written!r} is refused: {err.problem}")
            continue
        if _same(read) != _same(expected):
            wrong.append(f"{variable}: README says {written!r}, the code defaults to {expected!r}")
    assert wrong == []


def _same(value: object) -> object:
    # URLs are read without their trailing slash; the built-in default may keep one.
    return value.rstrip("/") if isinstance(value, str) else value


def test_every_public_url_address_in_readme_is_a_route_of_the_server() -> None:
    app = create_app(load_settings({}, env_file=None))
    routes = {resource.canonical for resource in app.router.resources()}
    named = {
        path.rstrip(".,;:") for path in re.findall(r"\{PUBLIC_URL\}(/[^\s`)?|\"'<>]*)", README)
    }
    assert {"/connect/microsoft/consent/callback", "/tab/auth/callback", "/api/messages"} <= named
    assert sorted(named - routes) == [], "README names addresses the server does not serve"


def test_graph_permission_table_lists_every_permission_the_code_asks_for() -> None:
    rows = table_after("#### Graph permissions")
    listed = {(name, row[1]) for row in rows for name in code_spans(row[0])}
    wanted = {(role, "Application") for role in REQUIRED_ROLES} | {
        (scope.rpartition("/")[2], "Delegated") for scope in SYNC_ACCOUNT_SCOPES
    }
    assert sorted(wanted - listed) == [], "Graph permissions the code needs but README omits"
    places = [span for row in rows for span in code_spans(row[3]) if span.endswith(".py")]
    assert places, "the table names no code"
    missing = [
        p for p in places if not (ROOT / p).is_file() and not (ROOT / "presence_sync" / p).is_file()
    ]
    assert missing == [], "the table points at files that do not exist"


def test_every_link_inside_readme_reaches_a_heading() -> None:
    slugs = {
        re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in prose_lines()
        if line.startswith("#")
    }
    anchors = set(re.findall(r"\]\(#([^)]+)\)", README))
    assert anchors, "README links to none of its sections"
    assert sorted(anchors - slugs) == [], "links to headings README does not have"
