"""Tamper evidence, ``IMPORTSPY_HOOK_AUDIT=1`` (issue 7; SPEC §1 "not a sandbox", §3, §7, §8).

Every test runs a child interpreter that activates the hook the way the start-up file does
(``startup()`` with ``IMPORTSPY_HOOK``/``IMPORTSPY_HOOK_AUDIT`` in its environment), then tampers with
``sys.meta_path`` the way user code could, and reports what a user would notice: whether a module
guarded by a refusing contract was refused or ran, where the finder is, and which ``hook.tampered``
events were logged (JSON renderer, parsed from stderr).

The last section pins down what the audit mode does *not* stop, so that SECURITY.md cannot drift
from the behaviour: if one of those gaps is ever closed, its test fails and the document must change.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import pytest
from conftest import Result, run_python, write_files

THIS_OS = platform.system().lower() or "linux"
OTHER_OS = "linux" if THIS_OS == "windows" else "windows"
REFUSE = f"runtime:\n  os: [{OTHER_OS}]\n"

AUDIT_ON = {"IMPORTSPY_HOOK": "enforce", "IMPORTSPY_HOOK_AUDIT": "1", "IMPORTSPY_HOOK_LOG": "json"}

START = """\
import json, sys
from _importspy_hook_startup import active_finder, startup
startup()
FINDER = active_finder()


def state():
    meta_path = sys.meta_path
    return {
        "first": bool(meta_path) and meta_path[0] is FINDER,
        "copies": sum(entry is FINDER for entry in meta_path),
        "type": type(meta_path).__name__,
    }


def emit(**values):
    print("RESULT " + json.dumps(values), flush=True)
"""
"""Prepended to every child: activates the hook as the start-up file would, plus small reporters.

Tampering tests import with ``import`` statements: ``importlib.import_module`` raises no ``import``
audit event (see the limits at the end).
"""


def guarded_project(project: Path, *names: str) -> Path:
    """Modules ``guarded`` (refusing contract) and ``names`` (no contract); each prints when it runs."""
    files = {"guarded.py": "print('RAN guarded')\n", "guarded.contract.yml": REFUSE}
    files.update({f"{name}.py": f"print('RAN {name}')\n" for name in names})
    return write_files(project, files)


def child(project: Path, body: str, env: dict[str, str | None] | None = None) -> Result:
    return run_python(START + body, cwd=project, path=[str(project)], env={**AUDIT_ON, **(env or {})})


def outcome(result: Result) -> dict[str, Any]:
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            parsed: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return parsed
    raise AssertionError(f"child printed no RESULT line: {result!r}")


def ran(result: Result) -> list[str]:
    return [line.split()[1] for line in result.stdout.splitlines() if line.startswith("RAN ")]


def events(result: Result, name: str = "hook.tampered") -> list[dict[str, Any]]:
    """The JSON log events called ``name`` that the child wrote to stderr."""
    found = []
    for line in result.stderr.splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == name:
                found.append(event)
    return found


def refused_import(name: str = "guarded") -> str:
    """Child code: ``import <name>`` as a statement, recording the outcome in ``outcome``."""
    return f"""
try:
    import {name}
    outcome = "admitted"
except ValueError as exc:
    outcome = type(exc).__name__
