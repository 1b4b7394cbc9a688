"""The test matrix of importspy-hook (SPEC §12): what CI runs (``.ci/run``), for a contributor too.

    nox -s tests                    # the whole suite, installed and editable, on each of 3.10-3.13 found
    nox -s tests -p 3.12            # one Python, both installs
    nox -s "tests-3.12(editable)"   # one cell; pytest arguments go after --: nox -s tests -- -k cache
    nox -s lint                     # ruff and mypy (once: they judge the source, not an interpreter)
    nox -s extras                   # benchmark smoke run, bounded fuzzing, transparency (one Python)

For a single interpreter there is no need for nox: the README's ``.venv/bin/pytest`` runs the same suite.

Why the suite runs twice per Python: activation is a property of an installed package (the ``.pth``
start-up file, what pip records), and a regular install and an editable one put the package, its
start-up module and its sidecars in different places; ``IMPORTSPY_EXPECT_INSTALLED`` tells
tests/test_activation.py::test_tests_import_the_installed_package which one the suite must have imported.

The tests run from the checkout through the venv's ``pytest`` console script, never ``python -m
pytest``: ``-m`` would put the checkout first on ``sys.path`` and the tests would import it instead of
what was installed. They run in parallel (pytest-xdist, one worker per CPU): every test writes under its
own ``tmp_path`` and the session-scoped builds of tests/venvs.py are made once per worker in that
worker's own temporary directory. Pass ``-- -n 0`` to run them in one process.
"""

from __future__ import annotations

import os

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
"""Every supported CPython (SPEC §12); setup.cfg's classifiers list the same."""

ONE_PYTHON = "3.11"
"""Where the once-only sessions run: the version benchmarks/README.md's reference figures are from."""

nox.needs_version = ">=2024.3.2"  # `env` values of None unset a variable
nox.options.default_venv_backend = "venv"  # what the README tells users to use, and what the tests use
nox.options.sessions = ["lint", "tests", "extras"]

INSTALLS = {"installed": ".[test]", "editable": "-e .[test]"}
EXPECT_INSTALLED = {"installed": "1", "editable": "editable"}


def _pytest_arguments(session: nox.Session) -> list[str]:
    """``-p no:cacheprovider`` (the checkout stays clean), xdist unless told otherwise, a JUnit report
    when ``.ci/run`` asks for one (it totals the counts of every cell)."""
    arguments = ["-p", "no:cacheprovider", *(session.posargs or ["-n", "auto"])]
    reports = os.environ.get("IMPORTSPY_CI_REPORTS")
    if reports:
        arguments.append(f"--junitxml={os.path.join(reports, session.name)}.xml")
    return arguments


@nox.session(python=PYTHONS)
@nox.parametrize("install", list(INSTALLS), ids=list(INSTALLS))
def tests(session: nox.Session, install: str) -> None:
    """The whole suite against a regular (wheel-built) install or an editable one."""
    session.install("--upgrade", "pip")
    session.install(*INSTALLS[install].split())
    # Tests marked ``venv`` build their own environments from the checkout (wheel, sdist, editable)
    # and never use the session's install: the regular-install session runs them, the editable one
    # would only run them a second time.
    selection = ["-m", "not venv"] if install == "editable" else []
    # Any non-zero exit fails the session, pytest's 5 ("no tests collected") included.
    session.run(
        "pytest",
        *_pytest_arguments(session),
        *selection,
        env={"IMPORTSPY_EXPECT_INSTALLED": EXPECT_INSTALLED[install]},
    )


@nox.session(python=ONE_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff and mypy --strict (configuration in pyproject.toml); the package is installed for its
    dependencies' type information."""
    session.install("-e", ".[test]")
    session.run("ruff", "check", ".")
    session.run("mypy")


@nox.session(python=ONE_PYTHON)
def extras(session: nox.Session) -> None:
    """The slow checks that need not run on every Python: each SPEC §11 benchmark line (harness only,
    no timing verdict), the contract fuzzer for a bounded time, and three real projects' own test
    suites with the hook on and off (tests/transparency)."""
    session.install("--upgrade", "pip")
    session.install(".[test]", "atheris")
    # The benchmarks measure cold and warm bytecode caches: the user's "don't write bytecode" would
    # leave only cold ones.
    session.run("python", "-m", "benchmarks", "--quick", env={"PYTHONDONTWRITEBYTECODE": None})
    session.run("python", "tests/fuzz/run_fuzz.py", "--seconds", "45")
    session.run("python", "tests/transparency/run_transparency.py", "--repeat", "1")
