"""A finder that changes the world when it misses: the module it makes available is still checked.

A fallback finder after the others may, on a miss, add a plugin directory to ``sys.path`` (or write
the plugin) and return None, expecting the next import to find it. If the hook answered "nobody has
it" with None, the import system would ask every finder after the hook a second time, and the spec
found then would be loaded without the hook ever seeing it: a module whose contract refuses would
run. So every search the import system makes through the hook is made once (as it is without the
hook: the first import fails with ModuleNotFoundError, the next one is checked), and a probe
(``importlib.util.find_spec``, ``runpy``, ``importlib.reload``), which asks the finders again itself,
is answered by the hook's own second search, checked, before it can.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import run_script, write_files

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the contract refuses by naming windows")

REFUSING = "runtime:\n  os: [windows]\n"  # refused on the Linux and macOS runners

CHILD = """\
import importlib, importlib.util, json, os, runpy, sys

HERE = os.path.dirname(os.path.abspath(__file__))
STORE = os.path.join(HERE, "store")
WAY = sys.argv[1]


class AddStoreOnMiss:
    # A fallback finder: on a miss it makes the plugin store importable and declines.
    def find_spec(self, name, path=None, target=None):
        if name == "plug" and STORE not in sys.path:
            sys.path.append(STORE)
            importlib.invalidate_caches()
        return None


class Legacy:
    # An old-style finder (find_module only); 3.10 and 3.11 still ask it.
    def find_module(self, name, path=None):
        return None


sys.meta_path.append(AddStoreOnMiss())
if WAY == "legacy":
    sys.meta_path.append(Legacy())


def attempt():
    if WAY in ("statement", "legacy", "verbose"):
        exec("import plug")
    elif WAY == "import_module":
        importlib.import_module("plug")
    elif WAY == "importlib_dunder":
        importlib.__import__("plug")
    elif WAY == "probe":
        spec = importlib.util.find_spec("plug")
        if spec is None:
            raise ModuleNotFoundError("probe: none")
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    elif WAY == "run_module":
        runpy.run_module("plug")


outcomes = []
for _ in range(2):
    try:
        attempt()
    except Exception as exc:
        outcomes.append(type(exc).__name__)
    else:
        outcomes.append("imported")
print("RESULT " + json.dumps(outcomes), flush=True)
"""

MODES = (None, "enforce")  # off, then on

OUTCOME = """
try:
    {attempt}
except Exception as exc:
    outcome = type(exc).__name__
else:
    outcome = "ran"
print("RESULT " + json.dumps(outcome), flush=True)
"""

TRACER = """\
import sys


def seen(spec):  # what the tracer does with each spec it passes on (a test may replace it)
    pass


class Wrap:  # an import tracer's wrapper around a finder
    def __init__(self, finder):
        self.finder = finder

    def find_spec(self, name, path=None, target=None):
        find = getattr(self.finder, "find_spec", None)
        spec = None if find is None else find(name, path, target)
        if spec is not None:
            seen(spec)
        return spec