"""


# --------------------------------------------------------------------------------------------------
# What it restores
# --------------------------------------------------------------------------------------------------


def test_removed_finder_is_back_for_the_next_import_which_is_still_refused(project: Path) -> None:
    guarded_project(project, "plain_a", "plain_b")
    result = child(
        project,
        "sys.meta_path.remove(FINDER)\nremoved = FINDER in sys.meta_path\n"
        + refused_import()
        + "import plain_a, plain_b\nemit(removed=removed, outcome=outcome, **state())\n",
    )
    got = outcome(result)
    assert got["removed"] is False, result
    assert got["outcome"] == "ContractViolation", result
    assert got["first"] is True and got["copies"] == 1
    assert ran(result) == ["plain_a", "plain_b"]  # the guarded module's code never ran
    (event,) = events(result)  # one episode, one event, although three imports followed
    assert event["level"] == "warning"
    assert (event["change"], event["action"], event["mode"], event["target"]) == (
        "removed",
        "reinstalled",
        "enforce",
        "guarded",
    )


def test_without_audit_mode_the_same_removal_lets_the_module_in(project: Path) -> None:
    # The control for the test above: the hole the audit mode closes is real.
    guarded_project(project)
    result = child(
        project,
        "sys.meta_path.remove(FINDER)\n"
        + refused_import()
        + "emit(outcome=outcome, audit_loaded='importspy_hook._audit' in sys.modules, **state())\n",
        env={"IMPORTSPY_HOOK_AUDIT": None},
    )
    got = outcome(result)
    assert got["outcome"] == "admitted", result
    assert ran(result) == ["guarded"]
    assert got["copies"] == 0
    assert got["audit_loaded"] is False  # the audit module costs nothing unless asked for
    assert events(result) == []


@pytest.mark.parametrize("value", ["1", "on", "TRUE", "yes"])
def test_audit_mode_values(project: Path, value: str) -> None:
    guarded_project(project)
    result = child(
        project,
        "sys.meta_path.remove(FINDER)\n" + refused_import() + "emit(outcome=outcome)\n",
        env={"IMPORTSPY_HOOK_AUDIT": value},
    )
    assert outcome(result)["outcome"] == "ContractViolation", result


@pytest.mark.parametrize("value", ["0", "", "off"])
def test_audit_mode_off_values(project: Path, value: str) -> None:
    result = child(
        project,
        "emit(audit_loaded='importspy_hook._audit' in sys.modules)\n",
        env={"IMPORTSPY_HOOK_AUDIT": value},
    )
    assert outcome(result)["audit_loaded"] is False, result


def test_finder_moved_behind_another_is_put_first_again(project: Path) -> None:
    guarded_project(project)
    result = child(
        project,
        """
class Shadow:
    def find_spec(self, name, path=None, target=None):
        return None

sys.meta_path.insert(0, Shadow())
"""
        + refused_import()
        + "emit(outcome=outcome, second=type(sys.meta_path[1]).__name__, **state())\n",
    )
    got = outcome(result)
    assert got["outcome"] == "ContractViolation", result
    assert got["first"] is True and got["copies"] == 1
    assert got["second"] == "Shadow"  # the other finder stays, behind the guard
    (event,) = events(result)
    assert (event["change"], event["action"], event["first"]) == ("moved", "reinstalled", "__main__.Shadow")


@pytest.mark.parametrize("container", ["list", "tuple"])
def test_meta_path_replaced_by_a_new_object(project: Path, container: str) -> None:
    guarded_project(project)
    result = child(
        project,
        f"sys.meta_path = {container}(f for f in sys.meta_path if f is not FINDER)\n"
        + refused_import()
        + "emit(outcome=outcome, **state())\n",
    )
    got = outcome(result)
    assert got["outcome"] == "ContractViolation", result
    assert got["first"] is True and got["copies"] == 1
    assert got["type"] == "list"  # a tuple cannot be edited in place: a list takes its place
    assert len(events(result)) == 1


def test_each_removal_is_a_new_episode(project: Path) -> None:
    guarded_project(project, "a", "b", "c")
    result = child(
        project,
        """
sys.meta_path.remove(FINDER)
import a, b
sys.meta_path.remove(FINDER)
import c
emit(**state())
""",
    )
    assert outcome(result)["first"] is True, result
    assert [event["target"] for event in events(result)] == ["a", "c"]


def test_warn_mode_logs_once_per_episode_and_leaves_meta_path_alone(project: Path) -> None:
    guarded_project(project, "a", "b", "c", "d")
    result = child(
        project,
        """
sys.meta_path.remove(FINDER)
import a, b
during = state()
sys.meta_path.insert(0, FINDER)
import c  # seen first again: the episode is over
sys.meta_path.remove(FINDER)
import d
emit(during=during, after=state())
""",
        env={"IMPORTSPY_HOOK": "warn"},
    )
    got = outcome(result)
    assert got["during"]["copies"] == 0, result  # warn mode reports, it does not repair
    assert got["after"]["copies"] == 0
    found = events(result)
    assert [(event["target"], event["action"], event["mode"]) for event in found] == [
        ("a", "logged", "warn"),
        ("d", "logged", "warn"),
    ]


def test_a_new_finder_from_install_is_adopted_not_reported(project: Path) -> None:
    guarded_project(project, "plain")
    result = child(
        project,
        """
