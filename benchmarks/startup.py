"""Interpreter start-up cost of an installed importspy-hook (SPEC §11, first budget).

Budgets, relative to two floors measured in the same run (below): with the package installed,
interpreter start with ``IMPORTSPY_HOOK=0`` costs at most floor-line + 60 µs, and with the hook on
(no contract met) at most floor-module + 150 µs. Each configuration's cost is its ``site.main()``
median; the budget compares the hook's median with the floor's median directly.

Why not just time ``python -c pass``: a whole process takes ≈ 10 ms and varies by several hundred
microseconds from run to run (scheduling, page cache, address-space randomisation), which is the size
of the effect being measured. So the part that differs between the configurations — ``site.main()``,
which processes site-packages and its ``.pth`` files — is timed *inside* the process: each run is
``python -S -c "<perf_counter_ns around import site; site.main()>"``, which skips the automatic site
step at start-up and performs it under the timer instead. Everything else an interpreter does at
start-up is identical in the three configurations. The ratio reported is then::

    (base_process + (site_X - site_base)) / base_process

where ``base_process`` is the median whole-process ``python -c pass`` of the environment without
the package, measured here as well.

Five configurations, built fresh in a temporary directory from this checkout, offline after one
fetch of the dependencies' wheels:

- ``base``: a venv with the runtime dependencies but without importspy-hook;
- ``off``: a twin venv with importspy-hook installed from a wheel, ``IMPORTSPY_HOOK=0``;
- ``on``: the same venv, hook on (no contract is involved at start-up);
- ``floor-off`` (floor-line): a copy of ``base`` with a ``.pth`` whose line only reads one variable;
- ``floor-on`` (floor-module): a copy of ``base`` whose ``.pth`` line also imports an empty module
  from site-packages — what any ``.pth``-activated tool pays at least.

``--no-floors`` leaves the floors out; the budgets are then reported as not judged.

Runs alternate between the configurations (the order rotates every round) so that drift of the
machine — thermal state, other load — spreads evenly instead of biasing one configuration. Medians
and inter-quartile ranges are reported. Children run without ``PYTHONDONTWRITEBYTECODE`` and every
configuration is run a few times before timing, so that all bytecode is cached: a missing ``.pyc``
would cost more than the hook itself.

Usage: ``python benchmarks/startup.py [--quick] [--rounds N] [--process-rounds N] [--keep]``.
``--quick`` is the CI smoke test: it checks the harness (the three configurations really are what
they claim) with few runs, and its figures are not meant to be read. The exit status is non-zero
only when the harness fails, or with ``--strict`` when a budget is not met.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUNTIME_REQUIREMENTS = ("attrs", "ruamel.yaml", "structlog", "packaging")
BUILD_REQUIREMENTS = ("setuptools>=64", "wheel")
HOOK_MODULES = ("_importspy_hook_startup",)

SITE_TIMER = (
    "import sys, time\n"
    "head = sys.path[:1]\n"
    "del sys.path[:1]\n"
    "t0 = time.perf_counter_ns()\n"
    "import site\n"
    "site.main()\n"
    "t1 = time.perf_counter_ns()\n"
    "sys.path[:0] = head\n"
    "print(t1 - t0)\n"
)
"""Run under ``python -S``: the site step, timed from inside the process (nanoseconds).

