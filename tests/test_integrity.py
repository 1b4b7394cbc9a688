"""Guard integrity: a contracted module never runs unless a completed check admitted it (§4, §7).

Each test is something a user (or a careless library) can do, written as the attack it is: a refused
module must not run, whatever path reaches it. Every test runs its subject in a child interpreter
(``run`` from test_interception: the hook installed in enforce mode, the child's ``RESULT`` line and
the modules whose code ran, recorded in ``$RAN_LOG``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import child_env, run_python, write_files
from test_interception import ADMIT, RAN, REFUSE, run

# --------------------------------------------------------------------------------------------------
# 1. Listings are never older than the import system's
# --------------------------------------------------------------------------------------------------


def test_a_plugin_written_while_the_host_runs_is_checked(project: Path) -> None:
    write_files(project, {"plugins/__init__.py": "", "plugins/a.py": RAN})
    got, result, executed = run(
        project,
        """
        import time
        first = attempt("plugins.a")
        # A plugin installer writes b and its contract while the host runs; the directory's mtime
        # changes, so the import system sees b without invalidate_caches().
        time.sleep(0.05)
        folder = os.path.join(HERE, "plugins")
        with open(os.path.join(folder, "b.py"), "w") as handle:
            handle.write(open(os.path.join(folder, "a.py")).read())
        with open(os.path.join(folder, "b.contract.yml"), "w") as handle:
            handle.write(os.environ["REFUSE"])
        emit(a=first, b=attempt("plugins.b"))
        """,
        env={"REFUSE": REFUSE},
    )
    assert got["a"]["outcome"] == "admitted", result
    assert got["b"]["outcome"] == "refused", result
    assert executed == ["plugins.a"]


def test_a_sidecar_added_beside_a_known_module_after_invalidate_caches_is_seen(project: Path) -> None:
    # The package directory is itself on sys.path, so a FileFinder for it exists and is stale (it is
    # never asked for the package's __init__); invalidate_caches() must still make the sidecar count.
    write_files(project, {"pkg/__init__.py": RAN, "pkg/mod.py": "", "other.py": ""})
    got, result, executed = run(
        project,
        """
        import importlib, sys
        sys.path.append(os.path.join(HERE, "pkg"))  # after HERE: never asked for "pkg" itself
        import mod  # the FileFinder of pkg/ lists it now, and keeps that listing
        with open(os.path.join(HERE, "pkg", "__init__.contract.yml"), "w") as handle:
            handle.write(os.environ["REFUSE"])
        importlib.invalidate_caches()
        emit(pkg=attempt("pkg"))
        """,
        env={"REFUSE": REFUSE},
    )
    assert got["pkg"]["outcome"] == "refused", result
    assert executed == []


# --------------------------------------------------------------------------------------------------
# 2. Every way of running the module passes the check
# --------------------------------------------------------------------------------------------------


def _run_module(project: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = child_env({"RAN_LOG": str(project / "ran.log")}, path=[str(project)])
    # The hook as the .pth line would install it, then ``python -m`` semantics through runpy.
    bootstrap = (
        "import sys, runpy, importspy_hook; importspy_hook.install(mode='enforce'); "
        "name = sys.argv[1]; sys.argv = sys.argv[1:]; runpy._run_module_as_main(name)"
    )
    return subprocess.run(
        [sys.executable, "-c", bootstrap, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("name", ["tool", "pkg.tool"])
def test_python_dash_m_runs_no_refused_module(project: Path, name: str) -> None:
    write_files(
        project,
        {"tool.py": RAN, "tool.contract.yml": REFUSE, "pkg/__init__.py": "", "pkg/tool.py": RAN},
    )
    (project / "pkg" / "tool.contract.yml").write_text(REFUSE, encoding="utf-8")
    result = _run_module(project, name, cwd=project)
    assert result.returncode != 0, result
    assert "ContractViolation" in result.stderr, result.stderr
    assert not (project / "ran.log").exists(), "the refused module ran"


def test_python_dash_m_runs_an_admitted_module(project: Path) -> None:
    write_files(project, {"tool.py": RAN, "tool.contract.yml": ADMIT})
    result = _run_module(project, "tool", cwd=project)
    assert result.returncode == 0, result
    assert (project / "ran.log").read_text().split() == ["__main__"]


def test_runpy_run_module_runs_no_refused_module(project: Path) -> None:
    write_files(project, {"tool.py": RAN, "tool.contract.yml": REFUSE})
    got, result, executed = run(
        project,
        """
        import runpy
        try:
            runpy.run_module("tool")
            outcome = "ran"
        except ValueError as exc:
            outcome = type(exc).__name__
        emit(outcome=outcome)
        """,
    )
    assert got["outcome"] == "ContractViolation", result
    assert executed == []


def test_exec_module_after_a_refused_module_from_spec_checks_again(project: Path) -> None:
    write_files(project, {"plugin.py": RAN, "plugin.contract.yml": REFUSE})
    got, result, executed = run(
        project,
        """
        import importlib.util
        spec = importlib.util.find_spec("plugin")
        outcomes = []
        try:
            importlib.util.module_from_spec(spec)
        except ValueError as exc:
            outcomes.append(type(exc).__name__)
        module = type(sys)("plugin")
        module.__spec__ = spec
        for attempt_number in range(2):
            try:
                spec.loader.exec_module(module)
                outcomes.append("ran")
            except ValueError as exc:
                outcomes.append(type(exc).__name__)
        try:
            spec.loader.get_code("plugin")
            outcomes.append("code")
        except ValueError as exc:
            outcomes.append(type(exc).__name__)
        emit(outcomes=outcomes)
        """,
    )
    assert got["outcomes"] == ["ContractViolation"] * 4, result
    assert executed == []


LEGACY_FINDER = """
import importlib.abc, importlib.machinery, sys

