"""Only the provider clients and the HTTP error middleware read an HTTP status from an error.

Everything else (dispatcher, connections, watch, jobs, directory, notices) maps the clients'
typed refusals, so a provider's status codes are given a meaning in exactly one place. The
check parses every module under `presence_sync/` and names each function that reads
`.status`, `.status_code` or `.http_status` (or `getattr` of one) from a value known to be an
exception:

- a name bound by `except ... as name`, inside that handler;
- a parameter or variable annotated with an exception type, or a name `isinstance` tests
  against one;
- a name assigned an exception instance (`problem = SomeError(...)`), another such name or
  what one carries (`response = err.response`);
- `self` in a method of an exception class.

Exception types are the classes under `presence_sync/` that derive from an exception,
built-in exceptions, and names ending in `Error` or `Exception` (third-party ones). aiohttp's
`web.HTTPException` family is not an error here: it is an HTTP answer the product raises, and
its status is the one it answers with. Records, jobs and HTTP responses have a `.status`
too; they are never bound by `except` nor annotated as exceptions, so they are not reported.
"""

from __future__ import annotations

import ast
import builtins
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "presence_sync"
STATUS_ATTRIBUTES = frozenset({"status", "status_code", "http_status"})
# Where a provider's status codes are given their product meaning.
ALLOWED = ("presence_sync/graph/", "presence_sync/ringcentral/", "presence_sync/web/errors.py")
HTTP_ANSWERS = ("aiohttp.web.HTTP", "aiohttp.web_exceptions.HTTP")
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


@dataclass(frozen=True)
class StatusRead:
    """One place that reads an HTTP status from an error."""

    path: str
    line: int
    function: str
    expression: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.function}: {self.expression}"


