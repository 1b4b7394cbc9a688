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

import os
import signal
from pathlib import Path

import pytest
from conftest import run_python, write_files

# Two plugins whose contracts admit any importer.
TWO_PLUGINS = {
    "plugin.py": "VALUE = 1\n",
    "plugin.contract.yml": "runtime:\n  python: '>=3.0'\n",
    "other.py": "VALUE = 2\n",
    "other.contract.yml": "runtime:\n  python: '>=3.0'\n",
}

# A child started as at interpreter start (nothing of the package loaded unless ``{preload}`` loads
# it), with ``tracer``: set on a thread, it pauses that thread once, for 1.5 s, when it is about to
# search for an import made while ``{module}`` is being imported (it holds that module's lock).
PRELUDE = """
import os, signal, sys, threading, time, faulthandler
faulthandler.dump_traceback_later(30, exit=True)
import _importspy_hook_startup as startup

startup._started = False
startup.startup()
{preload}
assert {module!r} not in sys.modules
sys.path.insert(0, {project!r})
paused = threading.Event()

def tracer(frame, event, arg):
    spec = getattr(sys.modules.get({module!r}), "__spec__", None)
    if event == "call" and frame.f_code.co_name == "_find_spec" and getattr(spec, "_initializing", 0):
        if not paused.is_set():
            paused.set()
            time.sleep(1.5)
    return None
"""

HOST = """
def second():
    sys.settrace(tracer)
    import importspy_hook

    importspy_hook.install()  # loads the loader and the rare paths
    os.write(1, b"second thread: installed\\n")  # one write: threads interleave

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
            "import plugin; os.write(1, b'main thread: imported\\n')",
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
            "import plain; os.write(1, b'main thread: imported\\n')",
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
    code = PRELUDE.format(module=module, preload=preload, project=str(project)) + HOST.format(trigger=trigger)
    result = run_python(code, env={"IMPORTSPY_HOOK": "1"}, timeout=60)
    assert "Timeout" not in result.stderr, result
    assert "main thread: imported" in result.stdout, result
    assert "second thread: installed" in result.stdout, result
    assert result.returncode == 0, result


FORK = """
def first():  # loads the hook's loader for its first contracted import, without the global lock
    sys.settrace(tracer)
    import plugin
    os.write(1, f"thread: imported {plugin.VALUE}\\n".encode())  # one write: threads interleave

thread = threading.Thread(target=first)
thread.start()
paused.wait(10)
pid = os.fork()
if pid == 0:
    signal.alarm(10)  # ends a hung child (faulthandler's timer would wait for a thread it lacks)
    import other
    os.write(1, f"child: imported {other.VALUE}\\n".encode())
    os._exit(0)
_, status = os.waitpid(pid, 0)
thread.join()
print("child status", os.waitstatus_to_exitcode(status), flush=True)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
@pytest.mark.parametrize(
    ("module", "gave_up"),
    [
        pytest.param("importspy_hook._loader", False, id="while-the-finder-loads-the-loader"),
        pytest.param("importspy_hook._validate", True, id="after-the-wait-for-a-check-gave-up"),
    ],
)
def test_a_fork_while_a_thread_loads_the_hooks_modules_leaves_the_child_able_to_import(
    project: Path, module: str, gave_up: bool
) -> None:
    # The global import lock, which os.fork() takes, is let go while the finder loads the loader;
    # the fork lock, which a check holds while it loads the engine, is waited for 10 s at most (red
    # team o01: a slow finder may hold the check up longer). Either way a fork can go ahead while a
    # thread is half-way through importing one of the hook's modules. The child has no such thread:
    # it must import the hook's modules afresh, not wait for ever on that thread's lock.
    write_files(
        project,
        TWO_PLUGINS,
    )
    prelude = PRELUDE.format(module=module, preload="import importspy_hook", project=str(project))
    if gave_up:  # the checking thread holds the fork lock longer than the fork waits for it
        prelude = prelude.replace("time.sleep(1.5)", "time.sleep(3)") + "startup.FORK_WAIT = 0.5\n"
    result = run_python(prelude + FORK, env={"IMPORTSPY_HOOK": "1"}, timeout=60)
    assert "Timeout" not in result.stderr, result
    assert "thread: imported 1" in result.stdout, result
    assert "child: imported 2" in result.stdout, result
    assert "child status 0" in result.stdout, result


