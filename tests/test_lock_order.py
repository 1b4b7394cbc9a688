"""Two threads, one import lock: the hook's own lazy imports never hang a process (red team k07, k14).

The import system calls every meta-path finder's ``find_spec`` holding its global import lock. The
finder loads the package's loader (at the first contracted import) and its rare paths
(``importspy_hook._finder``) the first time they are needed. Made from inside ``find_spec`` with that
lock held, such an import waits for the module's own lock; a second thread that is importing the same
module (``install()``, ``check()``, a host importing the package's modules) holds that lock and waits
for the global one, for its own submodule imports. Python detects deadlocks between module locks
only, so neither thread would ever go on.

Each test makes the race certain: a tracer on the second thread only pauses it, holding the module's
lock, at the moment it would ask for the global lock. The child then has 20 seconds before
``faulthandler`` ends it with the stacks of both threads.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_python, write_files

HOST = """
import sys, threading, time, faulthandler
faulthandler.dump_traceback_later(20, exit=True)
import _importspy_hook_startup as startup

startup._started = False
startup.startup()  # as at interpreter start: nothing of the package is loaded
{preload}
assert {module!r} not in sys.modules
sys.path.insert(0, {project!r})
paused = threading.Event()

def tracer(frame, event, arg):
    # The second thread holds the lock of {module!r} and is about to search for one of its imports.
    spec = getattr(sys.modules.get({module!r}), "__spec__", None)
    if event == "call" and frame.f_code.co_name == "_find_spec" and getattr(spec, "_initializing", 0):
        if not paused.is_set():
            paused.set()
            time.sleep(1.5)
    return None

def second():
    sys.settrace(tracer)
    import importspy_hook

    importspy_hook.install()  # loads the loader and the rare paths
    print("second thread: installed", flush=True)

thread = threading.Thread(target=second)
thread.start()
paused.wait(10)
{trigger}
thread.join()
"""


@pytest.mark.parametrize(
    ("module", "preload", "trigger"),
    [
        pytest.param(
            "importspy_hook._loader",
            "import importspy_hook  # the package, not yet the module the race is about",
            "import plugin; print('main thread: imported', plugin.VALUE, flush=True)",
            id="first-contracted-import",
        ),
        pytest.param(
            "importspy_hook",  # which the rare paths' module needs first
            "",
            # another tool's finder put in front of the hook: moving back to the front is a rare path
            "class Front:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        return None\n"
            "sys.meta_path.insert(0, Front())\n"
            "import plain; print('main thread: imported', plain.VALUE, flush=True)",
            id="rare-path",
        ),
    ],
)
def test_a_thread_importing_the_hooks_module_does_not_hang_an_import_that_needs_it(
    project: Path, module: str, preload: str, trigger: str
) -> None:
    write_files(
        project,
        {
            "plugin.py": "VALUE = 1\n",
            "plugin.contract.yml": "runtime:\n  python: '>=3.0'\n",
            "plain.py": "VALUE = 2\n",
        },
    )
    code = HOST.format(module=module, preload=preload, project=str(project), trigger=trigger)
    result = run_python(code, env={"IMPORTSPY_HOOK": "1"}, timeout=60)
    assert "Timeout" not in result.stderr, result
    assert "main thread: imported" in result.stdout, result
    assert "second thread: installed" in result.stdout, result
    assert result.returncode == 0, result
