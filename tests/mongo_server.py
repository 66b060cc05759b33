"""A real MongoDB-protocol server for tests: MONGODB_URI when set, else a local FerretDB.

FerretDB v1.24.2 is built once into `<repo>/.cache/ferretdb/bin` with the Go toolchain and
started per test session with its SQLite backend in a temporary folder, on a free loopback
port, with telemetry off.

    python -m tests.mongo_server --build           build the binary (CI runs this first)
    python -m tests.mongo_server --serve PORT DIR  run FerretDB in the foreground
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pymongo import MongoClient, monitoring
from pymongo.errors import PyMongoError

__all__ = [
    "FERRETDB_VERSION",
    "CommandCounter",
    "MongoServerError",
    "build_ferretdb",
    "ferretdb_binary",
    "mongo_uri",
    "run_ferretdb",
    "throwaway_database",
]

class CommandCounter(monitoring.CommandListener):
    """Counts the commands a process sends to MongoDB, by command and collection.

    With `callers`, also by the store method that sent each: every store operation runs in a
    task of its own (`presence_sync.store.mongo.database.translated`), so the outermost frame
    of the product's code on the sending stack, below that wrapper, is the store method.
    Register it (`monitoring.register`) before the clients to count are created.
    """

    def __init__(self, *, callers: bool = False) -> None:
        self.counts: dict[str, int] = {}
        self.callers: dict[str, int] = {}
        self._by_caller = callers
        self._started: dict[int, tuple[str, str]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Remember what a command is about, and who sent it, until it answers."""
        target = event.command.get(event.command_name)
        self._started[event.request_id] = (
            f"{event.command_name} {target}",
            _store_method() if self._by_caller else "",
        )

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Count an answered command."""
        self._count(event.request_id)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Count a refused command too (a duplicate key is still a round trip)."""
        self._count(event.request_id)

    def _count(self, request_id: int) -> None:
        key, caller = self._started.pop(request_id, ("?", "?"))
        self.counts[key] = self.counts.get(key, 0) + 1
        if self._by_caller:
            self.callers[caller] = self.callers.get(caller, 0) + 1

    def take(self) -> dict[str, int]:
        """The counts by command so far, starting afresh (callers too)."""
        counts, self.counts, self.callers = self.counts, {}, {}
        return counts

    def take_both(self) -> tuple[dict[str, int], dict[str, int]]:
        """The counts by command and by store method so far, starting afresh."""
        callers = self.callers
        return self.take(), callers


def _store_method() -> str:
    frame, caller = sys._getframe(2), "?"
    while frame is not None:
        code = frame.f_code
        if "presence_sync" in code.co_filename and not code.co_qualname.endswith("operation"):
            caller = code.co_qualname
        frame = frame.f_back
    return caller


FERRETDB_VERSION = "v1.24.2"
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "ferretdb"
BIN_DIR = CACHE / "bin"
START_TIMEOUT = 30.0
BUILD_TIMEOUT = 900.0
FIX_HINT = (
    "Set MONGODB_URI to a MongoDB you can use (a throwaway database is created and dropped), "
    "or install Go 1.21+ (https://go.dev/dl/) with access to proxy.golang.org so FerretDB "
    f"{FERRETDB_VERSION} can be built: python -m tests.mongo_server --build"
)
# Sessions of FerretDB's SQLite handler open a file per database; its debug HTTP listener
# would take a fixed port (8088), so it is switched off.
_VERSION_PANIC = "Invalid build/version/version.txt"


class MongoServerError(RuntimeError):
    """No MongoDB-protocol server could be provided; the message says how to fix it."""


def ferretdb_binary() -> Path:
    """Where the harness keeps its FerretDB build."""
    return BIN_DIR / "ferretdb"


def _go() -> str:
    go = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if go is None:
        raise MongoServerError(f"FerretDB is not built and Go is not installed. {FIX_HINT}")
    return go


