"""The loader wrapper put on a spec whose module has a contract (§4).

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
"""

import sys

from ._finder import Sidecar

TYPE_CHECKING = False  # not ``typing``/``importlib.machinery``: both are imports on the import path
if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

__all__ = ["GuardedLoader", "unwrap"]


_guard_import: "Any" = None  # ``_guard.guard_import``, imported on the first contracted import


def unwrap(loader: "Any") -> "Any":
    """The real loader under any number of wrappers (defensive: specs are never wrapped twice)."""
    while isinstance(loader, GuardedLoader):
        loader = loader.real_loader
    return loader


class GuardedLoader:
    """Checks the importing context against the contract, then lets the real loader do the work."""

    # Slots: a wrapper is made for every contracted import; everything else is forwarded.
    __slots__ = ("_checked", "_finder", "_name", "real_loader", "sidecar")

    def __init__(self, real_loader: "Any", sidecar: "Sidecar | object", finder: "Any", name: "str") -> "None":
        self.real_loader = unwrap(real_loader) if real_loader.__class__ is GuardedLoader else real_loader
        self.sidecar = sidecar
        self._finder = finder
        self._name = name
        self._checked = False

    def __getattr__(self, attribute: "str") -> "Any":
        # Only called for what this class does not define: forward the rest of the protocol.
        if attribute == "real_loader":  # not yet set (copy/pickle of a half-built object)
            raise AttributeError(attribute)
        return getattr(self.real_loader, attribute)

    def __repr__(self) -> "str":
        return f"<importspy_hook guard of {self.real_loader!r}>"

    def create_module(self, spec: "ModuleSpec") -> "ModuleType | None":
        # The check, inline (this runs on every contracted import): the frame handed over is the
        # import machinery's, where the walk up to the caller starts.
        self._checked = True
        guard_import = _guard_import if _guard_import is not None else _load_guard()
        error = guard_import(spec.name, self.sidecar, self._finder, sys._getframe(1))
        if error is not None:
            # Raised here, outside any except block and with a fresh traceback, so what the user sees
            # ends at their import statement and the import machinery, not deep inside the hook.
            raise error.with_traceback(None)
        real = self.real_loader
        if spec.loader is self and hasattr(real, "exec_module"):  # type: ignore[comparison-overlap]
            # Admitted: hand the spec back to the real loader now. The import system reads
            # ``spec.loader`` again after this call, to set ``module.__loader__`` and to run
            # ``exec_module``, so the module only ever sees the real loader and the wrapper's
            # ``exec_module`` (with its two restorations) is skipped on first imports.
            spec.loader = real
        create = getattr(real, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: "ModuleType") -> "None":
        # First put the real loader back on the module: a refused reload leaves the old module in
        # sys.modules, and it must not keep this wrapper as its __loader__.
        self._restore(module)
        if not self._checked:  # importlib.reload: no create_module call before this one
            self._check(module.__name__)
        try:
            self.real_loader.exec_module(module)
        finally:
            self._restore(module)

    def load_module(self, fullname: "str") -> "ModuleType":
        """Legacy protocol, for real loaders that only implement ``load_module``."""
        self._check(fullname)
        module: ModuleType = self.real_loader.load_module(fullname)
        self._restore(module)
        return module

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

    def _check(self, name: "str") -> "None":
        self._checked = True
        guard_import = _guard_import if _guard_import is not None else _load_guard()
        error = guard_import(name, self.sidecar, self._finder, sys._getframe(2))
        if error is not None:
            raise error.with_traceback(None)  # see create_module


def _load_guard() -> "Any":
    """``_guard.guard_import``, imported on the first contracted import and kept."""
    global _guard_import
    from ._guard import guard_import

    _guard_import = guard_import
    return guard_import
