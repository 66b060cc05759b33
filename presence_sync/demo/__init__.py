"""`presence-sync demo`: the sandbox, the product, an office day, and a check of the result.

Reusable pieces for tests and benchmarks: `office_day` (the scenario as data), `play` (acting
it out through the sandbox control API), `replay` / `expected_for` / `check_rows` (what everyone
should show and the check), `PresenceObserver` (delays from an action to the other platform),
`SandboxProcess` and `ProductServer` (starting and stopping both servers).
"""

from presence_sync.demo.console import Console
from presence_sync.demo.driver import play
from presence_sync.demo.expect import (
    Activity,
    Expected,
    Row,
    check_rows,
    expected_for,
    format_table,
    replay,
)
from presence_sync.demo.observer import PresenceObserver, Propagation
from presence_sync.demo.runner import DemoOptions, main, run_demo
from presence_sync.demo.sandbox_process import SandboxProcess
from presence_sync.demo.scenario import Person, Step, control_request, office_day
from presence_sync.demo.server import ProductServer, demo_settings

__all__ = [
    "Activity",
    "Console",
    "DemoOptions",
    "Expected",
    "Person",
    "PresenceObserver",
    "ProductServer",
    "Propagation",
    "Row",
    "SandboxProcess",
    "Step",
    "check_rows",
    "control_request",
    "demo_settings",
    "expected_for",
    "format_table",
    "main",
    "office_day",
    "play",
    "replay",
    "run_demo",
]