class LegacyLoader:
    # Only the legacy protocol: load_module.
    def __init__(self, path):
        self.path = path

    def load_module(self, fullname):
        module = type(sys)(fullname)
        module.__file__ = self.path
        module.__loader__ = self
        sys.modules[fullname] = module
        try:
            exec(compile(open(self.path).read(), self.path, "exec"), module.__dict__)
        except BaseException:
            del sys.modules[fullname]
            raise
        return module

class LegacyFinder:
    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith("legacy_"):
            return None
        file = os.path.join(HERE, "lib", fullname + ".py")
        return importlib.machinery.ModuleSpec(fullname, LegacyLoader(file), origin=file)

sys.meta_path.append(LegacyFinder())
"""


def test_a_loader_with_only_load_module_loads_and_refuses(project: Path) -> None:
    write_files(
        project,
        {
            "lib/legacy_ok.py": RAN + "VALUE = 5\n",
            "lib/legacy_ok.contract.yml": ADMIT,
            "lib/legacy_no.py": RAN,
            "lib/legacy_no.contract.yml": REFUSE,
        },
    )
    got, result, executed = run(
        project,
        LEGACY_FINDER
        + """
import warnings
warnings.simplefilter("ignore", ImportWarning)
ok = attempt("legacy_ok")
ok["value"] = getattr(sys.modules.get("legacy_ok"), "VALUE", None)
emit(ok=ok, no=attempt("legacy_no"))
""",
    )
    assert got["ok"]["outcome"] == "admitted" and got["ok"]["value"] == 5, result
    assert got["no"]["outcome"] == "refused", result
    assert executed == ["legacy_ok"]


def test_a_custom_finder_spec_without_has_location_is_looked_up(project: Path) -> None:
    # §4: a spec whose origin is the absolute path of an existing file, from a plugin registry's
    # finder that did not set has_location, still has its sidecar read.
    write_files(project, {"lib/registry_plugin.py": RAN, "lib/registry_plugin.contract.yml": REFUSE})
    got, result, executed = run(
        project,
        """
        import importlib.machinery

        class Registry:
            def find_spec(self, fullname, path=None, target=None):
                if fullname != "registry_plugin":
                    return None
                file = os.path.join(HERE, "lib", fullname + ".py")
                loader = importlib.machinery.SourceFileLoader(fullname, file)
                return importlib.machinery.ModuleSpec(fullname, loader, origin=file)

        sys.meta_path.append(Registry())
        emit(plugin=attempt("registry_plugin"))
        """,
    )
    assert got["plugin"]["outcome"] == "refused", result
    assert executed == []


def test_a_registry_spec_with_a_bare_relative_origin_and_has_location_is_looked_up(project: Path) -> None:
    # Red team round 3: a hand-built spec claiming has_location with origin "plug.py" (the loader
    # reads it from the working directory) had its sidecar probed at "/plug.contract.yml".
    write_files(project, {"store/relplug.py": RAN, "store/relplug.contract.yml": REFUSE})
    got, result, executed = run(
        project,
        """
        import importlib.machinery

        class Registry:
            def find_spec(self, fullname, path=None, target=None):
                if fullname != "relplug":
                    return None
                loader = importlib.machinery.SourceFileLoader(fullname, "relplug.py")
                spec = importlib.machinery.ModuleSpec(fullname, loader, origin="relplug.py")
                spec.has_location = True
                return spec

        os.chdir(os.path.join(HERE, "store"))
        sys.path[:] = [entry for entry in sys.path if entry not in ("", HERE)]  # only the registry has it
        sys.meta_path.append(Registry())
        emit(plugin=attempt("relplug"))
        """,
    )
    assert got["plugin"]["outcome"] == "refused", result
    assert executed == []


# A finder after the hook that the application replaces or changes: the hook must ask the finders
# that are on sys.meta_path now, as the import system will right after it.
STORE_FINDER = """
import dataclasses, importlib.util

@dataclasses.dataclass
class StoreFinder:
    root: str
    modules: dict = dataclasses.field(default_factory=dict, compare=False)  # not part of ==

    def find_spec(self, name, path=None, target=None):
        if name in self.modules:
            return importlib.util.spec_from_file_location(name, self.modules[name])
        return None
"""


def test_a_finder_replaced_by_one_that_compares_equal_is_asked(project: Path) -> None:
    write_files(project, {"store/storeplug.py": RAN, "store/storeplug.contract.yml": REFUSE, "first.py": ""})
    got, result, executed = run(
        project,
        STORE_FINDER
        + """
sys.meta_path.append(StoreFinder("main"))
import first  # the hook works out the finders after it
sys.meta_path[-1] = StoreFinder("main", {"storeplug": os.path.join(HERE, "store", "storeplug.py")})
emit(plugin=attempt("storeplug"))
""",
    )
    assert got["plugin"]["outcome"] == "refused", result
    assert executed == []


def test_a_finder_whose_class_is_patched_later_is_asked_the_new_way(project: Path) -> None:
    write_files(project, {"store/patchplug.py": RAN, "store/patchplug.contract.yml": REFUSE, "first.py": ""})
    got, result, executed = run(
        project,
        STORE_FINDER
        + """
sys.meta_path.append(StoreFinder("main"))
import first
def find_spec(self, name, path=None, target=None):  # the store learns of a new plugin
    if name == "patchplug":
        return importlib.util.spec_from_file_location(name, os.path.join(HERE, "store", "patchplug.py"))
    return None
