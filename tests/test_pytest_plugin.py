"""The pytest plugin for contract authors, and the simulation it is built on (issue 5, SPEC §10).

The plugin is exercised the way its users meet it: a plugin author's project (a module with a
sidecar contract and a test file) is run by a real pytest in a subprocess through ``pytester``, and
the test asserts on what that author would see — which tests pass or fail, and why. The plugin is
loaded with ``-p importspy_hook.pytest_plugin`` when the ``pytest11`` entry point is not installed
(from a checkout) and through the entry point otherwise (pytest refuses to register one module under
two names), so the tests work in both settings.

The simulation stack itself (``_simulation``) is standard-library code with no import-system side
effects, so it is tested in process.
"""

from __future__ import annotations

import os
import shutil
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import PACKAGE_PARENT

from importspy_hook._simulation import active_overrides, simulate

pytest_plugins = ["pytester"]

CHECKOUT = Path(__file__).resolve().parent.parent

# The author's module: refuses Windows, and needs a token; imports a helper of its own.
PLUGIN = {
    "myplugin.py": "import myhelper\nRAN = True\n",
    "myhelper.py": "VALUE = 1\n",
    "myplugin.contract.yml": (
        "runtime:\n  os: [linux, darwin]\n  python: '>=3.10'\n  environment:\n    MYPLUGIN_TOKEN:\n"
    ),
}


@pytest.fixture
def author(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A plugin author's project: ``myplugin`` and its contract, hook start-up off."""
    monkeypatch.setenv("IMPORTSPY_HOOK", "0")  # like conftest.child_env: no start-up activation
    monkeypatch.setenv("IMPORTSPY_HOOK_LOG", "off")
    monkeypatch.delenv("MYPLUGIN_TOKEN", raising=False)
    existing = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [PACKAGE_PARENT, existing])))
    for name, text in PLUGIN.items():
        (pytester.path / name).write_text(text, encoding="utf-8")
    return pytester


