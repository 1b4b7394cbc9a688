"""Activation in real virtual environments (issue 2; SPEC §2 names, §3 activation, §7 outcome).

These tests install the project the way a user does (wheel, editable, sdist), start the
environment's own interpreter and look at what a user would notice: whether the finder is first on
``sys.meta_path`` and in which mode, what start-up prints and imports, what pip leaves behind.
Everything runs in child processes; the test process itself is never modified.

Cost: the wheelhouse and the builds are made once per session (``venvs.py``); an environment that
only reads is shared, one that a test modifies (uninstall, deleting or breaking the package) is the
test's own.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import json
import os
import shutil
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from venvs import (
    CHECKOUT,
    PROBE,
    Venv,
    build_sdist,
    build_wheel,
    copy_checkout,
    create_venv,
    make_wheelhouse,
)

import importspy_hook

STARTUP_FILES = ("importspy_hook.pth", "importspy_hook.start")
START_UP_MODULES = {"_importspy_hook_startup"}
HEAVY_MODULES = ("attr", "attrs", "structlog", "ruamel", "ruamel.yaml", "packaging", "typing")


# ---------------------------------------------------------------------------------------------
# Session fixtures: one wheelhouse, one source copy, one wheel, one sdist, one shared environment.
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def build_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("activation")


@pytest.fixture(scope="session")
def wheelhouse(build_root: Path) -> Path:
    return make_wheelhouse(build_root / "wheelhouse")


@pytest.fixture(scope="session")
def wheel(build_root: Path, wheelhouse: Path) -> Path:
    return build_wheel(copy_checkout(build_root / "src-wheel"), wheelhouse, build_root / "dist")


@pytest.fixture(scope="session")
def sdist(build_root: Path, wheelhouse: Path) -> Path:
    return build_sdist(copy_checkout(build_root / "src-sdist"), wheelhouse, build_root / "sdist")


VenvFactory = Callable[..., Venv]


@pytest.fixture(scope="session")
def make_venv(build_root: Path, wheelhouse: Path) -> VenvFactory:
    """``make_venv(name, *requirements, with_pip=False)``: a new environment with those installed."""
    counter = itertools.count()

    def factory(name: str, *requirements: str | os.PathLike[str], with_pip: bool = False) -> Venv:
        venv = create_venv(build_root / f"venv-{name}-{next(counter)}", with_pip=with_pip)
        if requirements:
            venv.install(wheelhouse, *requirements)
        return venv

    return factory


@pytest.fixture(scope="session")
def wheel_venv(make_venv: VenvFactory, wheel: Path) -> Venv:
    """The shared environment with the wheel installed. Tests must not modify it."""
    return make_venv("wheel", wheel)


@pytest.fixture
def own_wheel_venv(make_venv: VenvFactory, wheel: Path) -> Venv:
    """A fresh environment with the wheel installed, for a test that modifies it."""
    return make_venv("own", wheel)


def modes(state: dict[str, object]) -> list[str]:
    value = state["modes"]
    assert isinstance(value, list)
    return [str(mode) for mode in value]


def loaded_modules(state: dict[str, object]) -> set[str]:
    """``sys.modules`` as the probe saw it right after start-up."""
    value = state["modules"]
    assert isinstance(value, list)
    return {str(name) for name in value}


def imported_hook_modules(state: dict[str, object]) -> set[str]:
    """The hook's own modules (the package, and the top-level start-up module) the probe saw loaded."""
    ours = ("importspy_hook", "_importspy_hook_startup")
    return {name for name in loaded_modules(state) if name.split(".")[0] in ours}


def assert_enforcing(venv: Venv, env: dict[str, str | None] | None = None) -> None:
    state = venv.probe(env)
    assert modes(state) == ["enforce"], state
    assert state["first"] is True, "the importspy-hook finder must be sys.meta_path[0]"


# ---------------------------------------------------------------------------------------------
# Installing: wheel, editable (PEP 660), sdist -> wheel (§2, §3)
# ---------------------------------------------------------------------------------------------


@pytest.mark.venv
def test_wheel_install_activates_the_finder(wheel_venv: Venv) -> None:
    for name in STARTUP_FILES:
        assert (wheel_venv.site_packages / name).is_file(), f"{name} not installed in site-packages"
    assert_enforcing(wheel_venv)
    where = wheel_venv.code("import importspy_hook; print(importspy_hook.__file__)").check()
    assert Path(where.stdout.strip()).parent == wheel_venv.site_packages / "importspy_hook"


