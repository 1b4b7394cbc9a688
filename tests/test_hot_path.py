"""The guard's quick path (SPEC §11, contracted import ≤ 20 µs) keeps every guarantee of §4, §5, §7.

A contracted import whose contract is met goes through ``_validate.admitted``: the caller is found
only when the contract reads it, the verdict of the caller's part is kept per caller and source,
the environment is read on every import. These tests pin what a user sees around that shortcut:
refusals still name the caller, an edited contract is read again, an internal import is still let
through, a failure is never kept, a simulation still decides, debug events still name the caller.
"""

from __future__ import annotations

import json
import platform
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest
from conftest import Result, run_script, write_files

from importspy_hook import _caller

THIS_OS = platform.system().lower() or "linux"
OTHER_OS = "linux" if THIS_OS == "windows" else "windows"

ADMIT = f"runtime:\n  os: [{THIS_OS}]\n"
REFUSE = f"runtime:\n  os: [{OTHER_OS}]\n"
NEEDS_TOKEN = "runtime:\n  environment:\n    HOT_PATH_TOKEN: 'yes'\n"
STRUCTURAL = "variables:\n  - name: LIMIT\n    value: 5\n"

IMPORTER = """\
import sys
sys.modules.pop("plugin", None)
try:
    import plugin
    RESULT = {"outcome": "admitted"}
except ValueError as exc:
    RESULT = {"outcome": "refused", "caller": exc.caller, "text": str(exc)}
"""
"""A module that imports ``plugin`` itself (so it is the caller) and keeps what happened."""

PROBE = """\
import importlib, json, os, sys


def attempt(name):
    sys.modules.pop(name, None)
    try:
        importlib.import_module(name)
    except ValueError as exc:
        return {"outcome": "refused", "caller": getattr(exc, "caller", None), "text": str(exc),
                "in_sys_modules": name in sys.modules}
    return {"outcome": "admitted"}


def emit(**results):
    print("RESULT " + json.dumps(results), flush=True)


"""


def run(project: Path, body: str, env: dict[str, str | None] | None = None) -> tuple[dict[str, Any], Result]:
    write_files(project, {"main.py": PROBE + textwrap.dedent(body)})
    result = run_script(project / "main.py", cwd=project, env=env)
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            parsed: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return parsed, result
    raise AssertionError(f"child printed no RESULT line: {result!r}")


def test_a_caller_independent_contract_still_names_the_caller_when_it_refuses(project: Path) -> None:
    # The quick path does not look for the caller of a contract on the environment alone; the
    # refusal must name it all the same (§7).
    write_files(
        project,
        {
            "plugin.py": "VALUE = 1\n",
            "plugin.contract.yml": NEEDS_TOKEN,
            "app.py": IMPORTER,
        },
    )
    got, result = run(
        project,
        """
        import app
        emit(first=app.RESULT, direct=attempt("plugin"))
        """,
        env={"HOT_PATH_TOKEN": "no"},
    )
    first = got["first"]
    assert first["outcome"] == "refused", result
    assert first["caller"] == "app"
    assert "from 'app'" in first["text"] and "HOT_PATH_TOKEN" in first["text"]
    assert got["direct"]["caller"] == "__main__"


def test_a_refusal_is_explained_without_building_the_contract_models(project: Path) -> None:
    # One evaluator explains from the compiled program itself: a refused import whose contract
    # asks nothing of the caller's structure never imports attrs (≈ 20 ms) or the contract models.
    write_files(project, {"plugin.py": "VALUE = 1\n", "plugin.contract.yml": NEEDS_TOKEN})
    got, result = run(
        project,
        """
        outcome = attempt("plugin")
        emit(outcome=outcome, attrs="attrs" in sys.modules,
             models="importspy_hook._contract_model" in sys.modules)
        """,
        env={"HOT_PATH_TOKEN": "no"},
    )
    assert got["outcome"]["outcome"] == "refused", result
    assert "HOT_PATH_TOKEN" in got["outcome"]["text"]
    assert got["attrs"] is False and got["models"] is False, got