StoreFinder.find_spec = find_spec
emit(plugin=attempt("patchplug"))
""",
    )
    assert got["plugin"]["outcome"] == "refused", result
    assert executed == []


def test_a_finder_whose_find_spec_is_made_anew_on_each_access_breaks_no_import(project: Path) -> None:
    # The check of "are these still the finders, asked the way they answer now?" must not loop
    # when a finder's find_spec is a fresh object on every access (a property, a __getattr__).
    write_files(project, {"present.py": "VALUE = 1\n"})
    got, result, _ = run(
        project,
        """
        class Fresh:
            @property
            def find_spec(self):
                return lambda name, path=None, target=None: None

        sys.meta_path.append(Fresh())
        try:
            import nosuch_fresh_module
            missing = "imported"
        except ModuleNotFoundError as exc:
            missing = str(exc)
        emit(present=attempt("present"), missing=missing)
        """,
    )
    assert got["present"]["outcome"] == "admitted", result
    assert got["missing"] == "No module named 'nosuch_fresh_module'", result


def test_a_finder_with_an_equality_that_raises_breaks_no_import(project: Path) -> None:
    # Promise 2: comparing finders with == ran their __eq__, and a sloppy one that assumes the
    # other side's type made every later import fail with the hook on only.
    write_files(project, {"free.py": "VALUE = 1\n", "first.py": ""})
    got, result, _ = run(
        project,
        """
        class RootFinder:
            def __init__(self, root):
                self.root = root
            def find_spec(self, name, path=None, target=None):
                return None
            def __eq__(self, other):
                return self.root == other.root  # AttributeError for any other finder
            __hash__ = object.__hash__

        class OtherFinder:
            def find_spec(self, name, path=None, target=None):
                return None

        sys.meta_path.append(OtherFinder())
        import first
        sys.meta_path[-1] = RootFinder("a")
        emit(free=attempt("free"))
        """,
    )
    assert got["free"]["outcome"] == "admitted", result


def test_an_application_package_named_like_a_standard_module_is_the_caller(project: Path) -> None:
    # Red team round 3: the caller walk passed over every frame whose top-level name is a standard
    # library name, so a Django-style app "calendar" importing a plugin was never the importer, and a
    # deny list naming its tests ("*.tests") was judged against the script above it instead.
    deny = 'importers:\n  deny: ["*.tests"]\n'
    write_files(
        project,
        {
            "stdplug.py": RAN,
            "stdplug.contract.yml": deny,
            "calendar/__init__.py": "",
            "calendar/tests.py": "def use():\n    import stdplug\n",
            "agenda/__init__.py": "",
            "agenda/tests.py": "def use():\n    import stdplug\n",
        },
    )
    got, result, executed = run(
        project,
        """
        import importlib
        outcomes = {}
        for package in ("calendar", "agenda"):
            tests = importlib.import_module(package + ".tests")
            sys.modules.pop("stdplug", None)
            try:
                tests.use()
                outcomes[package] = "admitted"
            except ValueError as exc:
                outcomes[package] = type(exc).__name__
        emit(**outcomes)
        """,
    )
    assert got == {"calendar": "ContractViolation", "agenda": "ContractViolation"}, result
    assert executed == []


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges on Windows")
def test_the_standard_library_reached_through_a_symlink_is_not_the_caller(project: Path) -> None:
    # Red team round 4 (d04): a frame ran the standard library's own file when its path began with
    # the library's directory as spelled by os.__file__; reached through another spelling (a
    # symlinked or realpath'ed sys.path entry), pydoc's frame was taken for application code and
    # became the caller, and a deny rule on the real importer (the tests module) was bypassed.
    library = os.path.dirname(os.__file__)
    os.symlink(library, project / "library_alias")
    write_files(
        project,
        {
            "stdplug.py": RAN,
            "stdplug.contract.yml": 'importers:\n  deny: ["*.tests"]\n',
            "agenda/__init__.py": "",
            "agenda/tests.py": "def use():\n    import pydoc\n    return pydoc.locate('stdplug')\n",
        },
    )
    got, result, executed = run(
        project,
        f"""
        sys.path.insert(0, {str(project / "library_alias")!r})
        import pydoc  # loaded through the other spelling
        from agenda import tests
        try:
            tests.use()
            outcome = "admitted"
        except pydoc.ErrorDuringImport as exc:
            outcome = type(exc.value).__name__
        emit(pydoc=pydoc.__file__.startswith({str(project)!r}), outcome=outcome)
        """,
    )
    assert got == {"pydoc": True, "outcome": "ContractViolation"}, result
    assert executed == []


EXTEND = "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n"


def test_a_registered_contract_is_checked_across_portions_of_a_pkgutil_namespace(project: Path) -> None:
    # Red team round 3: with a contract registered from Python, the internal-import rule looked at
    # the importer alone; in a pkgutil-style namespace every portion has its own __init__.py, so
    # acme.host (one distribution) importing acme.plugins.evil (another) counted as internal.
    write_files(
        project,
        {
            "host_dist/acme/__init__.py": EXTEND,
            "host_dist/acme/host.py": "def load():\n    import acme.plugins.evil\n",
            "plugin_dist/acme/__init__.py": EXTEND,
            "plugin_dist/acme/plugins/__init__.py": "",
            "plugin_dist/acme/plugins/evil.py": RAN,
            "regular/shop/__init__.py": "",
            "regular/shop/front.py": "def load():\n    import shop.back\n",
            "regular/shop/back.py": RAN,
        },
    )
    got, result, executed = run(
        project,
        """
        import importspy_hook
        from importspy_hook._contract_model import Contract, Runtime

        for folder in ("host_dist", "plugin_dist", "regular"):
            sys.path.insert(0, os.path.join(HERE, folder))
        refuse = Contract(runtime=Runtime(os=["windows"]))
        importspy_hook.register("acme.plugins.evil", refuse)
        importspy_hook.register("shop.back", refuse)
        import acme.host, shop.front

        outcomes = {}
        for name, module in (("namespace", acme.host), ("regular", shop.front)):
            try:
                module.load()
                outcomes[name] = "admitted"
            except ValueError as exc:
                outcomes[name] = type(exc).__name__
        emit(**outcomes)
        """,
    )
    # The regular package's own import stays internal (§4); the namespace's is checked.
    assert got == {"namespace": "ContractViolation", "regular": "admitted"}, result
    assert executed == ["shop.back"]


def test_a_registered_contract_does_not_replace_the_modules_own_sidecar(project: Path) -> None:
    # Red team round 3: a host's baseline contract registered for a plugin replaced the plugin's
    # own refusing sidecar. Both apply now; each one refuses on its own.
    write_files(
        project,
        {
            "own_refuses.py": RAN,
            "own_refuses.contract.yml": REFUSE,
            "own_admits.py": RAN,
            "own_admits.contract.yml": ADMIT,
        },
    )
    got, result, executed = run(
        project,
        """
        import importspy_hook
        from importspy_hook._contract_model import Contract, Runtime

        importspy_hook.register("own_refuses", Contract())  # admits anything
        importspy_hook.register("own_admits", Contract(runtime=Runtime(os=["windows"])))
        emit(own_refuses=attempt("own_refuses"), own_admits=attempt("own_admits"))
        """,
    )
    assert got["own_refuses"]["outcome"] == "refused", result
    assert got["own_admits"]["outcome"] == "refused", result
    assert executed == []


# --------------------------------------------------------------------------------------------------
# 3. Fail closed once a contract applies
# --------------------------------------------------------------------------------------------------


def test_a_host_that_narrows_sys_path_cannot_switch_the_check_off(project: Path) -> None:
    write_files(project, {"plugin.py": RAN, "plugin.contract.yml": REFUSE, "plain.py": "VALUE = 1\n"})
    got, result, executed = run(
        project,
        """
        sys.path[:] = [HERE]  # the hook's package and its dependencies are no longer on sys.path
        emit(plugin=attempt("plugin"), plain=attempt("plain"))
        """,
    )
    assert got["plugin"]["outcome"] == "refused", result
    assert got["plain"]["outcome"] == "admitted", result
    assert executed == []


def test_a_missing_dependency_refuses_with_a_contract_error(project: Path) -> None:
    # ``pip uninstall ruamel.yaml``: the contract cannot be parsed, so the import is refused, with
    # an error that names the contract and the cause; a module without a contract still imports.
    write_files(project, {"plugin.py": RAN, "plugin.contract.yml": ADMIT, "plain.py": "VALUE = 1\n"})
    got, result, executed = run(
        project,
        """
        for name in ("ruamel", "ruamel.yaml"):
            sys.modules[name] = None  # what an uninstalled package looks like to an import
        emit(plugin=attempt("plugin"), plain=attempt("plain"))
        """,
        env={"PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert got["plugin"]["outcome"] == "refused", result
    assert got["plugin"]["type"] == "ContractError", result
    assert "plugin.contract.yml" in got["plugin"]["message"] and "ruamel" in got["plugin"]["message"]
    assert got["plain"]["outcome"] == "admitted", result
    assert executed == []


# --------------------------------------------------------------------------------------------------
# 4. Immune to the code it judges: imports made by host code during a check are checked
# --------------------------------------------------------------------------------------------------


def test_an_import_made_by_the_hosts_log_handler_during_a_check_is_checked(project: Path) -> None:
    # The refusal of ``plugin`` is logged through the application's own logging (stdlib renderer);
    # the application's handler imports another contracted module while the check is running.
    write_files(
        project,
        {"plugin.py": RAN, "plugin.contract.yml": REFUSE, "evil.py": RAN, "evil.contract.yml": REFUSE},
    )
    got, result, executed = run(
        project,
        """
        import logging

        seen = {}

        class Handler(logging.Handler):
            def emit(self, record):
                if "evil" not in seen:
                    seen["evil"] = attempt("evil")

        logging.getLogger("importspy_hook").addHandler(Handler())
        emit(plugin=attempt("plugin"), evil=seen.get("evil"))
        """,
        env={"IMPORTSPY_HOOK_LOG": "stdlib"},
    )
    assert got["plugin"]["outcome"] == "refused", result
    assert got["evil"] is not None and got["evil"]["outcome"] == "refused", result
    assert executed == []


FORK_DURING_FIRST_IMPORT = """
import os, threading, time

