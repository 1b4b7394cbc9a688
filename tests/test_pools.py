"""Process pools started by spawn or forkserver (issue 12 item 1, SPEC §3 and §5).

A host admitted by a plugin's contract sends ``plugin.func`` to a pool. A spawn or forkserver
worker is a fresh interpreter: it re-imports ``plugin`` while unpickling the work, from a stack
that holds only the standard library (multiprocessing, pickle). SPEC §5 makes the application's
main module (``__mp_main__`` in the worker, the parent's script) the caller of such an import, so
a plugin admitted in the parent works in its pool — and one that the main module does not satisfy
is still refused there.

The workers must have the hook active, as they do for a user: the start-up file of an installed
package activates it in every interpreter of the environment (§3). So the host runs in a real
virtual environment with the wheel installed (``venvs.py``), not with the test helpers' explicit
``install()``, which a spawned worker would not repeat.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from venvs import Venv, build_wheel, copy_checkout, create_venv, make_wheelhouse

pytestmark = pytest.mark.venv

METHODS = ["spawn", "forkserver"]

# The host sends the plugin's function to the kinds of pools named on its command line (a
# ProcessPoolExecutor, a multiprocessing.Pool, a Process); each prints what it got back.
HOST = '''
import concurrent.futures
import multiprocessing
import os
import sys


class PluginHost:
    """What the plugin's contract asks of its importer."""


def main(method: str, kinds: list[str]) -> None:
    import plugin

    if "IMPORTSPY_HOOK_WORKERS" in os.environ:  # the workers' mode, when the test sets one
        os.environ["IMPORTSPY_HOOK"] = os.environ["IMPORTSPY_HOOK_WORKERS"]
    context = multiprocessing.get_context(method)
    if "executor" in kinds:
        try:
            with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as executor:
                print("executor", executor.submit(plugin.func, 21).result(timeout=60), flush=True)
        except Exception as exc:
            print("executor failed:", type(exc).__name__, flush=True)
    if "pool" in kinds:  # a worker of multiprocessing.Pool that dies loses its task: admitted only
        with context.Pool(1) as pool:
            print("pool", pool.apply_async(plugin.func, (21,)).get(timeout=60), flush=True)
    if "process" in kinds:
        process = context.Process(target=plugin.func, args=(21,))
        process.start()
        process.join(60)
        print("process exit", process.exitcode, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
'''

PLUGIN = """
import os


def func(x):
    if os.environ.get("IMPORTSPY_HOOK_WORKERS"):
        print("plugin code ran in", os.getpid(), flush=True)
    return x * 2
"""


@pytest.fixture(scope="module")
def pool_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """An environment with the wheel installed: the hook is active in every worker it starts."""
    root = tmp_path_factory.mktemp("pools")
    wheelhouse = make_wheelhouse(root / "wheelhouse")
    wheel = build_wheel(copy_checkout(root / "src"), wheelhouse, root / "dist")
    venv = create_venv(root / "venv")
    venv.install(wheelhouse, wheel)
    return venv


def write_app(project: Path, contract: str) -> Path:
    (project / "host.py").write_text(HOST, encoding="utf-8")
    (project / "plugin.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    (project / "plugin.contract.yml").write_text(textwrap.dedent(contract), encoding="utf-8")
    return project / "host.py"


@pytest.mark.parametrize("method", METHODS)
def test_a_plugin_admitted_in_the_host_works_in_its_pool(pool_venv: Venv, project: Path, method: str) -> None:
    host = write_app(
        project,
        """
        filename: host.py
        classes:
          - name: PluginHost
        importers:
          allow: ["__main__"]
        """,
    )
    result = pool_venv.run(host, method, "executor", "pool", "process", cwd=project)
    assert result.returncode == 0, result
    assert result.stdout.splitlines() == ["executor 42", "pool 42", "process exit 0"], result
    assert "ContractViolation" not in result.stderr, result


@pytest.mark.parametrize("method", METHODS)
def test_under_python_m_the_worker_knows_the_main_module_by_its_module_name(
    pool_venv: Venv, project: Path, method: str
) -> None:
    """``python -m app.cli``: the parent judges its imports as by ``app.cli``, and so does the pool."""
    write_app(
        project,
        """
        filename: cli.py
        classes:
          - name: PluginHost
        importers:
          allow: ["app.*"]
        """,
    )
    (project / "app").mkdir()
    (project / "app" / "__init__.py").write_text("", encoding="utf-8")
    (project / "host.py").rename(project / "app" / "cli.py")
    result = pool_venv.run("-m", "app.cli", method, "executor", "process", cwd=project)
    assert result.returncode == 0, result
    assert result.stdout.splitlines() == ["executor 42", "process exit 0"], result


@pytest.mark.parametrize("method", METHODS)
def test_a_plugin_the_main_module_does_not_satisfy_is_refused_in_the_worker(
    pool_venv: Venv, project: Path, method: str
) -> None:
    """No fail-open: the worker judges the main module, and refuses it as the contract says.

    The host itself runs in warn mode (the violation is logged, its import goes on), so that it can
    send the function at all; its workers enforce.
    """
    host = write_app(
        project,
        """
        filename: host.py
        classes:
          - name: Exporter
        """,
    )
    result = pool_venv.run(
        host,
        method,
        "executor",
        "process",
        cwd=project,
        env={"IMPORTSPY_HOOK": "warn", "IMPORTSPY_HOOK_WORKERS": "enforce", "IMPORTSPY_HOOK_LOG": "off"},
    )
    assert result.returncode == 0, result
    lines = result.stdout.splitlines()
    assert "executor failed: BrokenProcessPool" in lines, result
    assert "process exit 1" in lines, result
    assert not any(line.startswith("plugin code ran") for line in lines), result
    # Refused for what the main module lacks — not for having no identifiable importer.
    assert "expected class Exporter" in result.stderr, result
    assert "no identifiable importing module" not in result.stderr, result