@pytest.mark.venv
def test_editable_install_activates_the_finder(
    make_venv: VenvFactory, build_root: Path, wheelhouse: Path
) -> None:
    source = copy_checkout(build_root / "src-editable")
    venv = make_venv("editable")
    venv.install(wheelhouse, "-e", source)
    assert (venv.site_packages / "importspy_hook.pth").is_file(), "editable install lacks the .pth"
    editable_hooks = sorted(p.name for p in venv.site_packages.glob("__editable__*.pth"))
    assert editable_hooks, "not a PEP 660 editable install"
    # site processes .pth files in name order: the editable finder must be set up before our line.
    assert all(name < "importspy_hook.pth" for name in editable_hooks)
    assert_enforcing(venv)
    where = venv.code("import importspy_hook; print(importspy_hook.__file__)").check()
    assert Path(where.stdout.strip()).resolve().parent == (source / "importspy_hook").resolve()


@pytest.mark.venv
def test_sdist_carries_the_build_helper_and_builds_an_activating_wheel(
    sdist: Path, make_venv: VenvFactory
) -> None:
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in ("_importspy_build.py", *STARTUP_FILES, "setup.cfg", "pyproject.toml"):
        assert needed in names, f"{needed} missing from the sdist"
    venv = make_venv("sdist", sdist)  # pip builds a wheel from the sdist, then installs it
    for name in STARTUP_FILES:
        assert (venv.site_packages / name).is_file(), f"{name} not installed from the sdist"
    assert_enforcing(venv)


# ---------------------------------------------------------------------------------------------
# IMPORTSPY_HOOK, read once at start-up (§3)
# ---------------------------------------------------------------------------------------------


@pytest.mark.venv
@pytest.mark.parametrize("value", ["0", "off", "false", "no", "OFF", " No "])
def test_off_values_install_nothing_and_import_nothing(wheel_venv: Venv, value: str) -> None:
    result = wheel_venv.code(PROBE, env={"IMPORTSPY_HOOK": value}).check()
    state = result.json()
    assert modes(state) == []
    assert imported_hook_modules(state) == set(), "the start-up line must read the variable first"
    assert result.stderr == ""


@pytest.mark.venv
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "enforce"),
        ("", "enforce"),
        ("1", "enforce"),
        ("on", "enforce"),
        ("true", "enforce"),
        ("enforce", "enforce"),
        ("ENFORCE", "enforce"),
        ("warn", "warn"),
        ("Warn", "warn"),
    ],
)
def test_known_values_choose_the_mode(wheel_venv: Venv, value: str | None, expected: str) -> None:
    result = wheel_venv.code(PROBE, env={"IMPORTSPY_HOOK": value}).check()
    assert modes(result.json()) == [expected]
    assert result.stderr == ""


@pytest.mark.venv
@pytest.mark.parametrize("value", ["enforcing", "disable", "2", "warning"])
def test_unknown_value_warns_once_and_enforces(wheel_venv: Venv, value: str) -> None:
    result = wheel_venv.code(PROBE, env={"IMPORTSPY_HOOK": value}).check()
    assert modes(result.json()) == ["enforce"], "an unknown setting must never switch protection off"
    assert len(result.stderr_lines) == 1, result
    assert repr(value) in result.stderr_lines[0], "the warning must name the value"
    assert "importspy-hook" in result.stderr_lines[0]


# ---------------------------------------------------------------------------------------------
# Idempotence and the by-hand API (§3, §10)
# ---------------------------------------------------------------------------------------------

# A sibling .pth that counts how often site processed the directory, and one that makes site process
# it once more. In a venv, CPython 3.10/3.11's ``site.venv()`` already processes site-packages twice
# (once for the venv, once more through ``PREFIXES``); the second .pth guarantees a repeat on versions
# that do not.
COUNT_PTH = "import sys; sys._activation_test_runs = getattr(sys, '_activation_test_runs', 0) + 1\n"
TWICE_PTH = (
    "import sys, site; hasattr(sys, '_activation_test_twice') or "
    "(setattr(sys, '_activation_test_twice', True), site.addsitedir({sitedir!r}))\n"
)


@pytest.fixture(scope="module")
def twice_venv(make_venv: VenvFactory, wheel: Path) -> Venv:
    venv = make_venv("twice", wheel)
    (venv.site_packages / "zz_activation_test_count.pth").write_text(COUNT_PTH, encoding="utf-8")
    (venv.site_packages / "zz_activation_test_twice.pth").write_text(
        TWICE_PTH.format(sitedir=str(venv.site_packages)), encoding="utf-8"
    )
    return venv


