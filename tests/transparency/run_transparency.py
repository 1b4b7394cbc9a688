#!/usr/bin/env python3
"""Transparency on real code: a third-party project's own test suite, with the hook on and off.

Why this exists (issue 7, SPEC §1 and §3): once installed, importspy-hook runs inside every
interpreter of the environment — test runners, pip, worker pools. Where no contract applies it must
be invisible. The strongest evidence we can cheaply produce is a well-known project's own test suite
giving exactly the same results with the hook active and with it switched off.

What it does, per project (the pinned versions are just below):

1. downloads the project's sdist from the package index (``pip download --no-binary :all:``) and
   checks that it ships its tests;
2. builds one wheelhouse — the project built from that sdist, its test requirements, and
   importspy-hook built from a *copy* of this checkout (so ``build/`` and ``*.egg-info`` never land
   in the tree others are editing) — so that both environments get byte-identical packages;
3. creates two virtual environments and installs the same packages in both, offline from the
   wheelhouse; importspy-hook is installed first, so the second ``pip install`` already runs with
   the hook active in the "on" environment;
4. probes each environment: with ``IMPORTSPY_HOOK=enforce`` the finder must be first on
   ``sys.meta_path``; with ``IMPORTSPY_HOOK=0`` it must be absent and its start-up module not even
   imported; the project must be imported from the environment (not from the unpacked tree), so
   that a C extension is the one that was built;
5. runs the project's tests in each environment from its own copy of the unpacked sdist
   (``python -m pytest -p no:cacheprovider -q``, never ``-n``), with ``PYTHONHASHSEED=0`` and the
   user's ``PYTHONDONTWRITEBYTECODE`` left as it is;
6. compares the summary counts *and* every test's outcome (from ``--junitxml``: equal counts could
   hide two tests that swapped outcomes), prints a table, and exits 1 on any difference (2 when the
   comparison could not be made at all).

Time: each suite runs ``--repeat`` times per environment (default 2), alternating which environment
goes first so that neither always meets a cold file cache; the table shows the fastest wall time and
the fastest CPU time (user + system of pytest and its children) of each. On a machine shared with
other work, CPU time is the steadier of the two; differences of a few per cent either way are noise.

The only network access is the package index, through pip. Usage::

    python tests/transparency/run_transparency.py            # every project
    python tests/transparency/run_transparency.py --quick    # the first one only
    python tests/transparency/run_transparency.py --workdir /tmp/t --repeat 3   # keep files, steadier times

The interpreter running this script needs pip ≥ 22.3 (``pip --python``); the environments are built
from ``--python`` (default: this interpreter).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# --------------------------------------------------------------------------------------------------
# Pinned versions. Bump deliberately: a new release can change its own pass/fail counts, never the
# comparison (both environments always get the same packages).
# --------------------------------------------------------------------------------------------------

PYTEST = "pytest==9.2.0"


@dataclass(frozen=True)
class Project:
    """A project whose own test suite is run with the hook on and off."""

    name: str
    version: str
    import_name: str
    kind: str
    test_requirements: tuple[str, ...]
    test_paths: tuple[str, ...] = ("tests",)
    pytest_args: tuple[str, ...] = ()
    probe_imports: tuple[str, ...] = ()
    """Modules that must import from the environment (e.g. the project's compiled extension)."""


PROJECTS: tuple[Project, ...] = (
    Project(
        name="attrs",
        version="26.1.0",
        import_name="attr",
        kind="pure Python, hypothesis-heavy; a dependency of the hook itself",
        test_requirements=(PYTEST, "hypothesis==6.170.15", "cloudpickle==3.1.2", "pympler==1.1"),
        pytest_args=("--hypothesis-seed=0",),
    ),
    Project(
        name="wrapt",
        version="2.5.2",
        import_name="wrapt",
        kind="C extension; post-import hooks (its own sys.meta_path finder)",
        test_requirements=(PYTEST,),
        probe_imports=("wrapt._wrappers",),
    ),
    Project(
        name="click",
        version="8.5.1",
        import_name="click",
        kind="pure Python; terminal I/O, subprocess import checks",
        test_requirements=(PYTEST,),
    ),
)

CHECKOUT = Path(__file__).resolve().parents[2]
"""Root of the importspy-hook tree this script belongs to."""

MODES = ("enforce", "0")
"""``IMPORTSPY_HOOK`` for the "on" and the "off" environment."""

RUN_TIMEOUT = 900.0
"""Seconds one test-suite run may take before it counts as a failure of the comparison."""

# Variables that would make a child import something other than what was installed, or run the
# suite differently from a plain ``python -m pytest``. PYTHONDONTWRITEBYTECODE stays as the user has it.
SCRUBBED = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONSAFEPATH",
    "PYTHONPROFILEIMPORTTIME",
    "PYTHONEXECUTABLE",
    "PYTHONINSPECT",
    "PYTHONWARNINGS",
    "VIRTUAL_ENV",
    "__PYVENV_LAUNCHER__",
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
)

