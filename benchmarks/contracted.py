"""Contracted imports: the budgets of SPEC §11 that involve a contract, and ImportSpy side by side.

Budgets measured here (each in its own configuration, alternating, against a baseline taken in the
same run):

* **parsed** — a contracted import when the contract is already parsed in the process: ≤ 20 µs
  added. Measured in-process like ``imports.py``: one child imports two identical copies of 200
  guarded modules in alternating chunks of 20, one copy with the hook's finder on
  ``sys.meta_path`` and one without (one finder, moved in and out between chunks outside the timed
  region; garbage collection off while timing, as in ``imports.py``), each
  module re-imported over several rounds (removed from ``sys.modules`` between rounds, so every
  import is a real one, finder and loader included). Before every chunk the value of an
  environment variable the contract reads is changed (``BENCH_TOKEN``), so every check computes
  its verdict; a second row keeps it constant and shows the verdict cache at work. CPU time of the
  child, as in ``imports.py``: the effect is a few microseconds, and wall time on a shared machine
  moves by more than that between two chunks.
* **warm** — the first contracted import in a fresh process, with the contract unchanged since an
  earlier run (its parsed form cached beside bytecode): ≤ 5 ms added.
* **cold** — the first contracted import ever (parse included, cache files deleted before each
  run): ≤ 40 ms added. Both fresh-process figures time ``import plugin`` inside the host script,
  with the package installed in a venv and activated by its start-up file, against the same venv
  with ``IMPORTSPY_HOOK=0``: interpreter start-up is not part of them (the start-up budget is).
* **ImportSpy** — the same contract and the same host with ImportSpy 0.4's embedded mode (the
  protected module calls ``Spy().importspy(filepath=...)``; the host is run as a script), in a venv
  of its own: cold (fresh process; ImportSpy not yet imported) and warm (ImportSpy already
  imported, a further guarded module imported in the same process). Ratios: ImportSpy's added
  time over ours, cold against our **warm** row (both are a fresh process meeting an unchanged
  contract) and warm against our **parsed** row (both are an import in a process whose guard is
  loaded).

The contract is ImportSpy 0.4's layout (``filename``, ``variables``, ``functions``, ``classes``,
``deployments`` with an environment variable and a ``modules`` entry), which both tools read; the
host defines what it requires (:data:`HOST_DEFINITIONS`).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.startup import HarnessError, Summary, child_env

BENCH_ENV = {"BENCH_STAGE": "ci", "BENCH_TOKEN": "0"}

CONTRACT = """\
filename: {filename}
variables:
  - name: stage
    value: live
    annotation: str
functions:
  - name: run
    arguments:
      - name: data
        annotation: dict
    return_annotation: str
classes:
  - name: Extension
    attributes:
      - type: class
        name: kind
        value: plugin
    methods:
      - name: start
        arguments:
          - name: self
deployments:
  - arch: {arch}
    systems:
      - os: {os}
        environment:
          variables:
            - name: BENCH_STAGE
              value: ci{extra_variables}
        pythons:
          - version: "{python}"
            interpreter: CPython
            modules:
              - filename: {filename}
                variables:
                  - name: limit
                    value: 5
                    annotation: int
"""
"""The benchmark contract, in ImportSpy 0.4's layout; ``extra_variables`` adds ``BENCH_TOKEN``."""

TOKEN_VARIABLE = "\n            - name: BENCH_TOKEN"

ENV_ONLY_CONTRACT = """\
runtime:
  python: ">=3.10"
  os: [{os}]
  environment:
    BENCH_STAGE: ci
deployments:
  - arch: {arch}
    systems:
      - os: {os}
        pythons:
          - version: "{python}"
"""
"""An environment-only contract (the scale run mixes both kinds)."""

HOST_DEFINITIONS = """
stage: str = "live"
limit: int = 5


def run(data: dict) -> str:
    return "ran"


class Extension:
    kind = "plugin"

    def start(self):
        return self.kind
"""
"""What the benchmark contract requires of its importer."""

FRESH_HOST = (
    """import time

_started = time.perf_counter_ns()
import plugin

_finished = time.perf_counter_ns()
# ImportSpy executes this module a second time (as ``__main__`` too) to inspect it; the outer run
# prints last, and the harness reads the last line.
print("IMPORT_NS", _finished - _started)
"""
    + HOST_DEFINITIONS
)
"""A host run as a script: it times its own ``import plugin`` (interpreter start-up excluded)."""

PLAIN_PLUGIN = "VALUE = 1\n"
SPY_PLUGIN = "from importspy import Spy\n\ncaller = Spy().importspy(filepath={contract!r})\nVALUE = 1\n"