def test_a_contract_edited_between_two_imports_is_read_again(project: Path) -> None:
    admit, refuse = (f"runtime:\n  environment:\n    HOT_PATH_MODE: {mode!r}\n" for mode in ("aaa", "bbb"))
    assert len(admit) == len(refuse)  # same size: only the modification time tells the edits apart
    write_files(project, {"plugin.py": "VALUE = 1\n", "plugin.contract.yml": admit})
    got, result = run(
        project,
        f"""
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugin.contract.yml")
        stat = os.stat(path)
        results = [attempt("plugin")]
        for step, text in enumerate(({refuse!r}, {admit!r}), start=1):
            with open(path, "w") as handle:
                handle.write(text)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + step * 1_000_000_000))
            results.append(attempt("plugin"))
        emit(results=[r["outcome"] for r in results])
        """,
        env={"HOT_PATH_MODE": "aaa"},
    )
    assert got["results"] == ["admitted", "refused", "admitted"], result


def test_a_failure_is_never_kept_and_a_fixed_environment_is_admitted(project: Path) -> None:
    write_files(project, {"plugin.py": "VALUE = 1\n", "plugin.contract.yml": NEEDS_TOKEN})
    got, result = run(
        project,
        """
        results = [attempt("plugin")]
        os.environ["HOT_PATH_TOKEN"] = "yes"
        results.append(attempt("plugin"))
        results.append(attempt("plugin"))  # admitted again, from what is kept
        os.environ["HOT_PATH_TOKEN"] = "changed"
        results.append(attempt("plugin"))  # the environment is read on every import
        emit(results=[r["outcome"] for r in results])
        """,
        env={"HOT_PATH_TOKEN": None},
    )
    assert got["results"] == ["refused", "admitted", "admitted", "refused"], result


def test_a_structural_contract_is_judged_per_caller(project: Path) -> None:
    write_files(
        project,
        {
            "plugin.py": "VALUE = 1\n",
            "plugin.contract.yml": STRUCTURAL,
            "good.py": "LIMIT = 5\n" + IMPORTER,
            "bad.py": "LIMIT = 6\n" + IMPORTER,
        },
    )
    got, result = run(
        project,
        """
        import good, bad
        emit(good=good.RESULT, bad=bad.RESULT, again=attempt("plugin"))
        """,
    )
    assert got["good"] == {"outcome": "admitted"}, result
    assert got["bad"]["outcome"] == "refused" and got["bad"]["caller"] == "bad"
    assert got["again"]["outcome"] == "refused"  # main.py defines no LIMIT
    assert got["again"]["caller"] == "__main__"


def test_an_internal_import_is_let_through_by_a_contract_that_ignores_the_caller(project: Path) -> None:
    write_files(
        project,
        {
            "pkg/__init__.py": "",
            "pkg/inner.py": "VALUE = 1\n",
            "pkg/inner.contract.yml": REFUSE,
            "pkg/user.py": "import pkg.inner\n",
        },
    )
    got, result = run(
        project,
        """
        import pkg.user  # pkg.user importing pkg.inner: not evaluated (§4)
        inside = "pkg.inner" in sys.modules
        emit(inside=inside, outside=attempt("pkg.inner"))
        """,
    )
    assert got["inside"] is True, result
    assert got["outside"]["outcome"] == "refused" and got["outside"]["caller"] == "__main__"


def test_a_simulation_is_judged_by_the_full_check(project: Path) -> None:
    write_files(project, {"plugin.py": "VALUE = 1\n", "plugin.contract.yml": ADMIT})
    got, result = run(
        project,
        f"""
        from importspy_hook._simulation import simulate
        before = attempt("plugin")
        with simulate(os={OTHER_OS!r}):
            during = attempt("plugin")
        emit(before=before["outcome"], during=during["outcome"], after=attempt("plugin")["outcome"])
        """,
    )
    assert (got["before"], got["during"], got["after"]) == ("admitted", "refused", "admitted"), result


