"""Hostile environments (issue 7; SPEC §3 activation, §4 interception, §7 outcome).

The hook runs in every interpreter of an environment, whatever state that interpreter is in. Each
test puts a child interpreter in one such state — an undecodable environment, no ``HOME``, a cache
directory that cannot be written, ``-I``/``-E``/``-S``, a zipapp, junk on ``sys.path``, a module that
removes itself while it loads, imports during shutdown, a thread hammering
``importlib.invalidate_caches()`` — and checks what a user would notice: guarded modules are still
refused (and never run), compliant ones still load, and nothing else changes compared with the
same program without the hook.

Modules print ``RAN <name>`` when their code runs, so a test can prove a refused module never ran.
Contracts use the simplest rules of §6 (``runtime.os``, ``runtime.environment`` and ImportSpy's
``deployments`` layout) so that these tests are about the environment, not the contract engine.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import PACKAGE_PARENT, Result, child_env, run_script, write_files

THIS_OS = platform.system().lower() or "linux"
OTHER_OS = "linux" if THIS_OS == "windows" else "windows"
ADMIT = f"runtime:\n  os: [{THIS_OS}]\n"
REFUSE = f"runtime:\n  os: [{OTHER_OS}]\n"
POSIX_ONLY = pytest.mark.skipif(os.name == "nt", reason="os.environb and bytes environments are POSIX-only")


def ran_body(name: str) -> str:
    return f"print('RAN {name}', flush=True)\n"


def modules(root: Path, **contracts: str | None) -> Path:
    """``name=contract`` (None: no sidecar) -> ``name.py`` printing ``RAN name`` and its sidecar."""
    files: dict[str, str] = {}
    for name, contract in contracts.items():
        files[f"{name}.py"] = ran_body(name)
        if contract is not None:
            files[f"{name}.contract.yml"] = contract
    return write_files(root, files)


# Prepended to child scripts: ``attempt`` imports a module and says what the user saw (the exception
# type, or "admitted"); ``emit`` prints the one RESULT line the test reads.
HELPERS = """\
import json, sys


def attempt(name):
    try:
        __import__(name)  # what an import statement does, with this module as the caller
    except BaseException as exc:
        return type(exc).__name__
    return "admitted"


def emit(**values):
    print("RESULT " + json.dumps(values), flush=True)
