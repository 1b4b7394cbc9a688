"""Tamper evidence (``IMPORTSPY_HOOK_AUDIT=1``): notice when the finder leaves the front of ``sys.meta_path``.

Why an audit hook: code in the same process can take the finder off ``sys.meta_path`` (or put another
finder before it) with one line, and nothing in the import system would tell. A ``sys.addaudithook``
callback cannot be removed once added, and CPython raises the ``import`` audit event
(``sys.audit("import", module, filename, sys.path, sys.meta_path, sys.path_hooks)``) just before it
searches ``sys.meta_path`` for a module that is not in ``sys.modules`` yet. Checking there means a
finder removed by user code is back in place for the very import that follows the removal.

What it does, per mode of the finder:

- ``enforce``: the finder is put back at ``sys.meta_path[0]`` (moved there, or re-inserted), and
  ``hook.tampered`` is logged (warning) once for that episode;
- ``warn``: ``hook.tampered`` is logged once per episode and ``sys.meta_path`` is left as it is,
  like a violation in warn mode is logged and let through.

An *episode* lasts from the moment the finder is seen away from the front until it is seen at the
front again, so a process whose code keeps the finder out (warn mode) logs once, not once per import.

What it cannot do (SECURITY.md says the same): it only runs when the ``import`` event is raised —
by ``import`` statements and ``__import__``, not by ``importlib.import_module``, whose pure-Python
path raises no such event (the next ``import`` statement restores the finder); it does not see code
that never goes through ``sys.meta_path`` (``exec`` of a file's source, a loader such as
``SourceFileLoader`` called directly, ``importlib.util.module_from_spec`` on a hand-made spec, a
module object put into ``sys.modules``); it does not notice changes *to* the finder (its ``mode``
set to ``warn``, its methods replaced); and ``ctypes`` can rewrite any memory of the process, this
callback included. It raises alarms and closes the one-line hole; it is not a sandbox.

Cost: the callback runs for *every* audit event of the process (``open``, ``exec``, ``compile``,
``sys._getframe``, …), so the first thing it does is compare the event name, and on an ``import``
event with the finder already first it does one list index and one identity test.
"""

from __future__ import annotations

import sys
from _thread import allocate_lock, get_ident
from collections.abc import Callable
from typing import Any

__all__ = ["AuditState", "install_audit_hook"]


class AuditState:
    """What the one audit hook of this process watches (kept on one object so tests can look at it).

    ``finder`` is the importspy-hook finder that must stay first; ``tampered`` is True during an
    episode (already logged); ``events`` counts ``hook.tampered`` logs.
    """

    __slots__ = ("events", "finder", "tampered")

    def __init__(self, finder: Any) -> None:
        self.finder = finder
        self.tampered = False
        self.events = 0


_state: AuditState | None = None
_lock = allocate_lock()
"""Held while ``sys.meta_path`` is inspected and repaired — never across an import, so it cannot take
part in a deadlock with the import system's module locks."""
_busy: set[int] = set()
"""Threads inside the slow path: the logging below imports modules, which raises ``import`` events."""


def install_audit_hook(finder: Any) -> AuditState:
    """Watch ``finder`` from an audit hook; idempotent (a second call retargets the one hook).

    Audit hooks cannot be removed, so there is at most one per process; calling this again (say after
    ``install()`` created a new finder) only changes which finder it keeps first.
    """
    global _state
    if _state is not None:
        _state.finder = finder
        _state.tampered = False
        return _state
    state = _state = AuditState(finder)
    sys.addaudithook(_make_hook(state))
    return state


def _make_hook(state: AuditState) -> Callable[[str, tuple[Any, ...]], None]:
    """The audit callback; module globals are bound as defaults because they may be gone at shutdown."""

    def importspy_hook_audit(
        event: str,
        args: tuple[Any, ...],
        _sys: Any = sys,
        _state: AuditState = state,
        _slow: Callable[[AuditState, tuple[Any, ...]], None] = _slow_path,
    ) -> None:
        if event != "import":
            return
        try:
            if _sys.meta_path[0] is _state.finder:
                if _state.tampered:
                    _state.tampered = False  # someone put it back: the episode is over
                return
        except Exception:  # empty, None (interpreter shutdown) or not a sequence: the slow path decides
            pass
        _slow(_state, args)

    return importspy_hook_audit


def _slow_path(state: AuditState, args: tuple[Any, ...]) -> None:
    """The finder is not first: repair (enforce) and log once per episode. Never raises."""
    try:
        ident = get_ident()
        if ident in _busy:  # an import made by the logging below: let it through
            return
        _busy.add(ident)
    except Exception:
        return
    try:
        fields = _inspect_and_repair(state)
        if fields is not None:
            fields["target"] = args[0] if args else None  # the module being imported
            from ._log import emit

            emit("warning", "hook.tampered", **fields)
    except Exception:  # an audit hook that raises would abort the user's operation: never
        pass
    finally:
        _busy.discard(ident)


def _inspect_and_repair(state: AuditState) -> dict[str, Any] | None:
    """Put the finder back first when its mode says so; the fields to log, or None if nothing to log."""
    with _lock:
        meta_path = sys.meta_path
        if meta_path is None:  # interpreter shutdown: nothing to protect
            return None
        first = meta_path[0] if len(meta_path) else None
        finder = state.finder
        if first is finder:
            state.tampered = False  # another thread repaired it while this one waited
            return None
        if first is not None and type(first) is type(finder):
            state.finder = first  # a new finder from install(): the one to keep first from now on
            state.tampered = False
            return None
        present = any(entry is finder for entry in meta_path)
        action = _put_first(meta_path, finder, present) if finder.mode == "enforce" else "logged"
        if action.startswith("reinstalled"):
            state.tampered = False  # repaired: the next removal is a new episode
        elif state.tampered:
            return None  # this episode was already reported
        else:
            state.tampered = True
        state.events += 1
        return {
            "change": "moved" if present else "removed",
            "action": action,
            "mode": finder.mode,
            "first": _describe(first),
        }


def _put_first(meta_path: Any, finder: Any, present: bool) -> str:
    """Move or re-insert ``finder`` at the front of ``sys.meta_path``; say what happened.

    When ``sys.meta_path`` was replaced by something that cannot be edited in place (a tuple, a list
    subclass that ignores ``insert``), a plain list takes its place: the import system reads
    ``sys.meta_path`` again right after the ``import`` event, so the repair still applies to this import.
    """
    try:
        if present:
            meta_path.remove(finder)
        meta_path.insert(0, finder)
        if sys.meta_path is meta_path and meta_path[0] is finder:
            return "reinstalled"
    except Exception:
        pass
    sys.meta_path = [finder, *(entry for entry in meta_path if entry is not finder)]
    return f"reinstalled (sys.meta_path, a {type(meta_path).__name__}, replaced by a list)"


def _describe(finder: object) -> str | None:
    """A short name for the finder now first (no repr: a third-party repr could do anything)."""
    if finder is None:
        return None
    kind = finder if isinstance(finder, type) else type(finder)
    return f"{getattr(kind, '__module__', '?')}.{getattr(kind, '__qualname__', '?')}"
