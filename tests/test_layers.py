"""The package's layering, read from its source (ARCHITECTURE.md; issue 13).

Why it matters to a user: an import cycle between modules the hook loads lazily is a deadlock waiting
for two threads to make their first contracted imports at once (each holds one module's import lock
and waits for the other's), and a module that peeks into ``sys.modules`` for one of the hook's own
modules may get one that another thread is still executing. Function-level imports count (they are
where the lazy loading happens); imports under ``if TYPE_CHECKING:`` do not (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "importspy_hook"
STARTUP = "_importspy_hook_startup"


def _sources() -> dict[str, Path]:
    found = {
        (PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"): path
        for path in (ROOT / PACKAGE).glob("*.py")
    }
    found[STARTUP] = ROOT / f"{STARTUP}.py"
    return found


SOURCES = _sources()


def _imports(module: str, path: Path) -> set[str]:
    """The modules of ``SOURCES`` that ``module`` imports anywhere but under ``if TYPE_CHECKING:``."""
    found: set[str] = set()
    package = module if path.stem == "__init__" else module.rpartition(".")[0]

    def add(name: str) -> None:
        if name in SOURCES and name != module:
            found.add(name)

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if "TYPE_CHECKING" in ast.unparse(node.test):
                for child in node.orelse:
                    self.visit(child)
            else:
                self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            for alias in node.names:
                add(alias.name)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            for alias in node.names:
                add(f"{base}.{alias.name}")  # ``from . import _log``
            add(base)

    Visitor().visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


GRAPH = {module: _imports(module, path) for module, path in SOURCES.items()}


def _reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for name in GRAPH[todo.pop()]:
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def test_the_graph_is_read() -> None:
    # The reader must see what is there: the start-up module loads the loader lazily, the loader
    # the caller at its top and the engine's seam in a function, the CLI the start-up module.
    assert "importspy_hook._loader" in GRAPH[STARTUP]
    assert "importspy_hook._caller" in GRAPH["importspy_hook._loader"]
    assert "importspy_hook._validate" in GRAPH["importspy_hook._loader"]
    assert STARTUP in GRAPH["importspy_hook._cli"]


@pytest.mark.parametrize("module", sorted(SOURCES))
def test_no_module_is_part_of_an_import_cycle(module: str) -> None:
    cycle = sorted(name for name in _reachable(module) if module in _reachable(name))
    assert module not in _reachable(module), f"{module} imports itself back through {cycle}"


def test_nothing_the_start_up_module_loads_imports_it_back() -> None:
    # The package's entry points (install/register, the CLI, the pytest plugin) may import the
    # start-up module; nothing on the import path does: it gets what it needs with the finder.
    importers = {name for name, imported in GRAPH.items() if STARTUP in imported}
    assert not importers & _reachable(STARTUP), importers & _reachable(STARTUP)


def test_no_peek_into_sys_modules_for_a_module_named_in_the_code() -> None:
    # ``sys.modules.get("x")`` for a module the code knows by name is a way around the import
    # lock: it may return a module another thread is still executing. Import it instead.
    peeks = []
    for module, path in SOURCES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and ast.unparse(node.func) == "sys.modules.get"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                peeks.append(f"{module}:{node.lineno}")
    assert not peeks
