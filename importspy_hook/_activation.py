"""Turning the hook on and off by hand (``install()``, ``uninstall()``, their ``Handle``), and guarding
a module with a contract built in Python (``register()``, ``unregister()``) (§3, §10).

The automatic activation at start-up (``startup()``, reading ``IMPORTSPY_HOOK``) lives in the
top-level ``_importspy_hook_startup`` with the finder, because the start-up path must stay one module.
This module is for ``python -S``, embedding and tests, and is imported only when used.

Invariants:
- at most one importspy-hook finder is on ``sys.meta_path`` (site may process a venv's ``.pth``
  files twice, and a user may call ``install()`` on top of the start-up activation);
- start-up never raises: any internal error becomes one line on stderr and the interpreter goes on
  (pip itself runs with this hook active).
"""

from __future__ import annotations

import sys

from _importspy_hook_startup import ENFORCE, REGISTRY, WARN, ContractFinder, active_finder

# What the finder loads when a contract first applies, or on its rare paths, is loaded with install(),
# outside any import: a tracer that asks the finders on worker threads cannot import while the import
# system holds its lock for the thread that waits on them (SECURITY.md).
from . import _finder, _loader  # noqa: F401

TYPE_CHECKING = False  # typing/types are not imported on the start-up path
if TYPE_CHECKING:
    from types import TracebackType

    from ._contract_model import Contract

__all__ = ["Handle", "install", "register", "uninstall", "unregister"]


class Handle:
    """What ``install()`` returns: undo it with ``uninstall()`` or by leaving a ``with`` block.

    A handle restores the state it found: if the hook was already active (e.g. from start-up),
    leaving the block puts the previous mode back instead of removing the finder.
    """

    __slots__ = ("_added", "_finder", "_previous_mode")

    def __init__(self, finder: ContractFinder, added: bool, previous_mode: str | None) -> None:
        self._finder = finder
        self._added = added
        self._previous_mode = previous_mode

    @property
    def mode(self) -> str:
        return self._finder.mode

    @property
    def finder(self) -> ContractFinder:
        return self._finder

    def uninstall(self) -> None:
        if self._added:
            _remove(self._finder)
            self._added = False
        elif self._previous_mode is not None:
            self._finder.mode = self._previous_mode

    def __enter__(self) -> Handle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()

    def __repr__(self) -> str:
        return f"<importspy_hook.Handle mode={self.mode!r} installed={self._finder in sys.meta_path}>"


def install(mode: str = ENFORCE) -> Handle:
    """Put the guard at the front of ``sys.meta_path`` (idempotent) and return a handle.

    ``mode`` is ``"enforce"`` (refuse violating imports) or ``"warn"`` (log and let them through).
    """
    if mode not in (ENFORCE, WARN):
        raise ValueError(f"mode must be 'enforce' or 'warn', not {mode!r}")
    existing = active_finder()
    if existing is not None:
        previous = existing.mode
        existing.mode = mode
        if sys.meta_path[0] is not existing:
            sys.meta_path.remove(existing)
            sys.meta_path.insert(0, existing)
        return Handle(existing, added=False, previous_mode=previous)
    finder = ContractFinder(mode)
    sys.meta_path.insert(0, finder)
    return Handle(finder, added=True, previous_mode=None)


def uninstall(handle: Handle | None = None) -> None:
    """Remove the guard: the given handle's finder, or every importspy-hook finder."""
    if handle is not None:
        handle.uninstall()
        return
    for finder in [f for f in sys.meta_path if getattr(f, "_importspy_hook_finder", False)]:
        _remove(finder)  # type: ignore[arg-type]


def _remove(finder: ContractFinder) -> None:
    try:
        sys.meta_path.remove(finder)
    except ValueError:
        pass


def register(module_name: str, contract: Contract) -> None:
    """Guard ``module_name`` with a contract built in Python, as if it shipped that sidecar.

    For hosts that keep their contracts in code (ImportSpy's "SpyModel" idea). Takes effect for
    imports that reach the finder from now on: a module already in ``sys.modules`` is not
    re-checked until it is reloaded. A module that also ships a sidecar keeps it: both contracts
    must admit the import.
    Raises :class:`ContractError` when the contract is malformed (a bad version specifier, an
    unknown OS name...), exactly as the same contract in a file would: every key and value rule
    lives in ``_schema``, one table for the parser and for this; a contract built from the models
    has no positions, so the error names the contract and the key.
    """
    from ._contract_model import Contract
    from ._errors import ContractError
    from ._schema import model_problem
    from ._validate import registered_name

    if not isinstance(module_name, str) or not module_name or module_name.startswith("."):
        raise ValueError(f"register() needs an absolute module name, not {module_name!r}")
    if not isinstance(contract, Contract):
        raise TypeError(f"register() needs an importspy_hook.Contract, not {type(contract).__name__}")
    problem = model_problem(contract)
    if problem is not None:
        raise ContractError(registered_name(module_name, contract), 0, 0, *problem)
    REGISTRY[module_name] = contract


def unregister(module_name: str) -> None:
    """Stop guarding ``module_name`` with a registered contract (no error if it was not)."""
    REGISTRY.pop(module_name, None)