def _run_go(
    args: list[str], env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_go(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env["GOBIN"] = str(BIN_DIR)
    env.setdefault("GOFLAGS", "")
    return env


def _without_sumdb(env: dict[str, str]) -> dict[str, str]:
    # Only for when the Go checksum database cannot be reached: module hashes are then not
    # checked against it (the module proxy still serves the published versions).
    return env | {"GONOSUMDB": "*", "GOFLAGS": "-mod=mod", "GONOSUMCHECK": "1", "GOSUMDB": "off"}


def _sumdb_unreachable(output: str) -> bool:
    return (
        "sum.golang.org" in output or "verifying module" in output or "checksum database" in output
    )


def _works(binary: Path) -> bool:
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return False
    return done.returncode == 0


def build_ferretdb(log: bool = True) -> Path:
    """Build FerretDB into the cache unless a working binary is already there."""
    binary = ferretdb_binary()
    if binary.exists() and _works(binary):
        return binary
    BIN_DIR.mkdir(parents=True, exist_ok=True)
    env = _go_env()
    target = f"{FERRETDB_MODULE}/cmd/ferretdb@{FERRETDB_VERSION}"
    if log:
        print(f"building FerretDB {FERRETDB_VERSION} into {BIN_DIR} (once)", file=sys.stderr)
    done = _run_go(["install", target], env)
    if done.returncode != 0 and _sumdb_unreachable(done.stderr):
        env = _without_sumdb(env)
        done = _run_go(["install", target], env)
    if done.returncode != 0:
        raise MongoServerError(f"`go install {target}` failed:\n{done.stderr.strip()}\n{FIX_HINT}")
    if not _works(binary):
        # A plain `go install` of v1.24.2 builds a binary that panics at start-up because
        # the module ships without build/version/version.txt (FerretDB issue #4001). Build
        # the same module source again with that file written, as FerretDB's own build
        # task does.
        _build_with_version_file(binary, env)
    if not _works(binary):
        raise MongoServerError(f"the FerretDB build at {binary} does not start. {FIX_HINT}")
    return binary


def _build_with_version_file(binary: Path, env: dict[str, str]) -> None:
    done = _run_go(["mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"], env)
    if done.returncode != 0:
        raise MongoServerError(
            f"cannot download the FerretDB module:\n{done.stderr.strip()}\n{FIX_HINT}"
        )
    module_dir = Path(json.loads(done.stdout)["Dir"])
    source = CACHE / "src"
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(module_dir, source)
    for path in source.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)  # the module cache is read-only
    (source / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
    done = _run_go(
        ["build", "-buildvcs=false", "-o", str(binary), "./cmd/ferretdb"], env, cwd=source
    )
    if done.returncode != 0:
        raise MongoServerError(
            f"building FerretDB from source failed:\n{done.stderr.strip()}\n{FIX_HINT}"
        )


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ferretdb_command(binary: Path, port: int, data_dir: Path) -> list[str]:
    """The FerretDB command line for a loopback server with its SQLite files in `data_dir`."""
    return [
        str(binary),
        "--handler=sqlite",
        f"--sqlite-url=file:{data_dir}/",
        f"--state-dir={data_dir}",
        f"--listen-addr=127.0.0.1:{port}",
        "--debug-addr=-",
        "--telemetry=disable",
        "--log-level=warn",
    ]


def wait_until_answering(
    uri: str, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Return once a ping to `uri` succeeds; raise MongoServerError after `timeout`."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise MongoServerError(f"FerretDB exited with code {process.returncode}")
        try:
            client: MongoClient[dict[str, Any]]
            with MongoClient(uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500) as client:
                client.admin.command("ping")
            return
        except PyMongoError as err:
            last = str(err).split(", Timeout:")[0]
        time.sleep(0.1)
    raise MongoServerError(f"no answer from {uri} within {timeout:.0f} s: {last}")


def _die_with_parent() -> None:
    # A test run killed outright (timeout, Ctrl-C twice) must not leave FerretDB behind.
    # The signal follows the thread that started FerretDB: start it from a long-lived one.
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@contextlib.contextmanager
def run_ferretdb(binary: Path | None = None, port: int | None = None) -> Iterator[str]:
    """Run FerretDB in a temporary folder; yield its URI; stop it and delete the folder."""
    binary = binary or build_ferretdb()
    with tempfile.TemporaryDirectory(prefix="ferretdb-") as tmp:
        data_dir = Path(tmp)
        port = port or free_port()
        log_path = data_dir / "ferretdb.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                ferretdb_command(binary, port, data_dir),
                stdout=log,
                stderr=log,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        uri = f"mongodb://127.0.0.1:{port}/"
        try:
            try:
                wait_until_answering(uri, START_TIMEOUT, process)
            except MongoServerError as err:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise MongoServerError(f"{err}\nFerretDB log:\n{tail}") from err
            yield uri
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@dataclass(frozen=True)
class MongoTarget:
    """Where tests may create databases, and a prefix unique to this run."""

    uri: str  # without a database path
    prefix: str
    kind: str  # "MONGODB_URI" | "FerretDB"

    def database_uri(self, name: str) -> str:
        """The URI of database `prefix + name` on the target server."""
        parts = urlsplit(self.uri)
        return urlunsplit(parts._replace(path=f"/{self.prefix}{name}"))


def throwaway_database(uri: str) -> MongoTarget:
    """A target on the server at `uri` whose databases start with a per-run prefix."""
    parts = urlsplit(uri)
    base = urlunsplit(parts._replace(path="/"))
    return MongoTarget(uri=base, prefix=f"ps_test_{uuid.uuid4().hex[:8]}_", kind="MONGODB_URI")


def drop_databases(target: MongoTarget) -> None:
    """Drop every database this run created on the target."""
    client: MongoClient[dict[str, Any]]
    with MongoClient(target.uri, serverSelectionTimeoutMS=5000) as client:
        for name in client.list_database_names():
            if name.startswith(target.prefix):
                client.drop_database(name)


class _Shared:
    """The one server of this test process, shared by every fixture that asks for one."""

    stack: contextlib.ExitStack | None = None
    target: MongoTarget | None = None
    users = 0


@contextlib.contextmanager
def mongo_uri() -> Iterator[MongoTarget]:
    """The test process's MongoDB-protocol server, started on first use and stopped after last.

    Several test folders declare their own session fixture for it; sharing one server keeps a
    full run to one FerretDB (each test still gets databases of its own).
    """
    if _Shared.target is None:
        stack = contextlib.ExitStack()
        _Shared.target = stack.enter_context(_start_target())
        _Shared.stack = stack
    _Shared.users += 1
    try:
        yield _Shared.target
    finally:
        _Shared.users -= 1
        if _Shared.users == 0 and _Shared.stack is not None:
            stack, _Shared.stack, _Shared.target = _Shared.stack, None, None
            stack.close()


@contextlib.contextmanager
def _start_target() -> Iterator[MongoTarget]:
    """A MongoDB-protocol server: MONGODB_URI (throwaway databases), else a fresh FerretDB."""
    given = os.environ.get("MONGODB_URI")
    if given:
        target = throwaway_database(given)
        try:
            wait_until_answering(target.uri, 10)
        except MongoServerError as err:
            raise MongoServerError(f"MONGODB_URI does not answer: {err}") from err
        try:
            yield target
        finally:
            drop_databases(target)
        return
    with run_ferretdb() as uri:
        yield MongoTarget(uri=uri, prefix="ps_test_", kind="FerretDB")


def main(argv: list[str] | None = None) -> int:
    """Command line: build FerretDB, or serve it in the foreground."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.mongo_server", description=__doc__.splitlines()[0]
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--build", action="store_true", help="build FerretDB into .cache/ferretdb")
    group.add_argument(
        "--serve", nargs=2, metavar=("PORT", "DIR"), help="run FerretDB on PORT with data in DIR"
    )
    args = parser.parse_args(argv)
    try:
        binary = build_ferretdb()
    except MongoServerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.build:
        print(binary)
        return 0
    port, data_dir = int(args.serve[0]), Path(args.serve[1])
    data_dir.mkdir(parents=True, exist_ok=True)
    print(
        f"FerretDB {FERRETDB_VERSION} on mongodb://127.0.0.1:{port}/ (data in {data_dir}); "
        "Ctrl-C stops it"
    )
    sys.stdout.flush()
    command = ferretdb_command(binary, port, data_dir)
    # Become FerretDB, so that Ctrl-C and SIGTERM reach the server itself.
    os.execv(command[0], command)


if __name__ == "__main__":
    sys.exit(main())