COUNT_KEYS = ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")
"""Outcomes compared and shown; ``deselected``, ``warnings`` and subtests are shown, not required equal."""


class SetupError(RuntimeError):
    """The comparison could not be made (download, build, install, or a probe failed)."""


# --------------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------------


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment without import redirections or hook settings, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in SCRUBBED and not key.startswith("IMPORTSPY_")
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra or {})
    return env


def run(
    args: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 600.0,
    what: str,
) -> subprocess.CompletedProcess[str]:
    """Run a setup step; any failure is a ``SetupError`` carrying the step's output."""
    argv = [os.fspath(a) for a in args]
    try:
        completed = subprocess.run(
            argv,
            env=clean_env(env),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise SetupError(f"{what}: timed out after {timeout:.0f}s") from exc
    if completed.returncode != 0:
        tail = (completed.stdout[-1500:] + completed.stderr[-3000:]).strip()
        raise SetupError(f"{what}: exit {completed.returncode}\n  $ {' '.join(argv)}\n{tail}")
    return completed


def pip(*args: str | os.PathLike[str], env: Mapping[str, str] | None = None, what: str) -> None:
    """The pip of the interpreter running this script."""
    run([sys.executable, "-m", "pip", *args], env=env, what=what)


def check_pip() -> None:
    """``pip --python`` (used to fill environments created without pip) needs pip 22.3 or later."""
    out = run([sys.executable, "-m", "pip", "--version"], what="pip --version").stdout
    match = re.match(r"pip (\d+)\.(\d+)", out)
    if match is None or (int(match.group(1)), int(match.group(2))) < (22, 3):
        raise SetupError(f"this script needs pip >= 22.3 in {sys.executable}; found: {out.strip()!r}")


# --------------------------------------------------------------------------------------------------
# Building what gets installed
# --------------------------------------------------------------------------------------------------

_COPY_IGNORED = shutil.ignore_patterns(
    ".git",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".venv",
)


def build_hook_wheel(workdir: Path) -> Path:
    """importspy-hook's wheel, built from a clean copy of the checkout."""
    source = workdir / "importspy-hook-src"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(CHECKOUT, source, ignore=_COPY_IGNORED, symlinks=True)
    out = workdir / "hook-wheel"
    shutil.rmtree(out, ignore_errors=True)
    pip("wheel", "-q", "--no-deps", "-w", out, source, what="build importspy-hook")
    wheels = sorted(out.glob("importspy_hook-*.whl"))
    if len(wheels) != 1:
        raise SetupError(f"expected one importspy-hook wheel in {out}, found {wheels}")
    return wheels[0]


def download_sdist(project: Project, workdir: Path) -> Path:
    """The project's sdist (reused when an earlier run of the same ``--workdir`` fetched it)."""
    out = workdir / "sdists"
    out.mkdir(parents=True, exist_ok=True)
    pip(
        "download", "-q", "--no-binary", ":all:", "--no-deps", "-d", out,
        f"{project.name}=={project.version}",
        what=f"download {project.name} sdist",
    )  # fmt: skip
    prefix = re.sub(r"[-_.]+", "[-_.]", project.name)
    pattern = re.compile(rf"{prefix}-{re.escape(project.version)}\.(tar\.gz|zip)$", re.IGNORECASE)
    found = [path for path in out.iterdir() if pattern.match(path.name)]
    if len(found) != 1:
        raise SetupError(f"no single sdist of {project.name} {project.version} in {out}: {found}")
    return found[0]


def unpack(sdist: Path, target: Path, project: Project) -> Path:
    """Unpack ``sdist`` under ``target``; the tree must contain the project's tests."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    if sdist.name.endswith(".zip"):
        shutil.unpack_archive(sdist, target)
    else:
        with tarfile.open(sdist) as archive:
            if hasattr(tarfile, "data_filter"):  # 3.12, and security releases of 3.10/3.11
                archive.extractall(target, filter="data")
            else:  # a pinned release from the package index
                archive.extractall(target)
    roots = [path for path in target.iterdir() if path.is_dir()]
    if len(roots) != 1:
        raise SetupError(f"{sdist.name}: expected one top-level directory, found {roots}")
    tree = roots[0]
    for test_path in project.test_paths:
        if not (tree / test_path).exists():
            raise SetupError(f"{sdist.name} does not ship {test_path!r}: its tests cannot be run")
    return tree


def build_wheelhouse(project: Project, sdist: Path, hook_wheel: Path, workdir: Path) -> Path:
    """Wheels of everything both environments install, resolved once."""
    wheelhouse = workdir / project.name / "wheelhouse"
    shutil.rmtree(wheelhouse, ignore_errors=True)
    pip(
        "wheel", "-q", "-w", wheelhouse, sdist, hook_wheel, *project.test_requirements,
        what=f"build the {project.name} wheelhouse",
    )  # fmt: skip
    return wheelhouse


class Venv:
    """A virtual environment created without pip and filled by this interpreter's ``pip --python``."""

    def __init__(self, root: Path, python: str, mode: str) -> None:
        shutil.rmtree(root, ignore_errors=True)
        run([python, "-m", "venv", "--without-pip", root], what=f"create {root.name}")
        self.root = root
        self.mode = mode
        bindir = "Scripts" if os.name == "nt" else "bin"
        self.python = root / bindir / ("python.exe" if os.name == "nt" else "python")

    @property
    def env(self) -> dict[str, str]:
        return {"IMPORTSPY_HOOK": self.mode, "PYTHONHASHSEED": "0"}

    def install(self, wheelhouse: Path, *requirements: str) -> None:
        pip(
            "--python", self.python, "install", "-q", "--no-index", "--find-links", wheelhouse,
            *requirements,
            env=self.env,
            what=f"install {' '.join(requirements)} into {self.root.name}",
        )  # fmt: skip

    def probe(self, project: Project) -> None:
        """Fail unless the hook is in the state the mode promises and the project is the installed one."""
        expect_hook = self.mode != "0"
        code = textwrap.dedent(
            f"""
            import sys
            hook_imported = "_importspy_hook_startup" in sys.modules  # the start-up module
            finders = [f for f in sys.meta_path if getattr(f, "_importspy_hook_finder", False)]
            first = bool(finders) and sys.meta_path[0] is finders[0]
            import importlib, os
            root = os.path.realpath(sys.prefix)
            outside = []
            for name in {(project.import_name, *project.probe_imports)!r}:
                origin = os.path.realpath(importlib.import_module(name).__file__)
                if not origin.startswith(root + os.sep):
                    outside.append(origin)
            print(len(finders), first, hook_imported, outside)
            """
        )
        out = run([self.python, "-c", code], env=self.env, cwd=self.root, what=f"probe {self.root.name}")
        text = out.stdout.strip()
        wanted = "1 True True []" if expect_hook else "0 False False []"
        if text != wanted:
            raise SetupError(
                f"{self.root.name} (IMPORTSPY_HOOK={self.mode}): expected "
                f"'finders first imported outside' = {wanted!r}, got {text!r}\n{out.stderr[-2000:]}"
            )


# --------------------------------------------------------------------------------------------------
# Running and comparing
# --------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one run of a test suite produced."""

    counts: dict[str, int]
    tests: Counter[tuple[str, str]]
    seconds: float
    cpu: float
    """User + system CPU seconds of pytest and the processes it waited for: less disturbed than wall
    time by other work on a shared machine (NaN where ``resource`` does not exist)."""
    returncode: int
    log: Path
    summary: str = ""
    hook_lines: tuple[str, ...] = ()
    """Output lines in which the hook speaks (warnings, internal errors): none are expected."""

    def row(self) -> str:
        return "/".join(str(self.counts.get(key, 0)) for key in ("passed", "failed", "skipped", "xfailed"))


_SUMMARY = re.compile(r"^=*\s*(?P<body>(?:\d+ [\w ]+?(?:, )?)+)\s+in [\d.]+s\b")
_COUNT = re.compile(r"(\d+) ([a-z][a-z ]*?)(?=,|$)")


def parse_summary(output: str) -> tuple[dict[str, int], str]:
    """Counts from pytest's closing line (``1 failed, 1376 passed, 8 skipped in 11.1s``)."""
    for line in reversed(output.splitlines()):
        match = _SUMMARY.match(line.strip())
        if match is None:
            continue
        counts: dict[str, int] = {}
        for number, word in _COUNT.findall(match.group("body").strip()):
            key = {"error": "errors", "warning": "warnings"}.get(word, word)
            counts[key] = counts.get(key, 0) + int(number)
        return counts, line.strip(" =")
    return {}, ""


def parse_junit(path: Path) -> Counter[tuple[str, str]]:
    """``(test id, outcome)`` pairs, where outcome is passed/failed/error/skipped/xfailed."""
    tests: Counter[tuple[str, str]] = Counter()
    if not path.exists():
        return tests
    for case in ElementTree.parse(path).iter("testcase"):
        test_id = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
                break
            if child.tag == "skipped":
                outcome = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
        tests[(test_id, outcome)] += 1
    return tests


def run_suite(project: Project, venv: Venv, tree: Path, logs: Path, label: str) -> Outcome:
    """One run of the project's own tests in ``venv`` from ``tree``."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{project.name}-{label}.log"
    junit = logs / f"{project.name}-{label}.xml"
    junit.unlink(missing_ok=True)
    argv = [
        os.fspath(venv.python), "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE",
        f"--junitxml={junit}", *project.pytest_args, *project.test_paths,
    ]  # fmt: skip
    cpu_before = _children_cpu()
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            argv,
            env=clean_env(venv.env),
            cwd=tree,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        output, returncode = completed.stdout + completed.stderr, completed.returncode
    except subprocess.TimeoutExpired as exc:
        output, returncode = f"timed out after {RUN_TIMEOUT:.0f}s: {exc}", -1
    seconds = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    log.write_text(f"$ {' '.join(argv)}\n(cwd {tree})\n\n{output}", encoding="utf-8")
    counts, summary = parse_summary(output)
    hook_lines = tuple(line for line in output.splitlines() if _HOOK_SPEAKS.search(line))
    return Outcome(counts, parse_junit(junit), seconds, cpu, returncode, log, summary, hook_lines)


_HOOK_SPEAKS = re.compile(
    r"importspy-hook:|hook\.internal_error|hook\.tampered|contract\.(violation|invalid)"
)


def _children_cpu() -> float:
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def differences(on: Outcome, off: Outcome) -> list[str]:
    """Human-readable differences between the two runs; empty when they agree."""
    found: list[str] = []
    if not on.counts or not off.counts:
        found.append(f"no pytest summary line (see {on.log} and {off.log})")
    for key in COUNT_KEYS:
        if on.counts.get(key, 0) != off.counts.get(key, 0):
            found.append(f"{key}: {on.counts.get(key, 0)} with the hook, {off.counts.get(key, 0)} without")
    if (on.returncode == 0) != (off.returncode == 0):
        found.append(f"pytest exit code {on.returncode} with the hook, {off.returncode} without")
    only_on = on.tests - off.tests
    only_off = off.tests - on.tests
    if only_on or only_off:
        found.append(f"{sum(only_on.values()) + sum(only_off.values())} per-test outcomes differ:")
        for (test_id, outcome), _ in list(only_on.items())[:10]:
            found.append(f"  with the hook:    {outcome:8} {test_id}")
        for (test_id, outcome), _ in list(only_off.items())[:10]:
            found.append(f"  without the hook: {outcome:8} {test_id}")
    if not on.tests and not off.tests:
        found.append("no per-test results (junit XML missing or empty)")
    for line in on.hook_lines[:10]:
        found.append(f"the hook spoke during the run: {line.strip()[:200]}")
    return found


@dataclass
class Report:
    """The comparison of one project."""

    project: Project
    on: list[Outcome] = field(default_factory=list)
    off: list[Outcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def best(self, runs: list[Outcome], cpu: bool = False) -> float:
        """The fastest run: the one least disturbed by the rest of the machine."""
        if not runs:
            return float("nan")
        return min(run.cpu if cpu else run.seconds for run in runs)


def compare_project(project: Project, hook_wheel: Path, workdir: Path, python: str, repeat: int) -> Report:
    """Everything for one project: download, build, two environments, ``repeat`` runs in each."""
    report = Report(project)
    base = workdir / project.name
    say(f"{project.name} {project.version}: download and build")
    sdist = download_sdist(project, workdir)
    pristine = unpack(sdist, base / "sdist", project)
    wheelhouse = build_wheelhouse(project, sdist, hook_wheel, workdir)
    venvs: dict[str, Venv] = {}
    trees: dict[str, Path] = {}
    for mode in MODES:
        label = "on" if mode != "0" else "off"
        say(f"{project.name}: environment with IMPORTSPY_HOOK={mode}")
        venv = venvs[label] = Venv(base / f"venv-{label}", python, mode)
        venv.install(wheelhouse, "importspy-hook")
        venv.install(wheelhouse, f"{project.name}=={project.version}", *project.test_requirements)
        venv.probe(project)
        trees[label] = base / f"tree-{label}"
        shutil.rmtree(trees[label], ignore_errors=True)
        shutil.copytree(pristine, trees[label], symlinks=True)
    for index in range(repeat):
        # Alternate which environment goes first, so that neither always meets a cold file cache.
        order = ("on", "off") if index % 2 == 0 else ("off", "on")
        for label in order:
            say(f"{project.name}: test suite, hook {label} (run {index + 1}/{repeat})")
            outcome = run_suite(project, venvs[label], trees[label], workdir / "logs", f"{label}-{index + 1}")
            (report.on if label == "on" else report.off).append(outcome)
        report.problems.extend(differences(report.on[-1], report.off[-1]))
    return report


# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------


def say(message: str) -> None:
    print(f"[transparency] {message}", file=sys.stderr, flush=True)


def _added(on: float, off: float) -> str:
    return f"{(on - off) / off * 100:+.1f}%" if off > 0 else "-"


def table(reports: Sequence[Report]) -> str:
    """Per project: counts and best wall/CPU time with the hook on and off, and the time added."""
    header = (
        "project", "version", "on: pass/fail/skip/xfail", "off: pass/fail/skip/xfail",
        "wall on", "wall off", "added", "cpu on", "cpu off", "added", "same",
    )  # fmt: skip
    rows = [header]
    for report in reports:
        wall_on, wall_off = report.best(report.on), report.best(report.off)
        cpu_on, cpu_off = report.best(report.on, cpu=True), report.best(report.off, cpu=True)
        rows.append(
            (
                report.project.name,
                report.project.version,
                report.on[-1].row(),
                report.off[-1].row(),
                f"{wall_on:.2f}s",
                f"{wall_off:.2f}s",
                _added(wall_on, wall_off),
                f"{cpu_on:.2f}s",
                f"{cpu_off:.2f}s",
                _added(cpu_on, cpu_off),
                "yes" if not report.problems else "NO",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="only the first project")
    parser.add_argument("--workdir", type=Path, help="keep downloads, environments and logs here")
    parser.add_argument("--python", default=sys.executable, help="interpreter the environments use")
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="runs per environment, alternating which goes first; times shown are the fastest (default 2)",
    )
    args = parser.parse_args(argv)
    projects = PROJECTS[:1] if args.quick else PROJECTS
    keep = args.workdir is not None
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="importspy-transparency-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    reports: list[Report] = []
    started = time.perf_counter()
    try:
        check_pip()
        say(f"working in {workdir}; building importspy-hook from {CHECKOUT}")
        hook_wheel = build_hook_wheel(workdir)
        for project in projects:
            reports.append(compare_project(project, hook_wheel, workdir, args.python, max(1, args.repeat)))
    except SetupError as exc:
        print(f"transparency: could not compare: {exc}\n(work directory kept: {workdir})", file=sys.stderr)
        return 2
    print(table(reports))
    for report in reports:
        print(f"{report.project.name} ({report.project.kind})")
        print(f"    hook on:  {report.on[-1].summary}\n    hook off: {report.off[-1].summary}")
    failed = [report for report in reports if report.problems]
    for report in failed:
        print(f"\n{report.project.name}: results differ (logs in {report.on[-1].log.parent}):")
        print("\n".join(f"  {problem}" for problem in report.problems))
    verdict = "DIFFERENCES found" if failed else "identical results with the hook on and off"
    print(f"\ntotal {time.perf_counter() - started:.0f}s: {verdict}")
    if failed or keep:
        print(f"work directory: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