def test_debug_events_still_name_the_caller_of_a_compliant_import(project: Path) -> None:
    write_files(
        project,
        {
            "plugin.py": "VALUE = 1\n",
            "plugin.contract.yml": ADMIT,
            "app.py": IMPORTER,
        },
    )
    got, result = run(
        project,
        "import app\nemit(result=app.RESULT)\n",
        env={"IMPORTSPY_HOOK_LOG": "json", "IMPORTSPY_HOOK_LOG_LEVEL": "debug"},
    )
    assert got["result"] == {"outcome": "admitted"}, result
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    checked = [event for event in events if event.get("event") == "contract.checked"]
    assert len(checked) == 1, result.stderr
    assert checked[0]["caller"] == "app" and checked[0]["target"] == "plugin"
    assert checked[0]["outcome"] == "compliant"


# --------------------------------------------------------------------------- the caller, in process


def _module_calling_find_caller(name: str, file: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = file
    exec(  # a module whose frames find_caller walks
        "import importspy_hook._caller as c\ndef who():\n    return c.find_caller()\n", module.__dict__
    )
    return module


def test_a_kept_caller_is_reused_only_while_its_module_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = str(tmp_path / "hot_path_host.py")
    module = _module_calling_find_caller("hot_path_host", file)
    monkeypatch.setitem(sys.modules, "hot_path_host", module)
    first = module.who()
    assert first is not None
    assert (first.name, first.file, first.module) == ("hot_path_host", file, module)
    assert module.who() is first  # kept
    module.__file__ = str(tmp_path / "moved.py")
    moved = module.who()
    assert moved is not None and moved is not first and moved.file == str(tmp_path / "moved.py")
    replacement = types.ModuleType("hot_path_host")
    monkeypatch.setitem(sys.modules, "hot_path_host", replacement)
    orphan = module.who()  # its globals are no longer those of the module in sys.modules
    assert orphan is not None and orphan.module is None
    module.__dict__["__name__"] = "hot_path_renamed"
    monkeypatch.setitem(sys.modules, "hot_path_renamed", module)
    renamed = module.who()
    assert renamed is not None and renamed.name == "hot_path_renamed" and renamed.module is module


def test_module_name_of_a_main_run_with_dash_m(tmp_path: Path) -> None:
    main = types.ModuleType("__main__")
    main.__spec__ = types.SimpleNamespace(name="pkg.tool")  # type: ignore[assignment]
    assert _caller.Caller("__main__", str(tmp_path / "tool.py"), main).module_name == "pkg.tool"
    assert _caller.Caller("__main__", str(tmp_path / "tool.py"), None).module_name == "__main__"
    assert _caller.Caller("app", None, None).module_name == "app"


def test_an_unchanged_caller_in_a_fresh_process_is_judged_without_loading_the_parser(project: Path) -> None:
    # SPEC §11 (first contracted import in a fresh process ≤ 2.5 ms): once an earlier run left the
    # records of the contract and of the caller's source beside bytecode, a structural contract is
    # judged from them alone — the parser (``_structure``, ``ast``) is not loaded — and still judged:
    # a caller edited since is read again and refused.
    write_files(project, {"plugin.py": "VALUE = 1\n", "plugin.contract.yml": STRUCTURAL})
    body = """
        LIMIT = 5
        outcome = attempt("plugin")
        emit(outcome=outcome["outcome"], parser="importspy_hook._structure" in sys.modules,
             ast="ast" in sys.modules)
        """
    first, result = run(project, body)
    assert first["outcome"] == "admitted", result
    second, result = run(project, body)
    assert second == {"outcome": "admitted", "parser": False, "ast": False}, result
    edited, result = run(project, body.replace("LIMIT = 5", "LIMIT = 6"))
    assert edited["outcome"] == "refused", result
