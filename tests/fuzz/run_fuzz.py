"""Run the contract fuzzer for a bounded time; exit non-zero on any crash (CI entry point).

Why a separate runner: libFuzzer's own options are easy to get wrong in a CI line, and a fuzzer
that runs unbounded, or whose crash does not fail the build, proves nothing. This one always
bounds total time, memory per input and time per input, works on a scratch copy of the seed corpus
(so CI never writes into the checkout), copies every crash input into ``regressions/`` (which
``tests/test_fuzz_regressions.py`` replays forever after), and prints how many inputs ran.

``python tests/fuzz/run_fuzz.py [--seconds N]`` (default 60).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "fuzz_contract.py"
CORPUS = HERE / "corpus"
REGRESSIONS = HERE / "regressions"

# libFuzzer prints "#1234\tDONE ..." (or a progress line "#1234 pulse/NEW/REDUCE ...") as it goes;
# the last such count is the number of inputs executed.
_EXECUTIONS = re.compile(r"^#(\d+)\s", re.MULTILINE)
_STATS_RUNS = re.compile(r"stat::number_of_executed_units:\s*(\d+)")


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="total fuzzing time (default 60)")
    parser.add_argument("--rss-limit-mb", type=int, default=1024, help="memory per process (default 1024)")
    parser.add_argument("--timeout", type=int, default=5, help="seconds per input (default 5)")
    options = parser.parse_args(argv)
    if options.seconds < 1:
        parser.error("--seconds must be at least 1")
    return options


def _executions(output: str) -> int:
    stats = _STATS_RUNS.findall(output)
    if stats:
        return int(stats[-1])
    counts = _EXECUTIONS.findall(output)
    return int(counts[-1]) if counts else 0


def main(argv: list[str] | None = None) -> int:
    options = _arguments(argv)
    try:
        import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        print("run_fuzz: atheris is not installed (pip install atheris)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="importspy-fuzz-") as scratch:
        work = Path(scratch)
        corpus = work / "corpus"
        shutil.copytree(CORPUS, corpus)
        for crash in sorted(REGRESSIONS.glob("*")):  # known crashes seed the search too
            if crash.is_file():
                shutil.copy(crash, corpus / f"regression-{crash.name}")
        artifacts = work / "artifacts"
        artifacts.mkdir()
        command = [
            sys.executable,
            str(TARGET),
            str(corpus),
            f"-max_total_time={options.seconds}",
            f"-rss_limit_mb={options.rss_limit_mb}",
            f"-timeout={options.timeout}",
            f"-artifact_prefix={artifacts}/",
            "-print_final_stats=1",
        ]
        print("run_fuzz:", " ".join(command), flush=True)
        # libFuzzer's own wall-clock cap, plus a margin for start-up and a slow last input.
        try:
            completed = subprocess.run(
                command,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=options.seconds + 10 * options.timeout + 120,
                check=False,
            )
            output, returncode = completed.stdout + completed.stderr, completed.returncode
        except subprocess.TimeoutExpired as exc:
            output = _text(exc.stdout) + _text(exc.stderr)
            returncode = -1
            print("run_fuzz: the fuzzer did not stop in time", file=sys.stderr)
        crashes = sorted(path for path in artifacts.iterdir() if path.is_file())
        for crash in crashes:
            REGRESSIONS.mkdir(exist_ok=True)
            shutil.copy(crash, REGRESSIONS / crash.name)
    print(f"run_fuzz: {_executions(output)} executions in about {options.seconds} s")
    if returncode != 0 or crashes:
        tail = "\n".join(output.splitlines()[-60:])
        print(tail, file=sys.stderr)
        for crash in crashes:
            print(f"run_fuzz: crash input kept as {REGRESSIONS / crash.name}", file=sys.stderr)
        print(f"run_fuzz: FAILED (fuzzer exit status {returncode})", file=sys.stderr)
        return 1
    print("run_fuzz: no crash")
    return 0


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", "replace")


if __name__ == "__main__":
    sys.exit(main())