COUNT_FINDERS = """
    import sys, json
    finders = [f for f in sys.meta_path if getattr(f, "_importspy_hook_finder", False)]
    print(json.dumps({"runs": getattr(sys, "_activation_test_runs", 0),
                      "modes": [f.mode for f in finders]}))
"""


@pytest.mark.venv
def test_one_finder_although_site_processes_the_pth_twice(twice_venv: Venv) -> None:
    result = twice_venv.code(COUNT_FINDERS).check()
    state = result.json()
    assert int(str(state["runs"])) >= 2, "the set-up did not make site process site-packages twice"
    assert modes(state) == ["enforce"]
    assert result.stderr == ""


@pytest.mark.venv
def test_unknown_value_warns_once_although_the_pth_runs_twice(twice_venv: Venv) -> None:
    result = twice_venv.code(COUNT_FINDERS, env={"IMPORTSPY_HOOK": "bogus"}).check()
    state = result.json()
    assert int(str(state["runs"])) >= 2
    assert modes(state) == ["enforce"]
    assert len(result.stderr_lines) == 1, result


@pytest.mark.venv
def test_install_on_top_of_startup_keeps_one_finder(wheel_venv: Venv) -> None:
    result = wheel_venv.code(
        """
        import json, sys
        import importspy_hook

        def modes():
            return [f.mode for f in sys.meta_path if getattr(f, "_importspy_hook_finder", False)]

        seen = {"startup": modes()}
        handle = importspy_hook.install(mode="warn")
        seen["install"] = modes()
        seen["first"] = getattr(sys.meta_path[0], "_importspy_hook_finder", False)
        importspy_hook.install()
        seen["again"] = modes()
        importspy_hook.uninstall()
        seen["uninstall"] = modes()
        print(json.dumps(seen))
        """
    ).check()
    seen = result.json()
    assert seen == {
        "startup": ["enforce"],
        "install": ["warn"],
        "first": True,
        "again": ["enforce"],
        "uninstall": [],
    }


@pytest.mark.venv
@pytest.mark.parametrize(
    ("startup_value", "before", "inside", "after"),
    [
        (None, ["enforce"], ["warn"], ["enforce"]),  # on top of start-up: the mode is put back
        ("0", [], ["warn"], []),  # nothing at start-up: the finder is removed again
    ],
)
def test_handle_as_context_manager_restores_the_previous_state(
    wheel_venv: Venv,
    startup_value: str | None,
    before: list[str],
    inside: list[str],
    after: list[str],
) -> None:
    result = wheel_venv.code(
        """
        import json, sys
        import importspy_hook

        def modes():
            return [f.mode for f in sys.meta_path if getattr(f, "_importspy_hook_finder", False)]

        seen = {"before": modes()}
        with importspy_hook.install(mode="warn") as handle:
            seen["inside"] = modes()
            seen["handle_mode"] = handle.mode
        seen["after"] = modes()
        print(json.dumps(seen))
        """,
        env={"IMPORTSPY_HOOK": startup_value},
    ).check()
    assert result.json() == {"before": before, "inside": inside, "handle_mode": "warn", "after": after}


# ---------------------------------------------------------------------------------------------
# Children of a guarded interpreter (§3: subprocesses and multiprocessing children included)
# ---------------------------------------------------------------------------------------------

CHILDREN = """
import json, multiprocessing, subprocess, sys

def hook_modes():
    return [f.mode for f in sys.meta_path if getattr(f, "_importspy_hook_finder", False)]

def report(queue):
    queue.put(hook_modes())

if __name__ == "__main__":
    which = sys.argv[1]
    if which == "subprocess":
        code = "import sys, json; print(json.dumps([f.mode for f in sys.meta_path "
        code += "if getattr(f, '_importspy_hook_finder', False)]))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        child = json.loads(out.stdout)
    else:
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        process = context.Process(target=report, args=(queue,))
        process.start()
        child = queue.get(timeout=60)
        process.join(60)
        assert process.exitcode == 0, process.exitcode
    print(json.dumps({"parent": hook_modes(), "child": child}))
"""


