"""The loader wrapper put on a spec whose module has a contract (§4), and the policy it applies (§7).

Why ``create_module``: it is the first loader call of an import, made by ``module_from_spec`` before
the module object exists, before anything is put in ``sys.modules`` and, for an extension module,
before its shared library is loaded and its init function runs. Refusing there means nothing of the
target ever ran and nothing has to be cleaned up.

Why a wrapper and not a subclass: the real loader can be of any type (source, sourceless, extension,
zipimporter, a third party's). Everything the wrapper does not define is forwarded to it through
``__getattr__``, so the whole loader protocol (``get_code``, ``get_source``, ``get_filename``,
``is_package``, ``get_data``, ``get_resource_reader``, …) keeps working. Before the module's code runs,
``module.__loader__`` and ``module.__spec__.loader`` are set back to the real loader, so the module, its
users and ``importlib.reload`` only ever see the real one (the wrapper is never stacked on itself). On a
first import that is admitted, ``create_module`` hands the spec back at once: the import system then
sets the module's attributes and runs the real ``exec_module`` itself, without the wrapper in between.

``importlib.reload`` does not call ``create_module``; it calls ``exec_module`` on a fresh spec from the
finders, so ``exec_module`` checks when ``create_module`` did not run (§4: reload re-checks).

Invariants (§4 "every way the import system can run a guarded module's code passes the check"):

- every method that can run the module checks first — ``create_module``, ``exec_module``,
  ``load_module``, and ``get_code`` (what ``runpy.run_module`` and ``python -m`` execute);
- an admission is used once, by the ``exec_module`` that follows the admitting ``create_module``; a
  refusal is never remembered, so calling the loader again after one checks again;
- a refused call never hands out the real loader, except to a module that already ran (a refused
  reload keeps the real loader its users saw);
- a loader that only has ``load_module`` gets a wrapper without ``exec_module``, so the import
  system keeps speaking the protocol the real loader speaks;
- whatever goes wrong while checking refuses in enforce mode (``_judge``, ``guard_import``).

The wrapper is a thin protocol adapter; the policy — who imports, the verdict, the mode, the events —
is ``guard_import`` and its helpers, at the end of this module (one module on the contracted-import
path rather than two).
"""

import sys
import time

from . import _log
from ._caller import find_caller, is_internal

TYPE_CHECKING = False  # not ``typing``/``importlib.machinery``: both are imports on the import path
if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from types import FrameType, ModuleType
    from typing import Any

__all__ = ["GuardedLoader", "LegacyGuardedLoader", "guard_import", "unwrap", "wrap"]


def unwrap(loader: "Any") -> "Any":
    """The real loader under any number of wrappers (defensive: specs are never wrapped twice)."""
    while isinstance(loader, _Guarded):
        loader = loader.real_loader
    return loader


def wrap(real_loader: "Any", sidecar: "Any", finder: "Any", name: "str", file: "str | None" = None) -> "Any":
    """The wrapper for ``real_loader``: one that speaks the same protocol (§4).

    ``sidecar`` is the contract: a sidecar file as ``(path, bytes read through an archive's loader or None,
    the error that kept them from being read or None)``, a ``Contract`` registered from Python, or a list of
    the two (a registered module that ships its own sidecar: both must admit). ``finder`` is the start-up
    module's ``ContractFinder``: its mode, and its fork lock. ``file`` is the module's own file as the
    start-up module found it (the spec's origin, or its file loader's path), or None: a registered
    contract's internal-import rule compares the importer with it.

    A loader with ``exec_module`` gets :class:`GuardedLoader`; a legacy loader that only has
    ``load_module`` gets :class:`LegacyGuardedLoader`, which offers no ``exec_module``, so the import
    system goes on calling ``load_module`` as it would without the hook.
    """
    real = unwrap(real_loader) if isinstance(real_loader, _Guarded) else real_loader  # never, in practice
    if hasattr(real, "exec_module"):
        return GuardedLoader(real, sidecar, finder, name, file)
    return LegacyGuardedLoader(real, sidecar, finder, name, file)