"""
IMPORTS = ["statement", "legacy", "verbose", "import_module", "importlib_dunder"]


def observe(
    project: Path, mode: str | None, main: str, contract: str, *args: str, files: dict[str, str] | None = None
) -> tuple[Any, int]:
    """(the RESULT of ``main``, how many times the plugin ran) for a run with the hook in ``mode``."""
    root = project / (mode or "off")
    log = root / "ran.log"
    plugin = f"with open({str(log)!r}, 'a') as f:\n    f.write(__name__ + '\\n')\n"
    write_files(
        root, {"main.py": main, "store/plug.py": plugin, "store/plug.contract.yml": contract, **(files or {})}
    )
    env = {"PYTHONVERBOSE": "1"} if "verbose" in args else None
    result = run_script(root / "main.py", *args, mode=mode, cwd=root, env=env)
    line = next((line for line in result.stdout.splitlines() if line.startswith("RESULT ")), None)
    assert line is not None, result
    return json.loads(line[len("RESULT ") :]), len(log.read_text().split()) if log.exists() else 0


def off_and_on(project: Path, body: str) -> list[object]:
    """The RESULT of ``body`` (dedented) run with the hook off, then on (enforce)."""
    results = []
    for mode in (None, "enforce"):
        root = project / (mode or "off")
        write_files(root, {"main.py": textwrap.dedent(body)})
        result = run_script(root / "main.py", mode=mode, cwd=root)
        line = next((line for line in result.stdout.splitlines() if line.startswith("RESULT ")), None)
        assert line is not None, result
        results.append(json.loads(line[len("RESULT ") :]))
    return results


@pytest.mark.parametrize("way", IMPORTS)
def test_an_import_is_searched_once_and_the_next_import_is_checked(project: Path, way: str) -> None:
    # Without the hook the first import fails (the store was added after PathFinder was asked) and
    # the second runs the plugin; with it, the first fails the same way and the second is refused.
    assert observe(project, None, CHILD, REFUSING, way) == (["ModuleNotFoundError", "imported"], 1)
    refused = ["ModuleNotFoundError", "ContractViolation"]
    assert observe(project, "enforce", CHILD, REFUSING, way) == (refused, 0)


@pytest.mark.parametrize("way", ["probe", "run_module"])
def test_a_probe_never_gets_an_unchecked_spec(project: Path, way: str) -> None:
    # A probe asks the finders again after the hook: the hook's own second search finds the plugin
    # first, and its spec is checked when it is run.
    outcomes, ran = observe(project, "enforce", CHILD, REFUSING, way)
    assert ran == 0
    assert outcomes[-1] == "ContractViolation"
    assert set(outcomes) <= {"ModuleNotFoundError", "ImportError", "ContractViolation"}


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12 no longer asks find_module-only finders")
def test_a_legacy_finder_still_warns_once_per_search(project: Path) -> None:
    # The import system warns (ImportWarning) each time it falls back to find_module; the hook asks
    # such a finder through the import system's own function, so the warning is the same and given once.
    seen = off_and_on(
        project,
        """\
        import json, sys, warnings

        class Legacy:
            def find_module(self, name, path=None):
                return None

        sys.meta_path.append(Legacy())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                import nosuch_legacy
            except ImportError:
                pass
        print("RESULT " + json.dumps([str(w.message) for w in caught if w.category is ImportWarning]))
        """,
    )
    assert seen[0] == seen[1] == ["Legacy.find_spec() not found; falling back to find_module()"]


# --------------------------------------------------------------------------------------------------
# Red team round 5: the module appears in sys.modules during the search, chains of finders, audit hooks
# --------------------------------------------------------------------------------------------------

APPEARING = """\
import importlib, json, os, runpy, sys, types

HERE = os.path.dirname(os.path.abspath(__file__))
STORE = os.path.join(HERE, "store")
WAY, ACTION = sys.argv[1], sys.argv[2]


class StoreFallback:
    # On a miss, the host makes the store importable and loads (or reserves) the plugin itself.
    def find_spec(self, name, path=None, target=None):
        if name == "plug" and STORE not in sys.path:
            sys.path.append(STORE)
            importlib.invalidate_caches()
            if ACTION == "import":
                importlib.import_module(name)
            elif ACTION == "none":
                sys.modules[name] = None
            else:
                sys.modules[name] = types.ModuleType(name)
        return None


sys.meta_path.append(StoreFallback())
sys.path.insert(0, HERE)
from tests import test_x
""" + OUTCOME.format(attempt="test_x.go(WAY)")

DENIED = """\
import runpy


def go(way):
    if way == "statement":
        import plug
    else:
        runpy.run_module("plug")
