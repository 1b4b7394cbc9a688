"""Real virtual environments for the activation tests (issue 2, SPEC §3).

Activation is a property of an *installed* package — the start-up file in site-packages, what pip
records for uninstall, what site does at start-up — so these tests install the project the way a user
does and start the environment's own interpreter. To keep each environment at a second or two:

- the runtime dependencies (and the build backend) are fetched once per session into a wheelhouse;
  every later install is ``--no-index --find-links <wheelhouse>``;
- environments are made ``--without-pip`` and populated by the outer interpreter's pip through
  ``pip --python <venv python>`` (pip ≥ 22.3) — pip then runs *inside* the target interpreter, with the
  hook active there, which is exactly the situation a user's pip is in;
- builds happen in a copy of the checkout, so that setuptools' ``build/`` and ``*.egg-info`` never land
  in the tree other people are editing, and a stale ``build/`` there cannot leak into the wheel.

Every child gets an environment with ``PYTHONPATH`` and every ``IMPORTSPY_*`` variable removed:
a developer's ``PYTHONPATH=<checkout>`` would otherwise make the venv import the checkout, not what was
installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
"""Root of the project tree the tests belong to (a clone in CI, the working tree in development)."""

RUNTIME_REQUIREMENTS = ("attrs", "ruamel.yaml", "structlog", "packaging")
BUILD_REQUIREMENTS = ("setuptools>=64", "wheel")

# Variables that would make a child interpreter import something else than the venv's installation,
# or behave differently from a user's plain start.
_SCRUBBED = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONSAFEPATH",
    "PYTHONPROFILEIMPORTTIME",
    "PYTHONEXECUTABLE",
    "PYTHONINSPECT",
    "VIRTUAL_ENV",
    "__PYVENV_LAUNCHER__",
)

PROBE = textwrap.dedent(
    """
    import sys
    modules = sorted(sys.modules)
    import json
    finders = [f for f in sys.meta_path if getattr(f, "_importspy_hook_finder", False)]
    print(json.dumps({
        "modes": [getattr(f, "mode", None) for f in finders],
        "first": bool(sys.meta_path) and getattr(sys.meta_path[0], "_importspy_hook_finder", False),
        "modules": modules,
    }))
    """
)
"""Child code that reports the hook's state without importing anything of importspy_hook.

``sys.modules`` is captured before ``json`` is imported, so it is exactly what start-up left behind.
"""


class Completed:
    """Outcome of a child process, text-decoded."""

    def __init__(self, args: Sequence[str], completed: subprocess.CompletedProcess[str]) -> None:
        self.args = list(args)
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def json(self) -> dict[str, object]:
        """The last stdout line parsed as JSON (the probes print exactly one)."""
        lines = self.stdout.strip().splitlines()
        assert lines, f"no output from {self!r}"
        value = json.loads(lines[-1])
        assert isinstance(value, dict)
        return value

    def check(self) -> Completed:
        assert self.returncode == 0, repr(self)
        return self

    def __repr__(self) -> str:
        return (
            f"Completed({' '.join(self.args)!r}, rc={self.returncode},\n"
            f"  stdout={self.stdout[-2000:]!r},\n  stderr={self.stderr[-4000:]!r})"
        )


def clean_env(extra: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The current environment minus anything that redirects imports or configures the hook."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _SCRUBBED and not key.startswith("IMPORTSPY_")
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"  # pip's own notice is not what these tests look at
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(
    args: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str | None] | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
) -> Completed:
    """Run a child process with a clean environment and capture its output."""
    argv = [os.fspath(a) for a in args]
    completed = subprocess.run(
        argv,
        env=clean_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return Completed(argv, completed)


def outer_pip(*args: str | os.PathLike[str], env: Mapping[str, str | None] | None = None) -> Completed:
    """The test interpreter's pip, which must be recent enough for ``--python`` (22.3+)."""
    return run([sys.executable, "-m", "pip", *args], env=env).check()


