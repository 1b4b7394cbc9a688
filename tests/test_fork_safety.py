"""A process that forks while another thread holds one of the hook's cache locks: the child's next
guarded import must not hang on a lock nobody will release (issue 3: ``os.register_at_fork``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run_python, write_files

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")


def test_child_forked_while_a_cache_lock_is_held_can_still_import_guarded_modules(project: Path) -> None:
    write_files(
        project,
        {
            "plugin.py": "VALUE = 1\n",
            "plugin.contract.yml": "runtime:\n  python: '>=3.0'\n",
            "host.py": """
                import os, sys, threading, time
                import importspy_hook
                from importspy_hook import _cache, _compiled, _context, _log, _simulation

                importspy_hook.install()
                locks = [_compiled._lock, _context._DIST_LOCK, _log._lock, _cache._sources_lock,
                         _simulation._lock]
                holding = threading.Event()
                release = threading.Event()

                def hold():
                    for lock in locks:
                        lock.__enter__()
                    holding.set()
                    release.wait()
                    for lock in reversed(locks):
                        lock.__exit__(None, None, None)

                threading.Thread(target=hold, daemon=True).start()
                holding.wait()
                pid = os.fork()
                if pid == 0:
                    try:
                        import plugin
                        os.write(1, f"child imported {plugin.VALUE}\\n".encode())
                        os._exit(0)
                    except BaseException as exc:
                        os.write(1, f"child failed {exc!r}\\n".encode())
                        os._exit(1)
                _, status = os.waitpid(pid, 0)
                release.set()
                print("child status", os.waitstatus_to_exitcode(status))
            """,
        },
    )
    result = run_python(
        f"import runpy, sys; sys.path.insert(0, {str(project)!r}); "
        f"runpy.run_path({str(project / 'host.py')!r}, run_name='__main__')",
        timeout=60,
    )
    assert result.returncode == 0, result
    assert "child imported 1" in result.stdout, result
    assert "child status 0" in result.stdout, result
