"""What happens when a guarded module is about to be created: who imports it, the verdict, the mode.

Kept apart from the loader wrapper so that the wrapper stays a thin protocol adapter and this file
holds the policy of §4 (internal imports), §7 (enforce/warn, fail open on internal errors) and the
events of §8.
"""

from __future__ import annotations

import time
from types import FrameType
from typing import Any

from ._caller import find_caller, same_top_level
from ._errors import ContractError, ContractViolation
from ._finder import Sidecar
from ._log import emit

__all__ = ["guard_import"]


def guard_import(
    name: str, sidecar: Sidecar | object, finder: Any, real_loader: Any, frame: FrameType
) -> BaseException | None:
    """Check the import of ``name``; return the exception to raise, or None to let it proceed."""
    caller = find_caller(frame)
    caller_name = caller.module_name if caller is not None else None
    if isinstance(sidecar, Sidecar):
        contract: Any = sidecar.path
        data = sidecar.data
        read = (lambda _path: data) if data is not None else None
        where = sidecar.path
    else:  # a contract registered from Python
        contract, read, where = sidecar, None, f"<registered contract for {name}>"
    mode = finder.mode
    if same_top_level(caller, name):
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
    started = time.perf_counter_ns()
    try:
        from ._validate import validate

        validate(name, contract, caller, read=read)
    except ContractViolation as exc:
        emit(
            "error",
            "contract.violation",
            target=name,
            caller=caller_name,
            contract=where,
            mode=mode,
            violations=[v.describe(where) for v in exc.violations],
        )
        return None if mode == "warn" else exc
    except ContractError as exc:
        emit(
            "error",
            "contract.invalid",
            target=name,
            caller=caller_name,
            contract=where,
            mode=mode,
            error=str(exc),
        )
        return None if mode == "warn" else exc
    except Exception as exc:  # a bug of the hook: fail open (§7)
        emit(
            "warning",
            "hook.internal_error",
            target=name,
            caller=caller_name,
            contract=where,
            mode=mode,
            error=f"{type(exc).__name__}: {exc}",
        )
        return None
    finally:
        if entered:
            finder.leave()
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
