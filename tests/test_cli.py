"""The command line as an admin uses it: exit codes and messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("STORE_", "PORT"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "presence_sync", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=60,
    )


def test_bogus_store_url_exits_2_naming_the_variable(tmp_path: Path) -> None:
    result = run_cli("serve", env={"STORE_URL": "bogus://x"}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "STORE_URL" in lines[0]
    assert "bogus" in lines[0]


def test_every_command_has_help() -> None:
    top = run_cli("--help")
    assert top.returncode == 0
    listed = top.stdout.split("positional arguments:")[1].split("options:")[0]
    names = [line.split()[0] for line in listed.splitlines()[2:] if line.strip()]
    # README's Commands block and the top-level help name the same commands.
    assert {"serve", "doctor", "demo", "sandbox", "package", "chat"} <= set(names)
    readme = (ROOT / "README.md").read_text()
    for name in names:
        assert f"presence-sync {name}" in readme, name
        result = run_cli(name, "--help")
        assert result.returncode == 0, name
        assert f"usage: presence-sync {name}" in result.stdout


def test_doctor_prints_a_table_with_fixes(tmp_path: Path) -> None:
    result = run_cli(
        "doctor",
        env={"STORE_URL": f"sqlite:///{tmp_path}/doctor.db", "DATA_DIR": str(tmp_path)},
        cwd=tmp_path,
    )
    # Nothing is connected yet, so doctor fails, and says what to set.
    assert result.returncode == 1
    table = result.stdout
    assert table.splitlines()[0].split()[:4] == ["CHECK", "STATUS", "DETAIL", "FIX"]
    store_row = next(line for line in table.splitlines() if line.startswith("store"))
    assert " ok " in store_row
    ms_row = next(line for line in table.splitlines() if line.startswith("Microsoft app"))
    assert "FAIL" in ms_row
    assert "MICROSOFT_CLIENT_SECRET" in ms_row


def test_doctor_reports_an_unreachable_mongodb(tmp_path: Path) -> None:
    result = run_cli(
        "doctor",
        env={"STORE_URL": "mongodb://127.0.0.1:1/presence", "DATA_DIR": str(tmp_path)},
        cwd=tmp_path,
    )
    assert result.returncode == 1
    store_row = next(line for line in result.stdout.splitlines() if line.startswith("store"))
    assert "FAIL" in store_row
    assert "start MongoDB" in store_row


def test_serve_answers_probes_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STORE_", "PORT"))}
    env.update({"PORT": str(port), "HOST": "127.0.0.1", "LOG_FORMAT": "json"})
    process = subprocess.Popen(
        [sys.executable, "-m", "presence_sync", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        statuses: dict[str, int] = {}
        while time.monotonic() < deadline and len(statuses) < 2:
            try:
                for path in ("/healthz", "/readyz"):
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                        statuses[path] = r.status
            except OSError:
                time.sleep(0.2)
        assert statuses == {"/healthz": 200, "/readyz": 200}
        # The default embedded store lands in ./data of the working folder.
        assert (tmp_path / "data" / "presence-sync.db").exists()
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert f"listening on http://127.0.0.1:{port}" in out


def test_sandbox_options_and_help_pass_through() -> None:
    result = run_cli("sandbox", "--help")
    assert result.returncode == 0
    assert "--time-scale" in result.stdout
    assert "--users" in result.stdout