``-c`` puts the current directory first on ``sys.path`` before any code runs, whereas a normal
start-up runs site before that entry exists; left in place, it would make the first import from
site-packages during the timed step search (and list) the current directory first, a cost no real
start-up pays. So it is taken out for the timed step and put back after."""

PROBE = (
    "import sys\n"
    "print(sum(1 for f in sys.meta_path if getattr(f, '_importspy_hook_finder', False)),"
    " ','.join(sorted(m for m in sys.modules"
    " if m.split('.')[0] in ('importspy_hook', '_importspy_hook_startup'))) or '-')\n"
)
"""Prints ``<number of importspy-hook finders> <importspy_hook modules loaded>`` after start-up."""

_SCRUBBED = (
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONSAFEPATH",
    "PYTHONPROFILEIMPORTTIME",
    "PYTHONEXECUTABLE",
    "PYTHONINSPECT",
    "PYTHONPYCACHEPREFIX",
    "VIRTUAL_ENV",
)

_COPY_IGNORED = shutil.ignore_patterns(
    ".git",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    ".venv",
    "*.pyc",
)


class HarnessError(RuntimeError):
    """The benchmark could not set up or check its configurations: its figures would be meaningless."""


@dataclass
class Config:
    """One way of starting an interpreter, with its samples."""

    name: str
    label: str
    python: Path
    env: dict[str, str]
    floor: str | None = None  # the floor configuration this one is judged against (None: not judged)
    margin_us: float = 0.0  # the most its site.main() median may exceed that floor's, in µs
    site_ns: list[int] = field(default_factory=list)
    process_ns: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Summary:
    """Median and quartiles of a sample, in microseconds."""

    median: float
    q1: float
    q3: float

    @classmethod
    def of(cls, samples_ns: Sequence[int]) -> Summary:
        values = [s / 1000 for s in samples_ns]
        if len(values) < 2:
            return cls(values[0], values[0], values[0])
        q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return cls(median, q1, q3)


# ---------------------------------------------------------------------------------------------
# Setting up the environments
# ---------------------------------------------------------------------------------------------


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The current environment without what would change imports, bytecode or the hook's mode."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _SCRUBBED and not key.startswith("IMPORTSPY_")
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra or {})
    return env


def run(args: Sequence[str | os.PathLike[str]], env: dict[str, str] | None = None) -> str:
    """Run a set-up command; its output is returned, its failure is a ``HarnessError``."""
    argv = [os.fspath(a) for a in args]
    done = subprocess.run(
        argv, env=env or child_env(), capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if done.returncode != 0:
        raise HarnessError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def pip(*args: str | os.PathLike[str]) -> str:
    return run([sys.executable, "-m", "pip", *args])


def make_venv(root: Path, wheelhouse: Path, *requirements: str | os.PathLike[str]) -> Path:
    """A venv (no pip of its own) with ``requirements`` installed offline; returns its python."""
    run([sys.executable, "-m", "venv", "--without-pip", root])
    python = root / "bin" / "python"
    if not python.exists():
        python = root / "Scripts" / "python.exe"
    pip("--python", python, "install", "-q", "--no-index", "--find-links", wheelhouse, *requirements)
    return python


def site_packages(venv_root: Path) -> Path:
    return Path(sysconfig.get_path("purelib", vars={"base": str(venv_root), "platbase": str(venv_root)}))


def build_environments(work: Path, log: Callable[[str], None]) -> tuple[Path, Path]:
    """Build the wheel from a copy of the checkout; return (python with the package, python without)."""
    wheelhouse = work / "wheelhouse"
    log("fetching the dependencies' wheels (once) ...")
    pip("wheel", "-q", "-w", wheelhouse, *RUNTIME_REQUIREMENTS, *BUILD_REQUIREMENTS)
    source = work / "src"
    shutil.copytree(REPO, source, ignore=_COPY_IGNORED)
    log("building the importspy-hook wheel ...")
    pip("wheel", "-q", "--no-deps", "--no-index", "--find-links", wheelhouse, "-w", work / "dist", source)
    (wheel,) = (work / "dist").glob("importspy_hook-*.whl")
    log("creating the two environments ...")
    with_hook = make_venv(work / "with", wheelhouse, wheel)
    without = make_venv(work / "without", wheelhouse, *RUNTIME_REQUIREMENTS)
    # The twins must differ by the package only (same dependency versions, same interpreter).
    names_with = {p.name for p in site_packages(work / "with").iterdir()}
    names_without = {p.name for p in site_packages(work / "without").iterdir()}
    extra = {n for n in names_with - names_without if n != "__pycache__"}
    ours = ("importspy_hook", "_importspy_hook")
    if not extra or any(not n.startswith(ours) for n in extra) or names_without - names_with:
        raise HarnessError(f"the twin environments differ by more than the package: {sorted(extra)}")
    return with_hook, without


FLOOR_MODULE = "_importspy_floor_empty"
OFF_MARGIN_US = 60.0  # §11: hook off ≤ floor-line + 60 µs
ON_MARGIN_US = 150.0  # §11: hook on (no contract met) ≤ floor-module + 150 µs
FLOOR_NAMES = {"floor-off": "floor-line", "floor-on": "floor-module"}
_FLOOR_CHECK = "import os;os.environ.get('IMPORTSPY_FLOOR')in('0','off','false','no')"
FLOORS = {
    "floor-off": (_FLOOR_CHECK + "\n", "floor: a .pth line reading one variable"),
    "floor-on": (f"{_FLOOR_CHECK}or __import__({FLOOR_MODULE!r})\n", "floor: that line + one empty module"),
}
"""What any ``.pth``-activated tool shaped as §3 asks pays at least, measured beside the hook: a line
that reads one environment variable and does nothing else (site reads the file and compiles and runs
the line, twice in a venv) — the floor of hook off — and the same line importing one empty module from
site-packages (finding it, the first ``FileFinder`` of site-packages, reading a ``.pyc``) — the floor
of hook on, whose start-up path §11 puts at "the line plus one small module". They show what the
budgets leave on the machine at hand, so that the hook's own rows can be read against them."""