@pytest.mark.venv
@pytest.mark.parametrize("kind", ["subprocess", "spawn"])
@pytest.mark.parametrize("mode", ["enforce", "warn"])
def test_children_are_guarded(wheel_venv: Venv, tmp_path: Path, kind: str, mode: str) -> None:
    script = tmp_path / "children.py"
    script.write_text(CHILDREN, encoding="utf-8")
    result = wheel_venv.run(script, kind, env={"IMPORTSPY_HOOK": mode}, cwd=tmp_path).check()
    assert result.json() == {"parent": [mode], "child": [mode]}
    assert result.stderr == ""


# ---------------------------------------------------------------------------------------------
# pip under the hook, uninstalling, leftovers, a broken installation (§3: fails open)
# ---------------------------------------------------------------------------------------------


@pytest.mark.venv
def test_pip_runs_under_the_hook_and_prints_nothing_extra(
    make_venv: VenvFactory, wheel: Path, wheelhouse: Path
) -> None:
    venv = make_venv("pip", with_pip=True)
    venv.run("-m", "pip", "install", "-q", "--no-index", "--find-links", wheelhouse, wheel).check()
    assert_enforcing(venv)
    result = venv.run("-m", "pip", "--version")
    assert result.returncode == 0, result
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pip "), result
    assert str(venv.root) in lines[0], "not the environment's own pip"


@pytest.mark.venv
def test_pip_uninstall_removes_every_trace(own_wheel_venv: Venv) -> None:
    venv = own_wheel_venv
    assert_enforcing(venv)  # the uninstalling pip runs in this interpreter, hook active
    venv.pip("uninstall", "-y", "-q", "importspy-hook")
    ours = ("importspy", "_importspy")
    leftovers = sorted(p.name for p in venv.site_packages.iterdir() if p.name.startswith(ours))
    cache = venv.site_packages / "__pycache__"
    if cache.is_dir():
        leftovers += sorted(f"__pycache__/{p.name}" for p in cache.iterdir() if p.name.startswith(ours))
    assert leftovers == [], f"left behind by pip uninstall: {leftovers}"
    assert not (venv.root / "bin" / "importspy-hook").exists()
    result = venv.code(PROBE).check()
    assert modes(result.json()) == []
    assert result.stderr == ""


@pytest.mark.venv
def test_leftover_pth_without_the_package_is_silent(own_wheel_venv: Venv) -> None:
    venv = own_wheel_venv
    shutil.rmtree(venv.site_packages / "importspy_hook")
    (venv.site_packages / "_importspy_hook_startup.py").unlink()
    assert (venv.site_packages / "importspy_hook.pth").is_file()
    for value in (None, "warn", "bogus"):
        result = venv.run("-c", "pass", env={"IMPORTSPY_HOOK": value})
        assert result.returncode == 0, result
        assert result.stderr == "", f"IMPORTSPY_HOOK={value!r}: {result!r}"


@pytest.mark.venv
def test_start_up_module_without_the_package_refuses_contracted_modules_only(own_wheel_venv: Venv) -> None:
    """Half an installation (the package directory deleted by hand): the finder still starts; a module
    without a sidecar imports as usual, and one with a sidecar is refused, because no check can run
    (§7: fail closed once a contract applies), with one error that names the contract and the cause."""
    venv = own_wheel_venv
    shutil.rmtree(venv.site_packages / "importspy_hook")
    plugin_dir = venv.root / "plugins"
    plugin_dir.mkdir()
    (plugin_dir / "lonely.py").write_text("print('lonely ran')\nVALUE = 7\n", encoding="utf-8")
    (plugin_dir / "lonely.contract.yml").write_text(
        "runtime:\n  os: [linux, darwin, windows]\n", encoding="utf-8"
    )
    (plugin_dir / "plain.py").write_text("VALUE = 8\n", encoding="utf-8")
    code = (
        f"import sys; sys.path.insert(0, {str(plugin_dir)!r}); import plain; print(plain.VALUE)\n"
        "try:\n    import lonely\nexcept ValueError as exc:\n    print('refused:', exc)\n"
    )
    result = venv.run("-c", code)
    assert result.returncode == 0, result
    lines = result.stdout.splitlines()
    assert lines[0] == "8", result
    assert "lonely ran" not in result.stdout, result
    assert lines[1].startswith("refused:") and "lonely.contract.yml" in lines[1], result
    assert "importspy_hook" in lines[1], result  # the cause: the package cannot be imported