def _leaf(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def exception_classes(modules: Iterable[ast.Module]) -> frozenset[str]:
    """Names of the classes defined in `modules` that derive from an exception."""
    bases: dict[str, list[str]] = {}
    for module in modules:
        for node in ast.walk(module):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = [b for b in map(_leaf, node.bases) if b]
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, parents in bases.items():
            if name not in found and any(_named_exception(p, found) for p in parents):
                found.add(name)
                changed = True
    return frozenset(found)


def _named_exception(name: str, known: Iterable[str]) -> bool:
    builtin = getattr(builtins, name, None)
    if isinstance(builtin, type) and issubclass(builtin, BaseException):
        return True
    return name.endswith(("Error", "Exception")) or name in known


class _Checker(ast.NodeVisitor):
    """Walks one module, keeping the names known to hold an exception in each scope."""

    def __init__(self, path: str, exceptions: frozenset[str]) -> None:
        self.path = path
        self.exceptions = exceptions
        self.imports: dict[str, str] = {}
        self.scope: list[str] = []
        self.exception_class: list[bool] = []
        self.known: set[str] = set()
        self.found: list[StatusRead] = []

    # -- types ---------------------------------------------------------------------------

    def _qualified(self, node: ast.expr) -> str:
        if isinstance(node, ast.Name):
            return self.imports.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            return f"{self._qualified(node.value)}.{node.attr}"
        return ""

    def _types(self, node: ast.expr | None) -> Iterator[ast.expr]:
        """The class expressions in an annotation, an `except` clause or `isinstance`."""
        if node is None:
            return
        if isinstance(node, ast.Tuple):
            for item in node.elts:
                yield from self._types(item)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            yield from self._types(node.left)
            yield from self._types(node.right)
        elif isinstance(node, ast.Subscript):
            yield from self._types(node.slice)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                yield from self._types(ast.parse(node.value, mode="eval").body)
            except SyntaxError:
                return
        else:
            yield node

    def _is_exception(self, node: ast.expr | None) -> bool:
        """Whether an annotation or class expression names an exception type."""
        return any(
            (leaf := _leaf(t)) is not None and _named_exception(leaf, self.exceptions)
            for t in self._types(node)
        )

    def _is_http_answer(self, node: ast.expr | None) -> bool:
        types = list(self._types(node))
        return bool(types) and all(self._qualified(t).startswith(HTTP_ANSWERS) for t in types)

    # -- scopes --------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.imports[alias.asname or alias.name.split(".")[0]] = (
                alias.name if alias.asname else alias.name.split(".")[0]
            )

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self.imports[alias.asname or alias.name] = f"{node.module or ''}.{alias.name}"

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in (*node.bases, *node.decorator_list):
            self.visit(expr)
        self.scope.append(node.name)
        self.exception_class.append(node.name in self.exceptions)
        for statement in node.body:
            self.visit(statement)
        self.exception_class.pop()
        self.scope.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._function(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = node.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        declared = [p for p in params if p is not None]
        if not isinstance(node, ast.Lambda):
            for expr in (*node.decorator_list, node.returns):
                if expr is not None:
                    self.visit(expr)
        for default in (*args.defaults, *args.kw_defaults):
            if default is not None:
                self.visit(default)
        outer = self.known
        known = outer - {p.arg for p in declared}
        known |= {p.arg for p in declared if self._is_exception(p.annotation)}
        in_method = bool(self.exception_class) and self.exception_class[-1]
        if in_method and declared and not isinstance(node, ast.Lambda):
            known.add(declared[0].arg)  # self of an exception class
        body = node.body if isinstance(node.body, list) else [node.body]
        known |= self._narrowed(body)
        self.scope.append("<lambda>" if isinstance(node, ast.Lambda) else node.name)
        self.exception_class.append(False)
        self.known = known
        for statement in body:
            self.visit(statement)
        self.known = outer
        self.exception_class.pop()
        self.scope.pop()

    def _narrowed(self, body: list[ast.stmt] | list[ast.expr]) -> set[str]:
        """Names `isinstance`-tested against, annotated or assigned an exception in this scope."""
        names: set[str] = set()
        for statement in body:
            for node in _walk_scope(statement):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "isinstance"
                    and len(node.args) == 2
                    and isinstance(node.args[0], ast.Name)
                    and self._is_exception(node.args[1])
                ):
                    names.add(node.args[0].id)
                if (
                    isinstance(node, ast.Assign)
                    and isinstance(node.value, ast.Call)
                    and self._is_exception(node.value.func)
                ):
                    names.update(t.id for t in node.targets if isinstance(t, ast.Name))
                if (
                    isinstance(node, ast.AnnAssign)
                    and isinstance(node.target, ast.Name)
                    and self._is_exception(node.annotation)
                ):
                    names.add(node.target.id)
        return names

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        bound = node.name is not None and not self._is_http_answer(node.type)
        added = bound and node.name not in self.known
        if added and node.name is not None:
            self.known.add(node.name)
        for statement in node.body:
            self.visit(statement)
        if added and node.name is not None:
            self.known.discard(node.name)  # Python unbinds it when the handler ends

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        if self._root(node.value) in self.known:
            # The error itself, or what it carries (`response = err.response`).
            self.known.update(t.id for t in node.targets if isinstance(t, ast.Name))
        for target in node.targets:
            self.visit(target)

    # -- reads ---------------------------------------------------------------------------

    def _root(self, node: ast.expr) -> str | None:
        """The name an expression reads through: `err` in `err.response().status`."""
        while True:
            if isinstance(node, ast.Attribute | ast.Subscript | ast.Await):
                node = node.value
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                node = node.func.value
            elif isinstance(node, ast.IfExp):
                node = node.body
            else:
                return node.id if isinstance(node, ast.Name) else None

    def _report(self, node: ast.expr) -> None:
        self.found.append(
            StatusRead(
                self.path,
                node.lineno,
                ".".join(self.scope) or "<module>",
                ast.unparse(node),
            )
        )

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if (
            node.attr in STATUS_ATTRIBUTES
            and isinstance(node.ctx, ast.Load)
            and self._root(node.value) in self.known
        ):
            self._report(node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if (
            isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in STATUS_ATTRIBUTES
            and self._root(node.args[0]) in self.known
        ):
            self._report(node)
        self.generic_visit(node)


def _walk_scope(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of one scope, not descending into nested functions, lambdas or classes."""
    yield node
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, _SCOPES):
            yield from _walk_scope(child)


def status_reads(sources: dict[str, str]) -> list[StatusRead]:
    """Every read of an HTTP status from an error in `sources` (path -> module source)."""
    modules = {path: ast.parse(text, filename=path) for path, text in sources.items()}
    exceptions = exception_classes(modules.values())
    found: list[StatusRead] = []
    for path, module in sorted(modules.items()):
        checker = _Checker(path, exceptions)
        checker.visit(module)
        found.extend(checker.found)
    return found


def _product_sources() -> dict[str, str]:
    return {
        path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def _outside_the_seam(found: Iterable[StatusRead]) -> list[StatusRead]:
    return [r for r in found if not r.path.startswith(ALLOWED)]


def test_only_the_clients_and_the_error_middleware_read_an_error_status() -> None:
    found = _outside_the_seam(status_reads(_product_sources()))

    assert not found, "map the clients' typed refusals instead:\n" + "\n".join(map(str, found))


def test_the_clients_themselves_are_seen_reading_statuses() -> None:
    # The check reaches the seam's own modules, where status reads are the point.
    found = status_reads(_product_sources())

    assert {r.path for r in found} >= {
        "presence_sync/graph/client.py",
        "presence_sync/ringcentral/auth.py",
    }


WRONG = textwrap.dedent(
    """
    from aiohttp import web
    from presence_sync.ringcentral.errors import RingCentralRequestError

    class Relay:
        async def send(self, client):
            try:
                await client.set_presence("1", user_status="Busy")
            except RingCentralRequestError as err:
                if err.status == 400:
                    return "refused"
                raise

    def classify(problem: RingCentralRequestError | None) -> bool:
        return problem is not None and getattr(problem, "status_code", 0) >= 500

    def later(error):
        if isinstance(error, ValueError):
            return lambda: error.response.http_status
        last: OSError | None = None
        return last.status

    class SyncStateError(ValueError):
        def code(self):
            return self.status
    """
)


def test_the_check_names_file_line_and_function_of_a_wrong_read() -> None:
    found = status_reads({"presence_sync/sync/relay.py": WRONG})

    assert [(str(r.line), r.function, r.expression) for r in found] == [
        ("10", "Relay.send", "err.status"),
        ("15", "classify", "getattr(problem, 'status_code', 0)"),
        ("19", "later.<lambda>", "error.response.http_status"),
        ("21", "later", "last.status"),
        ("25", "SyncStateError.code", "self.status"),
    ]
    assert str(found[0]) == "presence_sync/sync/relay.py:10 in Relay.send: err.status"
    assert _outside_the_seam(found) == found
    assert _outside_the_seam(status_reads({"presence_sync/graph/relay.py": WRONG})) == []


RIGHT = textwrap.dedent(
    """
    from aiohttp import web

    async def handle(request, handler, store, session, job):
        try:
            response = await handler(request)
            status = response.status
        except web.HTTPException as err:
            status = err.status
        except KeyError as err:
            record = await store.get(str(err))
            status = record.status
        return status, job.status

    async def fetch(session):
        try:
            await session.get("/warm-up")
        except OSError as answer:
            return str(answer)
        async with session.get("/x") as answer:  # the name no longer holds the error
            return answer.status
    """
)


def test_records_jobs_responses_and_http_answers_are_not_errors() -> None:
    assert status_reads({"presence_sync/web/health.py": RIGHT}) == []