INPROCESS_HOST = (
    '''"""Child of benchmarks/contracted.py: re-imports guarded modules, hook on and off in turns."""

import json
import os
import sys
import time


def main() -> None:
    plan = json.loads(sys.argv[1])
    import gc

    import importspy_hook

    # One finder, moved in and out of sys.meta_path (a new one per chunk disturbs the caches), and
    # no garbage collection while timing: both as in benchmarks/imports.py.
    finder = importspy_hook.install().finder
    sys.meta_path.remove(finder)
    gc.disable()
    roots, names, chunk = plan["roots"], plan["names"], plan["chunk"]
    on_copy, first = plan["on_copy"], plan["first"]
    order = (first, "b" if first == "a" else "a")
    totals = {"on_ns": 0, "off_ns": 0, "on_n": 0, "off_n": 0}
    token = 0
    sys.path.insert(0, "")
    for round_number in range(plan["rounds"] + 1):  # round 0 warms up: contracts parsed
        for start in range(0, len(names["a"]), chunk):
            for copy in order:
                batch = names[copy][start : start + chunk]
                sys.path[0] = roots[copy]
                on = copy == on_copy
                if plan["fresh_verdicts"]:
                    token += 1
                    os.environ["BENCH_TOKEN"] = str(token)  # a fact the contract reads: no cached verdict
                if on:
                    sys.meta_path.insert(0, finder)
                began = time.process_time_ns()
                for name in batch:
                    __import__(name)
                elapsed = time.process_time_ns() - began
                if on:
                    sys.meta_path.remove(finder)
                if round_number:
                    key = "on" if on else "off"
                    totals[key + "_ns"] += elapsed
                    totals[key + "_n"] += len(batch)
        for copy in names:
            for name in names[copy]:
                del sys.modules[name]
    gc.enable()
    totals.update(check_alone(roots[on_copy], names[on_copy][0]))
    print(json.dumps(totals))


def check_alone(root: str, name: str) -> dict:
    """The engine's check by itself (``_validate.validate``, what the hook calls per contracted
    import), timed in a loop: how the spec's reference figures were taken."""
    import timeit

    from importspy_hook import _compiled, _validate
    from importspy_hook._caller import Caller

    contract = os.path.join(root, name + ".contract.yml")
    caller = Caller("__main__", os.path.abspath(__file__), sys.modules["__main__"])
    _validate.validate(name, contract, caller)
    verdicts = _compiled.contract_entry(contract).verdicts

    def computed() -> None:
        verdicts.clear()  # no cached verdict: the check is evaluated
        _validate.validate(name, contract, caller)

    def cached() -> None:
        _validate.validate(name, contract, caller)

    return {
        key: min(timeit.repeat(function, number=2000, repeat=5)) / 2000 * 1e9
        for key, function in (("check_computed_ns", computed), ("check_cached_ns", cached))
    }


if __name__ == "__main__":
    main()
'''
    + HOST_DEFINITIONS
)

SPY_WARM_HOST = (
    '''"""Child of benchmarks/contracted.py: ImportSpy loaded first, then guarded and plain imports."""

import json
import sys
import time

import importspy  # the package is loaded before anything is timed


def main() -> None:
    count = int(sys.argv[1])
    sys.path.insert(0, sys.argv[2])
    totals = {"spy_ns": 0, "plain_ns": 0, "n": 0}
    for index in range(count):
        for kind in ("spy", "plain") if index % 2 else ("plain", "spy"):
            began = time.perf_counter_ns()
            __import__(f"{kind}_{index:03d}")
            totals[kind + "_ns"] += time.perf_counter_ns() - began
        totals["n"] += 1
    print(json.dumps(totals))


# ImportSpy executes the importing module again (as ``__main__``) to inspect it: run once only.
if __name__ == "__main__" and "_bench_host_running" not in sys.modules:
    sys.modules["_bench_host_running"] = sys
    main()
'''
    + HOST_DEFINITIONS
)


# ---------------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """The child interpreter's platform, written into the contracts so that they are met."""

    arch: str
    os: str
    python: str

    @classmethod
    def of(cls, python: Path) -> Facts:
        probe = "import platform, sys; print(platform.machine(), sys.platform, platform.python_version())"
        done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True)
        machine, system, version = done.stdout.split()
        arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine.lower(), machine.lower())
        return cls(arch=arch, os="linux" if system.startswith("linux") else system, python=version)

    def contract(self, filename: str, *, token: bool = False) -> str:
        extra = TOKEN_VARIABLE if token else ""
        return CONTRACT.format(
            filename=filename, arch=self.arch, os=self.os, python=self.python, extra_variables=extra
        )

    def env_only_contract(self) -> str:
        return ENV_ONLY_CONTRACT.format(arch=self.arch, os=self.os, python=self.python)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def compile_tree(root: Path, python: Path) -> None:
    """Bytecode for every generated module, so that no configuration pays for compiling."""
    subprocess.run([str(python), "-m", "compileall", "-q", str(root)], check=True, capture_output=True)


