"""`presence-sync demo`: the sandbox, the product, an office day, and a check of the result."""

from presence_sync.demo.console import Console
from presence_sync.demo.expect import (
    Activity,
    Expected,
    Row,
    check_rows,
    expected_for,
    format_table,
    replay,
)
from presence_sync.demo.runner import DemoOptions, main, run_demo
from presence_sync.demo.scenario import Person, Step, control_request, office_day

__all__ = [
    "Activity",
    "Console",
    "DemoOptions",
    "Expected",
    "Person",
    "Row",
    "Step",
    "check_rows",
    "control_request",
    "expected_for",
    "format_table",
    "main",
    "office_day",
    "replay",
    "run_demo",
]