def first_import():
    attempt("first")

children = []
worker = threading.Thread(target=first_import)
worker.start()
deadline = time.monotonic() + 1.0
while worker.is_alive() and time.monotonic() < deadline:
    pid = os.fork()
    if pid == 0:
        # The child: its own first contracted import must not hang on a lock the parent's worker held.
        outcome = attempt("second")["outcome"]
        os._exit(0 if outcome == "refused" else 3)
    children.append(pid)
    time.sleep(0.001)
worker.join()
codes = []
for pid in children:
    for _ in range(2400):  # 60 s: a loaded CI machine is slow, a hung child never ends
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            codes.append(os.waitstatus_to_exitcode(status))
            break
        time.sleep(0.025)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        codes.append("hung")
emit(children=len(children), codes=sorted(set(map(str, codes))))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")
def test_a_fork_during_the_first_contracted_import_leaves_no_hanging_child(project: Path) -> None:
    write_files(
        project,
        {"first.py": "", "first.contract.yml": ADMIT, "second.py": RAN, "second.contract.yml": REFUSE},
    )
    got, result, executed = run(
        project,
        FORK_DURING_FIRST_IMPORT,
        env={"PYTHONDONTWRITEBYTECODE": "1", "IMPORTSPY_HOOK_LOG": "off"},
        timeout=240,
    )
    assert got["children"] >= 1, result
    assert got["codes"] == ["0"], result
    assert executed == []


# --------------------------------------------------------------------------------------------------
# 5. Concurrency: first contracted imports from many threads, with logging on
# --------------------------------------------------------------------------------------------------


