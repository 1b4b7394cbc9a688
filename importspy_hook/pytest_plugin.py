"""pytest plugin for people who ship contracts: prove what your contract refuses, on any CI runner.

Registered through the ``pytest11`` entry point, so it is available in every pytest run of an
environment where importspy-hook is installed (from a checkout: ``pytest -p
importspy_hook.pytest_plugin``). Because it is loaded by every such run, importing it costs almost
nothing and it changes nothing until a test asks for it.

``importspy_context`` (fixture)
    ``with importspy_context(os="windows", env={"TOKEN": None}): import plugin`` — imports inside
    the block are judged as if the process ran on Windows without ``TOKEN``. For the duration the
    hook is installed in enforce mode (whatever its state before); on exit the modules the block
    judged — first imported inside it and under a contract — are removed from ``sys.modules``
    (with the submodules first imported along with such a package), and ``sys.meta_path`` is
    restored, so the next test imports (and checks) them afresh. Everything else first imported
    inside the block (numpy, a plugin's helpers) stays imported: many modules cannot be imported
    twice in one process.

``assert_refused(module_name, field=None, *, caller=None, **context)`` (function, also a fixture)
    Imports ``module_name`` inside such a block and returns the ``ContractViolation``; fails the
    test when the import is admitted, or when ``field`` is given and no violation's field matches
    it — exactly, as an ``fnmatch`` pattern, or as its trailing part (``"os"`` matches
    ``runtime.os`` and ``deployments[0].systems[0].os``). ``caller="host.py"`` judges that file
    (read, never run) as the importer, for contracts with structural requirements; a relative
    path is looked for beside the calling test file, then in the rootdir.

The caller of those imports is the test module, as it would be for an ``import`` statement written
in it; note that an import from a module of the *same* top-level package as the target is an
internal import and is not checked (§4), so keep such tests outside the package under test.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pragma: no cover - typing only
    from types import FrameType

    from typing_extensions import Unpack

    from ._errors import ContractViolation
    from ._simulation import Simulation

__all__ = ["ImportspyContext", "assert_refused", "importspy_context", "simulated_imports"]


@contextmanager
def simulated_imports(*, mode: str = "enforce", **context: Unpack[Simulation]) -> Iterator[dict[str, object]]:
    """Imports inside the block are checked (hook installed in ``mode``) against a simulated context
    (the keywords of ``_simulation.simulate``: ``os``, ``arch``, ``python``, ``implementation``,
    ``env``, ``distributions``).

    On exit: the simulation ends, the hook is back in the state it was found in, ``sys.meta_path``
    is restored, and the modules the block judged are removed from ``sys.modules`` (see
    :func:`_judged_since`; modules that were already imported before the block, and modules no
    contract guards, are left alone).
    """
    from ._activation import install
    from ._simulation import simulate

    modules_before = set(sys.modules)
    meta_path_before = list(sys.meta_path)
    # New files (modules, sidecars) written by the test must be visible to this block's imports.
    importlib.invalidate_caches()
    handle = install(mode=mode)
    try:
        with simulate(**context) as overrides:
            yield overrides
    finally:
        handle.uninstall()
        sys.meta_path[:] = meta_path_before
        _forget_new_modules(modules_before)
        # A sidecar edited during the test must be seen by the next block (same size and mtime
        # granularity could otherwise hide the change from the finder's directory listing cache).
        importlib.invalidate_caches()


def _kept(name: str) -> bool:
    """Modules never removed after a block, although first imported inside it.

    The hook's own modules and its dependencies (re-importing them would create a second
    ``ContractViolation`` class that ``except`` clauses holding the first one do not catch), the
    standard library, and pytest's own lazily imported modules.
    """
    from _importspy_hook_startup import OWN_TOP_LEVEL

    top = name.partition(".")[0]
    return (
        top in OWN_TOP_LEVEL
        or top in _TEST_TOOLS
        or top in sys.builtin_module_names
        or top in getattr(sys, "stdlib_module_names", ())
    )


_TEST_TOOLS = frozenset({"_pytest", "pytest", "pluggy", "py", "_hypothesis_pytestplugin", "hypothesis"})


def _under_contract(name: str, module: object) -> bool:
    """Whether a contract guards ``module``: registered under ``name``, or a sidecar beside its file.

    The finder's own answers (its registry and its sidecar lookup, §4), asked of the module's spec
    as read from its ``__dict__`` (never through a module ``__getattr__``). A module the hook cannot
    answer for counts as unguarded: it is kept, which never breaks the process.
    """
    from _importspy_hook_startup import REGISTRY, find_sidecar

    if name in REGISTRY:
        return True
    namespace = getattr(module, "__dict__", None)
    spec = namespace.get("__spec__") if isinstance(namespace, dict) else None
    origin = getattr(spec, "origin", None)
    if not isinstance(origin, str) or not os.path.isabs(origin):
        return False  # builtin, frozen, namespace package: nothing beside it
    try:
        return find_sidecar(origin, getattr(spec, "loader", None)) is not None
    except Exception:
        return False


def _judged_since(before: set[str]) -> list[str]:
    """The modules first imported since ``before`` that a block must forget: those under a contract,
    whose import the block judged, and the submodules first imported with a package of them.

    Nothing else: a module that no contract guards — a plugin's dependency, numpy, anything with
    process-wide state — may refuse to be imported twice in one process ("cannot load module more
    than once per process"), so a later test must find it where the block left it. A forgotten
    package takes its new submodules along: left behind, ``import pkg.sub`` would find the old
    submodule in ``sys.modules`` and never bind it on the new ``pkg``.
    """
    new = [(name, module) for name, module in list(sys.modules.items()) if name not in before]
    new = [(name, module) for name, module in new if not _kept(name)]
    guarded = {name for name, module in new if _under_contract(name, module)}
    prefixes = tuple(name + "." for name in guarded)
    return [name for name, _ in new if name in guarded or (prefixes and name.startswith(prefixes))]


def _forget_new_modules(before: set[str]) -> None:
    """Forget the modules the block judged (see :func:`_judged_since`), and the attribute a parent
    package got for each."""
    for name in _judged_since(before):
        module = sys.modules.pop(name, None)
        parent_name, _, child = name.rpartition(".")
        parent = sys.modules.get(parent_name) if parent_name else None
        if parent is not None and module is not None and getattr(parent, child, None) is module:
            try:
                delattr(parent, child)
            except (AttributeError, TypeError):
                pass


class ImportspyContext:
    """The ``importspy_context`` fixture: call it to get a simulation block.

    Every block still open when the test ends is closed at teardown, so a test that fails inside
    one leaves nothing behind.
    """

    def __init__(self) -> None:
        self._open: list[AbstractContextManager[dict[str, object]]] = []

    def __call__(
        self, *, mode: str = "enforce", **context: Unpack[Simulation]
    ) -> AbstractContextManager[dict[str, object]]:
        """A block of :func:`simulated_imports` (same keywords), closed at teardown if still open."""
        return _Tracked(self, simulated_imports(mode=mode, **context))

    def _close_all(self) -> None:
        while self._open:
            self._open.pop().__exit__(None, None, None)


class _Tracked(AbstractContextManager[dict[str, object]]):
    """One block of the fixture; registers itself while open so teardown can close it."""

    def __init__(self, owner: ImportspyContext, inner: AbstractContextManager[dict[str, object]]) -> None:
        self._owner = owner
        self._inner = inner

    def __enter__(self) -> dict[str, object]:
        value = self._inner.__enter__()
        self._owner._open.append(self._inner)
        return value

    def __exit__(self, *exc_info: Any) -> bool | None:
        if self._inner in self._owner._open:
            self._owner._open.remove(self._inner)
        return self._inner.__exit__(*exc_info)


@pytest.fixture
def importspy_context() -> Iterator[ImportspyContext]:
    """Simulate an importing context for the imports done inside ``with importspy_context(...)``."""
    context = ImportspyContext()
    try:
        yield context
    finally:
        context._close_all()


def _field_matches(pattern: str, field: str) -> bool:
    return (
        field == pattern
        or fnmatchcase(field, pattern)
        or field.endswith("." + pattern)
        or fnmatchcase(field, "*." + pattern)
    )


def assert_refused(
    module_name: str,
    field: str | None = None,
    *,
    caller: str | os.PathLike[str] | None = None,
    **context: Any,
) -> ContractViolation:
    """Assert that importing ``module_name`` in the simulated ``context`` is refused; return the error.

    ``context`` takes the keywords of ``importspy_context`` (``os``, ``arch``, ``python``,
    ``implementation``, ``env``, ``distributions``). With ``field``, one violation's field must match
    it (exactly, as an ``fnmatch`` pattern, or as its trailing dotted part) — pass it: without it,
    any violation counts, including structural ones about the importer. ``caller`` is the source
    file of the importer to judge (read statically, never run, as ``importspy-hook check --caller``);
    by default the importer is the calling test module. A relative ``caller`` is looked for the
    way the test's own imports find their modules: beside the file that calls ``assert_refused``
    (the test module), then in the pytest rootdir — never in the working directory, so the test
    passes wherever pytest is started from. The module is removed from ``sys.modules``
    for the attempt (it is checked again, as on a first import) and put back afterwards.
    """
    __tracebackhide__ = True
    from ._errors import ContractError, ContractViolation, shown_path

    bases = _caller_bases(sys._getframe(1)) if caller is not None else []

    already = {
        name: module
        for name, module in sys.modules.items()
        if name == module_name or name.startswith(module_name + ".")
    }
    for name in already:
        del sys.modules[name]
    try:
        with simulated_imports(**context):
            try:
                _import(module_name, caller, bases)
            except ContractViolation as exc:
                refusal = exc
            except ContractError as exc:
                raise AssertionError(
                    f"importing {module_name!r} failed on a malformed contract, not a refusal:\n{exc}"
                ) from None
            else:
                shown = ", ".join(f"{k}={_shown(k, v)}" for k, v in context.items()) or "the current context"
                by = f" by {shown_path(os.fspath(caller))}" if caller is not None else ""
                raise AssertionError(
                    f"importing {module_name!r}{by} was admitted in {shown}; expected a refusal"
                )
    finally:
        sys.modules.update(already)
    if field is not None and not any(_field_matches(field, v.field) for v in refusal.violations):
        found = "\n".join("  " + v.describe(refusal._shown) for v in refusal.violations)
        raise AssertionError(
            f"importing {module_name!r} was refused, but no violation matches field {field!r}; "
            f"violations:\n{found}"
        )
    return refusal


def _shown(key: str, value: Any) -> str:
    """A simulated context value for a message; ``env`` values only as the §6 rule allows (no
    contract is at hand, so none is: names, and whether each is set)."""
    if key != "env" or not isinstance(value, Mapping):
        return repr(value)
    from ._errors import value_may_be_shown

    return repr(
        {
            name: item if item is None or value_may_be_shown(name, None) else "<set, value not shown>"
            for name, item in value.items()
        }
    )


def _import(module_name: str, caller: str | os.PathLike[str] | None, bases: list[str]) -> None:
    """Import ``module_name``, from code whose module is ``caller`` when given.

    The hook finds the importer by walking frames to the first one whose globals name a module
    (§5); code compiled here runs with the globals of a module named after ``caller`` and whose
    ``__file__`` is ``caller``, so that file's source is what the contract is checked against. The
    file itself is never executed.
    """
    __tracebackhide__ = True  # a failure shows the test's line, not this helper's arguments (paths)
    if caller is None:
        importlib.import_module(module_name)
        return
    path = _caller_path(caller, bases)
    from ._cli import module_name_for_file
    from ._errors import shown_path

    namespace: dict[str, Any] = {"__name__": module_name_for_file(path), "__file__": path}
    code = compile(
        f"import importlib\nimportlib.import_module({module_name!r})\n",
        f"<import of {module_name} by {shown_path(path)}>",  # pytest shows it in tracebacks (red team q02)
        "exec",
    )
    exec(code, namespace)


_ROOTDIRS: list[str] = []
"""The rootdir of each pytest session configured in this process, innermost last (pytester's
in-process runs nest a session inside another)."""


def pytest_configure(config: pytest.Config) -> None:
    """Remember the rootdir, where a relative ``caller=`` is looked for after the test's directory."""
    _ROOTDIRS.append(str(config.rootpath))


def pytest_unconfigure(config: pytest.Config) -> None:
    rootdir = str(config.rootpath)
    for index in range(len(_ROOTDIRS) - 1, -1, -1):  # the innermost session of that rootdir
        if _ROOTDIRS[index] == rootdir:
            del _ROOTDIRS[index]
            break


def _caller_bases(frame: FrameType | None) -> list[str]:
    """Where a relative ``caller=`` is looked for: the directory of the file that called
    :func:`assert_refused` (the test module, whose own ``import host`` finds the ``host.py``
    beside it), then the rootdir of the pytest session — never the working directory, which
    changes with where pytest is started from."""
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    bases: list[str] = []
    if frame is not None:
        file = frame.f_globals.get("__file__")
        if not isinstance(file, str):
            file = frame.f_code.co_filename
        if isinstance(file, str) and not file.startswith("<"):
            bases.append(os.path.dirname(os.path.abspath(file)))
    if _ROOTDIRS and _ROOTDIRS[-1] not in bases:
        bases.append(_ROOTDIRS[-1])
    return bases


def _caller_path(caller: str | os.PathLike[str], bases: list[str]) -> str:
    """The absolute path of the ``caller=`` file: as given when absolute, else the first of
    ``bases`` that holds it; FileNotFoundError naming every place looked at otherwise."""
    __tracebackhide__ = True  # as ``_import``
    from ._errors import shown_path  # the paths in its errors are withheld as the hook's are (§6)

    given = os.fspath(caller)
    if os.path.isabs(given):
        if os.path.isfile(given):
            return given
        raise FileNotFoundError(f"caller {shown_path(given)!r}: no such file")
    for base in bases:
        path = os.path.normpath(os.path.join(base, given))
        if os.path.isfile(path):
            return path
    looked = " or ".join(map(shown_path, bases)) or "(no test file or rootdir known)"
    raise FileNotFoundError(f"caller {shown_path(given)!r}: no such file in {looked}")


@pytest.fixture(name="assert_refused")
def assert_refused_fixture() -> Callable[..., ContractViolation]:
    """:func:`assert_refused` as a fixture, for tests that prefer not to import the plugin module."""
    return assert_refused