def bench_env(python_env: dict[str, str], extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(python_env)
    env.update(BENCH_ENV)
    env.update(extra or {})
    return env


# ---------------------------------------------------------------------------------------------
# Contract already parsed (in-process)
# ---------------------------------------------------------------------------------------------


@dataclass
class InProcess:
    """Per-import added time of a contracted import whose contract is already parsed."""

    fresh_verdicts: bool
    added_us: list[float]  # one figure per child process
    off_us: float = 0.0
    check_us: float = 0.0  # the engine's check alone, in a loop (verdict computed or cached)

    @property
    def median(self) -> float:
        return statistics.median(self.added_us)


def measure_parsed(
    work: Path,
    python: Path,
    facts: Facts,
    *,
    processes: int,
    modules: int,
    rounds: int,
    chunk: int = 20,
    contract: str | None = None,
    label: str = "parsed",
) -> tuple[InProcess, InProcess]:
    """(verdict computed, verdict cached) for re-imports of guarded modules.

    ``contract`` defaults to the benchmark contract (with ``BENCH_TOKEN``); an empty one measures
    the floor: what being guarded costs whatever the contract says.
    """
    root = work / label
    host = write(root / "inprocess_host.py", INPROCESS_HOST)
    if contract is None:
        contract = facts.contract("inprocess_host.py", token=True)
    roots: dict[str, str] = {}
    names: dict[str, list[str]] = {}
    for copy in "ab":
        directory = root / copy
        names[copy] = [f"g{copy}{index:04d}" for index in range(modules)]
        for name in names[copy]:
            write(directory / f"{name}.py", PLAIN_PLUGIN)
            write(directory / f"{name}.contract.yml", contract)
        roots[copy] = str(directory)
    compile_tree(root, python)
    env = bench_env(child_env({"IMPORTSPY_HOOK": "0"}))
    results = []
    for fresh in (True, False):
        result = InProcess(fresh_verdicts=fresh, added_us=[])
        off: list[float] = []
        checks: list[float] = []
        for process in range(processes):
            plan = {
                "roots": roots,
                "names": names,
                "chunk": chunk,
                "rounds": rounds,
                "on_copy": "ab"[process % 2],
                "first": "ab"[(process // 2) % 2],
                "fresh_verdicts": fresh,
            }
            done = subprocess.run(
                [str(python), str(host), json.dumps(plan)],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                raise HarnessError(f"in-process child failed: {done.stderr.strip()[-2000:]}")
            totals = json.loads(done.stdout.strip().splitlines()[-1])
            per_on = totals["on_ns"] / totals["on_n"] / 1000
            per_off = totals["off_ns"] / totals["off_n"] / 1000
            result.added_us.append(per_on - per_off)
            off.append(per_off)
            checks.append(totals["check_computed_ns" if fresh else "check_cached_ns"] / 1000)
        result.off_us = statistics.median(off)
        result.check_us = statistics.median(checks)
        results.append(result)
    return results[0], results[1]


# ---------------------------------------------------------------------------------------------
# Fresh processes: ours (warm and cold cache) and ImportSpy (cold)
# ---------------------------------------------------------------------------------------------


@dataclass
class FreshConfig:
    name: str
    python: Path
    directory: Path
    env: dict[str, str]
    before: Callable[[], None] | None = None
    samples_ns: list[int] | None = None

    def run_once(self) -> int:
        if self.before is not None:
            self.before()
        done = subprocess.run(
            [str(self.python), "host.py"],
            cwd=self.directory,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("IMPORT_NS ")]
        if done.returncode != 0 or not lines:
            raise HarnessError(f"{self.name}: host failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        # ImportSpy executes the host module a second time to inspect it: the outer figure is last
        return int(lines[-1].split()[1])


def _remove_records(directory: Path) -> Callable[[], None]:
    def remove() -> None:
        for record in (directory / "__pycache__").glob("*.marshal"):
            record.unlink()

    return remove


def fresh_layout(root: Path, plugin: str, contract: str, python: Path) -> Path:
    write(root / "host.py", FRESH_HOST)
    write(root / "plugin.py", plugin)
    write(root / "plugin.contract.yml", contract)
    compile_tree(root, python)
    return root


def check_refusal(config: FreshConfig, what: str) -> None:
    """The guard must really be guarding: a context the contract refuses must fail the import."""
    env = {**config.env, "BENCH_STAGE": "wrong"}
    if config.before is not None:
        config.before()
    done = subprocess.run(
        [str(config.python), "host.py"],
        cwd=config.directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode == 0 or what not in done.stderr:
        raise HarnessError(f"{config.name}: a refused context was not refused ({what!r} expected)")


def measure_fresh(
    work: Path,
    with_hook: Path,
    spy_python: Path | None,
    facts: Facts,
    *,
    rounds: int,
    log: Callable[[str], None],
) -> dict[str, list[int]]:
    """Samples (ns of ``import plugin``) for every fresh-process configuration."""
    contract = facts.contract("host.py")
    ours = fresh_layout(work / "fresh" / "ours", PLAIN_PLUGIN, contract, with_hook)
    base_env = bench_env(child_env({"IMPORTSPY_HOOK": "0"}))
    hook_env = bench_env(child_env())
    configs = [
        FreshConfig("base", with_hook, ours, base_env),
        FreshConfig("warm", with_hook, ours, hook_env),
        FreshConfig("cold", with_hook, ours, hook_env, before=_remove_records(ours)),
    ]
    if spy_python is not None:
        spy = work / "fresh" / "importspy"
        fresh_layout(spy, SPY_PLUGIN.format(contract=str(spy / "plugin.contract.yml")), contract, spy_python)
        spy_base = fresh_layout(work / "fresh" / "importspy-base", PLAIN_PLUGIN, contract, spy_python)
        spy_env = bench_env(child_env())
        configs += [
            FreshConfig("importspy-base", spy_python, spy_base, spy_env),
            FreshConfig("importspy", spy_python, spy, spy_env),
        ]
    for config in configs:
        config.samples_ns = []
        config.run_once()  # warm-up: bytecode, page cache, and our cache record
    check_refusal(configs[1], "ContractViolation")
    if spy_python is not None:
        check_refusal(configs[4], "BENCH_STAGE")
    configs[1].run_once()  # the refusal above judged, but a fresh record is what "warm" means
    log(f"timing fresh processes: {rounds} rounds x {len(configs)} configurations ...")
    for index in range(rounds):  # every configuration once per round, in a rotating order
        shift = index % len(configs)
        for config in [*configs[shift:], *configs[:shift]]:
            assert config.samples_ns is not None
            config.samples_ns.append(config.run_once())
    return {config.name: list(config.samples_ns or ()) for config in configs}


# ---------------------------------------------------------------------------------------------
# ImportSpy warm: the package already imported
# ---------------------------------------------------------------------------------------------


def measure_spy_warm(
    work: Path, spy_python: Path, facts: Facts, *, imports: int, processes: int
) -> list[float]:
    """ImportSpy's added ms per guarded import once it is imported (one figure per process)."""
    root = work / "spy-warm"
    contract = write(root / "modules" / "shared.contract.yml", facts.contract("host.py"))
    for index in range(imports):
        write(root / "modules" / f"spy_{index:03d}.py", SPY_PLUGIN.format(contract=str(contract)))
        write(root / "modules" / f"plain_{index:03d}.py", PLAIN_PLUGIN)
    write(root / "host.py", SPY_WARM_HOST)
    compile_tree(root, spy_python)
    env = bench_env(child_env())
    added = []
    for _ in range(processes):
        done = subprocess.run(
            [str(spy_python), "host.py", str(imports), str(root / "modules")],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            raise HarnessError(f"ImportSpy warm child failed: {done.stderr.strip()[-2000:]}")
        totals = json.loads(done.stdout.strip().splitlines()[-1])
        added.append((totals["spy_ns"] - totals["plain_ns"]) / totals["n"] / 1e6)
    return added


# ---------------------------------------------------------------------------------------------
# The benchmark's own environment for ImportSpy and matplotlib
# ---------------------------------------------------------------------------------------------

SPY_REQUIREMENTS = ("importspy==0.4.*", "matplotlib")


def make_tools_venv(root: Path, log: Callable[[str], None]) -> Path | None:
    """A venv with ImportSpy 0.4 and matplotlib (benchmark-only dependencies); None if unavailable."""
    log("creating the ImportSpy/matplotlib environment ...")
    done = subprocess.run([sys.executable, "-m", "venv", str(root)], capture_output=True, text=True)
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if done.returncode != 0 or not python.exists():
        log(f"could not create the tools venv: {done.stderr.strip()}")
        return None
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *SPY_REQUIREMENTS],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=900,
    )
    if done.returncode != 0:
        log(f"could not install {', '.join(SPY_REQUIREMENTS)}: {done.stderr.strip()[-500:]}")
        return None
    return python


def summary_ms(samples_ns: Sequence[int]) -> float:
    return Summary.of(samples_ns).median / 1000


def platform_line() -> str:
    return (
        f"Python {platform.python_version()} ({sys.implementation.name}), {sys.platform}, "
        f"{os.cpu_count()} CPUs"
    )


def timed(label: str, log: Callable[[str], None]) -> Callable[[], None]:
    started = time.monotonic()

    def done() -> None:
        log(f"{label}: {time.monotonic() - started:.0f} s")

    return done


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
