"""First import of many uncontracted modules, hook on versus off (SPEC §11, second and third budgets).

Budgets: importing 2,000 small modules that ship no contract costs at most 1.02x with the hook on
than without it, for a flat directory and for a package tree; and an import of a module that does
not exist (``import`` caught ``ModuleNotFoundError``, 2,000 distinct names so that nothing per name
is cached) costs at most 1.05x — the finders after the hook must be asked once, not twice. As a
floor, the same measurement is made for a do-nothing finder (``find_spec`` returns None at once):
no meta-path finder can cost less.

Why in-process alternating chunks: one first import of a small module takes ≈ 60 µs and the effect
being measured is ≈ 1 µs of it, smaller than the drift of a machine between two processes (page
cache, frequency scaling, other load). So each child process imports the modules in chunks of
``--chunk`` (10) and switches the finder on or off between chunks, outside the timed region (the
finder ``importspy_hook.install()`` created is put at the front of ``sys.meta_path`` or taken off),
so that every "on" chunk has an "off" neighbour measured less than a millisecond apart. Chunks are
timed with the CPU time of the process (``--clock cpu``), which leaves out the time the child
spends descheduled on a busy machine.

Why two copies of each layout: a finder's per-directory work (the hook lists a directory once to
learn which stems have a sidecar) must be spread over every import from that directory, as it is
when the hook is simply on. If the "on" and "off" chunks came from the same directory, the one-time
listing would be charged to half the imports and counted twice over. So each process imports two
identical copies of the layout (same shape, names of the same length, separate roots), one entirely
with the finder on and one entirely off, in alternating chunks; ``sys.path[0]`` is switched to the
chunk's own copy so that no lookup searches the other one. The copy that goes first alternates from
one pair of chunks to the next; which copy is "on", and which starts, rotate over every four
processes, so that each copy, and each position in the run, is timed both ways equally often.
The totals of all processes are compared (``ratio = Σ on / Σ off``, same number of imports each
way); the spread shown is that of the per-process ratios (min-max and a 95 % interval of their
mean).

Why the garbage collector is off in the children while they import: imports allocate the same
number of objects every time, so collections (and the full ones, whose cost grows with the heap)
fire at fixed import counts — in the same chunk of every process. With the collector on, that chunk's
copy, on or off, would be ≈ 10 % slower in every process, a bias larger than the budget. The hook
allocates next to nothing of its own per import (no per-import container survives it), so leaving
collections out does not hide a cost of its own.

What a "first import" is here: the first import of the module *in the process*, with its bytecode
already cached in ``__pycache__`` — what a user's program does with installed packages (pip
compiles them at install time) and with its own code from the second run on. Compiling source costs
several times more than everything else in an import, so a measurement including it would hide the
hook's cost; ``--compile`` measures that case instead (children run with
``PYTHONDONTWRITEBYTECODE=1`` on a tree without ``__pycache__``, so every import compiles).

Layouts (generated in a temporary directory, twice): ``flat``, 2,000 modules in one directory on
``sys.path``; ``tree``, 40 packages of 50 modules each (``pa007.m012``), so package ``__init__``
imports and per-package directory listings are included; ``missing``, 2,000 top-level names that
no directory holds (``nxa00012``; the copy's root is an empty directory put first on ``sys.path``,
the rest of ``sys.path`` is the child's own), each import catching ``ModuleNotFoundError`` — the
cost of a failed import is searching every ``sys.path`` entry's (cached) listing, which a finder
that asks the later finders itself and then returns None makes the import system pay twice.
Children run one after another, never in parallel, interleaved between layouts and finders.

Usage: ``python benchmarks/imports.py [--quick] [--processes N] [--modules N] [--chunk N]
[--clock cpu|wall] [--compile] [--strict]``. ``--quick`` is the CI smoke test (few processes and
modules; its figures are not meant to be read). The exit status is 2 when the harness fails
(a child failed, or the hook did not refuse the canary), 1 with ``--strict`` when the budget is not
met, 0 otherwise.
"""

from __future__ import annotations

import argparse
import compileall
import gc
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