from importspy_hook import install, uninstall
uninstall()
install()  # a new finder, first on sys.meta_path: a legitimate change
NEW = sys.meta_path[0]
import plain
quiet = FINDER not in sys.meta_path and sys.meta_path[0] is NEW
sys.meta_path.remove(NEW)
"""
        + refused_import()
        + "emit(quiet=quiet, outcome=outcome, new_first=sys.meta_path[0] is NEW)\n",
    )
    got = outcome(result)
    assert got["quiet"] is True, result
    assert got["outcome"] == "ContractViolation"  # the adopted finder is the one now kept first
    assert got["new_first"] is True
    assert [event["target"] for event in events(result)] == ["guarded"]


def test_uninstall_does_not_outlast_the_next_import_in_audit_mode(project: Path) -> None:
    # Audit mode exists to make removal visible and short-lived; uninstall() is a removal like any other.
    guarded_project(project)
    result = child(
        project,
        "import importspy_hook\nimportspy_hook.uninstall()\n"
        + refused_import()
        + "emit(outcome=outcome, **state())\n",
    )
    got = outcome(result)
    assert got["outcome"] == "ContractViolation", result
    assert got["first"] is True
    assert len(events(result)) == 1


def test_installing_the_audit_hook_twice_adds_one_callback(project: Path) -> None:
    guarded_project(project, "plain")
    result = child(
        project,
        """
from importspy_hook._audit import install_audit_hook
install_audit_hook(FINDER)
install_audit_hook(FINDER)
sys.meta_path.remove(FINDER)
import plain
emit(**state())
""",
    )
    assert outcome(result)["first"] is True, result
    assert len(events(result)) == 1


def test_the_callback_never_raises(project: Path) -> None:
    # Whatever state sys.meta_path is in, the user sees the import system's own behaviour, never an
    # exception from the audit hook (which would abort the operation that raised the event).
    result = child(
        project,
        """
seen = []
sys.meta_path.remove(FINDER)
sys.audit("import")  # no arguments at all
seen.append(state()["first"])
saved = sys.meta_path
sys.meta_path = None
try:
    import csv
except ImportError as exc:
    seen.append(str(exc))
sys.meta_path = saved
sys.audit("open", None, "r", 0)  # other events: ignored
emit(seen=seen, **state())
""",
    )
    got = outcome(result)
    assert got["seen"][0] is True, result
    assert "sys.meta_path is None" in got["seen"][1]
    assert got["first"] is True
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr


def test_removal_during_interpreter_shutdown(project: Path) -> None:
    guarded_project(project)
    result = child(
        project,
        """
import atexit

def at_exit():
    sys.meta_path.remove(FINDER)
"""
        + "\n".join("    " + line for line in refused_import().splitlines())
        + """
    print("AT EXIT", outcome, flush=True)

atexit.register(at_exit)
emit(ok=True)
""",
    )
    assert result.returncode == 0, result
    assert "AT EXIT ContractViolation" in result.stdout
    assert "Exception ignored" not in result.stderr
    assert ran(result) == []


# --------------------------------------------------------------------------------------------------
# What it does not stop (documented in SECURITY.md; these tests keep the document honest)
# --------------------------------------------------------------------------------------------------


def test_limit_import_module_raises_no_import_event(project: Path) -> None:
    # importlib.import_module runs importlib's pure-Python path, which raises no "import" audit
    # event: the first such call after a removal is not checked; the next import statement repairs.
    guarded_project(project, "plain")
    result = child(
        project,
        """
import importlib
sys.meta_path.remove(FINDER)
importlib.import_module("guarded")
before = state()
import plain
emit(before=before, after=state())
""",
    )
    got = outcome(result)
    assert ran(result) == ["guarded", "plain"], result
    assert got["before"]["copies"] == 0
    assert got["after"]["first"] is True


@pytest.mark.parametrize("bypass", ["exec", "loader", "spec_from_file_location", "sys_modules"])
def test_limit_loading_without_the_import_system(project: Path, bypass: str) -> None:
    # The finder is in place and the audit hook armed: code that never asks sys.meta_path is not seen.
    guarded_project(project)
    loaders = {
        "exec": "exec(compile(open('guarded.py').read(), 'guarded.py', 'exec'), {'__name__': 'guarded'})",
        "loader": (
            "import types\nfrom importlib.machinery import SourceFileLoader\n"
            "SourceFileLoader('guarded', 'guarded.py').exec_module(types.ModuleType('guarded'))"
        ),
        "spec_from_file_location": (
            "import importlib.util\n"
            "spec = importlib.util.spec_from_file_location('guarded', 'guarded.py')\n"
            "spec.loader.exec_module(importlib.util.module_from_spec(spec))"
        ),
        "sys_modules": (
            "import types\nsys.modules['guarded'] = types.ModuleType('guarded')\n"
            "import guarded\nprint('RAN fake')"
        ),
    }
    result = child(project, loaders[bypass] + "\nemit(**state())\n")
    assert outcome(result)["first"] is True, result
    assert ran(result) == (["fake"] if bypass == "sys_modules" else ["guarded"])
    assert events(result) == []
