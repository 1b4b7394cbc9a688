"""The interception core on every kind of module (SPEC §4, §7; issue 3).

Each test writes real modules and sidecar contracts to disk and runs a child interpreter with the
hook installed (``run_script``), so that no ``sys.modules``/``sys.meta_path`` state leaks between
tests. The child script prints one ``RESULT {json}`` line describing what the user would observe
(import admitted or refused, what ran, what is left in ``sys.modules``); the test asserts on that.

Contracts used here only need the simplest rules of §6, so that these tests exercise the finder and
the loader wrapper rather than the contract engine: ``runtime.os`` listing this OS (admit) or only
another one (refuse), and ``runtime.environment`` for a verdict that changes while the process runs.

Callers (§5), threads and coexistence with other finders are in ``test_interception_callers.py``;
the compiled extension module is in ``test_interception_ext.py``.
"""

from __future__ import annotations

import json
import platform
import py_compile
import subprocess
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import Result, run_script, write_files

THIS_OS = platform.system().lower() or "linux"
OTHER_OS = "linux" if THIS_OS == "windows" else "windows"

ADMIT = f"runtime:\n  os: [{THIS_OS}]\n"
"""A contract every importer on this machine meets."""

REFUSE = f"runtime:\n  os: [{OTHER_OS}]\n"
"""A contract no importer on this machine meets."""


def needs_env(name: str, value: str = "yes") -> str:
    """A contract met only while environment variable ``name`` equals ``value``."""
    return f"runtime:\n  environment:\n    {name}: {value!r}\n"


# Body of every generated module: records that the module's code ran (and under which name) in the
# file named by $RAN_LOG, so a test can prove that a refused module never executed.
RAN = "import os as _os\nwith open(_os.environ['RAN_LOG'], 'a') as _f:\n    _f.write(__name__ + '\\n')\n"

# Prepended to every child script (at column 0, so the dedent of write_files leaves it intact).
PROBE = '''\
import importlib, json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))


def attempt(name):
    """Import ``name`` and describe what a user would observe."""
    try:
        module = importlib.import_module(name)
    except ValueError as exc:
        return {
            "outcome": "refused",
            "type": type(exc).__name__,
            "target": getattr(exc, "target", None),
            "caller": getattr(exc, "caller", None),
            "contract": getattr(exc, "contract", None),
            "in_sys_modules": name in sys.modules,
            "message": str(exc),
        }
    return {
        "outcome": "admitted",
        "loader": type(module.__loader__).__name__,
        "spec_loader": type(module.__spec__.loader).__name__,
    }


def emit(**results):
    print("RESULT " + json.dumps(results), flush=True)


'''


def script(body: str) -> str:
    """A child script: the probe helpers followed by ``body``."""
    return PROBE + textwrap.dedent(body)