def plugin_args() -> list[str]:
    """``-p importspy_hook.pytest_plugin`` unless the installed entry point already loads it
    (pytest refuses to register one module under two names)."""
    from importlib.metadata import entry_points

    installed = any(ep.value == "importspy_hook.pytest_plugin" for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", "importspy_hook.pytest_plugin"]


def run(pytester: pytest.Pytester, test_source: str) -> pytest.RunResult:
    pytester.makepyfile(test_author=test_source)
    return pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider")


# ------------------------------------------------------------------------------ the plugin


def test_a_linux_runner_proves_the_contract_refuses_windows(author: pytest.Pytester) -> None:
    result = run(
        author,
        """
        from importspy_hook import ContractViolation
        from importspy_hook.pytest_plugin import assert_refused

        def test_refuses_windows():
            refusal = assert_refused("myplugin", field="os", os="windows", env={"MYPLUGIN_TOKEN": "t"})
            assert isinstance(refusal, ContractViolation)
            assert refusal.target == "myplugin"
            assert [v.field for v in refusal.violations] == ["runtime.os"]
            assert refusal.violations[0].actual == "windows"

        def test_refuses_an_old_python(assert_refused):  # also usable as a fixture
            assert_refused("myplugin", field="runtime.python", os="linux", python="3.9.18",
                           env={"MYPLUGIN_TOKEN": "t"})

        def test_refuses_without_the_token(assert_refused):
            assert_refused("myplugin", field="*.MYPLUGIN_TOKEN", os="linux", env={"MYPLUGIN_TOKEN": None})
        """,
    )
    result.assert_outcomes(passed=3)


def test_the_context_fixture_admits_a_compliant_simulation_and_cleans_up(
    author: pytest.Pytester,
) -> None:
    result = run(
        author,
        """
        import sys
        from _importspy_hook_startup import active_finder

        def test_admitted(importspy_context):
            assert active_finder() is None
            before = list(sys.meta_path)
            with importspy_context(os="darwin", arch="arm64", env={"MYPLUGIN_TOKEN": "t"}) as overrides:
                assert active_finder() is not None and active_finder().mode == "enforce"
                import myplugin
                assert myplugin.RAN and "myhelper" in sys.modules
                assert overrides["os"] == "darwin"
            # The guarded module is forgotten; its dependency, which no contract guards, is not.
            assert "myplugin" not in sys.modules and "myhelper" in sys.modules
            assert sys.meta_path == before and active_finder() is None

        def test_the_next_block_checks_afresh(importspy_context):
            import pytest
            from importspy_hook import ContractViolation
            with importspy_context(os="windows", env={"MYPLUGIN_TOKEN": "t"}):
                with pytest.raises(ContractViolation, match="runtime.os"):
                    import myplugin
            assert "myplugin" not in sys.modules
        """,
    )
    result.assert_outcomes(passed=2)


def test_a_block_forgets_only_the_modules_it_judged(author: pytest.Pytester) -> None:
    """Issue 12 item 3: a module first imported inside a block that no contract guards (numpy, or
    any module with process-wide state that refuses a second import) stays imported; only the
    modules whose contracts were checked there, and their submodules, are forgotten."""
    files = {
        # Registers itself process-wide and refuses a second import, as numpy and many extensions do.
        "once.py": (
            "import sys\n"
            "if getattr(sys, 'once_loaded', False):\n"
            "    raise ImportError('cannot load module more than once per process')\n"
            "sys.once_loaded = True\n"
        ),
        "myhelper.py": "import once\nVALUE = 1\n",
        "guardedpkg/__init__.py": "import once\n",
        "guardedpkg/__init__.contract.yml": "runtime:\n  os: [linux]\n",
        "guardedpkg/sub.py": "import once\n",
    }
    for name, text in files.items():
        (author.path / name).parent.mkdir(parents=True, exist_ok=True)
        (author.path / name).write_text(text, encoding="utf-8")
    result = run(
        author,
        """
        import sys

        def test_imports_inside_a_block(importspy_context):
            with importspy_context(os="linux", env={"MYPLUGIN_TOKEN": "t"}):
                import myplugin  # guarded; imports myhelper, which imports once
                import guardedpkg.sub  # a guarded package and its (unguarded) submodule
                import once
            assert "myplugin" not in sys.modules
            assert "guardedpkg" not in sys.modules and "guardedpkg.sub" not in sys.modules
            assert sys.modules["once"] is once and "myhelper" in sys.modules

        def test_a_later_test_imports_them_again():
            import once
            import myhelper
            assert once.__name__ == "once"

        def test_and_a_later_block_checks_the_guarded_ones_afresh(importspy_context):
            import pytest
            from importspy_hook import ContractViolation
            with importspy_context(os="windows", env={"MYPLUGIN_TOKEN": "t"}):
                with pytest.raises(ContractViolation, match="runtime.os"):
                    import myplugin
                with pytest.raises(ContractViolation, match="runtime.os"):
                    import guardedpkg.sub
        """,
    )
    result.assert_outcomes(passed=3)


def test_an_already_active_hook_is_put_back_in_its_mode(author: pytest.Pytester) -> None:
    result = run(
        author,
        """
        import importspy_hook
        from _importspy_hook_startup import active_finder
        from importspy_hook.pytest_plugin import assert_refused

        def test_warn_mode_is_restored():
            handle = importspy_hook.install(mode="warn")
            try:
                assert_refused("myplugin", os="windows", env={"MYPLUGIN_TOKEN": "t"})
                assert active_finder() is handle.finder and handle.finder.mode == "warn"
            finally:
                handle.uninstall()
        """,
    )
    result.assert_outcomes(passed=1)


def test_failures_explain_what_happened(author: pytest.Pytester) -> None:
    result = run(
        author,
        """
        from importspy_hook.pytest_plugin import assert_refused

        def test_admitted_module():
            assert_refused("myplugin", os="linux", env={"MYPLUGIN_TOKEN": "t"})

        def test_wrong_field():
            assert_refused("myplugin", field="arch", os="windows", env={"MYPLUGIN_TOKEN": "t"})
        """,
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*importing 'myplugin' was admitted in os='linux'*expected a refusal*",
            "*no violation matches field 'arch'*",
            "*myplugin.contract.yml:2: runtime.os: expected one of linux, darwin, found windows*",
        ]
    )


def test_a_structural_contract_is_checked_against_a_chosen_caller_file(author: pytest.Pytester) -> None:
    files = {
        "hosted.py": "RAN = True\n",
        "hosted.contract.yml": "filename: host.py\nvariables:\n  - name: API\n    value: 2\n",
        "current/host.py": "API = 2\nraise SystemExit('a caller file is read, never run')\n",
        "legacy/host.py": "API = 1\n",
    }
    for name, text in files.items():
        (author.path / name).parent.mkdir(parents=True, exist_ok=True)
        (author.path / name).write_text(text, encoding="utf-8")
    result = run(
        author,
        """
        from importspy_hook.pytest_plugin import assert_refused

        def test_refuses_the_legacy_host():
            refusal = assert_refused("hosted", field="variables[0].value", caller="legacy/host.py")
            assert refusal.caller == "host"
            assert [v.field for v in refusal.violations] == ["variables[0].value"]

        def test_the_test_module_itself_is_not_host_py():
            assert_refused("hosted", field="filename")

        def test_admits_the_current_host():
            assert_refused("hosted", caller="current/host.py")
        """,
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["*importing 'hosted' by current/host.py was admitted in the current context*"]
    )