# How to break an installed copy, and a word the single warning line must contain. The start-up
# module's own top level is definitions only (``os``/``sys``/``_thread`` are loaded before site
# runs), so what can fail at start-up is ``startup()`` itself, which catches everything.
BREAKAGES = {
    "finder-constructor-raises": (
        "append",
        "\ndef _broken(*args, **kwargs):\n    raise RuntimeError('boom-startup')\n"
        "ContractFinder.__init__ = _broken\n",
        "boom-startup",
    ),
    "mode-parsing-raises": (
        "append",
        "\ndef parse_mode(value):\n    raise LookupError('boom-mode')\n",
        "boom-mode",
    ),
}


@pytest.mark.venv
@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_broken_installation_fails_open_with_one_warning(own_wheel_venv: Venv, breakage: str) -> None:
    venv = own_wheel_venv
    where, text, word = BREAKAGES[breakage]
    target = venv.site_packages / "_importspy_hook_startup.py"
    original = target.read_text(encoding="utf-8")
    target.write_text(text + original if where == "prepend" else original + text, encoding="utf-8")
    shutil.rmtree(target.parent / "__pycache__", ignore_errors=True)  # no stale bytecode

    result = venv.run("-c", "pass")
    assert result.returncode == 0, result
    assert len(result.stderr_lines) == 1, result
    assert "importspy-hook" in result.stderr and word in result.stderr, result
    assert "Traceback" not in result.stderr

    # the interpreter keeps working, with no finder, and pip too
    state = venv.code(PROBE).check().json()
    assert modes(state) == []
    shown = venv.pip("show", "importspy-hook")  # pip, run by this interpreter, still works
    assert "Name: importspy-hook" in shown.stdout


@pytest.mark.venv
def test_corrupt_start_up_module_leaves_the_interpreter_and_pip_working(own_wheel_venv: Venv) -> None:
    """A start-up module that cannot even be imported (edited by hand into a syntax error): site
    reports the failing ``.pth`` line itself, and the interpreter and pip go on without a finder."""
    venv = own_wheel_venv
    target = venv.site_packages / "_importspy_hook_startup.py"
    target.write_text("this is not python (\n" + target.read_text(encoding="utf-8"), encoding="utf-8")
    shutil.rmtree(target.parent / "__pycache__", ignore_errors=True)
    result = venv.run("-c", "print('alive')")
    assert result.returncode == 0 and result.stdout.strip() == "alive", result
    assert "importspy_hook.pth" in result.stderr, result
    assert modes(venv.code(PROBE).check().json()) == []
    assert "Name: importspy-hook" in venv.pip("show", "importspy-hook").stdout


# ---------------------------------------------------------------------------------------------
# The start-up path imports only the standard library (§3, §11)
# ---------------------------------------------------------------------------------------------


@pytest.mark.venv
def test_startup_imports_only_the_startup_module(wheel_venv: Venv) -> None:
    on = wheel_venv.code(PROBE).check().json()
    off = wheel_venv.code(PROBE, env={"IMPORTSPY_HOOK": "0"}).check().json()
    on_modules, off_modules = loaded_modules(on), loaded_modules(off)
    assert on_modules - off_modules == START_UP_MODULES
    assert off_modules - on_modules == set()
    assert not {m for m in on_modules if m.split(".")[0] in HEAVY_MODULES or m in HEAVY_MODULES}


ORDINARY_IMPORTS = """
import importlib.util, json, sys
sys.path.insert(0, sys.argv[1])
import plain  # an uncontracted module from a directory without sidecars
for name in ("nowhere_to_be_found", "plain.nowhere"):
    try:
        __import__(name)
    except ImportError:
        pass
probe = importlib.util.find_spec("nowhere_either")
hook = type(sys.meta_path[0]).__name__
package = sorted(m for m in sys.modules if m.startswith("importspy_hook"))
print(json.dumps({"hook": hook, "probe": probe, "package": package}))
"""


@pytest.mark.venv
def test_ordinary_imports_never_load_the_package(wheel_venv: Venv, tmp_path: Path) -> None:
    # The start-up module answers uncontracted and missing modules, and probes for missing ones, on
    # its own: the package (its rare paths, the loader, the engine) loads only when a contract or a
    # rare path is met, so an application without contracts never pays for it.
    (tmp_path / "plain.py").write_text("VALUE = 1\n", encoding="utf-8")
    (tmp_path / "script.py").write_text(ORDINARY_IMPORTS, encoding="utf-8")
    result = wheel_venv.run(str(tmp_path / "script.py"), str(tmp_path)).check().json()
    assert result == {"hook": "ContractFinder", "probe": None, "package": []}


# ---------------------------------------------------------------------------------------------
# A guarded import end to end in the environment (§1, §6 runtime.os, §7)
# ---------------------------------------------------------------------------------------------