INTERRUPT = """
import signal

def interrupt(signum, frame):
    raise KeyboardInterrupt

def second():
    sys.settrace(tracer)
    import importspy_hook

    importspy_hook.install()

signal.signal(signal.SIGALRM, interrupt)
thread = threading.Thread(target=second)
thread.start()
paused.wait(10)
signal.setitimer(signal.ITIMER_REAL, 0.5)  # while the import below waits for the loader's lock
try:
    import plugin
except KeyboardInterrupt:
    os.write(1, b"interrupted\\n")
thread.join()
import plugin  # the interrupted import left nothing behind: this one is checked and admitted
os.write(1, f"imported {plugin.VALUE}\\n".encode())
"""


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="signal.setitimer is POSIX-only")
def test_an_interrupt_while_the_hook_loads_its_loader_reaches_the_application(project: Path) -> None:
    # A KeyboardInterrupt raised while the finder waits without the global import lock (here, for
    # the loader's module lock) must reach the application as itself, with the lock given back, not
    # as a RuntimeError of the import system's ("not holding the import lock"). Red team o02 met one
    # in the wait for the fork lock, outside the ``try`` that gives it back; there is no such wait now.
    write_files(project, {"plugin.py": "VALUE = 1\n", "plugin.contract.yml": "runtime:\n  python: '>=3.0'\n"})
    prelude = PRELUDE.format(
        module="importspy_hook._loader", preload="import importspy_hook", project=str(project)
    )
    result = run_python(prelude + INTERRUPT, env={"IMPORTSPY_HOOK": "1"}, timeout=60)
    assert "Timeout" not in result.stderr, result
    assert "interrupted\nimported 1\n" in result.stdout, result
    assert result.returncode == 0, result


CHECKING = """
finished = threading.Event()

def slow_check(frame, event, arg):
    # Pauses this thread inside its check (the fork lock held), until the main thread's import is done.
    if event == "call" and frame.f_code.co_name == "guard_import" and not paused.is_set():
        paused.set()
        if not finished.wait(8):
            os.write(1, b"the main thread's import waited for this check\\n")
    return None

def checker():
    sys.settrace(slow_check)
    import plugin

importspy_hook.install()
thread = threading.Thread(target=checker)
thread.start()
paused.wait(10)
import vendored_helper, plain
finished.set()
os.write(1, f"imported {plain.VALUE}\\n".encode())
thread.join()
"""


def test_an_uncontracted_import_does_not_wait_for_another_threads_check(project: Path) -> None:
    # Red team o03/o04: with exclusion patterns set, every import waited for the fork lock, which a
    # check in another thread holds until it is done.
    write_files(
        project,
        {
            "plugin.py": "VALUE = 1\n",
            "plugin.contract.yml": "runtime:\n  python: '>=3.0'\n",
            "plain.py": "VALUE = 2\n",
            "vendored_helper.py": "",
        },
    )
    prelude = PRELUDE.format(module="", preload="import importspy_hook", project=str(project))
    result = run_python(
        prelude + CHECKING, env={"IMPORTSPY_HOOK": "1", "IMPORTSPY_HOOK_EXCLUDE": "vendored_*"}, timeout=60
    )
    assert "Timeout" not in result.stderr, result
    assert "imported 2" in result.stdout, result
    assert "waited" not in result.stdout, result


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
def test_a_module_that_forks_while_the_hook_loads_its_loader_finishes_in_the_child(project: Path) -> None:
    # Red team p02/p04: a child forked while a thread loads the hook's loader forgets the hook's
    # half-imported modules, and must forget nothing else: here the forking module itself, an
    # application module in the ``ruamel`` namespace (which only ``ruamel.yaml`` of is the hook's),
    # is half-imported by the very thread that goes on in the child.
    write_files(
        project,
        {
            **TWO_PLUGINS,
            "ruamel/appfork.py": """
                import os
                pid = os.fork()
                if pid == 0:
                    CHILD = True
                else:
                    CHILD = False
                    _, status = os.waitpid(pid, 0)
                    STATUS = os.waitstatus_to_exitcode(status)
            """,
        },
    )
    trigger = """
def first():
    sys.settrace(tracer)
    import plugin

thread = threading.Thread(target=first)
thread.start()
paused.wait(10)
import ruamel.appfork
if ruamel.appfork.CHILD:
    signal.alarm(10)
    import other
    os.write(1, f"child: imported {other.VALUE}\\n".encode())
    os._exit(0)
thread.join()
print("child status", ruamel.appfork.STATUS, flush=True)
"""
    prelude = PRELUDE.format(
        module="importspy_hook._loader", preload="import importspy_hook", project=str(project)
    )
    result = run_python(prelude + trigger, env={"IMPORTSPY_HOOK": "1"}, timeout=60)
    assert "Timeout" not in result.stderr, result
    assert "child: imported 2" in result.stdout, result
    assert "child status 0" in result.stdout, result