class _Guarded:
    """What both wrappers share: the forwarding, the check, putting the real loader back.

    Invariant: every method that can run the module's code checks first, and only a completed check
    that admitted lets it proceed. An admission is used once (``_admitted``): a refusal is never
    remembered as one, and calling the loader again after a refusal checks again.
    """

    __slots__ = ("_admitted", "_file", "_finder", "_name", "real_loader", "sidecar")

    def __init__(
        self, real_loader: "Any", sidecar: "Any", finder: "Any", name: "str", file: "str | None" = None
    ) -> "None":
        self.real_loader = real_loader
        self.sidecar = sidecar
        self._finder = finder
        self._name = name
        self._file = file
        self._admitted = False

    def __getattr__(self, attribute: "str") -> "Any":
        # Only called for what this class does not define: forward the rest of the protocol.
        if attribute == "real_loader":  # not yet set (copy/pickle of a half-built object)
            raise AttributeError(attribute)
        return getattr(self.real_loader, attribute)

    def __repr__(self) -> "str":
        return f"<importspy_hook guard of {self.real_loader!r}>"

    def get_code(self, fullname: "str") -> "Any":
        """What ``runpy.run_module`` and ``python -m`` execute: checked like an import (§4)."""
        error = self._judge(fullname, sys._getframe(1))
        if error is not None:
            raise error.with_traceback(None)  # see _judge
        return self.real_loader.get_code(fullname)

    def load_module(self, fullname: "str") -> "ModuleType":
        """Legacy protocol, for real loaders that only implement ``load_module``."""
        error = self._judge(fullname, sys._getframe(1))
        if error is not None:
            raise error.with_traceback(None)  # see _judge
        module: ModuleType = self.real_loader.load_module(fullname)
        self._restore(module)
        return module

    def _judge(self, name: "str", frame: "FrameType") -> "BaseException | None":
        """Run the check; return what refuses the import, or None. Each caller raises it itself, with
        a fresh traceback, so that what the user sees ends at their import statement and the import
        machinery with one line of the hook, not deep inside it. ``frame`` is the frame that called
        the loader, where the walk up to the caller starts.

        Fail closed (§7): whatever goes wrong here, once a contract applies, refuses in enforce mode.
        ``guard_import`` turns its own errors into a ``ContractError`` already; this catches what
        escapes it (the fork lock, say).
        """
        # Held so that os.fork() waits for the check (and the hook's lazy imports in it). Bounded:
        # should a check ever wait on a thread that waits on this lock (a check importing a module
        # another thread is importing), it goes on after the timeout rather than deadlocking.
        finder = self._finder
        lock = finder.checking()  # the start-up module's; a forked child gets a new one
        held = lock.acquire(True, finder.fork_wait)
        try:
            contract = self.sidecar
            if contract.__class__ is list:  # a registered contract and the module's sidecar: both
                error = None
                for one in contract:
                    error = guard_import(name, one, finder, frame, self._file)
                    if error is not None:
                        break
            else:
                error = guard_import(name, contract, finder, frame, self._file)
        except Exception as exc:
            error = _unchecked(self, name, exc)
        finally:
            if held:
                lock.release()
        return error

    def _restore(self, module: "ModuleType") -> "None":
        real = self.real_loader
        try:
            if getattr(module, "__loader__", None) is self:
                module.__loader__ = real
            spec = getattr(module, "__spec__", None)
            if spec is not None and spec.loader is self:
                spec.loader = real
        except (AttributeError, TypeError):  # read-only module objects from exotic loaders
            pass


class GuardedLoader(_Guarded):
    """Checks the importing context against the contract, then lets the real loader do the work."""

    __slots__ = ()

    def create_module(self, spec: "ModuleSpec") -> "ModuleType | None":
        error = self._judge(spec.name, sys._getframe(1))
        if error is not None:
            raise error.with_traceback(None)  # see _judge
        real = self.real_loader
        if spec.loader is self:  # type: ignore[comparison-overlap]
            # Admitted: hand the spec back to the real loader now. The import system reads
            # ``spec.loader`` again after this call, to set ``module.__loader__`` and to run
            # ``exec_module``, so the module only ever sees the real loader and the wrapper's
            # ``exec_module`` (with its two restorations) is skipped on first imports.
            spec.loader = real
        else:
            self._admitted = True  # for the exec_module call that follows, and for it only
        create = getattr(real, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: "ModuleType") -> "None":
        if self._admitted:
            self._admitted = False  # the admission of the create_module call just before
        else:  # importlib.reload, a hand-written loader call, a second call after a refusal
            error = self._judge(module.__name__, sys._getframe(1))
            if error is not None:
                # A refused reload leaves the old module in sys.modules: it ran once, admitted, and
                # keeps the real loader its users always saw. Any other module object (one built by
                # hand after a refused ``module_from_spec``) keeps this wrapper on itself and on its
                # spec, so calling ``spec.loader.exec_module`` again checks again.
                if _current(module):
                    self._restore(module)
                raise error.with_traceback(None)  # see _judge
        try:
            self.real_loader.exec_module(module)
        finally:
            self._restore(module)


class LegacyGuardedLoader(_Guarded):
    """The wrapper of a loader that only implements ``load_module`` (no ``exec_module`` to offer)."""

    __slots__ = ()


def _current(module: "ModuleType") -> "bool":
    """Whether ``module`` is the module the import system holds under its name (a reload)."""
    name = getattr(module, "__name__", None)
    return isinstance(name, str) and name in sys.modules and sys.modules[name] is module