def test_a_caller_path_holding_a_secret_is_withheld_from_the_failures(
    author: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Red team p08: the caller= file sits in a directory named after a token; the hook withholds
    # such a path everywhere, and so must the plugin's own assertion and lookup errors.
    token = "ghp_" + "x7" * 12
    monkeypatch.setenv("GH_TOKEN", token)
    files = {
        "hosted.py": "RAN = True\n",
        "hosted.contract.yml": "variables:\n  - name: API\n    value: 2\n",
        f"callers_{token}/host.py": "API = 2\n",
    }
    for name, text in files.items():
        (author.path / name).parent.mkdir(parents=True, exist_ok=True)
        (author.path / name).write_text(text, encoding="utf-8")
    result = run(
        author,
        f"""
        import os
        from importspy_hook.pytest_plugin import assert_refused

        HERE = os.path.dirname(os.path.abspath(__file__))

        def test_admitted():
            assert_refused("hosted", caller=os.path.join(HERE, "callers_{token}", "host.py"))

        def test_missing_caller():
            assert_refused("hosted", caller=os.path.join(HERE, "callers_{token}", "nohost.py"))

        def test_relative_missing_caller():
            assert_refused("hosted", caller="callers_{token}/nohost.py")

        def test_missing_module():  # pytest shows the frame of the import made for the caller
            assert_refused("nosuchplug", caller=os.path.join(HERE, "callers_{token}", "host.py"))
        """,
    )
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(["*importing 'hosted' by <path withheld>/host.py was admitted*"])
    # pytest itself shows the test's own source lines, which name the directory; nothing else may
    errors = [line for line in result.stdout.lines if line.startswith("E ")]
    assert len(errors) >= 3, result.stdout.str()
    leaks = [line for line in result.stdout.lines if token in line and not line.startswith(">")]
    assert not leaks, result.stdout.str()


def readme_pytest_example() -> str:
    """The README's ``test_plugin_contracts.py``, exactly as a reader would copy it."""
    readme = (CHECKOUT / "README.md").read_text(encoding="utf-8")
    start = readme.index("```python\n# test_plugin_contracts.py")
    return readme[start + len("```python\n") : readme.index("```", start + 3)]


@pytest.mark.parametrize("where", ["the project root", "the examples directory"])
def test_the_readme_example_passes_from_any_working_directory(
    author: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Issue 12 item 4: ``caller="host.py"`` is the ``host.py`` beside the test file (where the
    test's own ``import host`` finds it), not one in whatever directory pytest was started from."""
    examples = author.path / "examples"
    shutil.copytree(CHECKOUT / "examples", examples, ignore=shutil.ignore_patterns("__pycache__"))
    (examples / "test_plugin_contracts.py").write_text(readme_pytest_example(), encoding="utf-8")
    if where == "the project root":
        target = "examples/test_plugin_contracts.py"
    else:
        monkeypatch.chdir(examples)
        target = "test_plugin_contracts.py"
    result = author.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider", target)
    result.assert_outcomes(passed=5)


def test_a_relative_caller_is_looked_for_beside_the_test_file_then_in_the_rootdir(
    author: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        "pytest.ini": "[pytest]\n",
        "tests/hosted.py": "RAN = True\n",
        "tests/hosted.contract.yml": "filename: host.py\nvariables:\n  - name: API\n    value: 2\n",
        "tests/host.py": "API = 3\n",
        "hosts/host.py": "API = 1\n",
        "hosts/hosts/host.py": "API = 4\n",  # where the working directory would lead
    }
    for name, text in files.items():
        (author.path / name).parent.mkdir(parents=True, exist_ok=True)
        (author.path / name).write_text(text, encoding="utf-8")
    (author.path / "tests" / "test_hosts.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from importspy_hook.pytest_plugin import assert_refused

            def test_beside_the_test_file():
                refusal = assert_refused("hosted", field="variables[0].value", caller="host.py")
                assert refusal.violations[0].actual == "API = 3"

            def test_in_the_rootdir():
                refusal = assert_refused("hosted", field="variables[0].value", caller="hosts/host.py")
                assert refusal.violations[0].actual == "API = 1"

            def test_nowhere():
                with pytest.raises(FileNotFoundError, match="nothere.py"):
                    assert_refused("hosted", caller="nothere.py")
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.chdir(author.path / "hosts")  # a working directory that holds other hosts
    result = author.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider", str(author.path / "tests"))
    result.assert_outcomes(passed=3)


def test_a_module_imported_before_is_checked_again_and_put_back(author: pytest.Pytester) -> None:
    result = run(
        author,
        """
        import sys
        import myplugin  # no hook yet: imported unchecked
        from importspy_hook.pytest_plugin import assert_refused

        def test_reimport():
            original = sys.modules["myplugin"]
            assert_refused("myplugin", field="os", os="windows", env={"MYPLUGIN_TOKEN": "t"})
            assert sys.modules["myplugin"] is original
        """,
    )
    result.assert_outcomes(passed=1)


def test_a_block_left_open_by_a_failing_test_is_closed_at_teardown(author: pytest.Pytester) -> None:
    result = run(
        author,
        """
        import sys
        from _importspy_hook_startup import active_finder
        from importspy_hook._simulation import active_overrides

        def test_leaves_a_block_open(importspy_context):
            importspy_context(os="linux", env={"MYPLUGIN_TOKEN": "t"}).__enter__()
            import myplugin
            assert False, "fails inside the block"

        def test_sees_a_clean_process():
            assert active_overrides() == {}
            assert active_finder() is None
            assert "myplugin" not in sys.modules
        """,
    )
    result.assert_outcomes(passed=1, failed=1)


def test_a_malformed_contract_is_reported_as_such(author: pytest.Pytester) -> None:
    (author.path / "myplugin.contract.yml").write_text("runtime:\n  oss: [linux]\n", encoding="utf-8")
    result = run(
        author,
        """
        from importspy_hook.pytest_plugin import assert_refused

        def test_it():
            assert_refused("myplugin", os="windows")
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*importing 'myplugin' failed on a malformed contract, not a refusal:",
            "*myplugin.contract.yml:2:3: runtime.oss: unknown key 'oss'*",
        ]
    )


def test_the_fixtures_are_listed(author: pytest.Pytester) -> None:
    result = author.runpytest_subprocess(*plugin_args(), "--fixtures")
    result.stdout.fnmatch_lines(["importspy_context*", "*Simulate an importing context*", "assert_refused*"])


def test_the_installed_plugin_loads_silently_in_every_pytest_run(
    author: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed, the entry point loads the plugin in every pytest run of the environment, while the
    start-up file has already imported ``importspy_hook``: no warning may come of that."""
    if plugin_args():
        pytest.skip("needs the installed pytest11 entry point")
    monkeypatch.delenv("IMPORTSPY_HOOK")  # the start-up file activates the hook, as for a user
    author.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = author.runpytest_subprocess(
        "-W", "error::pytest.PytestAssertRewriteWarning", "-p", "no:cacheprovider", "-rw"
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    assert "PytestAssertRewriteWarning" not in result.stdout.str() + result.stderr.str()


# ------------------------------------------------------------------------------ the simulation


def test_nothing_is_simulated_by_default() -> None:
    assert active_overrides() == {}


def test_nested_simulations_merge_env_and_the_innermost_wins() -> None:
    with simulate(os="windows", env={"A": "1", "B": "2"}):
        with simulate(os="darwin", env={"B": None, "C": "3"}, python="3.9.1") as inner:
            assert inner == {"os": "darwin", "python": "3.9.1", "env": {"A": "1", "B": None, "C": "3"}}
            assert active_overrides() == inner
        assert active_overrides() == {"os": "windows", "env": {"A": "1", "B": "2"}}
    assert active_overrides() == {}


def test_a_simulation_ends_even_when_its_block_raises() -> None:
    with pytest.raises(RuntimeError), simulate(arch="aarch64"):
        raise RuntimeError("boom")
    assert active_overrides() == {}


def test_a_misspelt_key_is_an_error_not_a_silent_real_context() -> None:
    misspelt: dict[str, Any] = {"sytem": "windows"}
    with pytest.raises(TypeError, match="sytem"), simulate(**misspelt):
        pass  # pragma: no cover
    not_a_mapping: Any = "A=1"
    with pytest.raises(TypeError, match="env= must be a mapping"), simulate(env=not_a_mapping):
        pass  # pragma: no cover
    assert active_overrides() == {}


def test_simulations_from_threads_leave_in_any_order() -> None:
    """A block that entered first and leaves first must take its own entry, not the top one."""
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def first() -> None:
        with simulate(os="windows", env={"FIRST": "1"}):
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with simulate(os="darwin", env={"SECOND": "1"}):
            second_in.set()
            first_out.wait(5)
            seen.update(active_overrides())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == {"os": "darwin", "env": {"SECOND": "1"}}
    assert active_overrides() == {}


def test_the_plugin_module_is_cheap_to_load(tmp_path: Path) -> None:
    """It is loaded by every pytest run of the environment: no attrs, ruamel.yaml or structlog."""
    from conftest import run_python

    result = run_python(
        """
        import sys
        import importspy_hook.pytest_plugin
        heavy = [m for m in ("attr", "attrs", "ruamel.yaml", "structlog", "packaging") if m in sys.modules]
        print(heavy)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