"""


@pytest.mark.parametrize("action", ["import", "none", "stub"])
@pytest.mark.parametrize("way", ["statement", "run_module"])
def test_a_module_that_appears_during_the_search_is_not_run_for_a_denied_importer(
    project: Path, way: str, action: str
) -> None:
    # The host's fallback finder loads the plugin itself (admitted: the host may) or reserves its
    # name in sys.modules, then declines. Without the hook the denied importer's import fails; with
    # it, the import system must not search again and run the plugin (again) for the denied importer.
    files = {"tests/__init__.py": "", "tests/test_x.py": DENIED}
    deny = 'importers:\n  deny: ["tests.*"]\n'
    off, on = (observe(project, mode, APPEARING, deny, way, action, files=files) for mode in MODES)
    assert off[0] in ("ModuleNotFoundError", "ImportError")
    assert on[1] == off[1] == (1 if action == "import" else 0)  # only the host's own load ran it
    # A probe (runpy) is answered by the hook's second search, which finds the plugin: checked.
    assert on[0] in (
        "ModuleNotFoundError",
        "ImportError",
        *(["ContractViolation"] if way == "run_module" else []),
    )


def test_a_chain_of_finders_added_on_a_miss_is_followed(project: Path) -> None:
    # Each finder adds the next one when it misses; the import system, walking the live list, asks
    # them all, and so must the hook before it reports the module missing.
    results = off_and_on(
        project,
        """\
        import importlib.machinery, json, sys

        class Last:
            def find_spec(self, name, path=None, target=None):
                if name == "chained":
                    return importlib.machinery.ModuleSpec(name, None, is_package=True)

        def adding(next_class):
            class Adding:
                def find_spec(self, name, path=None, target=None):
                    if name == "chained" and not any(isinstance(f, next_class) for f in sys.meta_path):
                        sys.meta_path.append(next_class())
            return Adding

        Third = adding(Last)
        Second = adding(Third)
        sys.meta_path.append(adding(Second)())
        import chained
        print("RESULT " + json.dumps(chained.__name__))
        """,
    )
    assert results == ["chained", "chained"]


def test_an_audit_hook_that_forbids_frame_inspection_does_not_break_a_failed_import(project: Path) -> None:
    # sys._getframe raises an audit event; a host whose audit hook refuses it must still see a
    # missing optional module as ImportError, as it does without the hook.
    results = off_and_on(
        project,
        """\
        import json, sys

        def audit(event, args):
            if event == "sys._getframe":
                raise PermissionError("no frame inspection here")

        sys.addaudithook(audit)
        try:
            import nosuch_optional
        except ImportError as exc:
            outcome = type(exc).__name__
        print("RESULT " + json.dumps(outcome))
        """,
    )
    assert results == ["ModuleNotFoundError", "ModuleNotFoundError"]


def test_a_finder_whose_find_spec_is_new_on_every_access_is_not_asked_over_and_over(project: Path) -> None:
    # A proxy finder that hands out a new function each time looks rebound to the hook on every
    # look; it is asked again once (in case it really was patched), not once per round.
    results = off_and_on(
        project,
        """\
        import json, sys

        asked = []

        class Proxy:
            def __getattr__(self, attribute):
                if attribute == "find_spec":
                    return lambda name, path=None, target=None: asked.append(name)
                raise AttributeError(attribute)

        sys.meta_path.append(Proxy())
        try:
            import nosuch_proxied
        except ImportError:
            pass
        print("RESULT " + json.dumps(asked.count("nosuch_proxied")))
        """,
    )
    off, on = results
    assert off == 1
    assert isinstance(on, int) and on <= 2


# --------------------------------------------------------------------------------------------------
# Red team round 6
# --------------------------------------------------------------------------------------------------

REGISTRAR = """\
import importlib, json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
WAY, ROLE = sys.argv[1], sys.argv[2]
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "store"))
from hostlib.loader import Registrar

if ROLE == "registrar":
    sys.meta_path.insert(1, Registrar())  # before PathFinder: registers a plugin on first sight
else:
    os.environ["IMPORTSPY_HOOK_LOADERS"] = "hostlib.*"  # read by the first check
    sys.path.remove(os.path.join(HERE, "store"))
    sys.meta_path.append(Registrar(serve=True))  # loads plugins on demand, as a declared loader
from tests import test_x
""" + OUTCOME.format(attempt="test_x.go(WAY)")

HOSTLIB = """\
import importlib, os, sys

STORE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "store")
BUSY = set()


