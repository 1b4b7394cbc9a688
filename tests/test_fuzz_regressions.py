"""Replay every input kept in ``tests/fuzz/regressions/`` through the fuzz target (issue 7).

Each file there once crashed ``tests/fuzz/fuzz_contract.py`` (or was written by hand to reproduce
a crash of the same kind): an exception other than ``ContractError``/``ContractViolation`` escaping
the parser, the checker or the hook's ``validate``, or an input that took longer than the fuzzer's
per-input timeout. A crash that was fixed must stay fixed, so the files are replayed through the
very same ``one_input`` the fuzzer runs, with the fuzzer's time limit, on every test run.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

FUZZ = Path(__file__).parent / "fuzz"
REGRESSIONS = sorted(path for path in (FUZZ / "regressions").glob("*") if path.is_file())
PER_INPUT_SECONDS = 5.0  # run_fuzz.py's -timeout: what counts as a hang for the fuzzer


def _target() -> ModuleType:
    """``fuzz_contract.py`` as a module (``tests/fuzz`` is not a package, and pytest ignores it)."""
    name = "importspy_hook_fuzz_contract"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, FUZZ / "fuzz_contract.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


def test_the_regression_directory_is_not_empty() -> None:
    # An empty (or mislocated) directory would make the replay below pass vacuously.
    assert REGRESSIONS, f"no crash inputs found under {FUZZ / 'regressions'}"


@pytest.mark.parametrize("path", REGRESSIONS, ids=[path.name for path in REGRESSIONS])
def test_crash_input_is_answered_with_a_verdict_or_a_contract_error(path: Path) -> None:
    target = _target()
    started = time.process_time()
    target.one_input(path.read_bytes())  # raises on any outcome other than a verdict/ContractError
    elapsed = time.process_time() - started
    assert elapsed < PER_INPUT_SECONDS, f"{path.name} took {elapsed:.1f} s of CPU"


def test_the_seed_corpus_runs_clean() -> None:
    # The seeds are the fuzzer's starting points: each must run through every stage without a crash,
    # and most must be valid contracts (mutating only broken files explores only the error paths).
    target = _target()
    seeds = sorted((FUZZ / "corpus").glob("*"))
    parsed = 0
    for seed in seeds:
        data = seed.read_bytes()
        target.one_input(data)
        parsed += target._parse(data) is not None
    assert len(seeds) >= 8 and parsed >= len(seeds) - 2