class Venv:
    """One virtual environment: its interpreter, its site-packages, and helpers to run things in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        bindir = "Scripts" if os.name == "nt" else "bin"
        self.python = root / bindir / ("python.exe" if os.name == "nt" else "python")
        self.site_packages = Path(
            sysconfig.get_path("purelib", vars={"base": str(root), "platbase": str(root)})
        )

    def __repr__(self) -> str:
        return f"Venv({self.root})"

    def run(
        self,
        *args: str | os.PathLike[str],
        env: Mapping[str, str | None] | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
    ) -> Completed:
        """Run the venv's interpreter with ``args``, by default from the venv's root.

        Not from the test's own working directory: that is usually the checkout, and ``-c`` puts the
        working directory first on ``sys.path``, so ``import importspy_hook`` would find the checkout
        instead of the installed copy (start-up imports only ``_importspy_hook_startup``, so nothing
        else has put the installed package in ``sys.modules`` first).
        """
        return run([self.python, *args], env=env, cwd=cwd or self.root, timeout=timeout)

    def code(
        self, source: str, env: Mapping[str, str | None] | None = None, cwd: Path | None = None
    ) -> Completed:
        return self.run("-c", textwrap.dedent(source), env=env, cwd=cwd)

    def probe(self, env: Mapping[str, str | None] | None = None) -> dict[str, object]:
        """The hook's state right after start-up (see ``PROBE``); the child must succeed."""
        return self.code(PROBE, env=env).check().json()

    def pip(self, *args: str | os.PathLike[str]) -> Completed:
        """pip (the outer one) operating on this environment."""
        return outer_pip("--python", self.python, *args)

    def install(self, wheelhouse: Path, *requirements: str | os.PathLike[str]) -> Completed:
        """Install offline from the wheelhouse (the project's build backend included)."""
        return self.pip("install", "-q", "--no-index", "--find-links", wheelhouse, *requirements)


def create_venv(root: Path, *, with_pip: bool = False) -> Venv:
    """``python -m venv`` from the test interpreter; pip only when the test needs the venv's own."""
    args: list[str | os.PathLike[str]] = [sys.executable, "-m", "venv"]
    if not with_pip:
        args.append("--without-pip")
    run([*args, root]).check()
    venv = Venv(root)
    assert venv.python.exists(), venv
    assert venv.site_packages.is_dir(), f"unexpected venv layout: {venv.site_packages} missing"
    return venv


def make_wheelhouse(target: Path) -> Path:
    """Wheels of the runtime dependencies and of the build backend, fetched once (PyPI or pip's cache)."""
    target.mkdir(parents=True, exist_ok=True)
    outer_pip("wheel", "-q", "-w", target, *RUNTIME_REQUIREMENTS, *BUILD_REQUIREMENTS)
    return target


_COPY_IGNORED = shutil.ignore_patterns(
    ".git",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".venv",
    ".venv*",  # per-Python development venvs (.venv310, ...)
    ".nox",  # noxfile.py's environments: whole interpreters and site-packages
    ".tox",
    "*.pyc",
)


def copy_checkout(target: Path) -> Path:
    """A copy of the project tree without build products, caches and VCS data."""
    shutil.copytree(CHECKOUT, target, ignore=_COPY_IGNORED, symlinks=True)
    return target


def build_wheel(source: Path, wheelhouse: Path, out: Path) -> Path:
    """``pip wheel`` of ``source`` (a project tree or an sdist), offline, isolated build."""
    out.mkdir(parents=True, exist_ok=True)
    outer_pip("wheel", "-q", "--no-deps", "--no-index", "--find-links", wheelhouse, "-w", out, source)
    (wheel,) = out.glob("importspy_hook-*.whl")
    return wheel


def build_sdist(source: Path, wheelhouse: Path, out: Path) -> Path:
    """``python -m build --sdist`` of ``source``; the isolated build env is filled from the wheelhouse."""
    run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", out, source],
        env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)},
    ).check()
    (sdist,) = out.glob("importspy_hook-*.tar.gz")
    return sdist


__all__ = [
    "BUILD_REQUIREMENTS",
    "CHECKOUT",
    "PROBE",
    "RUNTIME_REQUIREMENTS",
    "Completed",
    "Venv",
    "build_sdist",
    "build_wheel",
    "clean_env",
    "copy_checkout",
    "create_venv",
    "make_wheelhouse",
    "outer_pip",
    "run",
]