REPO = Path(__file__).resolve().parent.parent
BUDGET = 1.02  # uncontracted modules that exist (flat, tree)
MISSING_BUDGET = 1.05  # a module that does not exist
BUDGETS = {"flat": BUDGET, "tree": BUDGET, "missing": MISSING_BUDGET}
CANARY = "bench_canary"
FINDERS = ("importspy-hook", "do-nothing finder")
LAYOUTS = ("flat", "tree", "missing")

MODULE_TEMPLATE = '''\
"""Generated module {index}: a few definitions, like a small real module."""

VALUE = {index}
NAMES = ("alpha", "beta", "gamma")


def scaled(x: int) -> int:
    return x * VALUE


class Thing:
    size = {index}

    def __init__(self, label: str) -> None:
        self.label = label
'''


# ------------------------------------------------------------------------------------------------
# The child: imports two copies of a layout in alternating chunks, one copy with the finder on.
# ------------------------------------------------------------------------------------------------


class _DoNothingFinder:
    """The cheapest possible meta-path finder: the floor any import hook is compared with."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        return None


class Plan(TypedDict):
    """What the parent tells a child to measure."""

    roots: dict[str, str]  # copy ("a"/"b") -> root directory of that copy of the layout
    missing: bool  # the names exist nowhere: each import must raise ModuleNotFoundError
    finder: str  # one of FINDERS
    on_copy: str  # the copy imported with the finder on
    first: str  # the copy imported first in the first pair of chunks (then it alternates)
    chunk: int  # imports per chunk
    clock: str  # "cpu" (CPU time of the process) or "wall"
    canary: str  # directory holding the canary module and its refusing contract


def _import_all(batch: Sequence[str]) -> None:
    for name in batch:
        __import__(name)


def _import_missing(batch: Sequence[str]) -> None:
    # Only ModuleNotFoundError for the very name is expected; anything else is a harness failure.
    for name in batch:
        try:
            __import__(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
        else:
            raise SystemExit(f"{name} was imported, though it should not exist")


def child(plan: Plan) -> dict[str, int]:
    """Run one process's measurement.

    Chunk ``k`` of copy "a" and chunk ``k`` of copy "b" are imported back to back, and the copy
    that goes first alternates from one pair to the next, so that no effect of position (caches,
    allocator state) can favour one copy. Before each chunk (outside the timed region)
    ``sys.path[0]`` is set to that copy's root and the finder is switched on or off, so a lookup
    never searches the other copy's directory.

    After the timed run, the finder is switched on once more to import a canary module whose
    contract refuses every importer: the result says whether the finder was really guarding
    (a hook that silently stopped working would otherwise pass the budget).
    """
    roots = plan["roots"]
    names = {copy: Path(roots[copy], "names.txt").read_text(encoding="utf-8").split() for copy in roots}
    on_copy, first, chunk = plan["on_copy"], plan["first"], plan["chunk"]
    second = "b" if first == "a" else "a"
    finder: object
    if plan["finder"] == "importspy-hook":
        import importspy_hook

        # The finder that start-up would install. It is created once and then taken off and put
        # back at the front of sys.meta_path between chunks, which is what uninstall()/install()
        # amount to: building a new finder every few imports touches enough memory (its scope
        # tables) to slow the next timed chunk by ≈ 2 %, a cost no real process pays.
        handle = importspy_hook.install()
        finder = handle.finder
        handle.uninstall()
    else:
        finder = _DoNothingFinder()
    meta_path = sys.meta_path

    sys.path.insert(0, "")
    totals = {"on_ns": 0, "off_ns": 0, "on_n": 0, "off_n": 0}
    gc.collect()
    gc.disable()  # see the module docstring: collections would land on the same chunks every time
    clock = time.process_time_ns if plan["clock"] == "cpu" else time.perf_counter_ns
    importer = _import_missing if plan["missing"] else _import_all
    for pair, start in enumerate(range(0, len(names["a"]), chunk)):
        for copy in (first, second) if pair % 2 == 0 else (second, first):
            batch = names[copy][start : start + chunk]
            sys.path[0] = roots[copy]
            on = copy == on_copy
            if on:
                meta_path.insert(0, finder)
            began = clock()
            importer(batch)
            elapsed = clock() - began
            if on:
                meta_path.remove(finder)
            key = "on" if on else "off"
            totals[key + "_ns"] += elapsed
            totals[key + "_n"] += len(batch)
    gc.enable()
    if plan["missing"]:
        found = [name for copy in names for name in names[copy] if name in sys.modules]
        if found:
            raise SystemExit(f"imported, though it should not exist: {found[:3]}")
    else:
        missing = [name for copy in names for name in names[copy] if name not in sys.modules]
        if missing:
            raise SystemExit(f"not imported: {missing[:3]}")
    sys.path[0] = plan["canary"]
    meta_path.insert(0, finder)
    try:
        __import__(CANARY)
        totals["canary_refused"] = 0
    except ValueError:  # importspy_hook.ContractViolation
        totals["canary_refused"] = 1
    finally:
        meta_path.remove(finder)
    return totals


# ------------------------------------------------------------------------------------------------
# The parent: generates the modules, runs the children, reports.
# ------------------------------------------------------------------------------------------------


def generate(work: Path, layout: str, copy: str, count: int, per_package: int = 50) -> Path:
    """Write copy ``copy`` of ``layout`` (``count`` modules) under ``work``; return its root.

    The two copies have the same shape and names of the same length (``ma00012``/``mb00012``,
    ``pa003.m012``/``pb003.m012``); ``names.txt`` in the root lists the modules in import order.
    """
    root = work / f"{layout}-{copy}"
    root.mkdir(parents=True)
    names: list[str] = []
    if layout == "missing":  # an empty root: the names exist nowhere on sys.path
        names = [f"nx{copy}{index:05d}" for index in range(count)]
    elif layout == "flat":
        for index in range(count):
            name = f"m{copy}{index:05d}"
            (root / f"{name}.py").write_text(MODULE_TEMPLATE.format(index=index), encoding="utf-8")
            names.append(name)
    else:
        for index in range(count):
            package, module = divmod(index, per_package)
            directory = root / f"p{copy}{package:03d}"
            if module == 0:
                directory.mkdir()
                (directory / "__init__.py").write_text('"""A generated package."""\n', encoding="utf-8")
            (directory / f"m{module:03d}.py").write_text(
                MODULE_TEMPLATE.format(index=index), encoding="utf-8"
            )
            names.append(f"{directory.name}.m{module:03d}")
    (root / "names.txt").write_text("\n".join(names), encoding="utf-8")
    return root


def generate_canary(work: Path) -> Path:
    """A module whose contract no importer meets: proof that the finder under test is guarding."""
    root = work / "canary"
    root.mkdir()
    (root / f"{CANARY}.py").write_text("VALUE = 1\n", encoding="utf-8")
    this_os = platform.system().lower()
    other_os = "linux" if this_os == "windows" else "windows"
    (root / f"{CANARY}.contract.yml").write_text(f"runtime:\n  os: [{other_os}]\n", encoding="utf-8")
    return root


def child_env(compile_source: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "IMPORTSPY_HOOK"))}
    env["IMPORTSPY_HOOK"] = "0"  # an installed start-up file must not add a finder of its own
    env["IMPORTSPY_HOOK_LOG"] = "off"  # the canary's refusal is expected: no event on stderr
    env["PYTHONPATH"] = str(REPO)
    if compile_source:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_child(plan: Plan, env: dict[str, str]) -> dict[str, int]:
    """Run one child process measuring ``plan``; return its totals."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(plan)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    if completed.returncode != 0:
        raise RuntimeError(f"child failed ({plan}): {completed.stderr.strip()}")
    totals: dict[str, int] = json.loads(completed.stdout.strip().splitlines()[-1])
    return totals