class Registrar:
    def __init__(self, serve=False):
        self.serve = serve

    def find_spec(self, name, path=None, target=None):
        if name != "plug" or name in BUSY:
            return None
        BUSY.add(name)
        try:
            if self.serve:  # an on-demand loader: adds the store and loads the plugin for the importer
                sys.path.append(STORE)
                importlib.invalidate_caches()
                return importlib.import_module(name).__spec__
            importlib.import_module(name)  # the host loads it for itself (the host may)
        finally:
            BUSY.discard(name)
        return None
"""


DENY = 'importers:\n  deny: ["tests.*"]\n'
HOST_FILES = {
    "hostlib/__init__.py": "",
    "hostlib/loader.py": HOSTLIB,
    "tests/__init__.py": "",
    "tests/test_x.py": DENIED,
}


@pytest.mark.parametrize("way", ["statement", "run_module"])
def test_a_module_a_finder_loads_during_the_search_is_checked_for_the_importer(
    project: Path, way: str
) -> None:
    # A finder before PathFinder loads the plugin itself (admitted: the host may), then declines;
    # PathFinder finds it, and the import system, seeing it in sys.modules, runs that module's own
    # spec again for the denied importer. Without the hook it runs twice; with it, the second run
    # is the denied importer's, and refused.
    off, on = (observe(project, mode, REGISTRAR, DENY, way, "registrar", files=HOST_FILES) for mode in MODES)
    assert off == ("ran", 2)
    assert on == ("ContractViolation", 1)


def test_a_declared_plugin_loaders_nested_import_is_judged_as_the_real_importer(project: Path) -> None:
    # Red team round 6 (f08): frames of the hook's own start-up module were not passed over by the
    # caller walk, so a declared loader's nested import was judged as "_importspy_hook_startup".
    assert observe(project, "enforce", REGISTRAR, DENY, "statement", "loader", files=HOST_FILES) == (
        "ContractViolation",
        0,
    )


def test_a_probe_of_an_alias_its_package_registered_gets_none(project: Path) -> None:
    # Red team round 6 (f02): a package that registers an alias in sys.modules while it is imported
    # (by the probe itself, for the parent) must still get None from importlib.util.find_spec.
    results = off_and_on(
        project,
        """\
        import importlib.util, json, os, pkgutil, sys, types
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        os.makedirs("aliased", exist_ok=True)
        with open("aliased/__init__.py", "w") as f:
            f.write("import sys, types\\nsys.modules['aliased.compat'] = types.ModuleType('x')\\n")
        found = importlib.util.find_spec("aliased.compat")
        print("RESULT " + json.dumps(repr(found)))
        """,
    )
    assert results == ["None", "None"]


def test_a_finder_that_wraps_every_finder_still_gets_one_search(project: Path) -> None:
    # Red team round 6 (f05): an import tracer that wraps every finder put a frame between the hook
    # and the import system; the failed import was taken for a probe and searched three times.
    body = """\
        import json

        class Count:
            asked = 0
            def find_spec(self, name, path=None, target=None):
                if name == "nosuch_wrapped":
                    Count.asked += 1

        sys.meta_path.append(Count())
        sys.meta_path[:] = [Wrap(finder) for finder in sys.meta_path]
        try:
            import nosuch_wrapped
        except ImportError:
            pass
        print("RESULT " + json.dumps(Count.asked))
        """
    assert off_and_on(project, TRACER + textwrap.dedent(body)) == [1, 1]


def test_a_meta_path_that_changes_length_while_compared_is_seen_as_changed() -> None:
    # Red team round 6 (f09): another thread appending to sys.meta_path between the length test and
    # the element walk made the comparison raise ValueError out of a failed import.
    import _importspy_hook_startup as startup

    class Growing(list):  # what a concurrent append looks like to the comparison
        def __len__(self) -> int:
            return 2

    class Finder:
        def find_spec(self, name: str, path: object = None, target: object = None) -> None:
            return None

    first, second = Finder(), Finder()
    finder = startup.ContractFinder()
    finder._refresh([first, second])  # called directly: it asks everyone
    assert finder._stale([first, second]) is False
    assert finder._stale(Growing([first, second, Finder()])) is True


# --------------------------------------------------------------------------------------------------
# Red team round 7
# --------------------------------------------------------------------------------------------------


def test_a_patched_path_finder_is_asked_as_it_is_now(project: Path) -> None:
    # Red team round 7 (g01): a host that patches PathFinder.find_spec (to search a plugin directory
    # too) without touching sys.meta_path; the hook kept asking the method it saved. Without the
    # hook the module is found; with it, it must be found too, and a contracted one checked.
    files = {"extra/extra_mod.py": "VALUE = 1\n", "warm_mod.py": ""}
    write_files(project / "off", files)
    write_files(project / "enforce", files)
    results = off_and_on(
        project,
        """\
        import importlib.machinery, json, os, sys

        EXTRA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "extra")
        original = importlib.machinery.PathFinder.find_spec.__func__

        def find_spec(cls, name, path=None, target=None):
            return original(cls, name, path, target) or original(cls, name, [EXTRA], target)

        import warm_mod  # the hook has worked out the finders to ask

        importlib.machinery.PathFinder.find_spec = classmethod(find_spec)
        import extra_mod
        print("RESULT " + json.dumps(extra_mod.VALUE))
        """,
    )
    assert results == [1, 1]


def test_a_registered_contract_applies_to_the_name_imported_whatever_the_specs_name(project: Path) -> None:
    # Red team round 7 (g09): a finder that answers "plug" with a spec named otherwise ("plug_impl")
    # got past a contract registered for "plug".
    write_files(project, {"impl/plug.py": "print('PLUG RAN')\n", "refuse.yml": "runtime:\n  os: [windows]\n"})
    result = run_script(
        write_files(
            project,
            {
                "main.py": textwrap.dedent(
                    f"""\
            import importlib.util, sys
            import importspy_hook

            importspy_hook.register("plug", importspy_hook.load_contract({str(project / "refuse.yml")!r}))

            class Alias:
                def find_spec(self, name, path=None, target=None):
                    if name == "plug":
                        file = {str(project / "impl/plug.py")!r}
                        return importlib.util.spec_from_file_location("plug_impl", file)

            sys.meta_path.append(Alias())
            try:
                import plug
            except ValueError as exc:
                print("REFUSED", type(exc).__name__)
            """
                )
            },
        )
        / "main.py",
        cwd=project,
    )
    assert "PLUG RAN" not in result.stdout, result
    assert "REFUSED ContractViolation" in result.stdout, result


SEEN = {
    # Red team round 10 (j04): a tracer that wraps the spec's loader with a legacy load_module only.
    "wraps the loader": "spec.loader = type('Legacy', (), {'load_module': lambda self, n, real=spec.loader: "
    "real.load_module(n)})()",
    # Red team round 7 (g04): a tracer that logs each spec's origin and parent.
    "reads": "log.append((spec.name, spec.origin, spec.parent, spec.has_location))",
    # Red team round 8 (h03): a tracer that type-checks and tags each spec it passes on.
    "tags": "assert isinstance(spec, importlib.machinery.ModuleSpec)\n    spec.traced_by = 'tracer'",
}


@pytest.mark.parametrize("tracer", list(SEEN))
def test_a_tracer_that_looks_at_every_spec_is_not_broken_by_a_missing_module(
    project: Path, tracer: str
) -> None:
    # The hook's stand-in for a module nobody has must pass for a spec without a location.
    body = f"""\
