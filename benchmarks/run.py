"""Every budget of SPEC §11 in one run, one table: ``python -m benchmarks`` or ``python benchmarks/run.py``.

The start-up and uncontracted-import budgets are measured by ``startup.py`` and ``imports.py``
(their ``main`` runs unchanged and prints its own detailed table; their ``report`` is wrapped to
collect the figures). The contracted-import budgets, the ImportSpy comparison and the scale run
are ``contracted.py`` and ``scale.py``, in environments built once here with ``startup.py``'s own
builder: a venv with importspy-hook installed from a wheel of this checkout, and a tools venv with
ImportSpy 0.4 and matplotlib (benchmark-only dependencies, never installed with the package).

Children run without ``PYTHONDONTWRITEBYTECODE`` (users normally have bytecode caching, and the
cache of parsed contracts lives beside it). The machine is what it is: run nothing else meanwhile,
and read ratios rather than absolute figures.

One command from a fresh checkout (SPEC §11): the harness itself runs the package from the
checkout (``imports.py`` judges a canary import with it), so it needs the runtime dependencies in
the interpreter that runs it. When they are missing — a system Python, a bare pyenv build — or when
``--python PATH`` names another interpreter, :func:`bootstrap` creates a venv from that interpreter
with the dependencies, runs the benchmarks there, and removes it. Nothing is ever installed into the
interpreter that was used to start them.

``--quick``: the CI smoke test — every harness runs end to end with tiny sizes and checks itself
(configurations really are what they claim, guarded imports really are refused when they should
be); its figures are not meant to be read and the scale plot is not rewritten. Exit status: 2 when
a harness fails, 1 with ``--strict`` when a budget is not met, else 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

if __package__ in (None, ""):  # ``python benchmarks/run.py``: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import contracted, imports, scale, startup
from benchmarks.startup import HarnessError, Summary

HERE = Path(__file__).resolve().parent
PLOT = HERE / "scale.png"
SCALE_DATA = HERE / "scale.json"

PARSED_BUDGET_US = 15.0
WARM_BUDGET_MS = 2.5
COLD_BUDGET_MS = 30.0
SPY_COLD_RATIO = 30.0
SPY_WARM_RATIO = 100.0


@dataclass
class Row:
    label: str
    measured: str
    budget: str
    met: bool | None  # None: reported, no budget

    @property
    def result(self) -> str:
        return "" if self.met is None else ("pass" if self.met else "FAIL")


@contextlib.contextmanager
def capturing(module: ModuleType, name: str) -> Iterator[dict[str, tuple[object, ...]]]:
    """Wrap ``module.name`` so that the arguments it is called with are kept (and it still runs)."""
    seen: dict[str, tuple[object, ...]] = {}
    original = getattr(module, name)

    def wrapper(*args: object, **kwargs: object) -> object:
        seen["args"] = args
        return original(*args, **kwargs)

    setattr(module, name, wrapper)
    try:
        yield seen
    finally:
        setattr(module, name, original)


def run_startup(quick: bool, log: Callable[[str], None]) -> list[Row]:
    log("== start-up (benchmarks/startup.py) ==")
    with capturing(startup, "report") as seen:
        code = startup.main(["--quick"] if quick else [])
    if code == 2 or "args" not in seen:
        raise HarnessError("startup.py did not complete")
    configs = seen["args"][0]
    base = configs[0]  # type: ignore[index]
    base_site = Summary.of(base.site_ns).median
    base_process = Summary.of(base.process_ns).median
    rows = []
    for config in configs[1:]:  # type: ignore[index]
        added = Summary.of(config.site_ns).median - base_site
        ratio = (base_process + added) / base_process
        if config.name in startup.FLOOR_NAMES:  # what any .pth-activated tool pays: the budgets' reference
            label = f"  {startup.FLOOR_NAMES[config.name]}: {config.label.removeprefix('floor: ')}"
            rows.append(Row(label, f"+{added:.0f} µs over base ({ratio:.3f}x)", "", None))
            continue
        over = startup.over_floor(config, configs)  # type: ignore[arg-type]
        floor_name = startup.FLOOR_NAMES.get(config.floor or "", "floor")
        budget = f"≤ {floor_name} + {config.margin_us:.0f} µs"
        if over is None:
            rows.append(Row(f"start-up: {config.label}", "no floor measured", budget, False))
            continue
        rows.append(
            Row(
                f"start-up: {config.label}",
                f"{floor_name} {over:+.0f} µs (base +{added:.0f} µs, {ratio:.3f}x)",
                budget,
                over <= config.margin_us,
            )
        )
    return rows


def run_imports(quick: bool, log: Callable[[str], None]) -> list[Row]:
    log("== uncontracted imports (benchmarks/imports.py) ==")
    with capturing(imports, "report") as seen:
        code = imports.main(["--quick"] if quick else [])
    if code == 2 or "args" not in seen:
        raise HarnessError("imports.py did not complete")
    cases = seen["args"][0]
    rows = []
    for case in cases:  # type: ignore[attr-defined]
        if case.layout == "missing":
            count = f"{case.imports_on:,} imports" if quick else "2,000 names"
            label = f"import of a module that does not exist ({count})"
        else:
            count = f"{case.imports_on:,} first imports" if quick else "2,000 modules"
            label = f"uncontracted imports ({count}), {case.layout}"
        budget = imports.BUDGETS[case.layout]
        measured = f"{case.ratio:.3f}x ({case.us_off:.1f} → {case.us_on:.1f} µs)"
        if case.finder == "importspy-hook":
            rows.append(Row(label, measured, f"≤ {budget:.2f}x", case.ratio <= budget))
        else:
            rows.append(Row(f"  floor: a do-nothing finder, {case.layout}", measured, "", None))
    return rows


def prepare(work: Path, log: Callable[[str], None]) -> tuple[Path, Path | None, contracted.Facts]:
    """The venv with importspy-hook installed, the tools venv (None if unavailable), the platform."""
    with_hook, _without = startup.build_environments(work / "envs", log)
    tools = contracted.make_tools_venv(work / "tools", log)
    return with_hook, tools, contracted.Facts.of(with_hook)


def run_contracted(
    work: Path,
    quick: bool,
    with_hook: Path,
    tools: Path | None,
    facts: contracted.Facts,
    log: Callable[[str], None],
) -> list[Row]:
    log("== contracted imports (benchmarks/contracted.py) ==")
    rows: list[Row] = []

    log("contract already parsed, in-process ...")
    computed, cached = contracted.measure_parsed(
        work,
        with_hook,
        facts,
        processes=2 if quick else 8,
        modules=20 if quick else 200,
        rounds=1 if quick else 5,
        chunk=10 if quick else 20,
    )
    rows.append(
        Row(
            "contracted import, contract already parsed",
            f"+{computed.median:.1f} µs",
            f"≤ {PARSED_BUDGET_US:.0f} µs",
            computed.median <= PARSED_BUDGET_US,
        )
    )
    rows.append(
        Row(
            f"  same, verdict cached (re-check); the import itself takes {computed.off_us:.0f} µs",
            f"+{cached.median:.1f} µs",
            "",
            None,
        )
    )
    rows.append(
        Row(
            "  the check alone in a loop (validate), verdict computed / cached",
            f"{computed.check_us:.1f} / {cached.check_us:.1f} µs",
            "",
            None,
        )
    )
    floor, _ = contracted.measure_parsed(
        work,
        with_hook,
        facts,
        processes=2 if quick else 8,
        modules=20 if quick else 200,
        rounds=1 if quick else 5,
        chunk=10 if quick else 20,
        contract="",
        label="parsed-empty",
    )
    rows.append(
        Row(
            "  floor: an empty contract (loader wrapping, caller, guard)", f"+{floor.median:.1f} µs", "", None
        )
    )

    samples = contracted.measure_fresh(work, with_hook, tools, facts, rounds=3 if quick else 30, log=log)
    base_ms = contracted.summary_ms(samples["base"])
    warm = contracted.summary_ms(samples["warm"]) - base_ms
    cold = contracted.summary_ms(samples["cold"]) - base_ms
    rows.append(
        Row(
            "first contracted import, fresh process, cache warm",
            f"+{warm:.2f} ms",
            f"≤ {WARM_BUDGET_MS:.1f} ms",
            warm <= WARM_BUDGET_MS,
        )
    )
    rows.append(
        Row(
            "first contracted import ever (parse included)",
            f"+{cold:.1f} ms",
            f"≤ {COLD_BUDGET_MS:.0f} ms",
            cold <= COLD_BUDGET_MS,
        )
    )
    if tools is None:
        rows.append(
            Row("vs ImportSpy embedded mode", "skipped: ImportSpy 0.4 could not be installed", "", False)
        )
    else:
        spy_cold = contracted.summary_ms(samples["importspy"]) - contracted.summary_ms(
            samples["importspy-base"]
        )
        spy_warm = statistics.median(
            contracted.measure_spy_warm(
                work, tools, facts, imports=3 if quick else 20, processes=1 if quick else 3
            )
        )
        cold_ratio = spy_cold / warm if warm > 0 else float("inf")
        warm_ratio = spy_warm * 1000 / computed.median if computed.median > 0 else float("inf")
        rows.append(
            Row(
                f"vs ImportSpy 0.4 embedded, cold (it adds {spy_cold:.0f} ms)",
                f"{cold_ratio:.0f}x less",
                f"≥ {SPY_COLD_RATIO:.0f}x",
                cold_ratio >= SPY_COLD_RATIO,
            )
        )
        rows.append(
            Row(
                f"  same, against our first import ever (+{cold:.1f} ms)",
                f"{spy_cold / cold:.1f}x less" if cold > 0 else "-",
                "",
                None,
            )
        )
        rows.append(
            Row(
                f"vs ImportSpy 0.4 embedded, warm (it adds {spy_warm:.1f} ms)",
                f"{warm_ratio:.0f}x less",
                f"≥ {SPY_WARM_RATIO:.0f}x",
                warm_ratio >= SPY_WARM_RATIO,
            )
        )
    return rows


def run_scale(
    work: Path,
    quick: bool,
    with_hook: Path,
    tools: Path | None,
    facts: contracted.Facts,
    log: Callable[[str], None],
) -> list[Row]:
    log("== scale (benchmarks/scale.py) ==")
    sizes = (100, 200) if quick else scale.SIZES
    result = scale.measure(
        work,
        with_hook,
        facts,
        sizes=sizes,
        time_runs=1 if quick else 7,
        memory_runs=1 if quick else 2,
        log=log,
    )
    last = result.points[-1]
    for point in result.points:
        log(
            f"  {point.modules:>6} modules, {point.contracts:>3} contracts: +{point.added_ms:.1f} ms "
            f"(imports alone {point.off_ms:.0f} ms), +{point.added_mib:.2f} MiB"
        )
    data = work / "scale.json"
    data.write_text(json.dumps(result.as_json(), indent=2), encoding="utf-8")
    if tools is not None:
        target = work / "scale.png" if quick else PLOT
        done = subprocess.run(
            [str(tools), "-m", "benchmarks.scale", "--plot", str(data), str(target)],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise HarnessError(f"plotting failed: {done.stderr.strip()[-1000:]}")
        if not quick:
            shutil.copy(data, SCALE_DATA)
            log(f"plot written to {target.relative_to(HERE.parent)}")
    per_module_us = last.added_ms * 1000 / last.modules
    growth_met = result.time_growth <= scale.GROWTH_BUDGET and result.memory_growth <= scale.GROWTH_BUDGET
    return [
        Row(
            f"scale: {last.modules:,} modules, {last.contracts} contracts — added time",
            f"+{last.added_ms:.0f} ms ({per_module_us:.1f} µs/module)",
            "reported",
            None,
        ),
        Row(
            f"scale: {last.modules:,} modules — added peak memory",
            f"+{last.added_mib:.2f} MiB",
            "reported",
            None,
        ),
        Row(
            f"scale: growth per module, {result.points[0].modules:,} → {last.modules:,} (time / memory)",
            f"{result.time_growth:.2f}x / {result.memory_growth:.2f}x",
            f"≤ {scale.GROWTH_BUDGET:.1f}x (linear)",
            growth_met,
        ),
    ]


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


def print_table(rows: Sequence[Row], quick: bool, elapsed: float) -> None:
    print()
    title = "SPEC §11 budgets" + (" (--quick: harness check only, figures not meaningful)" if quick else "")
    print(f"{title} — {contracted.platform_line()}, {elapsed:.0f} s")
    header = ("budget", "measured", "budget", "result")
    widths = [
        max(len(row.label) for row in rows),
        max(len(row.measured) for row in rows),
        max(len(row.budget) for row in rows),
        6,
    ]
    widths = [max(width, len(text)) for width, text in zip(widths, header, strict=True)]
    print("  ".join(text.ljust(width) for text, width in zip(header, widths, strict=True)))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        cells = (row.label, row.measured, row.budget, row.result)
        print("  ".join(text.ljust(width) for text, width in zip(cells, widths, strict=True)).rstrip())


# --------------------------------------------------------------------------------------------- bootstrap

# What the harness process itself imports (from the checkout, through ``PYTHONPATH``); each
# distribution's import name is its own.
HARNESS_MODULES = startup.RUNTIME_REQUIREMENTS
BOOTSTRAPPED = "IMPORTSPY_BENCH_BOOTSTRAPPED"  # set in the re-run: never bootstrap twice


def missing_requirements() -> list[str]:
    """Requirements of the harness this interpreter cannot import (pip included: the harness
    builds its environments with ``python -m pip``)."""
    import importlib.util

    missing = []
    for requirement in (*HARNESS_MODULES, "pip"):
        try:
            found = importlib.util.find_spec(requirement) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(requirement)
    return missing


def harness_venv(interpreter: str, root: Path, log: Callable[[str], None]) -> Path:
    """A venv made by ``interpreter`` holding what the harness needs; returns its python."""
    log(f"creating the harness environment for {interpreter} in {root} ...")
    startup.run([interpreter, "-m", "venv", root])  # with pip (ensurepip): the harness uses it
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    startup.run([python, "-m", "pip", "install", "-q", *HARNESS_MODULES])
    return python


def without_option(argv: Sequence[str], option: str) -> list[str]:
    """``argv`` without ``option VALUE`` / ``option=VALUE`` (the re-run must not bootstrap again)."""
    kept: list[str] = []
    skip = False
    for item in argv:
        if skip:
            skip = False
        elif item == option:
            skip = True
        elif not item.startswith(option + "="):
            kept.append(item)
    return kept


def bootstrap(interpreter: str, argv: Sequence[str], keep: bool, log: Callable[[str], None]) -> int:
    """Run ``python -m benchmarks argv`` in a fresh harness venv of ``interpreter``; its exit status."""
    root = Path(tempfile.mkdtemp(prefix="importspy-bench-harness-"))
    try:
        python = harness_venv(interpreter, root / "venv", log)
        env = startup.child_env({BOOTSTRAPPED: "1"})
        env.pop("PYTHONPATH", None)
        done = subprocess.run(
            [os.fspath(python), "-m", "benchmarks", *without_option(argv, "--python")],
            cwd=HERE.parent,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        return done.returncode
    finally:
        if keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="CI smoke test: every harness, tiny sizes")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget is not met")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--python",
        metavar="PATH",
        help="measure this interpreter (e.g. ~/.pyenv/versions/3.13.0/bin/python): the benchmarks "
        "run in a venv made from it; by default, the interpreter running this command",
    )
    parser.add_argument(
        "--check-harness",
        action="store_true",
        help="set up the harness (bootstrapping it if needed), print its interpreter, and stop",
    )
    parser.add_argument(
        "--only",
        choices=("startup", "imports", "contracted", "scale"),
        action="append",
        help="run only these parts (repeatable)",
    )
    args = parser.parse_args(arguments)
    parts = set(args.only or ("startup", "imports", "contracted", "scale"))
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # children inherit it through child_env otherwise

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    missing = missing_requirements()
    if args.python or missing:
        if os.environ.get(BOOTSTRAPPED):
            print(f"benchmarks: harness error: still missing {', '.join(missing)}", file=sys.stderr)
            return 2
        if missing:
            log(f"this interpreter lacks {', '.join(missing)}: running the benchmarks in a venv of it")
        try:
            return bootstrap(args.python or sys.executable, arguments, args.keep, log)
        except HarnessError as error:
            print(f"benchmarks: harness error: {error}", file=sys.stderr)
            return 2
    if args.check_harness:
        versions = [f"{name} {_version(name)}" for name in HARNESS_MODULES]
        print(f"harness: {sys.executable} ({contracted.platform_line()}); {', '.join(versions)}")
        return 0

    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="importspy-bench-"))
    rows: list[Row] = []
    try:
        if "startup" in parts:
            rows += run_startup(args.quick, log)
        if "imports" in parts:
            rows += run_imports(args.quick, log)
        if parts & {"contracted", "scale"}:
            with_hook, tools, facts = prepare(work, log)
            if "contracted" in parts:
                rows += run_contracted(work, args.quick, with_hook, tools, facts, log)
            if "scale" in parts:
                rows += run_scale(work, args.quick, with_hook, tools, facts, log)
    except (HarnessError, RuntimeError, subprocess.CalledProcessError) as error:
        print(f"benchmarks: harness error: {error}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print_table(rows, args.quick, time.monotonic() - started)
    met = all(row.met is not False for row in rows)
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