def test_two_threads_forking_at_once_each_release_only_their_own_hold(project: Path) -> None:
    # Red team p11: one thread's fork gave up waiting for the fork lock (a check held it), another's
    # got it; the callbacks os.fork() runs in each thread must not take the other's outcome, or the
    # lock stays held for good (every later check waits out the bound) and a release fails.
    # The callbacks of two forks, each on its own thread, in the order of red team p11.
    code = """
import sys, threading
import _importspy_hook_startup as startup

startup.FORK_WAIT = 0.2
lock = startup.checking()
check_running, check_done = threading.Event(), threading.Event()
events = {name: threading.Event() for name in ("late_before", "early_before", "late_after")}
errors = []
sys.unraisablehook = lambda info: errors.append(repr(info.exc_value))
threading.excepthook = lambda args: errors.append(repr(args.exc_value))

def check():  # a check in progress holds the fork lock
    with lock:
        check_running.set()
        check_done.wait()

def late():  # its fork gives up waiting for the check
    startup._before_fork()
    events["late_before"].set()
    events["early_before"].wait(5)
    startup._after_fork_in_parent()
    events["late_after"].set()

def early():  # its fork gets the lock once the check is done
    events["late_before"].wait(5)
    check_done.set()
    startup._before_fork()
    events["early_before"].set()
    events["late_after"].wait(5)
    startup._after_fork_in_parent()

threading.Thread(target=check).start()
check_running.wait()
threads = [threading.Thread(target=late), threading.Thread(target=early)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("free" if lock.acquire(True, 2) else "held", errors)
"""
    result = run_python(code, env={"IMPORTSPY_HOOK": "1"}, timeout=60)
    assert "free []" in result.stdout, result


EXCLUDED = """
import os, sys, threading, time, faulthandler
faulthandler.dump_traceback_later(20, exit=True)
import _importspy_hook_startup as startup

startup._started = False
startup.startup()  # the finder is made: with exclusion patterns, it imports fnmatch
sys.path.insert(0, {project!r})
del sys.modules["fnmatch"]  # a harness that restores a snapshot of sys.modules, say
paused = threading.Event()

def tracer(frame, event, arg):
    # The second thread holds fnmatch's module lock and is about to take the global one.
    if event == "call" and frame.f_code.co_name == "_find_spec" and frame.f_locals.get("name") == "fnmatch":
        if not paused.is_set():
            paused.set()
            time.sleep(1.5)
    return None

def second():
    sys.settrace(tracer)
    import fnmatch
    os.write(1, b"second thread: imported fnmatch\\n")

thread = threading.Thread(target=second)
thread.start()
paused.wait(10)
import plain  # not in the standard library: its name is matched against the patterns
os.write(1, b"main thread: imported\\n")
thread.join()
"""


def test_exclusion_patterns_never_import_while_the_finder_holds_the_global_lock(project: Path) -> None:
    # Red team p09: deciding an exclusion imported fnmatch from inside find_spec, holding the import
    # system's global lock, when it was no longer in sys.modules: a thread importing fnmatch then
    # waited for that lock while holding fnmatch's, and the finder for fnmatch's.
    write_files(project, {"plain.py": "VALUE = 1\n"})
    code = EXCLUDED.format(project=str(project))
    result = run_python(code, env={"IMPORTSPY_HOOK": "1", "IMPORTSPY_HOOK_EXCLUDE": "vendored.*"}, timeout=60)
    assert "Timeout" not in result.stderr, result
    assert "main thread: imported" in result.stdout, result
    assert "second thread: imported fnmatch" in result.stdout, result
