"""A module that does not exist: the hook searches for it once, and nobody can tell it is there.

SPEC §11 asks that a failed import cost at most 1.05x what it costs without the hook, "the finders
after the hook are asked once, not twice"; SPEC §4 that probes (``importlib.util.find_spec``,
``pkgutil``) keep working. These tests run one child script with the hook off and with it on and
compare everything a program can observe of a failed import: the exception's type, text, ``name``,
``path``, ``args``, ``__context__``, ``__cause__``, ``__suppress_context__`` and the formatted
traceback (for ``import`` statements CPython removes the import system's frames, so a frame of the
hook would show), the interpreter's own report of an uncaught one, probes, finders put before or
after the hook, a later finder that raises, and how often a later finder is asked.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import Result, child_env, run_script, write_files

CHILD = '''\
import importlib, importlib.util, json, os, runpy, sys, traceback

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = {}


def describe(exc, with_traceback=True):
    return {
        "type": type(exc).__name__,
        "text": str(exc),
        "args": repr(exc.args),
        "name": repr(getattr(exc, "name", None)),
        "path": repr(getattr(exc, "path", None)),
        "context": repr(exc.__context__),
        "cause": repr(exc.__cause__),
        "suppress": exc.__suppress_context__,
        "traceback": traceback.format_exc() if with_traceback else None,
        "in_sys_modules": sorted(n for n in sys.modules if "nosuch" in n),
    }


def attempt(label, action, with_traceback=True):
    try:
        action()
    except BaseException as exc:
        RESULTS[label] = describe(exc, with_traceback)
    else:
        RESULTS[label] = "no error"


class Counting:
    """A finder after the hook that declines everything and counts how often it is asked."""

    def __init__(self):
        self.asked = {}

    def find_spec(self, name, path=None, target=None):
        self.asked[name] = self.asked.get(name, 0) + 1
        return None


class Serving:
    """A finder that makes up the module ``name`` (as plugin registries and import tools do)."""

    def __init__(self, name):
        self.name = name

    def find_spec(self, name, path=None, target=None):
        if name != self.name:
            return None
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.SERVED = True


class Raising:
    def find_spec(self, name, path=None, target=None):
        if name == "nosuch_boom":
            raise RuntimeError("the finder failed")
        return None


def plain():
    import nosuch_plain


def dunder():
    __import__("nosuch_dunder")


def via_import_module():
    importlib.import_module("nosuch_import_module")


def via_importlib_dunder():
    importlib.__import__("nosuch_importlib_dunder")


def while_handling():
    try:
        {}["key"]
    except KeyError:
        import nosuch_while_handling


def while_handling_from():
    try:
        {}["key"]
    except KeyError as exc:
        try:
            import nosuch_from
        except ImportError:
            raise LookupError("wrapped") from exc


def submodule():
    import pkg.nosuch_sub


def missing_parent():
    import nosuch_parent.child.grandchild


def from_package():
    from pkg import nosuch_name


def not_a_package():
    import flat.nosuch_child


def relative():
    import pkg.relative


def run_module():
    runpy.run_module("nosuch_runpy")


def probe_under_missing_parent():
    importlib.util.find_spec("nosuch_probe_parent.child")


attempt("plain", plain)
attempt("dunder", dunder)
attempt("import_module", via_import_module)
attempt("importlib_dunder", via_importlib_dunder)
attempt("while_handling", while_handling)
attempt("while_handling_from", while_handling_from)
attempt("submodule", submodule)
attempt("missing_parent", missing_parent)
attempt("from_package", from_package)
attempt("not_a_package", not_a_package)
attempt("relative", relative)
attempt("run_module", run_module)
attempt("probe_under_missing_parent", probe_under_missing_parent)

probes = {
    "find_spec": importlib.util.find_spec("nosuch_probe") is None,
    "find_spec_sub": importlib.util.find_spec("pkg.nosuch_probe") is None,
    "find_spec_present": importlib.util.find_spec("flat") is not None,
}
try:
    import nosuch_optional
except ImportError:
    probes["optional"] = "fallback"

counting = Counting()
sys.meta_path.append(counting)
attempt("counted", lambda: __import__("nosuch_counted"))
attempt("counted_sub", lambda: __import__("pkg.nosuch_counted_sub"))

sys.meta_path.append(Serving("served_after"))
sys.meta_path.insert(0, Serving("served_before"))
import served_after, served_before

sys.meta_path.append(Raising())
attempt("raising_finder", lambda: __import__("nosuch_boom"), with_traceback=False)

# Nothing is remembered of a failure: the module, once written, is found.
attempt("latecomer_before", lambda: __import__("nosuch_latecomer"))
with open(os.path.join(HERE, "nosuch_latecomer.py"), "w") as handle:
    handle.write("VALUE = 1\\n")
importlib.invalidate_caches()
import nosuch_latecomer

RESULTS["probes"] = probes
RESULTS["asked"] = counting.asked
RESULTS["served"] = [served_after.SERVED, served_before.SERVED]
RESULTS["latecomer"] = nosuch_latecomer.VALUE
print("RESULT " + json.dumps(RESULTS, sort_keys=True), flush=True)
'''

FILES = {
    "pkg/__init__.py": "",
    "pkg/relative.py": "from . import nosuch_relative\n",
    "flat.py": "X = 1\n",
}


def observe(project: Path, mode: str | None, body: str = CHILD) -> tuple[dict[str, Any], Result]:
    """Run the child script in a fresh copy of the project with the hook in ``mode`` (None: off)."""
    root = project / (mode or "off")
    write_files(root, {**FILES, "main.py": body})
    result = run_script(root / "main.py", mode=mode, cwd=root)
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            parsed: dict[str, Any] = json.loads(line[len("RESULT ") :].replace(str(root), "<root>"))
            return parsed, result
    raise AssertionError(f"child printed no RESULT line: {result!r}")


@pytest.fixture(scope="module")
def off(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return observe(tmp_path_factory.mktemp("missing"), None)[0]


@pytest.mark.parametrize("mode", ["enforce", "warn"])
def test_a_failed_import_looks_the_same_with_the_hook_on(
    project: Path, off: dict[str, Any], mode: str
) -> None:
    on, result = observe(project, mode)
    assert result.stderr == "", result
    for label in KEPT_FRAMES:  # everything else is the same; see importlib_frames_only
        assert on[label]["traceback"] != off[label]["traceback"]
        on[label]["traceback"] = importlib_frames_only(on[label]["traceback"])
        off[label]["traceback"] = importlib_frames_only(off[label]["traceback"])
    differing = [label for label in sorted(set(on) | set(off)) if on.get(label) != off.get(label)]
    assert differing == [], {label: (off.get(label), on.get(label)) for label in differing}


# Imports reached from Python code, where CPython keeps the import system's frames in the traceback.
KEPT_FRAMES = ("import_module", "importlib_dunder")


def importlib_frames_only(traceback: str) -> str:
    """``traceback`` without the line numbers of importlib's frames and its three frames that end
    a search with the hook on: to end it with the import system's own error rather than have every
    finder asked twice (and whatever a second search found loaded unchecked), the hook hands the
    import system a spec whose loader raises it, from ``_load_unlocked`` and ``module_from_spec``.
    Where CPython keeps importlib's frames (an import from Python code, ``python -v``), those show;
    the user's frames, the error and its text do not change."""
    kept = []
    for line in traceback.splitlines():
        if line.startswith('  File "<frozen importlib._bootstrap>"'):
            where = line.rpartition(", in ")[2]
            if where in ("_load_unlocked", "module_from_spec", "_not_found"):
                continue
            line = f"  <importlib> {where}"
        kept.append(line)
    return "\n".join(kept)


