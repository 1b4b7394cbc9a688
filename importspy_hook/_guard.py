"""What happens when a guarded module is about to run: who imports it, the verdict, the mode.

Kept apart from the loader wrapper so that the wrapper stays a thin protocol adapter and this file
holds the policy of §4 (internal imports), §7 (enforce/warn; fail closed once a contract applies)
and the events of §8.

The policy, in one place: once this module is asked about an import, a contract applies, so the
only outcome that lets the module run is a completed check that found no violation (or warn mode).
Every exception on the way — reading or parsing the contract, reading the caller, evaluating,
a missing dependency, a bug of ours — becomes a ``ContractError`` that names the contract and the
cause, and refuses in enforce mode (§7 "Fail closed once a contract applies").

On the contracted-import path, so standard library only and typing-free. ``_log`` is imported at
the top (it is small; structlog itself loads only when an event is emitted at an enabled level).
"""

import time

from . import _log
from ._caller import find_caller, is_internal

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs milliseconds
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

__all__ = ["guard_import"]

_VALIDATE: "list[Any]" = []  # the ``_validate`` module, once imported


def _validate_module() -> "Any":
    from . import _validate

    _VALIDATE.append(_validate)
    return _validate


emit = _log.emit


def _refusal(
    exc: "Exception", name: "str", caller: "str | None", where: "str", mode: "str"
) -> "Exception | None":
    """What to raise for what the check raised (and the event to log); None lets the import proceed.

    ``_errors`` is imported here, not at the top: a compliant import never needs it.
    """
    from ._errors import ContractError, ContractViolation, cannot_check

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
    if not isinstance(exc, ContractError):
        # Anything else is a check that did not complete: it refuses like a malformed contract
        # (§7). The cause is named by its type and where it was raised, never by its text, which
        # may hold the importer's data (§6).
        exc = ContractError(where, 0, 0, "", cannot_check(exc))
    emit("error", "contract.invalid", target=name, caller=caller, contract=where, mode=mode, error=str(exc))
    return None if mode == "warn" else exc


def guard_import(name: "str", sidecar: "Any", finder: "Any", frame: "FrameType") -> "BaseException | None":
    """Check the import of ``name``; return the exception to raise, or None to let it proceed.

    ``frame`` is the frame that asked the loader for the module (the import machinery's); the
    caller is found by walking up from it (§5). Never raises an error of its own: whatever fails
    is turned into a refusal by ``_refusal``.

    Two paths. The quick one (``_validate.admitted``) serves the usual contracted import — a sidecar
    file, no simulation, no debug event to emit — and answers only "certainly admitted": it walks the
    frames only when the contract reads the caller, and builds nothing on success. Anything else (a
    refusal, a question the compiled check leaves open, a registered contract, an archived sidecar,
    debug logging) takes the full path below, which finds the caller first, so every message and
    event names it.
    """
    mode = getattr(finder, "mode", "enforce")
    error = sidecar[2] if sidecar.__class__ is tuple else None
    if error is not None:  # a sidecar that exists but could not be read through its loader
        from ._errors import contract_label

        return _refusal(error, name, None, contract_label(name, sidecar), mode)
    try:
        debug = _log.enabled("debug")
        if not debug and sidecar.__class__ is tuple and sidecar[1] is None:
            validator = _VALIDATE[0] if _VALIDATE else _validate_module()
            try:
                if validator.admitted(name, sidecar[0], frame):
                    return None
            except Exception:  # the full path below meets the same error and reports it
                pass
        return _full_check(name, sidecar, mode, frame, debug)
    except Exception as exc:
        from ._errors import contract_label

        return _refusal(exc, name, None, contract_label(name, sidecar), mode)


def _full_check(
    name: "str", sidecar: "Any", mode: "str", frame: "FrameType", debug: "bool"
) -> "BaseException | None":
    """The check with the caller known first: refusals, debug events, registered contracts."""
    from ._errors import contract_label  # not at the top: a compliant import never needs _errors

    where = contract_label(name, sidecar)
    caller_name: str | None = None
    started = time.perf_counter_ns() if debug else 0
    try:
        caller = find_caller(frame)
        caller_name = caller.module_name if caller is not None else None
        contract: Any
        if sidecar.__class__ is tuple:  # a sidecar file: (path, data read through a loader or None, _)
            contract, data, _ = sidecar
            read = (lambda _path: data) if data is not None else None
        else:  # a contract registered from Python
            contract, read = sidecar, None
        if is_internal(caller, name, where if sidecar.__class__ is tuple else None):
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
        # The module is kept, its ``validate`` looked up on each call (tests replace it).
        validator = _VALIDATE[0] if _VALIDATE else _validate_module()
        validator.validate(name, contract, caller, read=read)
    except Exception as exc:
        return _refusal(exc, name, caller_name, where, mode)
    if debug:
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