def test_many_threads_making_their_first_contracted_imports_each_get_their_verdict(project: Path) -> None:
    threads = 14
    files = {f"mod{i}.py": RAN for i in range(threads)}
    files.update({f"mod{i}.contract.yml": ADMIT if i % 2 == 0 else REFUSE for i in range(threads)})
    write_files(project, files)
    for _ in range(3):
        (project.parent / "ran.log").unlink(missing_ok=True)
        got, result, executed = run(
            project,
            f"""
            import threading
            N = {threads}
            barrier = threading.Barrier(N)
            results = [None] * N

            def work(i):
                barrier.wait(timeout=30)
                results[i] = attempt(f"mod{{i}}")["outcome"]

            workers = [threading.Thread(target=work, args=(i,)) for i in range(N)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(timeout=60)
            emit(results=results)
            """,
            env={"IMPORTSPY_HOOK_LOG": "json", "PYTHONDONTWRITEBYTECODE": "1"},
        )
        expected = ["admitted" if i % 2 == 0 else "refused" for i in range(threads)]
        assert got["results"] == expected, result
        assert "AttributeError" not in result.stderr, result.stderr
        assert sorted(executed) == sorted(f"mod{i}" for i in range(0, threads, 2))


# --------------------------------------------------------------------------------------------------
# 6. Namespace packages are not internal
# --------------------------------------------------------------------------------------------------


LOADER = "import importlib\ndef load():\n    return importlib.import_module({name!r})\n"


def test_a_namespace_package_shared_by_two_distributions_is_not_internal(project: Path) -> None:
    write_files(
        project,
        {
            "dist_host/acme/host.py": LOADER.format(name="acme.plugins.x"),
            "dist_plugins/acme/plugins/x.py": RAN,
            "dist_plugins/acme/plugins/x.contract.yml": REFUSE,
            "regular/pkg/__init__.py": "",
            "regular/pkg/a.py": LOADER.format(name="pkg.b"),
            "regular/pkg/b.py": RAN,
            "regular/pkg/b.contract.yml": REFUSE,
        },
    )
    got, result, executed = run(
        project,
        """
        for entry in ("dist_host", "dist_plugins", "regular"):
            sys.path.insert(0, os.path.join(HERE, entry))
        import acme.host, pkg.a

        def call(load):
            try:
                load()
                return "admitted"
            except ValueError:
                return "refused"

        emit(namespace=call(acme.host.load), regular=call(pkg.a.load))
        """,
    )
    assert got == {"namespace": "refused", "regular": "admitted"}, result
    assert executed == ["pkg.b"]


# --------------------------------------------------------------------------------------------------
# 7. A sidecar that cannot be read refuses
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dangling", "looping"])
@pytest.mark.parametrize("layout", ["package", "module"])
def test_an_unreadable_sidecar_refuses(project: Path, kind: str, layout: str) -> None:
    if layout == "package":
        write_files(project, {"target/__init__.py": RAN})
        link = project / "target" / "__init__.contract.yml"
    else:
        write_files(project, {"target.py": RAN})
        link = project / "target.contract.yml"
    if kind == "dangling":
        link.symlink_to(project / "nowhere.contract.yml")
    else:
        link.symlink_to(link)
    got, result, executed = run(project, 'emit(target=attempt("target"))')
    assert got["target"]["outcome"] == "refused", result
    assert got["target"]["type"] == "ContractError", result
    assert executed == []


def test_an_oversized_sidecar_in_a_zip_archive_refuses(project: Path) -> None:
    archive = project / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("zipped.py", "VALUE = 1\n")
        bundle.writestr("zipped.contract.yml", "# padding\n" * 200_000)
    got, result, _ = run(
        project,
        """
        sys.path.insert(0, os.path.join(HERE, "plugins.zip"))
        emit(zipped=attempt("zipped"))
        """,
    )
    assert got["zipped"]["outcome"] == "refused", result
    assert got["zipped"]["type"] == "ContractError", result


# --------------------------------------------------------------------------------------------------
# 9. An unknown mode enforces even without a stderr
# --------------------------------------------------------------------------------------------------


def test_an_unknown_mode_in_a_process_without_stderr_still_installs_the_finder() -> None:
    result = run_python(
        """
        import json, sys
        import _importspy_hook_startup as startup
        sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "_importspy_hook_finder", 0)]
        sys.stderr = None  # pythonw, a daemon
        startup._started = False
        startup.startup()
        finder = startup.active_finder()
        sys.stdout.write(json.dumps(None if finder is None else finder.mode))
        """,
        env={"IMPORTSPY_HOOK": "yes"},
    )
    assert json.loads(result.stdout) == "enforce", result


# --------------------------------------------------------------------------------------------------
# 3 (continued). A value the engine cannot evaluate is a malformed contract, named where it is written
# --------------------------------------------------------------------------------------------------


def test_an_environment_name_the_os_cannot_encode_refuses_with_its_line(project: Path) -> None:
    write_files(
        project,
        {"plugin.py": RAN, "plugin.contract.yml": 'runtime:\n  environment:\n    "BAD\\uD800": null\n'},
    )
    got, result, executed = run(project, 'emit(plugin=attempt("plugin"))')
    assert got["plugin"]["outcome"] == "refused", result
    assert got["plugin"]["type"] == "ContractError", result
    message = got["plugin"]["message"]
    assert "plugin.contract.yml:3" in message and "runtime.environment" in message, message
    assert "encodable" in message, message
    assert executed == []


def test_register_refuses_an_environment_name_the_os_cannot_encode() -> None:
    from importspy_hook import ContractError, register
    from importspy_hook._contract_model import Contract, EnvVariable, Runtime

    with pytest.raises(ContractError, match="encodable"):
        register("never_imported", Contract(runtime=Runtime(environment=(EnvVariable("BAD\ud800"),))))


# --------------------------------------------------------------------------------------------------
# Found by the red-team review: more finders and archives
# --------------------------------------------------------------------------------------------------


@pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="3.12 no longer lets find_module-only finders serve imports"
)
def test_a_legacy_find_module_finder_serves_no_refused_module(project: Path) -> None:
    write_files(project, {"lib/old_plugin.py": RAN, "lib/old_plugin.contract.yml": REFUSE})
    got, result, executed = run(
        project,
        """
        import importlib.machinery, warnings
        warnings.simplefilter("ignore", ImportWarning)

        class OldFinder:  # find_module only, appended after the hook
            def find_module(self, name, path=None):
                if name == "old_plugin":
                    return importlib.machinery.SourceFileLoader(name, os.path.join(HERE, "lib", name + ".py"))

        sys.meta_path.append(OldFinder())
        emit(plugin=attempt("old_plugin"))
        """,
    )
    assert got["plugin"]["outcome"] == "refused", result
    assert executed == []


@pytest.mark.parametrize("origin", ["relative", "none"])
def test_a_registry_spec_with_a_relative_or_no_origin_is_looked_up(project: Path, origin: str) -> None:
    write_files(project, {"lib/reg_plugin.py": RAN, "lib/reg_plugin.contract.yml": REFUSE})
    got, result, executed = run(
        project,
        """
        import importlib.machinery
        os.chdir(HERE)

        class Registry:
            def find_spec(self, fullname, path=None, target=None):
                if fullname != "reg_plugin":
                    return None
                file = os.path.join("lib", fullname + ".py")  # relative to the working directory
                loader = importlib.machinery.SourceFileLoader(fullname, file)
                if os.environ["ORIGIN"] == "none":
                    return importlib.machinery.ModuleSpec(fullname, loader)
                return importlib.machinery.ModuleSpec(fullname, loader, origin=file)

        sys.meta_path.append(Registry())
        emit(plugin=attempt("reg_plugin"))
        """,
        env={"ORIGIN": origin},
    )
    assert got["plugin"]["outcome"] == "refused", result
    assert executed == []


def _damage_compressed_bytes(data: bytearray) -> None:
    start = data.index(b"zipplug.contract.yml") + len("zipplug.contract.yml")  # its local header's name
    data[start : start + 20] = bytes(20)  # damage the compressed bytes of the sidecar only


def _damage_size_past_the_end(data: bytearray) -> None:
    # Red team k06: the sidecar's entry says it runs past the end of the archive. zipimport then
    # raises OSError ("can't read data"), which is not its word for "no such member".
    central = data.index(b"PK\x01\x02")  # the central directory's first entry
    while True:
        length = int.from_bytes(data[central + 28 : central + 30], "little")
        if bytes(data[central + 46 : central + 46 + length]) == b"zipplug.contract.yml":
            data[central + 20 : central + 24] = (10_000).to_bytes(4, "little")  # compressed size
            return
        central = data.index(b"PK\x01\x02", central + 4)


@pytest.mark.parametrize(
    ("compression", "damage"),
    [(zipfile.ZIP_DEFLATED, _damage_compressed_bytes), (zipfile.ZIP_STORED, _damage_size_past_the_end)],
    ids=["compressed-bytes", "size-past-the-end"],
)
def test_a_damaged_sidecar_in_a_zip_archive_refuses(project: Path, compression: int, damage: Any) -> None:
    archive = project / "bundle.zip"
    with zipfile.ZipFile(archive, "w", compression=compression) as bundle:
        bundle.writestr("zipplug.py", RAN)
        bundle.writestr("zipplug.contract.yml", ADMIT * 50)
    data = bytearray(archive.read_bytes())
    damage(data)
    archive.write_bytes(bytes(data))
    got, result, executed = run(
        project,
        """
        sys.path.insert(0, os.path.join(HERE, "bundle.zip"))
        emit(plugin=attempt("zipplug"))
        """,
    )
    assert got["plugin"]["outcome"] == "refused", result
    assert got["plugin"]["type"] == "ContractError", result
    assert executed == []


@pytest.mark.parametrize("entry", ["bundle.zip", "./bundle.zip", "sub/../bundle.zip"])
def test_a_zip_archive_named_by_a_relative_path_is_checked(project: Path, entry: str) -> None:
    # Red team k09/k11/k13: a host that appends "plugins.zip" to sys.path. zipimport keeps the path
    # as written and answers only for members asked for under that same spelling.
    (project / "sub").mkdir()
    with zipfile.ZipFile(project / "bundle.zip", "w") as bundle:
        bundle.writestr("zip_no.py", RAN)
        bundle.writestr("zip_no.contract.yml", REFUSE)
        bundle.writestr("zpkg/__init__.py", RAN)
        bundle.writestr("zpkg/inner_no.py", RAN)
        bundle.writestr("zpkg/inner_no.contract.yml", REFUSE)
    got, result, executed = run(
        project,
        f"""
        os.chdir(HERE)
        sys.path.insert(0, {entry!r})
        emit(no=attempt("zip_no"), inner=attempt("zpkg.inner_no"))
        """,
    )
    assert got["no"]["outcome"] == "refused", result
    assert got["inner"]["outcome"] == "refused", result
    assert executed == ["zpkg"]