def outcome(result: Result | subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The ``RESULT`` line the child printed; fails with the child's output when there is none."""
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            parsed: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return parsed
    raise AssertionError(f"child printed no RESULT line: {result!r}")


def ran(log: Path) -> list[str]:
    """Module names whose code ran, in order."""
    return log.read_text(encoding="utf-8").split() if log.exists() else []


def run(
    project: Path,
    body: str,
    *,
    mode: str | None = "enforce",
    env: dict[str, str | None] | None = None,
    timeout: float = 60,
) -> tuple[dict[str, Any], Result, list[str]]:
    """Write ``main.py`` with ``body``, run it with the hook in ``mode``; return RESULT, raw result, ran."""
    log = project.parent / "ran.log"
    log.unlink(missing_ok=True)
    write_files(project, {"main.py": script(body)})
    result = run_script(
        project / "main.py", mode=mode, cwd=project, env={"RAN_LOG": str(log), **(env or {})}, timeout=timeout
    )
    return outcome(result), result, ran(log)


# --------------------------------------------------------------------------------------------------
# Kinds of module
# --------------------------------------------------------------------------------------------------


def test_plain_module_refused_before_running_and_compliant_one_admitted(project: Path) -> None:
    write_files(
        project,
        {
            "plain_ok.py": RAN + "VALUE = 1\n",
            "plain_ok.contract.yml": ADMIT,
            "plain_no.py": RAN,
            "plain_no.contract.yml": REFUSE,
        },
    )
    got, result, executed = run(
        project,
        """
        emit(ok=attempt("plain_ok"), no=attempt("plain_no"))
        """,
    )
    assert got["ok"] == {
        "outcome": "admitted",
        "loader": "SourceFileLoader",
        "spec_loader": "SourceFileLoader",
    }
    assert got["no"]["outcome"] == "refused", result
    assert got["no"]["type"] == "ContractViolation"
    assert got["no"]["target"] == "plain_no"
    assert Path(got["no"]["contract"]) == project / "plain_no.contract.yml"
    assert got["no"]["in_sys_modules"] is False
    assert executed == ["plain_ok"]


def test_package_contract_in_init_guards_the_package_and_its_submodules(project: Path) -> None:
    write_files(
        project,
        {
            "pkg_ok/__init__.py": RAN,
            "pkg_ok/__init__.contract.yml": ADMIT,
            "pkg_ok/child.py": RAN,
            "pkg_no/__init__.py": RAN,
            "pkg_no/__init__.contract.yml": REFUSE,
            "pkg_no/child.py": RAN,
        },
    )
    got, result, executed = run(
        project,
        """
        emit(
            ok=attempt("pkg_ok"),
            ok_child=attempt("pkg_ok.child"),
            no=attempt("pkg_no"),
            no_child=attempt("pkg_no.child"),
            left=sorted(name for name in sys.modules if name.startswith("pkg_no")),
        )
        """,
    )
    assert got["ok"]["outcome"] == "admitted", result
    assert got["ok_child"]["outcome"] == "admitted"
    assert got["no"]["outcome"] == "refused"
    assert Path(got["no"]["contract"]) == project / "pkg_no" / "__init__.contract.yml"
    # importing a submodule imports its package first: the package's contract refuses that too
    assert got["no_child"]["outcome"] == "refused"
    assert got["no_child"]["target"] == "pkg_no"
    assert got["left"] == []
    assert executed == ["pkg_ok", "pkg_ok.child"]


def test_package_sidecar_suffixes_before_the_package_directory_is_listed(project: Path) -> None:
    # A package's __init__ is met before any finder has listed the package's own directory; its
    # sidecar is then looked up file by file, with the same preference as a listing (.yml over .yaml).
    write_files(
        project,
        {
            "pkg_yaml/__init__.py": RAN,
            "pkg_yaml/__init__.contract.yaml": REFUSE,
            "pkg_both/__init__.py": RAN,
            "pkg_both/__init__.contract.yml": ADMIT,
            "pkg_both/__init__.contract.yaml": REFUSE,
            "pkg_both/child.py": RAN,
            "pkg_both/child.contract.yaml": REFUSE,
        },
    )
    got, result, executed = run(
        project,
        """
        emit(yaml=attempt("pkg_yaml"), both=attempt("pkg_both"), child=attempt("pkg_both.child"))
        """,
    )
    assert got["yaml"]["outcome"] == "refused", result
    assert Path(got["yaml"]["contract"]) == project / "pkg_yaml" / "__init__.contract.yaml"
    assert got["both"]["outcome"] == "admitted", result
    # the package directory, listed at the child's import, still yields the child's own sidecar
    assert got["child"]["outcome"] == "refused", result
    assert Path(got["child"]["contract"]) == project / "pkg_both" / "child.contract.yaml"
    assert executed == ["pkg_both"]


def test_submodule_with_its_own_contract(project: Path) -> None:
    write_files(
        project,
        {
            "pkg/__init__.py": RAN,
            "pkg/sub_ok.py": RAN,
            "pkg/sub_ok.contract.yml": ADMIT,
            "pkg/sub_no.py": RAN,
            "pkg/sub_no.contract.yml": REFUSE,
        },
    )
    got, result, executed = run(
        project,
        """
        no = attempt("pkg.sub_no")
        import pkg
        emit(
            no=no,
            ok=attempt("pkg.sub_ok"),
            attribute_left=hasattr(pkg, "sub_no"),
            parent_imported="pkg" in sys.modules,
        )
        """,
    )
    assert got["no"]["outcome"] == "refused", result
    assert got["no"]["target"] == "pkg.sub_no"
    assert Path(got["no"]["contract"]) == project / "pkg" / "sub_no.contract.yml"
    assert got["no"]["in_sys_modules"] is False
    assert got["attribute_left"] is False
    assert got["parent_imported"] is True  # the package itself has no contract
    assert got["ok"]["outcome"] == "admitted"
    assert executed == ["pkg", "pkg.sub_ok"]


def test_namespace_package_is_untouched(project: Path) -> None:
    # Sidecars that would refuse, wherever a careless implementation might look for a namespace
    # package's contract: a namespace package has no file, so it has no contract (§4).
    write_files(
        project,
        {
            "ns.contract.yml": REFUSE,
            "ns/__init__.contract.yml": REFUSE,
            "ns/free.py": RAN,
            "ns/guarded.py": RAN,
            "ns/guarded.contract.yml": REFUSE,
        },
    )
    got, result, executed = run(
        project,
        """
        import ns
        emit(
            ns_loader=type(ns.__loader__).__name__,
            ns_spec_loader=type(ns.__spec__.loader).__name__,
            ns_path=sorted(set(ns.__path__)),
            free=attempt("ns.free"),
            guarded=attempt("ns.guarded"),
        )
        """,
    )
    # importlib's own namespace loader (named _NamespaceLoader before 3.11), never the hook's wrapper
    assert got["ns_loader"].lstrip("_") == "NamespaceLoader", result
    assert got["ns_spec_loader"].lstrip("_") == "NamespaceLoader"
    assert got["ns_path"] == [str(project / "ns")]
    assert got["free"]["outcome"] == "admitted"
    # modules inside a namespace package are ordinary files: their own sidecars apply
    assert got["guarded"]["outcome"] == "refused"
    assert executed == ["ns.free"]


def test_sourceless_pyc_module(project: Path) -> None:
    for name, contract in (("compiled_ok", ADMIT), ("compiled_no", REFUSE)):
        source = project / f"{name}.py"
        source.write_text(RAN, encoding="utf-8")
        py_compile.compile(str(source), cfile=str(project / f"{name}.pyc"), doraise=True)
        source.unlink()
        (project / f"{name}.contract.yml").write_text(contract, encoding="utf-8")
    got, result, executed = run(
        project,
        """
        emit(ok=attempt("compiled_ok"), no=attempt("compiled_no"))
        """,
    )
    assert got["ok"] == {
        "outcome": "admitted",
        "loader": "SourcelessFileLoader",
        "spec_loader": "SourcelessFileLoader",
    }, result
    assert got["no"]["outcome"] == "refused"
    assert Path(got["no"]["contract"]) == project / "compiled_no.contract.yml"
    assert executed == ["compiled_ok"]


def test_zip_archive_on_sys_path_reads_sidecars_through_the_loader(project: Path) -> None:
    archive = project / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("zip_ok.py", RAN)
        bundle.writestr("zip_ok.contract.yml", ADMIT)
        bundle.writestr("zip_no.py", RAN)
        bundle.writestr("zip_no.contract.yml", REFUSE)
        bundle.writestr("zip_free.py", RAN)
        bundle.writestr(
            "zpkg/__init__.py",
            RAN + "from importlib.resources import files\n"
            "TEXT = files(__name__).joinpath('data.txt').read_text()\n",
        )
        bundle.writestr("zpkg/__init__.contract.yml", ADMIT)
        bundle.writestr("zpkg/data.txt", "zipped data")
        bundle.writestr("zpkg/inner_no.py", RAN)
        bundle.writestr("zpkg/inner_no.contract.yml", REFUSE)
    got, result, executed = run(
        project,
        """
        sys.path.insert(0, os.path.join(HERE, "bundle.zip"))
        ok, no, free = attempt("zip_ok"), attempt("zip_no"), attempt("zip_free")
        pkg = attempt("zpkg")
        import zpkg
        emit(ok=ok, no=no, free=free, pkg=pkg, text=zpkg.TEXT, inner_no=attempt("zpkg.inner_no"))
        """,
    )
    assert got["ok"]["outcome"] == "admitted", result
    assert got["ok"]["loader"] == "zipimporter"
    assert got["free"]["outcome"] == "admitted"
    assert got["no"]["outcome"] == "refused"
    assert got["no"]["contract"].replace("\\", "/").endswith("bundle.zip/zip_no.contract.yml")
    assert got["pkg"]["outcome"] == "admitted"
    assert got["text"] == "zipped data"
    assert got["inner_no"]["outcome"] == "refused"
    assert executed == ["zip_ok", "zip_free", "zpkg"]


def test_contract_yaml_suffix_is_accepted_and_yml_wins_over_it(project: Path) -> None:
    write_files(
        project,
        {
            "long_suffix.py": RAN,
            "long_suffix.contract.yaml": REFUSE,
            "both.py": RAN,
            "both.contract.yml": ADMIT,
            "both.contract.yaml": REFUSE,
        },
    )
    got, result, executed = run(
        project,
        """
        emit(long_suffix=attempt("long_suffix"), both=attempt("both"))
        """,
    )
    assert got["long_suffix"]["outcome"] == "refused", result
    assert Path(got["long_suffix"]["contract"]) == project / "long_suffix.contract.yaml"
    assert got["both"]["outcome"] == "admitted"
    assert executed == ["both"]


def test_loader_whose_create_module_returns_an_existing_module(project: Path) -> None:
    # Some loaders hand back a module object that already exists (caches, lazy proxies, C code).
    # The guard must check before that loader is even asked, and must not hide the object it returns.
    write_files(project, {"prebuilt_ok.contract.yml": ADMIT, "prebuilt_no.contract.yml": REFUSE})
    got, result, _ = run(
        project,
        """
        import importlib.abc, importlib.util, types

        EXISTING = {name: types.ModuleType(name) for name in ("prebuilt_ok", "prebuilt_no")}
        CALLS = []


        class ReuseLoader(importlib.abc.Loader):
            def create_module(self, spec):
                CALLS.append("create " + spec.name)
                return EXISTING[spec.name]

            def exec_module(self, module):
                CALLS.append("exec " + module.__name__)
                module.executed = True


        class ReuseFinder:
            def find_spec(self, name, path=None, target=None):
                if name not in EXISTING:
                    return None
                origin = os.path.join(HERE, name + ".py")  # no such file: only this loader serves it
                return importlib.util.spec_from_file_location(name, origin, loader=ReuseLoader())


        sys.meta_path.append(ReuseFinder())
        ok, no = attempt("prebuilt_ok"), attempt("prebuilt_no")
        emit(
            ok=ok,
            no=no,
            same_object=sys.modules.get("prebuilt_ok") is EXISTING["prebuilt_ok"],
            executed=getattr(EXISTING["prebuilt_ok"], "executed", False),
            calls=CALLS,
        )
        """,
    )
    assert got["ok"] == {"outcome": "admitted", "loader": "ReuseLoader", "spec_loader": "ReuseLoader"}, result
    assert got["same_object"] is True
    assert got["executed"] is True
    assert got["no"]["outcome"] == "refused"
    assert got["calls"] == ["create prebuilt_ok", "exec prebuilt_ok"]  # the refused one: never asked


# --------------------------------------------------------------------------------------------------
# importlib / pkgutil tools used on guarded modules
# --------------------------------------------------------------------------------------------------


def test_reload_rechecks_and_never_stacks_the_wrapper(project: Path) -> None:
    write_files(project, {"reloadme.py": RAN, "reloadme.contract.yml": needs_env("RELOAD_TOKEN")})
    got, result, executed = run(
        project,
        """
        def loaders(module):
            return [type(module.__loader__).__name__, type(module.__spec__.loader).__name__]

        os.environ["RELOAD_TOKEN"] = "yes"
        import reloadme
        first = loaders(reloadme)
        importlib.reload(reloadme)
        second = loaders(reloadme)
        del os.environ["RELOAD_TOKEN"]
        try:
            importlib.reload(reloadme)
            refused = None
        except ValueError as exc:
            refused = type(exc).__name__
        after_refusal = loaders(reloadme)
        still_there = sys.modules.get("reloadme") is reloadme
        os.environ["RELOAD_TOKEN"] = "yes"
        importlib.reload(reloadme)
        emit(
            first=first,
            second=second,
            refused=refused,
            after_refusal=after_refusal,
            still_there=still_there,
            third=loaders(reloadme),
        )
        """,
    )
    real = ["SourceFileLoader", "SourceFileLoader"]
    assert got["first"] == real, result
    assert got["second"] == real
    assert got["refused"] == "ContractViolation"
    assert got["still_there"] is True  # a refused reload keeps the old module, as a failed reload does
    assert got["third"] == real
    # the refused reload did not run the module's code again
    assert executed == ["reloadme", "reloadme", "reloadme"]


def test_refused_reload_leaves_the_real_loader_on_the_module(project: Path) -> None:
    # §4: the module and its users only ever see the real loader, refusal included.
    write_files(project, {"reloadme.py": RAN, "reloadme.contract.yml": needs_env("RELOAD_TOKEN")})
    got, result, _ = run(
        project,
        """
        os.environ["RELOAD_TOKEN"] = "yes"
        import reloadme
        del os.environ["RELOAD_TOKEN"]
        try:
            importlib.reload(reloadme)
        except ValueError:
            pass
        emit(loader=type(reloadme.__loader__).__name__, spec_loader=type(reloadme.__spec__.loader).__name__)
        """,
    )
    assert got == {"loader": "SourceFileLoader", "spec_loader": "SourceFileLoader"}, result


def test_find_spec_on_a_refused_module_returns_a_spec_and_raises_nothing(project: Path) -> None:
    write_files(project, {"probe_no.py": RAN, "probe_no.contract.yml": REFUSE})
    got, result, executed = run(
        project,
        """
        import importlib.util
        spec = importlib.util.find_spec("probe_no")
        found = {"name": spec.name, "origin": spec.origin, "in_sys_modules": "probe_no" in sys.modules}
        emit(found=found, then=attempt("probe_no"))
        """,
    )
    assert got["found"] == {
        "name": "probe_no",
        "origin": str(project / "probe_no.py"),
        "in_sys_modules": False,
    }, result
    assert got["then"]["outcome"] == "refused"
    assert executed == []


def test_importlib_resources_on_a_guarded_package(project: Path) -> None:
    body = RAN + (
        "from importlib.resources import files\n"
        "GREETING = files(__name__).joinpath('greeting.txt').read_text(encoding='utf-8')\n"
    )
    write_files(
        project,
        {
            "gpkg/__init__.py": body,
            "gpkg/__init__.contract.yml": ADMIT,
            "gpkg/greeting.txt": "hello from gpkg",
            "gpkg2/__init__.py": RAN,
            "gpkg2/__init__.contract.yml": ADMIT,
            "gpkg2/greeting.txt": "hello from gpkg2",
        },
    )
    got, result, executed = run(
        project,
        """
        import importlib.util
        from importlib.resources import files
        import gpkg
        # the spec of a guarded package not imported yet carries the wrapper: its resource reader
        # must be the real loader's
        spec = importlib.util.find_spec("gpkg2")
        reader = spec.loader.get_resource_reader("gpkg2")
        with reader.open_resource("greeting.txt") as stream:
            through_wrapper = stream.read().decode()
        emit(
            at_import=gpkg.GREETING,
            after_import=files("gpkg").joinpath("greeting.txt").read_text(encoding="utf-8"),
            through_wrapper=through_wrapper,
            is_package=spec.loader.is_package("gpkg2"),
        )
        """,
    )
    assert got == {
        "at_import": "hello from gpkg",
        "after_import": "hello from gpkg",
        "through_wrapper": "hello from gpkg2",
        "is_package": True,
    }, result
    assert executed == ["gpkg"]


def test_pkgutil_iter_modules_lists_guarded_modules_without_importing_them(project: Path) -> None:
    write_files(
        project,
        {
            "plugins/alpha.py": RAN,
            "plugins/alpha.contract.yml": REFUSE,
            "plugins/beta.py": RAN,
            "plugins/beta.contract.yml": ADMIT,
            "plugins/gamma/__init__.py": RAN,
            "plugins/gamma/__init__.contract.yml": REFUSE,
            "plugins/delta.py": RAN,
        },
    )
    got, result, executed = run(
        project,
        """
        import pkgutil
        before = set(sys.modules)
        listed = sorted((m.name, m.ispkg) for m in pkgutil.iter_modules([os.path.join(HERE, "plugins")]))
        emit(listed=listed, new_modules=sorted(set(sys.modules) - before - {"pkgutil"}))
        """,
    )
    assert got["listed"] == [["alpha", False], ["beta", False], ["delta", False], ["gamma", True]], result
    assert not [
        name for name in got["new_modules"] if name.split(".")[0] in {"alpha", "beta", "gamma", "delta"}
    ]
    assert executed == []


# --------------------------------------------------------------------------------------------------
# Outcome (§7)
# --------------------------------------------------------------------------------------------------


def test_refused_module_leaves_nothing_in_sys_modules_and_never_ran(project: Path) -> None:
    write_files(
        project,
        {
            "host_pkg/__init__.py": RAN,
            "host_pkg/sub_no.py": RAN + "import host_pkg.helper\n",
            "host_pkg/sub_no.contract.yml": REFUSE,
            "host_pkg/helper.py": RAN,
        },
    )
    got, result, executed = run(
        project,
        """
        import host_pkg
        before = set(sys.modules)
        no = attempt("host_pkg.sub_no")
        emit(
            no=no,
            added=sorted(name for name in set(sys.modules) - before if name.startswith("host_pkg")),
            attribute=hasattr(host_pkg, "sub_no"),
        )
        """,
    )
    assert got["no"]["outcome"] == "refused", result
    assert got["added"] == []
    assert got["attribute"] is False
    assert executed == ["host_pkg"]  # neither the refused module nor what it would have imported


def test_failures_are_never_cached(project: Path) -> None:
    write_files(project, {"needs_token.py": RAN, "needs_token.contract.yml": needs_env("PLUGIN_TOKEN")})
    got, result, executed = run(
        project,
        """
        first = attempt("needs_token")
        os.environ["PLUGIN_TOKEN"] = "yes"
        emit(first=first, second=attempt("needs_token"))
        """,
        env={"PLUGIN_TOKEN": None},
    )
    assert got["first"]["outcome"] == "refused", result
    assert got["second"]["outcome"] == "admitted"
    assert executed == ["needs_token"]


def test_sidecar_created_or_removed_at_run_time_is_seen_after_invalidate_caches(project: Path) -> None:
    write_files(
        project,
        {
            "early.py": RAN,
            "late.py": RAN,
            "gone.py": RAN,
            "gone.contract.yml": REFUSE,
        },
    )
    got, result, executed = run(
        project,
        f"""
        import early  # the directory has been looked at once
        gone_before = attempt("gone")
        with open(os.path.join(HERE, "late.contract.yml"), "w") as stream:
            stream.write({REFUSE!r})
        os.remove(os.path.join(HERE, "gone.contract.yml"))
        importlib.invalidate_caches()
        emit(gone_before=gone_before, late=attempt("late"), gone_after=attempt("gone"))
        """,
    )
    assert got["gone_before"]["outcome"] == "refused", result
    assert got["late"]["outcome"] == "refused"
    assert got["gone_after"]["outcome"] == "admitted"
    assert executed == ["early", "gone"]


def test_exclude_patterns_skip_matching_modules(project: Path) -> None:
    write_files(
        project,
        {
            "skip_me.py": RAN,
            "skip_me.contract.yml": REFUSE,
            "vendored/__init__.py": RAN,
            "vendored/lib.py": RAN,
            "vendored/lib.contract.yml": REFUSE,
            "checked.py": RAN,
            "checked.contract.yml": REFUSE,
        },
    )
    got, result, executed = run(
        project,
        """
        emit(skip=attempt("skip_me"), lib=attempt("vendored.lib"), checked=attempt("checked"))
        """,
        env={"IMPORTSPY_HOOK_EXCLUDE": "skip_me, vendored.*"},
    )
    assert got["skip"]["outcome"] == "admitted", result
    assert got["lib"]["outcome"] == "admitted"
    assert got["checked"]["outcome"] == "refused"
    assert executed == ["skip_me", "vendored", "vendored.lib"]


def test_another_distributions_module_in_the_ruamel_namespace_is_checked(project: Path) -> None:
    # Red team round 5 (e08): the hook skips its own dependencies by top-level name, and "ruamel"
    # is a namespace package any distribution may add a module to (ruamel.std.pathlib exists); only
    # ruamel.yaml is the hook's own.
    write_files(project, {"ruamel/plug.py": RAN, "ruamel/plug.contract.yml": REFUSE})
    got, result, executed = run(
        project,
        """
        import ruamel.yaml  # the hook's own, skipped: its import is not refused
        emit(plug=attempt("ruamel.plug"), yaml=ruamel.yaml.__name__)
        """,
    )
    assert got["plug"]["outcome"] == "refused", result
    assert got["yaml"] == "ruamel.yaml"
    assert executed == []


def test_warn_mode_logs_the_violation_and_imports(project: Path) -> None:
    write_files(project, {"plain_no.py": RAN, "plain_no.contract.yml": REFUSE})
    got, result, executed = run(
        project,
        """
        emit(no=attempt("plain_no"))
        """,
        mode="warn",
        env={"IMPORTSPY_HOOK_LOG": "json"},
    )
    assert got["no"]["outcome"] == "admitted", result
    assert got["no"]["loader"] == "SourceFileLoader"
    assert executed == ["plain_no"]
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    violations = [e for e in events if e.get("event") == "contract.violation"]
    assert len(violations) == 1, result.stderr
    assert violations[0]["target"] == "plain_no"


def test_violation_traceback_ends_at_the_import_statement(project: Path) -> None:
    write_files(project, {"plain_no.py": RAN, "plain_no.contract.yml": REFUSE})
    got, result, _ = run(
        project,
        """
        import traceback


        def load():
            import plain_no  # the line the user must see


        try:
            load()
        except ValueError as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            emit(
                files=[frame.filename for frame in frames],
                lines=[frame.line for frame in frames],
                text="".join(traceback.format_exception(exc)),
            )
        """,
    )
    files = [Path(name).name if not name.startswith("<") else name for name in got["files"]]
    assert "import plain_no  # the line the user must see" in got["lines"], got["text"]
    deep = {"_check.py", "_validate.py", "_contract_parse.py", "_compiled.py", "_caller.py"}
    hook_frames = [
        name
        for name, full in zip(files, got["files"], strict=True)
        if "importspy_hook" in Path(full).parts and name in deep
    ]
    assert hook_frames == [], got["text"]
    assert "ContractViolation" in got["text"] and "plain_no" in got["text"], result


def test_contract_violation_is_not_swallowed_by_except_import_error(project: Path) -> None:
    write_files(project, {"optional_dep.py": RAN, "optional_dep.contract.yml": REFUSE})
    got, result, executed = run(
        project,
        """
        try:
            try:
                import optional_dep  # the usual "optional dependency" probe
            except ImportError:
                emit(swallowed=True)
        except ValueError as exc:
            emit(swallowed=False, type=type(exc).__name__, is_import_error=isinstance(exc, ImportError))
        """,
    )
    assert got == {"swallowed": False, "type": "ContractViolation", "is_import_error": False}, result
    assert executed == []


def test_internal_error_of_the_hook_fails_open(project: Path) -> None:
    # A third-party finder hands out specs whose ``origin`` is not a plain path string. Sidecars
    # that would refuse sit where the origin points: whatever the hook makes of such an origin,
    # a failure inside the hook must not turn into a refused (or broken) import.
    write_files(project, {name + ".contract.yml": REFUSE for name in ("odd_str", "odd_path", "odd_int")})
    got, result, _ = run(
        project,
        """
        import importlib.abc, importlib.machinery, pathlib


        class ExplodingPath(str):
            \"\"\"A str whose methods fail: stands for any origin object the hook cannot handle.\"\"\"

            def rpartition(self, sep):
                raise RuntimeError("cannot split this origin")

            def endswith(self, *args):
                raise RuntimeError("cannot inspect this origin")


        class ValueLoader(importlib.abc.Loader):
            def create_module(self, spec):
                return None

            def exec_module(self, module):
                module.VALUE = 42


        ORIGINS = {
            "odd_str": ExplodingPath(os.path.join(HERE, "odd_str.py")),
            "odd_path": pathlib.Path(HERE, "odd_path.py"),
            "odd_int": 42,
        }


        class OddSpec(importlib.machinery.ModuleSpec):
            # no bytecode cache path: the import system itself would choke on these origins there
            @property
            def cached(self):
                return None

            @cached.setter
            def cached(self, value):
                pass


        class OddFinder:
            def find_spec(self, name, path=None, target=None):
                if name not in ORIGINS:
                    return None
                spec = OddSpec(name, ValueLoader(), origin=ORIGINS[name])
                spec.has_location = True
                return spec


        sys.meta_path.append(OddFinder())
        results = {}
        for name in ORIGINS:
            try:
                results[name] = importlib.import_module(name).VALUE
            except Exception as exc:
                results[name] = f"{type(exc).__name__}: {exc}"
        emit(**results)
        """,
        env={"IMPORTSPY_HOOK_LOG": "json"},
    )
    assert got == {"odd_str": 42, "odd_path": 42, "odd_int": 42}, result
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    internal = [e for e in events if e.get("event") == "hook.internal_error"]
    assert [e.get("target") for e in internal] == ["odd_str"], result.stderr


@pytest.mark.parametrize("mode", ["enforce", "warn"])
def test_internal_error_of_the_contract_engine_fails_closed(project: Path, mode: str) -> None:
    # §7: once a contract applies, a check that cannot complete refuses (enforce) with a
    # ContractError naming the contract and the cause; warn mode logs it and lets the import go on.
    write_files(project, {"plain_no.py": RAN, "plain_no.contract.yml": REFUSE})
    got, result, executed = run(
        project,
        """
        import importspy_hook._validate as engine


        def broken(*args, **kwargs):
            raise RuntimeError("bug in the engine")


        engine.validate = broken
        emit(no=attempt("plain_no"))
        """,
        env={"IMPORTSPY_HOOK_LOG": "json"},
        mode=mode,
    )
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events if e.get("target") == "plain_no"] == ["contract.invalid"], (
        result.stderr
    )
    if mode == "warn":
        assert got["no"]["outcome"] == "admitted", result
        assert executed == ["plain_no"]
        return
    assert got["no"]["outcome"] == "refused", result
    assert got["no"]["type"] == "ContractError"
    assert "plain_no.contract.yml" in got["no"]["message"]
    assert "RuntimeError at " in got["no"]["message"]  # the cause, never its text (it may hold data)
    assert "bug in the engine" not in result.stdout + result.stderr
    assert executed == []