import importlib.machinery, json

log = []


def seen(spec):
    {SEEN[tracer]}


sys.meta_path[:] = [Wrap(finder) for finder in sys.meta_path]
try:
    import nosuch_traced
except ImportError as exc:
    outcome = [type(exc).__name__, exc.name]
print("RESULT " + json.dumps(outcome))
"""
    expected = ["ModuleNotFoundError", "nosuch_traced"]
    assert off_and_on(project, TRACER + body) == [expected, expected]


# --------------------------------------------------------------------------------------------------
# Red team round 8
# --------------------------------------------------------------------------------------------------

INSTALLER = (
    TRACER
    + """\
import importlib, json, os, shutil

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGINS = os.path.join(HERE, "plugins")
os.makedirs(PLUGINS, exist_ok=True)
sys.path.insert(0, PLUGINS)


class Installer:  # installs a missing plugin from the store, then imports it to hand back its spec
    def find_spec(self, name, path=None, target=None):
        if name != "plug" or os.path.exists(os.path.join(PLUGINS, "plug.py")):
            return None
        for file in ("plug.py", "plug.contract.yml"):
            shutil.copy(os.path.join(HERE, "store", file), PLUGINS)
        importlib.invalidate_caches()
        return importlib.import_module(name).__spec__


sys.meta_path[:] = [Wrap(finder) for finder in sys.meta_path]
sys.meta_path.append(Installer())
"""
    + OUTCOME.format(attempt="import plug")
)


def test_a_plugin_a_finder_installs_and_imports_under_a_tracer_is_checked(project: Path) -> None:
    # Red team round 8 (h02): under a tracer that wraps every finder, a finder that installs the
    # plugin on a miss and imports it (the same name, on the same thread) was answered None by the
    # hook, taken for the tracer calling it back, and the wrapped PathFinder's spec ran unchecked.
    assert observe(project, "enforce", INSTALLER, REFUSING) == ("ContractViolation", 0)


# --------------------------------------------------------------------------------------------------
# Red team round 9
# --------------------------------------------------------------------------------------------------

WRITER = """\
import json, os

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGINS = os.path.join(HERE, "plugins")
os.makedirs(PLUGINS, exist_ok=True)
sys.path.insert(0, PLUGINS)