@dataclass
class Case:
    layout: str
    finder: str
    on_ns: int = 0
    off_ns: int = 0
    imports_on: int = 0
    imports_off: int = 0

    def __post_init__(self) -> None:
        self.ratios: list[float] = []

    def add(self, totals: dict[str, int]) -> None:
        self.on_ns += totals["on_ns"]
        self.off_ns += totals["off_ns"]
        self.imports_on += totals["on_n"]
        self.imports_off += totals["off_n"]
        self.ratios.append((totals["on_ns"] / totals["on_n"]) / (totals["off_ns"] / totals["off_n"]))

    @property
    def us_off(self) -> float:
        return self.off_ns / self.imports_off / 1000

    @property
    def us_on(self) -> float:
        return self.on_ns / self.imports_on / 1000

    @property
    def ratio(self) -> float:
        return self.us_on / self.us_off

    def spread(self) -> str:
        low, high = min(self.ratios), max(self.ratios)
        if len(self.ratios) < 2:
            return f"{low:.3f}-{high:.3f}"
        half = 1.96 * statistics.stdev(self.ratios) / math.sqrt(len(self.ratios))
        return f"{low:.3f}-{high:.3f} (mean ±{half:.3f})"


def report(cases: Sequence[Case], processes: int, modules: int, compile_source: bool, clock: str) -> bool:
    bytecode = "compiled at every import" if compile_source else "bytecode cached"
    timer = "CPU time" if clock == "cpu" else "wall time"
    print(
        f"\nFirst import of {modules} modules per layout (x2 copies; missing: {modules} names that exist "
        f"nowhere), {processes} processes, {bytecode}, "
        f"{timer}, Python {sys.version.split()[0]} ({sys.implementation.name}), {os.cpu_count()} CPUs\n"
    )
    header = ("case", "µs/import off", "µs/import on", "ratio", "per-process ratios", "budget", "result")
    rows = []
    passed = True
    for case in cases:
        is_hook = case.finder == "importspy-hook"
        budget = BUDGETS[case.layout]
        ok = case.ratio <= budget
        passed &= ok or not is_hook
        rows.append(
            (
                f"{case.layout}, {case.finder}",
                f"{case.us_off:.1f}",
                f"{case.us_on:.1f}",
                f"{case.ratio:.3f}",
                case.spread(),
                f"≤ {budget:.2f}" if is_hook else "(floor)",
                ("pass" if ok else "FAIL") if is_hook else "-",
            )
        )
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return passed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="CI smoke test: few processes and modules")
    parser.add_argument("--processes", type=int, help="child processes per case (default 20, quick 4)")
    parser.add_argument("--modules", type=int, help="modules per layout (default 2000, quick 400)")
    parser.add_argument("--chunk", type=int, default=10, help="imports per chunk (default 10)")
    parser.add_argument("--compile", action="store_true", help="no bytecode cache: every import compiles")
    parser.add_argument(
        "--clock", choices=("cpu", "wall"), default="cpu", help="CPU time of the child (default) or wall time"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when the budget is not met")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0

    processes = args.processes or (4 if args.quick else 20)
    modules = args.modules or (400 if args.quick else 2000)
    if modules % 50 or modules < 2 * args.chunk:
        parser.error("--modules must be a multiple of 50 and at least two chunks")
    work = Path(tempfile.mkdtemp(prefix="importspy-bench-imports-"))
    try:
        roots = {
            layout: {copy: str(generate(work, layout, copy, modules)) for copy in "ab"} for layout in LAYOUTS
        }
        canary = str(generate_canary(work))
        if not args.compile:
            compileall.compile_dir(str(work), quiet=1)
        env = child_env(args.compile)
        cases = {(layout, finder): Case(layout, finder) for layout in LAYOUTS for finder in FINDERS}
        started = time.monotonic()
        for process in range(processes):
            # four processes cover every combination of (copy measured on) x (copy first in a pair)
            on_copy = "ab"[process % 2]
            first = "ab"[(process // 2) % 2]
            for (layout, finder), case in cases.items():
                plan: Plan = {
                    "roots": roots[layout],
                    "missing": layout == "missing",
                    "finder": finder,
                    "on_copy": on_copy,
                    "first": first,
                    "chunk": args.chunk,
                    "clock": args.clock,
                    "canary": canary,
                }
                totals = run_child(plan, env)
                if totals.pop("canary_refused") != (finder == "importspy-hook"):
                    raise RuntimeError(f"the canary import was not judged as expected with {finder!r}")
                case.add(totals)
            if sys.stderr.isatty():
                print(f"\rprocess {process + 1}/{processes}", end="", file=sys.stderr, flush=True)
        print(
            f"{processes} processes per case in {time.monotonic() - started:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        passed = report(list(cases.values()), processes, modules, args.compile, args.clock)
    except RuntimeError as exc:
        print(f"imports benchmark: harness failure: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if passed or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
