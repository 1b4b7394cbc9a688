"""What happens when a guarded module is about to be created: who imports it, the verdict, the mode.

Kept apart from the loader wrapper so that the wrapper stays a thin protocol adapter and this file
holds the policy of §4 (internal imports), §7 (enforce/warn, fail open on internal errors) and the
events of §8.

On the contracted-import path, so standard library only and typing-free. ``_log`` (which imports
``typing`` and ``threading``) is imported only when an event can be emitted: a compliant import
emits only debug events, and with the logging settings left at their defaults (level ``warning``)
those are known to be filtered out without asking ``_log`` (§11: nothing is paid for silence).
"""

import os
import sys
import time

from ._caller import find_caller
from ._finder import Sidecar

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs milliseconds
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

__all__ = ["guard_import"]

_LOG = __name__.rpartition(".")[0] + "._log"
_DEFAULT_LOGGING: "list[bool]" = []


def _logging_left_at_defaults() -> "bool":
    """Neither ``IMPORTSPY_HOOK_LOG`` nor ``IMPORTSPY_HOOK_LOG_LEVEL`` is set (read once, as ``_log``
    reads its settings once). Then no debug event can be emitted, and ``guard_import`` neither
    times the check nor builds the event's fields."""
    if not _DEFAULT_LOGGING:
        _DEFAULT_LOGGING.append(
            not (
                os.environ.get("IMPORTSPY_HOOK_LOG", "").strip()
                or os.environ.get("IMPORTSPY_HOOK_LOG_LEVEL", "").strip()
            )
        )
    return _DEFAULT_LOGGING[0]


_VALIDATE: "list[Any]" = []  # the ``_validate`` module, once imported


def _validate_module() -> "Any":
    from . import _validate

    _VALIDATE.append(_validate)
    return _validate


def emit(level: "str", event: "str", **fields: "Any") -> "None":
    """``_log.emit``, skipping the import of ``_log`` for debug events nobody can see.

    Only the default configuration (neither ``IMPORTSPY_HOOK_LOG`` nor ``IMPORTSPY_HOOK_LOG_LEVEL``
    set, so the level is ``warning``) is decided here; any setting at all goes to ``_log``, which
    reads, validates and warns about it exactly as before.
    """
    log: Any = sys.modules.get(_LOG)
    if log is None:
        if level == "debug" and _logging_left_at_defaults():
            return
        from . import _log

        log = _log
    log.emit(level, event, **fields)


def _refusal(
    exc: "Exception", name: "str", caller: "str | None", where: "str", mode: "str"
) -> "Exception | None":
    """What to raise for what ``validate`` raised (and the event to log); None lets the import proceed.

    ``_errors`` is imported here, not at the top: a compliant import never needs it.
    """
    from ._errors import ContractError, ContractViolation

    if isinstance(exc, ContractViolation):
        emit(
            "error",
            "contract.violation",
            target=name,
            caller=caller,
            contract=where,
            mode=mode,
            violations=[v.describe(where) for v in exc.violations],
        )
        return None if mode == "warn" else exc
    if isinstance(exc, ContractError):
        emit(
            "error", "contract.invalid", target=name, caller=caller, contract=where, mode=mode, error=str(exc)
        )
        return None if mode == "warn" else exc
    # A bug of the hook: fail open (§7).
    emit(
        "warning",
        "hook.internal_error",
        target=name,
        caller=caller,
        contract=where,
        mode=mode,
        error=f"{type(exc).__name__}: {exc}",
    )
    return None


def guard_import(
    name: "str", sidecar: "Sidecar | object", finder: "Any", frame: "FrameType"
) -> "BaseException | None":
    """Check the import of ``name``; return the exception to raise, or None to let it proceed.

    ``frame`` is the frame that asked the loader for the module (the import machinery's); the
    caller is found by walking up from it (§5).

    Two paths. The quick one (``_validate.admitted``) serves the usual contracted import — a sidecar
    file, no simulation, no debug event to emit — and answers only "certainly admitted": it walks the
    frames only when the contract reads the caller, and builds nothing on success. Anything else (a
    refusal, a question the compiled check leaves open, a registered contract, an archived sidecar,
    debug logging) takes the full path below, which finds the caller first, so every message and
    event names it exactly as before.
    """
    log = sys.modules.get(_LOG)
    if log is not None:
        debug = log.enabled("debug")
    else:
        debug = not (_DEFAULT_LOGGING[0] if _DEFAULT_LOGGING else _logging_left_at_defaults())
    if not debug and sidecar.__class__ is Sidecar and sidecar.data is None:
        validator = _VALIDATE[0] if _VALIDATE else _validate_module()
        entered = finder.enter()  # the engine's own lazy imports must pass through untouched
        try:
            if validator.admitted(name, sidecar.path, frame):
                return None
        except Exception:  # the full path below meets the same error and reports it
            pass
        finally:
            if entered:
                finder.leave()
    return _full_check(name, sidecar, finder, frame, debug)


def _full_check(
    name: "str", sidecar: "Sidecar | object", finder: "Any", frame: "FrameType", debug: "bool"
) -> "BaseException | None":
    """The check with the caller known first: refusals, debug events, registered contracts."""
    caller = find_caller(frame)
    caller_name = caller.module_name if caller is not None else None
    contract: Any
    if isinstance(sidecar, Sidecar):
        contract = sidecar.path
        data = sidecar.data
        read = (lambda _path: data) if data is not None else None
        where = sidecar.path
    else:  # a contract registered from Python
        contract, read, where = sidecar, None, f"<registered contract for {name}>"
    mode = finder.mode
    # same_top_level(caller, name), inline
    if caller_name is not None and caller_name.partition(".")[0] == name.partition(".")[0]:
        emit(
            "debug",
            "contract.skipped",
            target=name,
            caller=caller_name,
            contract=where,
            mode=mode,
            reason="internal import",
        )
        return None
    entered = finder.enter()  # the engine's own lazy imports must pass through untouched
    started = time.perf_counter_ns() if debug else 0
    try:
        # The module is kept, its ``validate`` looked up on each call (tests replace it).
        validator = _VALIDATE[0] if _VALIDATE else _validate_module()
        validator.validate(name, contract, caller, read=read)
    except Exception as exc:
        return _refusal(exc, name, caller_name, where, mode)
    finally:
        if entered:
            finder.leave()
    if not debug:
        return None
    emit(
        "debug",
        "contract.checked",
        target=name,
        caller=caller_name,
        contract=where,
        mode=mode,
        outcome="compliant",
        duration_us=(time.perf_counter_ns() - started) // 1000,
    )
    return None