class Writer:  # writes the plugin and its contract on a miss, for the next search to find
    def find_spec(self, name, path=None, target=None):
        if name == "plug" and not os.path.exists(os.path.join(PLUGINS, "plug.py")):
            with open(os.path.join(PLUGINS, "plug.contract.yml"), "w") as file:
                file.write("runtime:\\n  os: [windows]\\n")
            with open(os.path.join(PLUGINS, "plug.py"), "w") as file:
                file.write("print('PLUG RAN')\\n")


sys.meta_path.append(Writer())
"""

SWALLOWING = """
class Swallowing(Wrap):  # a tracer that looks at each spec's loader, and gives up on any error
    def find_spec(self, name, path=None, target=None):
        try:
            spec = super().find_spec(name, path, target)
            if spec is not None:
                type(spec.loader)
            return spec
        except Exception:
            return None
"""

THREADED = """
import threading


class Threaded(Wrap):  # a tracer that asks each finder on a thread of its own
    def find_spec(self, name, path=None, target=None):
        box = {}
        worker = threading.Thread(target=lambda: box.update(spec=Wrap.find_spec(self, name, path, target)))
        worker.start()
        worker.join(20)
        return box.get("spec")
"""


@pytest.mark.parametrize("tracer", ["Swallowing", "Threaded"])
def test_a_tracer_that_swallows_errors_or_asks_on_threads_gets_one_search(project: Path, tracer: str) -> None:
    # Red team round 9 (i01, i03, i04): a tracer that reads each spec's loader and answers None on
    # any error threw the stand-in away, and the import system asked the finders again; a tracer
    # that asks each finder on a thread of its own made the hook ask itself, thread after thread.
    body = f"""
sys.meta_path[:] = [{tracer}(finder) for finder in sys.meta_path]
outcomes = []
for _ in range(2):
    try:
        import plug
    except Exception as exc:
        outcomes.append(type(exc).__name__)
    else:
        outcomes.append("ran")
print("RESULT " + json.dumps(outcomes), flush=True)
"""
    code = TRACER + WRITER + SWALLOWING + THREADED + body
    off, on = off_and_on(project, code)
    assert off == ["ModuleNotFoundError", "ran"]
    # On a worker thread the hook cannot tell the import system from a probe: it searches again,
    # and what the writer made available is checked there.
    first = ("ModuleNotFoundError", "ContractViolation") if tracer == "Threaded" else ("ModuleNotFoundError",)
    assert isinstance(on, list) and on[0] in first and on[1:] == ["ContractViolation"]