_OS_NAMES = {"linux": "linux", "darwin": "darwin", "win32": "windows", "cygwin": "windows"}


def _this_os() -> str:
    return _OS_NAMES.get(sys.platform, sys.platform)


GUARDED_SCRIPT = """
import json, sys
outcome = {}
for name in ("admitted", "refused"):
    try:
        __import__(name)
    except ValueError as exc:
        outcome[name] = {"error": type(exc).__name__, "text": str(exc),
                         "in_modules": name in sys.modules}
    else:
        outcome[name] = {"error": None, "in_modules": name in sys.modules}
outcome["ran"] = sorted(getattr(sys, "_activation_test_ran", []))
print(json.dumps(outcome))
"""

GUARDED_MODULE = "import sys\nsys.__dict__.setdefault('_activation_test_ran', []).append(__name__)\n"


@pytest.mark.venv
def test_guarded_import_refuses_and_admits_end_to_end(wheel_venv: Venv, tmp_path: Path) -> None:
    if not (wheel_venv.site_packages / "importspy_hook" / "_validate.py").exists():
        pytest.skip("the contract engine (importspy_hook/_validate.py) is not in this build yet")
    other = "windows" if _this_os() != "windows" else "linux"
    (tmp_path / "admitted.py").write_text(GUARDED_MODULE, encoding="utf-8")
    (tmp_path / "admitted.contract.yml").write_text(f"runtime:\n  os: [{_this_os()}]\n", encoding="utf-8")
    (tmp_path / "refused.py").write_text(GUARDED_MODULE, encoding="utf-8")
    (tmp_path / "refused.contract.yml").write_text(f"runtime:\n  os: [{other}]\n", encoding="utf-8")
    (tmp_path / "main.py").write_text(GUARDED_SCRIPT, encoding="utf-8")

    result = wheel_venv.run("main.py", cwd=tmp_path, env={"IMPORTSPY_HOOK_LOG": "off"}).check()
    outcome = result.json()
    assert outcome["admitted"] == {"error": None, "in_modules": True}
    refused = outcome["refused"]
    assert isinstance(refused, dict)
    assert refused["error"] == "ContractViolation"
    assert refused["in_modules"] is False
    assert other in refused["text"] and "os" in refused["text"]
    assert outcome["ran"] == ["admitted"], "the refused module's code must never run"

    # warn mode: the same violation lets the import through
    warned = wheel_venv.run(
        "main.py", cwd=tmp_path, env={"IMPORTSPY_HOOK": "warn", "IMPORTSPY_HOOK_LOG": "off"}
    ).check()
    assert warned.json()["ran"] == ["admitted", "refused"]


# ---------------------------------------------------------------------------------------------
# The test run itself: in CI the suite must exercise the installed copy, not the checkout.
# ---------------------------------------------------------------------------------------------


def test_tests_import_the_installed_package() -> None:
    """``IMPORTSPY_EXPECT_INSTALLED`` (set by ``.ci/run``): ``1`` = a regular install, ``editable``."""
    expected = os.environ.get("IMPORTSPY_EXPECT_INSTALLED", "")
    if not expected:
        pytest.skip("IMPORTSPY_EXPECT_INSTALLED is not set (set by .ci/run)")
    package_dir = Path(importspy_hook.__file__).resolve().parent
    startup_module = Path(str(importlib.import_module("_importspy_hook_startup").__file__)).resolve()
    distribution = importlib.metadata.distribution("importspy-hook")
    assert distribution.version == importspy_hook.__version__
    direct_url = json.loads(distribution.read_text("direct_url.json") or "{}")
    editable = bool(direct_url.get("dir_info", {}).get("editable"))
    on_path = {Path(entry or os.curdir).resolve() for entry in sys.path}
    assert CHECKOUT not in on_path, "the checkout is on sys.path: tests would import it directly"
    if expected == "editable":
        assert editable, f"not an editable install: {direct_url}"
        assert package_dir == CHECKOUT / "importspy_hook"
        assert startup_module == CHECKOUT / "_importspy_hook_startup.py"
    else:
        assert not editable, f"an editable install where a regular one was expected: {direct_url}"
        installed = Path(str(distribution.locate_file("importspy_hook"))).resolve()
        assert package_dir == installed, f"imported {package_dir}, installed at {installed}"
        assert not package_dir.is_relative_to(CHECKOUT), f"tests import the checkout: {package_dir}"
        assert startup_module == package_dir.parent / "_importspy_hook_startup.py"
