"""Shared helpers for tests that start interpreters.

Every test that exercises the import system runs its subject in a child interpreter, so that no
test's ``sys.modules``/``sys.meta_path`` state can leak into another. The child finds the same
``importspy_hook`` the test process imported (the installed copy in CI, the checkout in
development) and activates the hook explicitly, with ``IMPORTSPY_HOOK=0`` in its environment so that
an installed start-up file does not add a second, differently configured finder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

import importspy_hook

PACKAGE_PARENT = str(Path(importspy_hook.__file__).resolve().parent.parent)


class Result:
    """Outcome of a child interpreter: return code and decoded output."""

    def __init__(self, completed: subprocess.CompletedProcess[str]) -> None:
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr

    def __repr__(self) -> str:
        return f"Result(rc={self.returncode}, stdout={self.stdout!r}, stderr={self.stderr!r})"


def child_env(
    extra: Mapping[str, str | None] | None = None, *, path: list[str] | None = None
) -> dict[str, str]:
    """Environment for a child: hook start-up off, importspy_hook importable, log to stderr."""
    env = dict(os.environ)
    env["IMPORTSPY_HOOK"] = "0"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    entries = [*(path or []), PACKAGE_PARENT]
    env["PYTHONPATH"] = os.pathsep.join(entries)
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_python(
    code: str,
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str | None] | None = None,
    path: list[str] | None = None,
    timeout: float = 60,
) -> Result:
    """Run ``code`` (dedented) in a fresh interpreter; ``path`` entries go first on ``PYTHONPATH``."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=child_env(env, path=path),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(completed)


def run_script(
    script: Path | str,
    *args: str,
    mode: str | None = "enforce",
    cwd: Path | str | None = None,
    env: Mapping[str, str | None] | None = None,
    path: list[str] | None = None,
    timeout: float = 60,
) -> Result:
    """Run ``script`` as ``__main__`` with the hook installed in ``mode`` (None: no hook).

    The script is the caller of its imports, exactly as ``python script.py`` would make it: the
    bootstrap goes through ``runpy`` (standard library, skipped by the caller walk).
    """
    script = str(script)
    install = f"importspy_hook.install(mode={mode!r}); " if mode else ""
    bootstrap = (
        "import sys, runpy, importspy_hook; "
        + install
        + "sys.argv = sys.argv[1:]; "
        + "sys.path.insert(0, __import__('os').path.dirname(sys.argv[0])); "
        + "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    completed = subprocess.run(
        [sys.executable, "-c", bootstrap, script, *args],
        cwd=cwd,
        env=child_env(env, path=path),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(completed)


def write_files(root: Path, files: Mapping[str, str]) -> Path:
    """Write ``{relative path: dedented text}`` under ``root`` and return ``root``."""
    for relative, text in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty directory for a test's modules, contracts and scripts."""
    root = tmp_path / "project"
    root.mkdir()
    return root