def build_floor_environments(work: Path, without: Path) -> dict[str, Path]:
    """Copies of the base environment, each with one floor's ``.pth`` (and the empty module)."""
    pythons = {}
    base_root = without.parent.parent
    for name, (line, _label) in FLOORS.items():
        root = work / name
        shutil.copytree(base_root, root, symlinks=True)
        target = site_packages(root)
        (target / "zz_importspy_floor.pth").write_text(line, encoding="ascii")
        if FLOOR_MODULE in line:
            (target / f"{FLOOR_MODULE}.py").write_text("", encoding="ascii")
        pythons[name] = without.relative_to(base_root)
    return {name: work / name / relative for name, relative in pythons.items()}


def check_configs(configs: Sequence[Config]) -> None:
    """Each configuration must really be what its label says, or the comparison means nothing."""
    expected = {
        "base": "0 -",
        "off": "0 -",
        "on": "1 " + ",".join(sorted(HOOK_MODULES)),
        "floor-off": "0 -",
        "floor-on": "0 -",
    }
    for config in configs:
        got = run([config.python, "-c", PROBE], env=config.env).strip()
        if got != expected[config.name]:
            raise HarnessError(
                f"{config.name}: expected finders/modules {expected[config.name]!r}, got {got!r}"
            )


def check_bytecode(with_hook_root: Path) -> None:
    """After the warm-up every start-up module of the hook has its ``.pyc``."""
    tag = sys.implementation.cache_tag
    for module in HOOK_MODULES:
        pyc = site_packages(with_hook_root) / "__pycache__" / f"{module}.{tag}.pyc"
        if not pyc.exists():
            raise HarnessError(f"{pyc} was not written: start-up timings would include compilation")


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------