def test_the_baseline_is_what_the_comparison_assumes(off: dict[str, Any]) -> None:
    # Guards the comparison above against a child that fails the same way with and without the hook.
    assert off["plain"]["type"] == "ModuleNotFoundError"
    assert off["plain"]["text"] == "No module named 'nosuch_plain'"
    assert off["plain"]["traceback"].count("File ") == 2  # the call and plain(): importlib's are gone
    assert off["while_handling"]["context"].startswith("KeyError")
    assert off["while_handling_from"]["type"] == "LookupError"
    assert off["submodule"]["text"] == "No module named 'pkg.nosuch_sub'"
    assert off["not_a_package"]["text"] == "No module named 'flat.nosuch_child'; 'flat' is not a package"
    assert off["not_a_package"]["suppress"] is True
    assert off["from_package"]["text"].startswith("cannot import name 'nosuch_name' from 'pkg'")
    assert off["raising_finder"]["type"] == "RuntimeError"
    assert off["probes"] == {
        "find_spec": True,
        "find_spec_sub": True,
        "find_spec_present": True,
        "optional": "fallback",
    }
    assert off["served"] == [True, True]
    assert off["latecomer"] == 1


def test_the_finders_after_the_hook_are_asked_once_by_an_import_statement(
    off: dict[str, Any], project: Path
) -> None:
    # SPEC §11: without the hook the import system asks each finder once; with it, the hook asks
    # them (to keep their spec) and must not leave the import system to ask them all again.
    assert off["asked"]["nosuch_counted"] == off["asked"]["pkg.nosuch_counted_sub"] == 1
    on, _ = observe(project, "enforce")
    assert on["asked"] == off["asked"]


UNCAUGHT = """\
def helper():
    import nosuch_uncaught


try:
    {}["key"]
except KeyError:
    helper()
"""