@pytest.mark.parametrize("blocker", ["path_hooks", "allow_list"])
def test_a_zip_plugin_is_checked_when_the_host_narrows_what_can_be_imported(
    project: Path, blocker: str
) -> None:
    # Red team k04/k05: a host that only lets zip archives (sys.path_hooks) or a list of names (a
    # finder in front of PathFinder) be imported. The hook's own modules may then not load, which
    # must never read as "this archive has no sidecar".
    with zipfile.ZipFile(project / "bundle.zip", "w") as bundle:
        bundle.writestr("zip_no.py", RAN)
        bundle.writestr("zip_no.contract.yml", REFUSE)
    got, result, executed = run(
        project,
        f"""
        import zipimport
        import _importspy_hook_startup as startup

        startup._started = False
        startup.startup()  # as at interpreter start: the package's rare paths are not loaded yet
        lazy = "importspy_hook._finder" in sys.modules
        sys.path.insert(0, os.path.join(HERE, "bundle.zip"))
        if {blocker!r} == "path_hooks":
            sys.path_hooks[:] = [zipimport.zipimporter]
            sys.path_importer_cache.clear()
        else:
            class AllowList:
                def find_spec(self, name, path=None, target=None):
                    if name.partition(".")[0] in sys.stdlib_module_names or name == "zip_no":
                        return None
                    raise ImportError(f"import of {{name}} not allowed", name=name)

            sys.meta_path.insert(1, AllowList())
        emit(no=attempt("zip_no"), lazy=lazy)
        """,
        mode=None,
        env={"IMPORTSPY_HOOK": "enforce"},
    )
    assert got["lazy"] is False, result
    assert got["no"]["outcome"] == "refused", result
    assert executed == []


@pytest.mark.parametrize("denied", ["zipimport", "_imp"])
def test_a_host_filtering_builtins_import_cannot_hide_a_zip_sidecar(project: Path, denied: str) -> None:
    # Red team m03: a plugin host's import policy wraps builtins.__import__ and denies a few modules.
    # The hook's own modules are bound once at start-up; an import statement in the finder would go
    # through the host's wrapper, and its ImportError used to read as "no contract known".
    with zipfile.ZipFile(project / "bundle.zip", "w") as bundle:
        bundle.writestr("zip_no.py", RAN)
        bundle.writestr("zip_no.contract.yml", REFUSE)
    source = project / "zip_pyc.py"
    source.write_text(RAN, encoding="utf-8")
    compiled = project / "zip_pyc.pyc"
    import py_compile

    py_compile.compile(str(source), cfile=str(compiled))
    with zipfile.ZipFile(project / "bundle.zip", "a") as bundle:
        bundle.write(compiled, "zip_pyc.pyc")  # a sourceless module: its stem needs the suffixes
        bundle.writestr("zip_pyc.contract.yml", REFUSE)
    source.unlink()
    compiled.unlink()
    got, result, executed = run(
        project,
        f"""
        import builtins

        sys.path.insert(0, os.path.join(HERE, "bundle.zip"))
        real_import = builtins.__import__

        def guarded(name, globals=None, locals=None, fromlist=(), level=0):
            if level == 0 and name.partition(".")[0] == {denied!r}:
                raise ImportError(f"import of {{name}} not allowed by host policy")
            return real_import(name, globals, locals, fromlist, level)

        builtins.__import__ = guarded
        emit(source=attempt("zip_no"), sourceless=attempt("zip_pyc"))
        """,
    )
    assert got["source"]["outcome"] == "refused", result
    assert got["sourceless"]["outcome"] == "refused", result
    assert executed == []


NETWORK_STORE = """
import errno, importlib.abc, importlib.util, urllib.error

FILES = {"store_plug.py": os.environ["RAN_SOURCE"], "store_plug.contract.yml": os.environ["REFUSE"]}
FAILURE = os.environ["FAILURE"]
if FAILURE == "notdir":
    del FILES["store_plug.contract.yml"]  # and the store answers a missing name with ENOTDIR


class StoreLoader(importlib.abc.FileLoader, importlib.abc.SourceLoader):
    def get_data(self, path):
        name = path.rpartition("/")[2]
        if name in FILES and name.endswith(".contract.yml"):
            if FAILURE == "permission":
                raise PermissionError(13, "Permission denied", path)
            if FAILURE == "timeout":
                raise TimeoutError("read timed out")
            if FAILURE == "url":
                raise urllib.error.URLError("temporary failure in name resolution")
            if FAILURE == "io":
                raise OSError(errno.EIO, "Input/output error", path)  # a plain OSError, with its number
        if name not in FILES:
            if FAILURE == "notdir":
                raise NotADirectoryError(errno.ENOTDIR, "Not a directory", path)
            raise OSError(f"no such object: {name}")  # the loader protocol's word for "not found"
        return FILES[name].encode()


class StoreFinder:
    def __init__(self, entry):
        if not entry.startswith("store://"):
            raise ImportError(entry)
        self.entry = entry

    def find_spec(self, fullname, target=None):
        if fullname + ".py" not in FILES:
            return None
        origin = self.entry + "/" + fullname + ".py"
        return importlib.util.spec_from_file_location(fullname, origin, loader=StoreLoader(fullname, origin))

    def invalidate_caches(self):
        pass


sys.path_hooks.append(StoreFinder)
sys.path.append("store://plugins")
"""


@pytest.mark.parametrize("failure", ["permission", "timeout", "url", "io", "none"])
def test_a_store_that_cannot_say_whether_a_sidecar_exists_refuses(project: Path, failure: str) -> None:
    # Red team m04: a plugin store (a path hook for a network or database store) whose get_data
    # fails with a permission, timeout or connection error for a sidecar that is there. Only its
    # plain OSError (the loader protocol's "not found") means there is none.
    got, result, executed = run(
        project,
        NETWORK_STORE + 'emit(plugin=attempt("store_plug"))\n',
        env={"FAILURE": failure, "REFUSE": REFUSE, "RAN_SOURCE": RAN},
    )
    assert got["plugin"]["outcome"] == "refused", result
    assert got["plugin"]["type"] == ("ContractViolation" if failure == "none" else "ContractError"), result
    assert executed == []


def test_a_store_that_answers_a_missing_sidecar_with_not_a_directory_admits(project: Path) -> None:
    # Red team n09: NotADirectoryError (a bundle read through FileLoader.get_data) means "no such
    # file" too: a module without a contract from such a store is imported as without the hook.
    got, result, executed = run(
        project,
        NETWORK_STORE + 'emit(plugin=attempt("store_plug"))\n',
        env={"FAILURE": "notdir", "REFUSE": REFUSE, "RAN_SOURCE": RAN},
    )
    assert got["plugin"]["outcome"] == "admitted", result
    assert executed == ["store_plug"]


