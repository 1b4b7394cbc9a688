"""Keep pytest out of the fuzzing directory.

``fuzz_contract.py`` is an atheris target and ``run_fuzz.py`` a command-line runner: neither holds
tests, and importing them under pytest would start a fuzzer or require atheris. The crash inputs
kept in ``regressions/`` are replayed by ``tests/test_fuzz_regressions.py`` instead.
"""

collect_ignore_glob = ["*"]