"""


def outcome(result: Result) -> dict[str, Any]:
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            parsed: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return parsed
    raise AssertionError(f"child printed no RESULT line: {result!r}")


def ran(stdout: str) -> list[str]:
    return [line.split()[1] for line in stdout.splitlines() if line.startswith("RAN ")]


def log_events(stderr: str, name: str) -> list[dict[str, Any]]:
    """JSON log events called ``name`` (the child ran with ``IMPORTSPY_HOOK_LOG=json``)."""
    events = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == name:
                events.append(event)
    return events


def no_hook_trouble(stderr: str) -> bool:
    """No traceback and no internal error of the hook on stderr (violations may be logged)."""
    return "Traceback" not in stderr and "internal_error" not in stderr and "Exception ignored" not in stderr


# --------------------------------------------------------------------------------------------------
# Environment variables that are not valid UTF-8
# --------------------------------------------------------------------------------------------------

ENV_CONTRACT = "runtime:\n  environment:\n    APP_MODE: prod\n    WEIRD: null\n"
DEPLOYMENTS_CONTRACT = textwrap.dedent(
    f"""\
    deployments:
      - arch: {platform.machine() or "x86_64"}
        systems:
          - os: {THIS_OS}
            environment:
              variables:
                - name: APP_MODE
                  value: prod
                - name: WEIRD
    """
)


@POSIX_ONLY
def test_undecodable_values_set_through_environb(project: Path) -> None:
    modules(project / "lib", envmod=ENV_CONTRACT, deplmod=DEPLOYMENTS_CONTRACT)
    write_files(
        project,
        {
            "main.py": HELPERS
            + textwrap.dedent(
                """\
                import os
                os.environb[b"APP_MODE"] = b"pr\\xffod"
                os.environb[b"WEIRD"] = b"\\xfe\\xff"          # presence is all the contract asks
                os.environb[b"\\xff\\xfeNAME"] = b"\\xc3\\x28"   # an undecodable name, unrelated
                try:
                    import envmod
                    first = "admitted"
                except ValueError as exc:
                    first = {
                        "fields": [v.field for v in exc.violations],
                        "encodable": bool(str(exc).encode("utf-8")),
                        "shown": "\\\\udcff" in str(exc),
                    }
                deployments = attempt("deplmod")
                os.environb[b"APP_MODE"] = b"prod"               # fixed: the next import succeeds
                emit(first=first, deployments=deployments, fixed=attempt("envmod"),
                     fixed_deployments=attempt("deplmod"))
                """
            )
        },
    )
    result = run_script(project / "main.py", path=[str(project / "lib")], env={"IMPORTSPY_HOOK_LOG": "json"})
    got = outcome(result)
    # one violation (the value), none for the undecodable-but-present WEIRD; the text can be
    # written to any UTF-8 log, with the bad byte shown escaped
    assert got["first"] == {"fields": ["runtime.environment.APP_MODE"], "encodable": True, "shown": True}, (
        result
    )
    assert got["deployments"] == "ContractViolation"
    assert got["fixed"] == "admitted" and got["fixed_deployments"] == "admitted"
    assert ran(result.stdout) == ["envmod", "deplmod"]
    violations = log_events(result.stderr, "contract.violation")
    assert [event["target"] for event in violations] == ["envmod", "deplmod"]  # the log kept working
    assert no_hook_trouble(result.stderr), result


@POSIX_ONLY
def test_interpreter_started_with_an_undecodable_environment(project: Path) -> None:
    modules(project / "lib", present="runtime:\n  environment:\n    APP_MODE: null\n", exact=ENV_CONTRACT)
    code = HELPERS + textwrap.dedent(
        """\
        from _importspy_hook_startup import active_finder, startup
        startup()
        finder = active_finder()
        emit(mode=finder and finder.mode, present=attempt("present"), exact=attempt("exact"))
        """
    )
    env = {
        os.fsencode(key): os.fsencode(value) for key, value in child_env(path=[str(project / "lib")]).items()
    }
    env.update(
        {
            b"IMPORTSPY_HOOK": b"\xffenforce",  # unknown (undecodable) value: warn, then enforce
            b"IMPORTSPY_HOOK_EXCLUDE": b"\xff*,nothing.*",
            b"IMPORTSPY_HOOK_LOG": b"json",
            b"APP_MODE": b"pr\xffod",
            b"WEIRD": b"\xfe",
            b"\xff\xfeNAME": b"\xc3\x28",
        }
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, timeout=60, cwd=project
    )
    stdout = completed.stdout.decode("utf-8", "backslashreplace")
    stderr = completed.stderr.decode("utf-8", "backslashreplace")
    got = outcome(Result(subprocess.CompletedProcess(completed.args, completed.returncode, stdout, stderr)))
    assert got == {"mode": "enforce", "present": "admitted", "exact": "ContractViolation"}, stderr
    warnings = [line for line in stderr.splitlines() if "unknown IMPORTSPY_HOOK value" in line]
    assert len(warnings) == 1, stderr
    assert ran(stdout) == ["present"]
    assert no_hook_trouble(stderr), stderr


# --------------------------------------------------------------------------------------------------
# No HOME
# --------------------------------------------------------------------------------------------------


def test_missing_home(project: Path) -> None:
    modules(project, plain_ok=ADMIT, wants_home="runtime:\n  environment:\n    HOME: null\n")
    write_files(project, {"main.py": HELPERS + "emit(ok=attempt('plain_ok'), home=attempt('wants_home'))\n"})
    without_home = {"HOME": None, "USERPROFILE": None, "IMPORTSPY_HOOK_LOG": "json"}
    result = run_script(project / "main.py", env=without_home)
    assert outcome(result) == {"ok": "admitted", "home": "ContractViolation"}, result
    (event,) = log_events(result.stderr, "contract.violation")  # logging works without HOME too
    assert "HOME" in " ".join(event["violations"])
    assert ran(result.stdout) == ["plain_ok"]
    assert no_hook_trouble(result.stderr), result
    # the control: the same program with HOME set
    with_home = run_script(project / "main.py", env={"HOME": str(project), "IMPORTSPY_HOOK_LOG": "json"})
    assert outcome(with_home) == {"ok": "admitted", "home": "admitted"}, with_home


# --------------------------------------------------------------------------------------------------
# Caches that cannot be written (read-only site-packages, read-only __pycache__)
# --------------------------------------------------------------------------------------------------


def _snapshot(root: Path) -> dict[str, int]:
    return {str(path.relative_to(root)): path.stat().st_size for path in sorted(root.rglob("*"))}


def test_pycache_that_is_a_file_makes_the_directory_unwritable_even_for_root(project: Path) -> None:
    # chmod does not stop root; a regular file where __pycache__ should be stops everyone: neither
    # bytecode nor any cache of the hook can be written beside the modules.
    lib = modules(project / "lib", guarded=REFUSE, compliant=ADMIT, free=None)
    (lib / "__pycache__").write_text("not a directory\n", encoding="utf-8")
    before = _snapshot(lib)
    write_files(
        project, {"main.py": HELPERS + "emit(**{n: attempt(n) for n in ('guarded', 'compliant', 'free')})\n"}
    )
    for _ in range(2):  # a cold process, then one that would find a cache if any had been written
        result = run_script(project / "main.py", path=[str(lib)], env={"IMPORTSPY_HOOK_LOG": "json"})
        assert outcome(result) == {
            "guarded": "ContractViolation",
            "compliant": "admitted",
            "free": "admitted",
        }, result
        assert ran(result.stdout) == ["compliant", "free"]
        assert no_hook_trouble(result.stderr), result
    assert _snapshot(lib) == before


def test_pycache_prefix_that_is_a_file(project: Path) -> None:
    lib = modules(project / "lib", guarded=REFUSE, compliant=ADMIT)
    prefix = project / "prefix-is-a-file"
    prefix.write_text("x\n", encoding="utf-8")
    write_files(
        project,
        {
            "main.py": HELPERS
            + "emit(prefix=sys.pycache_prefix, guarded=attempt('guarded'), compliant=attempt('compliant'))\n"
        },
    )
    for _ in range(2):
        result = run_script(
            project / "main.py",
            path=[str(lib)],
            env={"PYTHONPYCACHEPREFIX": str(prefix), "IMPORTSPY_HOOK_LOG": "json"},
        )
        got = outcome(result)
        assert got == {"prefix": str(prefix), "guarded": "ContractViolation", "compliant": "admitted"}, result
        assert no_hook_trouble(result.stderr), result
    assert prefix.read_text(encoding="utf-8") == "x\n"
    assert not (lib / "__pycache__").exists()


def _permission_bits_apply() -> list[str] | None:
    """A command prefix under which permission bits stop this user, or None when there is none.

    Root ignores permission bits through the ``CAP_DAC_OVERRIDE``/``CAP_DAC_READ_SEARCH``
    capabilities; ``setpriv`` (util-linux) can start a child of root without them, for which a
    read-only directory is read-only again.
    """
    if os.name == "nt":
        return None
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "pass"], capture_output=True, timeout=60)
    return prefix if probe.returncode == 0 else None


def test_read_only_directory_and_pycache(project: Path) -> None:
    prefix = _permission_bits_apply()
    if prefix is None:
        pytest.skip(
            "running as root without setpriv: permission bits would not apply "
            "(the two tests above cover unwritable caches as root)"
        )
    read_only = modules(project / "ro", ro_guarded=REFUSE, ro_ok=ADMIT, ro_free=None)
    pycache = read_only / "__pycache__"
    pycache.mkdir()
    code = (
        f"import sys\nsys.path.insert(0, {str(read_only)!r})\n"
        "import importspy_hook\nimportspy_hook.install()\n"
        + HELPERS
        + "import os\n"
        + "emit(writable=os.access(sys.path[0], os.W_OK), "
        + "**{n: attempt(n) for n in ('ro_guarded', 'ro_ok', 'ro_free')})\n"
    )
    pycache.chmod(0o555)
    read_only.chmod(0o555)
    try:
        for _ in range(2):  # a cold process, then one that would find a cache if any had been written
            completed = subprocess.run(
                [*prefix, sys.executable, "-c", code],
                env=child_env({"IMPORTSPY_HOOK_LOG": "json"}),
                capture_output=True,
                text=True,
                timeout=60,
                cwd=project,
            )
            result = Result(completed)
            assert outcome(result) == {
                "writable": False,  # the child really is bound by the permission bits
                "ro_guarded": "ContractViolation",
                "ro_ok": "admitted",
                "ro_free": "admitted",
            }, result
            assert ran(result.stdout) == ["ro_ok", "ro_free"]
            assert no_hook_trouble(result.stderr), result
    finally:
        read_only.chmod(0o755)
        pycache.chmod(0o755)
    assert list(pycache.iterdir()) == []


# --------------------------------------------------------------------------------------------------
# python -I / -E / -S, and a zipapp, with the hook installed in a virtual environment
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment whose site-packages activates the hook as an installed copy does.

    What ``-I``/``-E``/``-S`` do is decided by ``site`` for *any* ``.pth`` file in site-packages, so
    instead of building and installing a wheel (the activation tests do that), this puts the
    project's own start-up file and a copy of the package there, after a ``.pth`` that makes the
    dependencies importable (``_`` sorts before ``i``, and site reads ``.pth`` files in name order).
    """
    root = tmp_path_factory.mktemp("site-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    site_packages = Path(purelib)
    startup_file = Path(PACKAGE_PARENT) / "importspy_hook.pth"  # installed copy (CI)
    if not startup_file.exists():
        startup_file = Path(__file__).resolve().parent.parent / "importspy_hook.pth"  # checkout
    # The package and the start-up module are copied into site-packages, where an install puts them:
    # the start-up line checks that the module is there before importing it (a .pth left behind must
    # stay silent).
    shutil.copytree(
        Path(PACKAGE_PARENT) / "importspy_hook",
        site_packages / "importspy_hook",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy2(Path(PACKAGE_PARENT) / "_importspy_hook_startup.py", site_packages)
    dependencies: set[str] = set()
    for name in ("attr", "ruamel.yaml", "structlog", "packaging"):
        module = __import__(name, fromlist=["__name__"])
        dependencies.add(str(Path(module.__file__ or "").resolve().parents[name.count(".") + 1]))
    (site_packages / "_importspy_test_paths.pth").write_text(
        "\n".join(sorted(dependencies)) + "\n", encoding="utf-8"
    )
    shutil.copy(startup_file, site_packages / "importspy_hook.pth")
    return python


def venv_run(
    python: Path, *args: str, env: dict[str, str | None] | None = None, cwd: Path | None = None
) -> Result:
    """Run the environment's interpreter with nothing from the test's environment redirecting imports."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("IMPORTSPY_", "PYTHON"))}
    clean.pop("VIRTUAL_ENV", None)
    for key, value in (env or {}).items():
        if value is None:
            clean.pop(key, None)
        else:
            clean[key] = value
    completed = subprocess.run(
        [str(python), *args], env=clean, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    return Result(completed)


FLAG_PROBE = HELPERS + textwrap.dedent(
    """\
    loaded = "_importspy_hook_startup" in sys.modules
    finders = [f for f in sys.meta_path if getattr(f, "_importspy_hook_finder", False)]
    sys.path.insert(0, sys.argv[1])
    first = bool(finders) and sys.meta_path[0] is finders[0]
    emit(loaded=loaded, modes=[f.mode for f in finders], first=first, guarded=attempt("guarded"))
    """
)


@pytest.mark.parametrize(
    ("flags", "active"),
    [
        ((), True),
        (("-E",), True),  # ignores PYTHON* variables only; IMPORTSPY_HOOK is still read
        (("-s",), True),  # no user site-packages; the environment's own is still processed
        (("-I",), True),  # = -E -s (and -P): site-packages .pth files still run
        (("-S",), False),  # no site at all, so no start-up file: no hook
    ],
)
def test_interpreter_flags(site_venv: Path, project: Path, flags: tuple[str, ...], active: bool) -> None:
    lib = modules(project / "lib", guarded=REFUSE)
    result = venv_run(site_venv, *flags, "-c", FLAG_PROBE, str(lib), env={"IMPORTSPY_HOOK_LOG": "off"})
    got = outcome(result)
    if active:
        assert got == {"loaded": True, "modes": ["enforce"], "first": True, "guarded": "ContractViolation"}, (
            result
        )
        assert ran(result.stdout) == []
    else:
        assert got == {"loaded": False, "modes": [], "first": False, "guarded": "admitted"}, result
        assert ran(result.stdout) == ["guarded"]


@pytest.mark.parametrize("flags", [(), ("-E",), ("-I",)])
def test_hook_off_is_honoured_under_isolation_flags(
    site_venv: Path, project: Path, flags: tuple[str, ...]
) -> None:
    lib = modules(project / "lib", guarded=REFUSE)
    result = venv_run(site_venv, *flags, "-c", FLAG_PROBE, str(lib), env={"IMPORTSPY_HOOK": "0"})
    assert outcome(result) == {"loaded": False, "modes": [], "first": False, "guarded": "admitted"}, result


def test_dash_s_with_install_by_hand(site_venv: Path, project: Path) -> None:
    # The documented way to have the hook under -S: make the package importable and install() it.
    lib = modules(project / "lib", guarded=REFUSE, compliant=ADMIT)
    paths = (
        next(site_venv.parent.parent.rglob("_importspy_test_paths.pth")).read_text(encoding="utf-8").split()
    )
    code = (
        "import sys\nsys.path[:0] = sys.argv[2].split(';')\nimport importspy_hook\nimportspy_hook.install()\n"
        + FLAG_PROBE
        + "emit(compliant=attempt('compliant'))\n"
    )
    result = venv_run(
        site_venv, "-S", "-c", code, str(lib), ";".join(paths), env={"IMPORTSPY_HOOK_LOG": "off"}
    )
    lines = [json.loads(line[7:]) for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines == [
        {"loaded": True, "modes": ["enforce"], "first": True, "guarded": "ContractViolation"},
        {"compliant": "admitted"},
    ], result


def test_zipapp_application(site_venv: Path, project: Path) -> None:
    # A zipapp whose __main__ imports modules that sit beside it on sys.path, and one of its own.
    app = write_files(
        project / "app",
        {
            "__main__.py": HELPERS
            + textwrap.dedent(
                """\
                early = attempt("needs_api")      # API is defined below: read from the archived source
                API = 2
                emit(early=early, wrong=attempt("wrong_api"), inner=attempt("inner"),
                     beside=attempt("guarded"), main_file=__file__)
                """
            ),
            "inner.py": ran_body("inner"),
            "inner.contract.yml": REFUSE,
        },
    )
    modules(
        project / "lib",
        guarded=REFUSE,
        needs_api="variables:\n  - name: API\n    value: 2\n",
        wrong_api="variables:\n  - name: API\n    value: 3\n",
    )
    pyz = project / "app.pyz"
    subprocess.run([sys.executable, "-m", "zipapp", str(app), "-o", str(pyz)], check=True, timeout=60)
    shutil.rmtree(app)
    result = venv_run(
        site_venv,
        str(pyz),
        env={"PYTHONPATH": str(project / "lib"), "IMPORTSPY_HOOK_LOG": "json"},
        cwd=project,
    )
    got = outcome(result)
    assert got["main_file"].replace("\\", "/").endswith("app.pyz/__main__.py"), result
    assert (got["early"], got["wrong"], got["inner"], got["beside"]) == (
        "admitted",
        "ContractViolation",
        "ContractViolation",
        "ContractViolation",
    ), result
    assert ran(result.stdout) == ["needs_api"]
    contracts = {
        event["target"]: event["contract"] for event in log_events(result.stderr, "contract.violation")
    }
    assert contracts["inner"].replace("\\", "/").endswith("app.pyz/inner.contract.yml")
    assert contracts["wrong_api"] == str(project / "lib" / "wrong_api.contract.yml")


# --------------------------------------------------------------------------------------------------
# sys.path entries that are not strings, or do not exist
# --------------------------------------------------------------------------------------------------

JUNK_PATH = HELPERS + textwrap.dedent(
    """\
    import os
    from pathlib import Path

    lib = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib")
    junk = {
        "bytes": os.fsencode(lib),
        "int": 42,
        "none": None,
        "path": Path(lib),
        "missing": os.path.join(lib, "does-not-exist"),
        "relative": "lib",  # relative to the working directory: found, with an absolute origin
        "file": os.path.abspath(__file__),
        "empty": "",
    }
    base = list(sys.path)
    results = {}
    for label, entry in junk.items():
        # the junk entry alone (is the module reachable through it at all?) ...
        sys.path[:] = [entry, *base]
        sys.path_importer_cache.clear()
        alone = {name: attempt(name) for name in (f"g_{label}", f"k_{label}")}
        # ... and before a real entry, which must still work
        sys.path[:] = [entry, 7, b"\\xff", lib, *base]
        sys.path_importer_cache.clear()
        results[label] = {"alone": alone, "with_lib": {n: attempt(n) for n in (f"h_{label}", f"m_{label}")}}
    emit(results=results)
    """
)


def test_sys_path_entries_that_are_not_strings_or_do_not_exist(project: Path) -> None:
    labels = ("bytes", "int", "none", "path", "missing", "relative", "file", "empty")
    contracts: dict[str, str | None] = {}
    for label in labels:  # g/h guarded by a refusing contract, k/m by an admitting one
        contracts.update(
            {f"g_{label}": REFUSE, f"h_{label}": REFUSE, f"k_{label}": ADMIT, f"m_{label}": ADMIT}
        )
    modules(project / "lib", **contracts)
    write_files(project, {"main.py": JUNK_PATH})
    # run_script puts the script's directory first on sys.path; the script replaces sys.path itself
    with_hook = outcome(run_script(project / "main.py", cwd=project, env={"IMPORTSPY_HOOK_LOG": "off"}))
    without = outcome(run_script(project / "main.py", cwd=project, mode=None))
    with_hook, without = with_hook["results"], without["results"]
    assert without["relative"]["alone"] == {"g_relative": "admitted", "k_relative": "admitted"}

    def hooked(verdicts: dict[str, str]) -> dict[str, str]:
        """What the hook must turn a run without it into: found and guarded means refused."""
        return {
            name: "ContractViolation" if name[0] in "gh" and verdict == "admitted" else verdict
            for name, verdict in verdicts.items()
        }

    for label in labels:
        plain = without[label]
        # Without the hook, Python decides what the entry means (3.10 even fails every path-based
        # import with TypeError while a bytes entry is on sys.path); with it, the same happens,
        # except that a guarded module that was found is refused.
        assert with_hook[label]["alone"] == hooked(plain["alone"]), (label, with_hook[label], plain)
        assert with_hook[label]["with_lib"] == hooked(plain["with_lib"]), (label, with_hook[label], plain)
        if label != "bytes":  # the real entry after the junk one works, so the check was exercised
            assert with_hook[label]["with_lib"] == {
                f"h_{label}": "ContractViolation",
                f"m_{label}": "admitted",
            }


# --------------------------------------------------------------------------------------------------
# A module that removes (or replaces) itself in sys.modules while it loads
# --------------------------------------------------------------------------------------------------


def test_module_that_deletes_or_replaces_itself_in_sys_modules(project: Path) -> None:
    write_files(
        project,
        {
            "lib/selfdel.py": "import sys\n" + ran_body("selfdel") + "del sys.modules[__name__]\n",
            "lib/selfdel.contract.yml": ADMIT,
            "lib/selfdel_no.py": "import sys\n" + ran_body("selfdel_no") + "del sys.modules[__name__]\n",
            "lib/selfdel_no.contract.yml": REFUSE,
            "lib/swapped.py": (
                "import sys, types\nprint('RAN swapped', flush=True)\n"
                "sys.modules[__name__] = types.SimpleNamespace(replacement=True)\n"
            ),
            "lib/swapped.contract.yml": ADMIT,
            "main.py": HELPERS
            + textwrap.dedent(
                """\
                first = attempt("selfdel")
                emit(first=first, left="selfdel" in sys.modules, again=attempt("selfdel"),
                     refused=attempt("selfdel_no"), swapped=attempt("swapped"),
                     replacement=getattr(sys.modules.get("swapped"), "replacement", False))
                """
            ),
        },
    )
    with_hook = run_script(
        project / "main.py", path=[str(project / "lib")], env={"IMPORTSPY_HOOK_LOG": "off"}
    )
    without = run_script(project / "main.py", path=[str(project / "lib")], mode=None)
    plain, guarded = outcome(without), outcome(with_hook)
    # the hook changes nothing about the self-removal, whatever the Python version makes of it ...
    assert {k: v for k, v in guarded.items() if k != "refused"} == {
        k: v for k, v in plain.items() if k != "refused"
    }, (with_hook, without)
    assert guarded["replacement"] is True
    # ... and a refusing contract still refuses before the module can do anything
    assert guarded["refused"] == "ContractViolation"
    assert ran(with_hook.stdout) == [name for name in ran(without.stdout) if name != "selfdel_no"]
    assert no_hook_trouble(with_hook.stderr), with_hook


# --------------------------------------------------------------------------------------------------
# Imports during interpreter shutdown
# --------------------------------------------------------------------------------------------------

SHUTDOWN = HELPERS + textwrap.dedent(
    """\
    import atexit, types


    def report(where, name):
        print("AT", where, name, attempt(name), flush=True)


    atexit.register(report, "atexit", "late_ok")
    atexit.register(report, "atexit", "late_no")  # atexit runs handlers last-in first-out


    class ImportsWhenCollected:
        def __init__(self, name):
            self.name = name

        def __del__(self):
            report("del", self.name)


    holder_no = ImportsWhenCollected("del_no")       # collected with __main__'s globals
    teardown = types.ModuleType("teardown")
    teardown.holder = ImportsWhenCollected("td_no")  # collected when sys.modules is torn down
    sys.modules["teardown"] = teardown
    del teardown
    emit(started=True)
    """
)


def test_imports_during_interpreter_shutdown(project: Path) -> None:
    modules(project / "lib", late_ok=ADMIT, late_no=REFUSE, del_no=REFUSE, td_no=REFUSE)
    write_files(project, {"main.py": SHUTDOWN})
    with_hook = run_script(
        project / "main.py", path=[str(project / "lib")], env={"IMPORTSPY_HOOK_LOG": "off"}
    )
    without = run_script(project / "main.py", path=[str(project / "lib")], mode=None)

    def at(result: Result) -> dict[str, str]:
        return {
            line.split()[2]: line.split()[3] for line in result.stdout.splitlines() if line.startswith("AT ")
        }

    hooked, plain = at(with_hook), at(without)
    assert with_hook.returncode == 0, with_hook
    # atexit handlers run while the import system works: the contract is applied as usual (the
    # engine is even loaded for the first time there)
    assert (hooked["late_no"], hooked["late_ok"]) == ("ContractViolation", "admitted"), with_hook
    # __del__ during teardown: whatever the import system does without the hook, it does with it,
    # except that a refusing contract is never bypassed
    for name in ("del_no", "td_no"):
        if name in plain:
            assert hooked.get(name) == ("ContractViolation" if plain[name] == "admitted" else plain[name]), (
                name,
                with_hook,
            )
    assert "late_no" not in ran(with_hook.stdout)
    assert not set(ran(with_hook.stdout)) & {"del_no", "td_no"}
    assert no_hook_trouble(with_hook.stderr), with_hook


# --------------------------------------------------------------------------------------------------
# importlib.invalidate_caches() storms from another thread
# --------------------------------------------------------------------------------------------------

STORM = HELPERS + textwrap.dedent(
    """\
    import importlib, threading
    sys.setswitchinterval(1e-6)  # switch threads as often as possible

    stop = threading.Event()
    calls = 0
    errors = []


    def storm():
        global calls
        while not stop.is_set():
            try:
                importlib.invalidate_caches()
            except BaseException as exc:  # must never happen
                errors.append(repr(exc))
            calls += 1


    thread = threading.Thread(target=storm, daemon=True)
    thread.start()
    while calls < 100:
        pass
    before = calls
    names = sorted(NAMES, key=lambda name: name.split("_")[1])  # interleave the three kinds
    verdicts = {name: attempt(name) for name in names}
    during = calls - before
    stop.set()
    thread.join(timeout=30)
    emit(verdicts=verdicts, during=during, errors=errors)
    """
)


def test_invalidate_caches_storm_from_another_thread(project: Path) -> None:
    count = 40
    contracts: dict[str, str | None] = {}
    for i in range(count):
        contracts.update({f"ok_{i:03}": ADMIT, f"no_{i:03}": REFUSE, f"free_{i:03}": None})
    modules(project / "lib", **contracts)
    write_files(project, {"main.py": f"NAMES = {sorted(contracts)!r}\n" + STORM})
    result = run_script(
        project / "main.py", path=[str(project / "lib")], env={"IMPORTSPY_HOOK_LOG": "off"}, timeout=120
    )
    got = outcome(result)
    assert got["errors"] == [], result
    assert got["during"] > 0  # the storm really overlapped the imports
    expected = {name: ("ContractViolation" if name.startswith("no_") else "admitted") for name in contracts}
    assert got["verdicts"] == expected
    assert sorted(ran(result.stdout)) == sorted(name for name in contracts if not name.startswith("no_"))
    assert no_hook_trouble(result.stderr), result
