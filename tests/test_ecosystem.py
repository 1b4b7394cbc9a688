"""How the project meets the tools around it: the benchmark harness from a bare interpreter (SPEC §11),
the README's packaging advice, and a plugin host that catches a refusal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import child_env

REPO = Path(__file__).resolve().parent.parent


def _benchmarks(*args: str, python_flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    if not (REPO / "benchmarks" / "run.py").is_file():
        pytest.skip("benchmarks/ is not part of this tree (an installed package is under test)")
    env = child_env()
    env.pop("PYTHONPATH", None)  # what a person typing the command has
    return subprocess.run(
        [sys.executable, *python_flags, "-m", "benchmarks", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_benchmarks_run_in_the_interpreter_that_has_what_they_need() -> None:
    done = _benchmarks("--check-harness")
    assert done.returncode == 0, done
    assert done.stdout.startswith(f"harness: {sys.executable} ("), done
    assert "creating the harness environment" not in done.stderr


def test_benchmarks_build_their_own_environment_from_a_bare_interpreter() -> None:
    # `-S`: no site-packages, so none of the dependencies — what a system Python looks like. The
    # harness must not fail ("canary was not judged"): it makes a venv of this interpreter with
    # what it needs, runs there, and removes it.
    done = _benchmarks("--check-harness", python_flags=("-S",))
    assert done.returncode == 0, done
    assert "lacks attrs, ruamel.yaml, structlog, packaging" in done.stderr
    (line,) = done.stdout.splitlines()
    assert line.startswith("harness: ") and "importspy-bench-harness-" in line
    assert "attrs " in line and "ruamel.yaml " in line
    harness_python = line.split()[1]
    assert not os.path.exists(harness_python)  # removed after the run (no --keep)


def test_benchmarks_python_option_is_removed_from_the_rerun() -> None:
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks.run import without_option
    finally:
        sys.path.remove(str(REPO))
    argv = ["--quick", "--python", "/x/python3.13", "--only", "startup", "--python=/y/python"]
    assert without_option(argv, "--python") == ["--quick", "--only", "startup"]


HOST = """\
import importlib

for name in ("plugins.missing", "plugins.refused", "plugins.fine"):
    try:
        importlib.import_module(name)
    except {caught} as exc:
        print("skipped", name, type(exc).__name__)
    else:
        print("loaded", name)
"""


@pytest.mark.parametrize("caught", ["ImportError", "(ImportError, ValueError)"])
def test_a_plugin_host_must_catch_value_error_to_survive_a_refusal(project: Path, caught: str) -> None:
    # The README's host pattern: a refusal is a ValueError (so that `except ImportError` probes of
    # optional modules cannot swallow it); a host that catches only ImportError crashes on it.
    from conftest import run_script, write_files

    write_files(
        project,
        {
            "host.py": HOST.format(caught=caught),
            "plugins/__init__.py": "",
            "plugins/refused.py": "print('refused plugin ran')\n",
            "plugins/refused.contract.yml": "runtime:\n  environment:\n    NEVER_SET_ANYWHERE_1234:\n",
            "plugins/fine.py": "",
        },
    )
    result = run_script(project / "host.py", cwd=project, env={"IMPORTSPY_HOOK_LOG": "off"})
    if caught == "ImportError":
        assert result.returncode == 1 and "ContractViolation" in result.stderr, result
        return
    assert result.returncode == 0, result
    assert result.stdout.splitlines() == [
        "skipped plugins.missing ModuleNotFoundError",
        "skipped plugins.refused ContractViolation",
        "loaded plugins.fine",
    ]


def test_the_example_host_catches_both() -> None:
    source = (REPO / "examples" / "host.py").read_text(encoding="utf-8")
    assert "except (ImportError, ValueError) as exc:" in source