def time_site(config: Config) -> int:
    done = subprocess.run(
        [str(config.python), "-S", "-c", SITE_TIMER],
        env=config.env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0 or done.stderr:
        raise HarnessError(f"{config.name}: site timer failed: {done.stderr.strip()}")
    return int(done.stdout.strip())


def time_process(config: Config) -> int:
    argv = [str(config.python), "-c", "pass"]
    start = time.perf_counter_ns()
    code = subprocess.call(argv, env=config.env, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter_ns() - start
    if code != 0:
        raise HarnessError(f"{config.name}: python -c pass exited {code}")
    return elapsed


def rotations(configs: Sequence[Config], rounds: int) -> list[Config]:
    """Round-robin order, rotated every round, so that no configuration always runs first."""
    order: list[Config] = []
    for index in range(rounds):
        shift = index % len(configs)
        order.extend([*configs[shift:], *configs[:shift]])
    return order


def import_costs(config: Config, runs: int) -> dict[str, tuple[float, float]]:
    """Median ``-X importtime`` (self, cumulative) µs of the hook's start-up modules."""
    samples: dict[str, list[tuple[int, int]]] = {}
    for _ in range(runs):
        done = subprocess.run(
            [str(config.python), "-X", "importtime", "-c", "pass"],
            env=config.env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "|" not in line:
                continue
            parts = [part.strip() for part in line[len("import time:") :].split("|")]
            if len(parts) != 3 or not parts[0].isdigit():
                continue
            name = parts[2]
            if name.split(".")[0] in ("importspy_hook", "_importspy_hook_startup"):
                samples.setdefault(name, []).append((int(parts[0]), int(parts[1])))
    return {
        name: (statistics.median(s for s, _ in pairs), statistics.median(c for _, c in pairs))
        for name, pairs in samples.items()
    }


# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------


def over_floor(config: Config, configs: Sequence[Config]) -> float | None:
    """µs by which ``config``'s site.main() median exceeds its floor's (None: no floor measured)."""
    floor = next((other for other in configs if other.name == config.floor), None)
    if floor is None or not floor.site_ns or not config.site_ns:
        return None
    return Summary.of(config.site_ns).median - Summary.of(floor.site_ns).median


def report(configs: Sequence[Config], costs: dict[str, tuple[float, float]], rounds: int) -> bool:
    """Print the table; return True when every budget is met."""
    base = configs[0]
    base_site = Summary.of(base.site_ns)
    base_process = Summary.of(base.process_ns)
    print()
    print(
        f"Python {sys.version.split()[0]} ({sys.implementation.name}), {sys.platform}, "
        f"{os.cpu_count()} CPUs; {rounds} site.main() runs and {len(base.process_ns)} whole-process "
        "runs per configuration, interleaved"
    )
    print(f"base `python -c pass` (whole process): median {base_process.median / 1000:.2f} ms")
    print()
    header = (
        f"{'configuration':<44} {'site.main() median [IQR] µs':>30} {'added µs':>9} "
        f"{'ratio':>7} {'over floor':>24} {'budget':>8}  result"
    )
    print(header)
    print("-" * len(header))
    all_met = True
    for config in configs:
        site = Summary.of(config.site_ns)
        added = site.median - base_site.median
        ratio = (base_process.median + added) / base_process.median
        spread = f"{site.median:8.1f} [{site.q1:.1f}-{site.q3:.1f}]"
        over_text, budget_text, verdict = "", "", ""
        if config is base:
            added_text = "-"
        else:
            added_text = f"{added:+.1f}"
            judged = over_floor(config, configs)
            if config.name in FLOOR_NAMES:
                over_text = f"(is {FLOOR_NAMES[config.name]})"
            elif judged is None:
                over_text, verdict = "no floor measured", "not judged"
            else:
                met = judged <= config.margin_us
                all_met = all_met and met
                over_text = f"{FLOOR_NAMES[config.floor or '']} {judged:+.1f} µs"
                budget_text = f"≤ +{config.margin_us:.0f} µs"
                verdict = "pass" if met else "FAIL"
        print(
            f"{config.label:<44} {spread:>30} {added_text:>9} {ratio:>6.3f}x {over_text:>24} "
            f"{budget_text:>8}  {verdict}".rstrip()
        )
    print()
    print("whole-process `python -c pass` medians, for reference (noisy; not used for the verdict):")
    for config in configs:
        process = Summary.of(config.process_ns)
        print(
            f"  {config.name:<12} {process.median / 1000:7.2f} ms "
            f"[IQR {process.q1 / 1000:.2f}-{process.q3 / 1000:.2f}]"
        )
    if costs:
        print()
        print("hook on, `-X importtime` of the start-up modules (median µs, self / cumulative):")
        for name, (own, cumulative) in sorted(costs.items()):
            print(f"  {name:<28} {own:8.0f} {cumulative:10.0f}")
    return all_met


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="few runs: a harness smoke test (CI)")
    parser.add_argument("--rounds", type=int, help="site.main() runs per configuration (default 400)")
    parser.add_argument("--process-rounds", type=int, help="`python -c pass` runs per configuration")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs per configuration first")
    parser.add_argument("--keep", action="store_true", help="keep the temporary environments")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a budget is not met")
    parser.add_argument("--no-floors", action="store_true", help="leave out the two floor configurations")
    args = parser.parse_args(argv)
    rounds = args.rounds or (8 if args.quick else 400)
    process_rounds = args.process_rounds or (5 if args.quick else 200)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    floor_off = None if args.no_floors else "floor-off"
    floor_on = None if args.no_floors else "floor-on"
    work = Path(tempfile.mkdtemp(prefix="importspy-startup-"))
    try:
        with_hook, without = build_environments(work, log)
        configs = [
            Config("base", "without importspy-hook (base)", without, child_env()),
            Config(
                "off",
                "installed, IMPORTSPY_HOOK=0",
                with_hook,
                child_env({"IMPORTSPY_HOOK": "0"}),
                floor_off,
                OFF_MARGIN_US,
            ),
            Config(
                "on", "installed, hook on (no contract met)", with_hook, child_env(), floor_on, ON_MARGIN_US
            ),
        ]
        if not args.no_floors:
            floors = build_floor_environments(work, without)
            configs += [Config(name, FLOORS[name][1], floors[name], child_env()) for name in FLOORS]
        check_configs(configs)
        log(f"warming up ({args.warmup} runs per configuration) ...")
        for config in rotations(configs, args.warmup):
            time_process(config)
            time_site(config)
        check_bytecode(work / "with")
        log(f"timing site.main(): {rounds} runs x {len(configs)} configurations ...")
        for config in rotations(configs, rounds):
            config.site_ns.append(time_site(config))
        log(f"timing `python -c pass`: {process_rounds} runs x {len(configs)} configurations ...")
        for config in rotations(configs, process_rounds):
            config.process_ns.append(time_process(config))
        costs = import_costs(configs[2], 3 if args.quick else 50)
        met = report(configs, costs, rounds)
    except HarnessError as error:
        print(f"startup benchmark: harness error: {error}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            log(f"environments kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