def _unchecked(loader: "_Guarded", name: "str", exc: "Exception") -> "BaseException | None":
    """The error for a check that could not run: refuse in enforce mode, proceed in warn mode."""
    try:
        from ._errors import ContractError, cannot_check

        where, reason = _shown(name, loader.sidecar), cannot_check(exc)
    except Exception:  # the package cannot be loaded any further: still refuse, as a ValueError
        return ValueError(
            f"import of {name!r} refused: the contract could not be checked ({type(exc).__name__})"
        )
    if getattr(loader._finder, "mode", "enforce") == "warn":
        try:
            sys.stderr.write(f"importspy-hook: {where}: {reason}; warn mode, import of {name!r} goes on\n")
        except Exception:
            pass
        return None
    return ContractError(where, 0, 0, "", reason)


# --------------------------------------------------------------------------- the policy
#
# What happens when a guarded module is about to run: who imports it, the verdict, the mode — §4
# (internal imports), §7 (enforce/warn; fail closed once a contract applies) and the events of §8.
# Once ``guard_import`` is asked about an import, a contract applies, so the only outcome that lets
# the module run is a completed check that found no violation (or warn mode). Every exception on
# the way — reading or parsing the contract, reading the caller, evaluating, a missing dependency, a
# bug of ours — becomes a ``ContractError`` that names the contract and the cause, and refuses in
# enforce mode (§7 "Fail closed once a contract applies"). ``_log`` is imported at the top (it is
# small; structlog itself loads only when an event is emitted at an enabled level).

_VALIDATE: "list[Any]" = []  # the ``_validate`` module, once imported


def _validate_module() -> "Any":
    from . import _validate

    _VALIDATE.append(_validate)
    return _validate


emit = _log.emit


def _shown(name: "str", sidecar: "Any") -> "str":
    """The contract of ``name`` as messages and events name it (§6): its path, withheld when it
    holds a secret, including a value of a variable the contract itself declares secret."""
    from ._errors import contract_label, shown_path

    validator = _VALIDATE[0] if _VALIDATE else _validate_module()
    return shown_path(contract_label(name, sidecar), validator.declared_secrets(sidecar))


def _refusal(
    exc: "Exception", name: "str", caller: "str | None", sidecar: "Any", mode: "str"
) -> "Exception | None":
    """What to raise for what the check raised (and the event to log); None lets the import proceed.

    ``_errors`` is imported here, not at the top: a compliant import never needs it.
    """
    from ._errors import ContractError, ContractViolation, cannot_check

    # The events name the contract as the messages do (§6); a violation has worked it out already.
    where = exc._shown if isinstance(exc, ContractViolation) else _shown(name, sidecar)
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


def guard_import(
    name: "str", sidecar: "Any", finder: "Any", frame: "FrameType", file: "str | None" = None
) -> "BaseException | None":
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
        return _refusal(error, name, None, sidecar, mode)
    try:
        debug = _log.enabled("debug")
        if not debug and sidecar.__class__ is tuple and sidecar[1] is None:
            validator = _VALIDATE[0] if _VALIDATE else _validate_module()
            try:
                if validator.admitted(name, sidecar[0], frame):
                    return None
            except Exception:  # the full path below meets the same error and reports it
                pass
        return _full_check(name, sidecar, mode, frame, debug, file)
    except Exception as exc:
        return _refusal(exc, name, None, sidecar, mode)


def _full_check(
    name: "str", sidecar: "Any", mode: "str", frame: "FrameType", debug: "bool", file: "str | None" = None
) -> "BaseException | None":
    """The check with the caller known first: refusals, debug events, registered contracts."""
    from ._errors import contract_label  # not at the top: a compliant import never needs it

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
            beside: str | None = where  # the sidecar sits beside the module's file, under its stem
        else:  # a contract registered from Python: where the module's own file is, if it says
            contract, read = sidecar, None
            beside = file
        if is_internal(caller, name, beside):
            emit(
                "debug",
                "contract.skipped",
                target=name,
                caller=caller_name,
                contract=_shown(name, sidecar),
                mode=mode,
                reason="internal import",
            )
            return None
        # The module is kept, its ``validate`` looked up on each call (tests replace it).
        validator = _VALIDATE[0] if _VALIDATE else _validate_module()
        validator.validate(name, contract, caller, read=read)
    except Exception as exc:
        return _refusal(exc, name, caller_name, sidecar, mode)
    if debug:
        emit(
            "debug",
            "contract.checked",
            target=name,
            caller=caller_name,
            contract=_shown(name, sidecar),
            mode=mode,
            outcome="compliant",
            duration_us=(time.perf_counter_ns() - started) // 1000,
        )
    return None
