"""A real C extension module behind a contract (SPEC §4 "Sidecar location", §7; issue 3).

The extension (``tests/data/ext/spam.c``) is compiled here with the machine's C compiler and
Python's headers. It writes ``loaded`` to ``$SPAM_MARKER`` when the dynamic loader maps it and
``PyInit_spam`` when CPython initialises it, so a refusal can be shown to happen before the shared
library is even opened — the only point at which refusing an extension is still possible. On Linux
``/proc/self/maps`` is checked as well, independently of the markers.

Skipped only when no compiler exists, and never in CI (``CI`` set): there, a missing compiler fails.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sysconfig
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest
from test_interception import ADMIT, REFUSE, needs_env, run

SOURCE = Path(__file__).parent / "data" / "ext" / "spam.c"


def _compiler() -> list[str]:
    """The command that builds a shared library for this Python (LDSHARED links in one step)."""
    ldshared = sysconfig.get_config_var("LDSHARED")
    if ldshared:
        return shlex.split(ldshared)
    return [*shlex.split(sysconfig.get_config_var("CC") or "cc"), "-shared"]


@pytest.fixture(scope="module")
def spam_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``spam`` compiled once for the module; tests copy it under the suffix they need."""
    command = _compiler()
    if shutil.which(command[0]) is None:
        message = f"no C compiler ({command[0]!r}) to build the test extension"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("ext") / f"spam{EXTENSION_SUFFIXES[0]}"
    include = sysconfig.get_paths()["include"]
    completed = subprocess.run(
        [*command, "-fPIC", "-I", include, str(SOURCE), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return out


def install_spam(library: Path, directory: Path, suffix: str, contract: str) -> Path:
    """Put the library in ``directory`` as ``spam<suffix>`` with the sidecar ``spam.contract.yml``."""
    target = directory / f"spam{suffix}"
    shutil.copyfile(library, target)
    (directory / "spam.contract.yml").write_text(contract, encoding="utf-8")
    return target


PROBE_SPAM = """
marker = os.environ["SPAM_MARKER"]


def mapped():
    try:
        with open("/proc/self/maps") as maps:
            return any(line.rstrip().endswith(LIBRARY) for line in maps)
    except OSError:
        return None


def traces():
    if not os.path.exists(marker):
        return []
    with open(marker) as stream:
        return stream.read().split()
"""


@pytest.mark.parametrize("suffix", EXTENSION_SUFFIXES)
def test_refused_extension_is_never_loaded(spam_library: Path, project: Path, suffix: str) -> None:
    library = install_spam(spam_library, project, suffix, REFUSE)
    marker = project.parent / "spam.marker"
    got, result, _ = run(
        project,
        f"LIBRARY = {os.path.realpath(library)!r}\n"
        + PROBE_SPAM
        + 'emit(spam=attempt("spam"), mapped=mapped(), traces=traces())\n',
        env={"SPAM_MARKER": str(marker)},
    )
    assert got["spam"]["outcome"] == "refused", result
    assert got["spam"]["type"] == "ContractViolation"
    assert Path(got["spam"]["contract"]) == project / "spam.contract.yml"
    assert got["spam"]["in_sys_modules"] is False
    assert got["traces"] == []  # neither dlopen nor PyInit_spam happened
    assert got["mapped"] in (False, None)


def test_admitted_extension_loads_normally(spam_library: Path, project: Path) -> None:
    # Also proves the probes of the refusal test can see a load when there is one.
    library = install_spam(spam_library, project, EXTENSION_SUFFIXES[0], ADMIT)
    marker = project.parent / "spam.marker"
    got, result, _ = run(
        project,
        f"LIBRARY = {os.path.realpath(library)!r}\n"
        + PROBE_SPAM
        + 'spam = attempt("spam")\n'
        + "import spam as module\n"
        + "emit(spam=spam, ping=module.ping(), mapped=mapped(), traces=traces())\n",
        env={"SPAM_MARKER": str(marker)},
    )
    assert got["spam"] == {
        "outcome": "admitted",
        "loader": "ExtensionFileLoader",
        "spec_loader": "ExtensionFileLoader",
    }, result
    assert got["ping"] == 42
    assert got["traces"][-1] == "PyInit_spam"
    if os.path.exists("/proc/self/maps"):
        assert got["mapped"] is True
        assert got["traces"] == ["loaded", "PyInit_spam"]


def test_extension_refusal_is_not_cached(spam_library: Path, project: Path) -> None:
    install_spam(spam_library, project, EXTENSION_SUFFIXES[0], needs_env("SPAM_TOKEN"))
    marker = project.parent / "spam.marker"
    got, result, _ = run(
        project,
        "LIBRARY = ''\n"
        + PROBE_SPAM
        + 'first = attempt("spam")\n'
        + "before = traces()\n"
        + 'os.environ["SPAM_TOKEN"] = "yes"\n'
        + 'emit(first=first, before=before, second=attempt("spam"), ping=sys.modules["spam"].ping())\n',
        env={"SPAM_MARKER": str(marker), "SPAM_TOKEN": None},
    )
    assert got["first"]["outcome"] == "refused", result
    assert got["before"] == []
    assert got["second"]["outcome"] == "admitted"
    assert got["ping"] == 42