@pytest.mark.parametrize("verbose", [False, True])
def test_an_uncaught_failed_import_is_reported_the_same(project: Path, verbose: bool) -> None:
    # What the interpreter prints is the user's whole view of it; with -v (PYTHONVERBOSE) CPython
    # keeps the import system's frames, and those must match too.
    # The same command line either way (3.13 prints the -c source in the traceback): the mode comes
    # from the environment.
    boot = (
        "import os, runpy, sys, importspy_hook; "
        "os.environ['MISSING_HOOK'] and importspy_hook.install(mode=os.environ['MISSING_HOOK']); "
        "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    reports = []
    for mode in ("", "enforce"):
        root = project / (mode or "off")
        write_files(root, {"main.py": UNCAUGHT})
        env = child_env({"MISSING_HOOK": mode, "PYTHONVERBOSE": "1" if verbose else None})
        completed = subprocess.run(
            [sys.executable, "-c", boot, str(root / "main.py")],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert completed.returncode == 1, completed
        report = completed.stderr.replace(str(root), "<root>")
        if verbose:  # the verbose log before the traceback lists what each run imported
            report = report[report.index("Traceback (most recent call last)") :]
            report = "\n".join(line for line in report.splitlines() if not line.startswith(("#", "import ")))
            report = importlib_frames_only(report)
        reports.append(report)
    assert reports[0] == reports[1]
    assert "ModuleNotFoundError: No module named 'nosuch_uncaught'" in reports[1]
    assert "During handling of the above exception" in reports[1]


def test_threads_failing_to_import_the_same_missing_module(project: Path) -> None:
    # The import system serialises imports of one name with a per-module lock; every thread must
    # still see the import system's own error.
    body = textwrap.dedent(
        """\
        import json, threading

        errors = []

        def worker():
            for _ in range(50):
                try:
                    import nosuch_threaded
                except ModuleNotFoundError as exc:
                    errors.append((str(exc), exc.name))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print("RESULT " + json.dumps(sorted(set(map(tuple, errors))) + [len(errors)]))
        """
    )
    on, _ = observe(project, "enforce", body)
    assert on == [["No module named 'nosuch_threaded'", "nosuch_threaded"], 200]


@pytest.mark.skipif(sys.platform == "win32", reason="the child script uses POSIX paths only")
def test_a_missing_module_found_by_a_finder_added_during_the_search(project: Path) -> None:
    # A later finder that appends another finder while it is asked: the import system would ask the
    # new one too (it walks the live sys.meta_path), so the hook must not end the search early.
    body = textwrap.dedent(
        """\
        import importlib.util, json, sys

        class Late:
            def find_spec(self, name, path=None, target=None):
                if name != "nosuch_late":
                    return None
                return importlib.util.spec_from_loader(name, self)

            def create_module(self, spec):
                return None

            def exec_module(self, module):
                module.FOUND = "late"

        class Adding:
            def find_spec(self, name, path=None, target=None):
                if name == "nosuch_late" and not any(isinstance(f, Late) for f in sys.meta_path):
                    sys.meta_path.append(Late())
                return None

        sys.meta_path.append(Adding())
        import nosuch_late
        print("RESULT " + json.dumps(nosuch_late.FOUND))
        """
    )
    assert observe(project, None, body)[0] == "late"
    assert observe(project, "enforce", body)[0] == "late"


# --------------------------------------------------------------------------------------------------
# The start-up module keeps only what every process needs; what a refusal needs when the finder's
# slow path fails lives in the package, and a refusal still happens when the package cannot load.
# --------------------------------------------------------------------------------------------------

REFUSING = "runtime:\n  os: [no-such-os]\n"


@pytest.mark.parametrize("breakage", ["guard", "package"])
def test_a_contract_that_cannot_be_set_up_refuses_every_way_of_running_the_module(
    project: Path, breakage: str
) -> None:
    # §7 fail closed: the finder knows a sidecar applies, then setting the check up fails — the
    # guard raising, or the package's finder module not importable at all. The module must never run.
    write_files(project / "enforce", {"guarded.py": "print('RAN')\n", "guarded.contract.yml": REFUSING})
    body = textwrap.dedent(
        f"""\
        import importlib, importlib.util, json, runpy, sys

        if {breakage!r} == "guard":
            import importspy_hook._loader as loader_module

            def broken(*args, **kwargs):
                raise RuntimeError("set-up failed")

            loader_module.wrap = broken
        else:
            for name in [n for n in sys.modules if n.startswith("importspy_hook")]:
                sys.modules[name] = None  # importing any of the package raises ImportError

        outcomes = {{}}
        spec = importlib.util.find_spec("guarded")
        outcomes["probe"] = [spec.name, hasattr(spec.loader, "get_source")]
        for way in ("import", "run_module", "exec_module"):
            sys.modules.pop("guarded", None)
            try:
                if way == "import":
                    importlib.import_module("guarded")
                elif way == "run_module":
                    runpy.run_module("guarded")
                else:
                    spec = importlib.util.find_spec("guarded")
                    spec.loader.exec_module(importlib.util.module_from_spec(spec))
            except ValueError as exc:
                text = str(exc)
                outcomes[way] = [type(exc).__name__, "guarded.contract.yml" in text, "set-up failed" in text]
            else:
                outcomes[way] = "ran"
        print("RESULT " + json.dumps(outcomes))
        """
    )
    got, result = observe(project, "enforce", body)
    assert "RAN" not in result.stdout, result
    expected = "ContractError" if breakage == "guard" else "ValueError"
    assert got["probe"] == ["guarded", True], result
    for way in ("import", "run_module", "exec_module"):
        assert got[way] == [expected, True, False], (way, result)