def test_a_dangling_sidecar_in_a_directory_that_cannot_be_listed_refuses(project: Path) -> None:
    # An execute-only directory (names can be asked for, not listed) served by a registry's finder;
    # root lists everything, so the listing is refused in the child by hand.
    write_files(project, {"locked/hidden.py": RAN})
    (project / "locked" / "hidden.contract.yml").symlink_to(project / "nowhere.yml")
    got, result, executed = run(
        project,
        """
        import importlib.util
        locked = os.path.join(HERE, "locked")
        real_listdir = os.listdir

        def listdir(path="."):
            if os.fspath(path) == locked:
                raise PermissionError(13, "Permission denied", path)
            return real_listdir(path)

        os.listdir = listdir

        class Registry:
            def find_spec(self, fullname, path=None, target=None):
                if fullname == "hidden":
                    return importlib.util.spec_from_file_location(fullname, os.path.join(locked, "hidden.py"))
                return None

        sys.meta_path.append(Registry())
        emit(plugin=attempt("hidden"))
        """,
    )
    assert got["plugin"]["outcome"] == "refused", result
    assert got["plugin"]["type"] == "ContractError", result
    assert executed == []


def test_a_contract_replaced_with_the_same_size_and_mtime_is_read_again(project: Path) -> None:
    # cp -p, rsync -t, tar: the new contract keeps the old one's size and mtime.
    admit, refuse = ADMIT, REFUSE
    width = max(len(admit), len(refuse)) + 8
    admit, refuse = (text + "#" + "x" * (width - len(text)) + "\n" for text in (admit, refuse))
    write_files(project, {"plug.py": RAN, "plug.contract.yml": admit})
    got, result, executed = run(
        project,
        """
        import importlib
        first = attempt("plug")
        contract = os.path.join(HERE, "plug.contract.yml")
        before = os.stat(contract)
        with open(contract, "w") as handle:
            handle.write(os.environ["REFUSE_SAME_SIZE"])
        os.utime(contract, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert os.stat(contract).st_size == before.st_size
        try:
            importlib.reload(sys.modules["plug"])
            second = "admitted"
        except ValueError:
            second = "refused"
        emit(first=first["outcome"], second=second)
        """,
        env={"REFUSE_SAME_SIZE": refuse},
    )
    assert got == {"first": "admitted", "second": "refused"}, result
    assert executed == ["plug"]


# --------------------------------------------------------------------------------------------------
# Found by the second red-team review
# --------------------------------------------------------------------------------------------------


def test_a_registry_spec_labelled_with_a_made_up_origin_is_checked_at_its_loaders_file(project: Path) -> None:
    write_files(project, {"lib/labelled.py": RAN, "lib/labelled.contract.yml": REFUSE})
    got, result, executed = run(
        project,
        """
        import importlib.machinery

        class Registry:
            def find_spec(self, fullname, path=None, target=None):
                if fullname != "labelled":
                    return None
                file = os.path.join(HERE, "lib", "labelled.py")
                loader = importlib.machinery.SourceFileLoader(fullname, file)
                return importlib.machinery.ModuleSpec(fullname, loader, origin="registry:labelled")

        sys.meta_path.append(Registry())
        emit(plugin=attempt("labelled"))
        """,
    )
    assert got["plugin"]["outcome"] == "refused", result
    assert executed == []


STORE = """
import importlib.abc, importlib.machinery

class Store(importlib.abc.Loader):
    # A plugin store with no directory on disk: modules and files come from a dict.
    def __init__(self, files, broken):
        self.files, self.broken = files, broken

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        exec(self.files[module.__name__ + ".py"], module.__dict__)

    def get_data(self, path):
        name = os.path.basename(path)
        if name in self.files:
            return self.broken(self.files[name])
        raise RuntimeError("store lookup failed for postgres://app:" + os.environ["STORE_SECRET"] + "@db/x")

class StoreFinder:
    def __init__(self, loader):
        self.loader = loader

    def find_spec(self, fullname, path=None, target=None):
        if fullname + ".py" in self.loader.files:
            origin = "/nonexistent-store/" + fullname + ".py"
            spec = importlib.machinery.ModuleSpec(fullname, self.loader, origin=origin)
            spec.has_location = True  # a path-like origin, served by get_data
            return spec
        return None
"""


def test_a_store_whose_lookups_fail_never_breaks_an_uncontracted_module_nor_prints_its_error(
    project: Path,
) -> None:
    got, result, _ = run(
        project,
        STORE
        + """
files = {"stored.py": "VALUE = 3\\n"}
sys.meta_path.append(StoreFinder(Store(files, bytes)))
outcome = attempt("stored")
outcome["value"] = getattr(sys.modules.get("stored"), "VALUE", None)
emit(stored=outcome)
""",
        env={"STORE_SECRET": "SENTINEL-store-pw-771"},
    )
    assert got["stored"]["outcome"] == "admitted" and got["stored"]["value"] == 3, result
    assert "SENTINEL-store-pw-771" not in result.stdout + result.stderr, result


def test_a_store_returning_a_sidecar_that_is_not_bytes_refuses(project: Path) -> None:
    got, result, executed = run(
        project,
        STORE
        + f"""
files = {{"stored_no.py": {RAN!r}, "stored_no.contract.yml": {REFUSE!r}}}
sys.meta_path.append(StoreFinder(Store(files, str)))
emit(plugin=attempt("stored_no"))
""",
        env={"STORE_SECRET": "x"},
    )
    assert got["plugin"]["outcome"] == "refused", result
    assert executed == []
