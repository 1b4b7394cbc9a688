"""Everything that runs at interpreter start-up and on every import: mode, finder, scope, sidecars.

Why one module: this is what the start-up line imports in every process of the environment, and
each module imported at start-up costs ≈ 0.1-0.2 ms (find, read the ``.pyc``, unmarshal, run), so the
start-up path is the package ``__init__`` plus this file and nothing else — standard library only,
no ``typing``, no ``from __future__`` (both are imports too). The file is in four sections, one per
concern, in the order an import meets them:

1. **Mode** (§3): ``IMPORTSPY_HOOK`` → enforce / warn / off, and ``startup()``, the entry point of
   ``importspy_hook.pth`` and of the PEP 829 ``importspy_hook.start``.
2. **Scope** (§4 "Targets skipped"): which imports are never looked at, decided from the name alone.
3. **Sidecar discovery** (§4 "Sidecar location"): ``foo.py``/``foo.pyc``/``foo.cpython-311-….so`` →
   ``foo.contract.yml`` through a per-directory listing cache.
4. **The finder** (§4): asks the finders after it, returns their spec, and swaps in a
   ``GuardedLoader`` (``_loader.py``, imported lazily) only when a contract applies.

Installing and removing the finder by hand (``install``/``uninstall``) is in ``_activation.py``.
"""

import os
import sys
from _thread import get_ident

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs ~8 ms at start-up
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ENFORCE",
    "REGISTRY",
    "SIDECAR_SUFFIXES",
    "WARN",
    "ContractFinder",
    "Scope",
    "Sidecar",
    "active_finder",
    "clear_sidecar_cache",
    "find_sidecar",
    "module_stem",
    "parse_mode",
    "startup",
]

REGISTRY: "dict[str, object]" = {}
"""Module name -> ``Contract`` registered from Python (``importspy_hook.register``).

Consulted on every import before deciding that a module without a sidecar needs no check.
"""


# ---------------------------------------------------------------------------------------------
# 1. Mode
# ---------------------------------------------------------------------------------------------

ENFORCE = "enforce"
WARN = "warn"
_ON = frozenset({"", "1", "on", "true", "enforce"})
_OFF = frozenset({"0", "off", "false", "no"})
_started = False


def parse_mode(value: "str | None") -> "tuple[str | None, str | None]":
    """Map an ``IMPORTSPY_HOOK`` value to ``(mode, warning)``; mode ``None`` means "off".

    Unknown values enforce, with a warning: a typo must never switch protection off silently.
    """
    text = (value or "").strip().lower()
    if text in _OFF:
        return None, None
    if text == WARN:
        return WARN, None
    if text in _ON:
        return ENFORCE, None
    return ENFORCE, (
        f"importspy-hook: unknown IMPORTSPY_HOOK value {value!r}; expected one of "
        "1/on/true/enforce, warn, 0/off/false/no; enforcing contracts"
    )


def active_finder() -> "ContractFinder | None":
    """The importspy-hook finder currently on ``sys.meta_path``, if any."""
    for finder in sys.meta_path:
        if getattr(finder, "_importspy_hook_finder", False):
            return finder  # type: ignore[return-value]
    return None


def startup() -> "None":
    """Entry point of the start-up files (``.pth`` import line and PEP 829 ``.start``).

    Reads ``IMPORTSPY_HOOK`` once; never raises.
    """
    global _started
    if _started:  # site may process a venv's .pth files twice: act (and warn) once
        return
    _started = True
    try:
        mode, warning = parse_mode(os.environ.get("IMPORTSPY_HOOK"))
        if warning:
            sys.stderr.write(warning + "\n")
        if mode is None or active_finder() is not None:
            return
        finder = ContractFinder(mode)
        sys.meta_path.insert(0, finder)
        if os.environ.get("IMPORTSPY_HOOK_AUDIT", "").strip().lower() in ("1", "on", "true", "yes"):
            from ._audit import install_audit_hook  # opt-in tamper evidence; not on the default path

            install_audit_hook(finder)
    except Exception as exc:  # fail open: the interpreter must keep working
        try:
            sys.stderr.write(f"importspy-hook: not active ({type(exc).__name__}: {exc})\n")
        except Exception:
            pass


# ---------------------------------------------------------------------------------------------
# 2. Scope. Nothing here touches the file system; the answer is cached per module name, so the
#    per-import cost is one dict lookup. Exclusion patterns (``fnmatch`` on the full module name)
#    are only compiled when ``IMPORTSPY_HOOK_EXCLUDE`` is set, so the common case never imports
#    ``fnmatch``/``re``.
# ---------------------------------------------------------------------------------------------

OWN_TOP_LEVEL = frozenset(
    {
        "importspy_hook",
        # what the hook imports for its own work: guarding these would recurse into the hook
        "attr",
        "attrs",
        "ruamel",
        "_ruamel_yaml",
        "structlog",
        "packaging",
        "typing_extensions",
    }
)


def _standard_top_level() -> "frozenset[str]":
    names = set(sys.builtin_module_names)
    names.update(getattr(sys, "stdlib_module_names", ()))  # 3.10+; always present on supported versions
    names.update({"_frozen_importlib", "_frozen_importlib_external", "__future__"})
    return frozenset(names)


class Scope:
    """Name-based decision "skip this import" with a per-name cache.

    The fixed skip set is keyed by top-level name. Exclusion patterns (``fnmatch``, on the full
    module name, comma-separated) are only compiled when the variable is set, so that the common
    case never imports ``fnmatch``/``re``.
    """

    __slots__ = ("_patterns", "_skip_top", "verdicts")

    def __init__(self, exclude: "str | None" = None) -> "None":
        self._skip_top = _standard_top_level() | OWN_TOP_LEVEL
        self._patterns = tuple(p.strip() for p in (exclude or "").split(",") if p.strip())
        self.verdicts: dict[str, bool] = {}
        """Name -> skip? The finder reads this dict directly on every import."""

    @property
    def patterns(self) -> "tuple[str, ...]":
        return self._patterns

    def skips(self, fullname: "str") -> "bool":
        """True when ``fullname`` is never guarded (no file-system work needed to know it)."""
        verdict = self.verdicts.get(fullname)
        if verdict is None:
            verdict = self._decide(fullname)
            self.verdicts[fullname] = verdict
        return verdict

    def _decide(self, fullname: "str") -> "bool":
        if fullname.partition(".")[0] in self._skip_top:
            return True
        if self._patterns:
            from fnmatch import fnmatchcase

            return any(fnmatchcase(fullname, pattern) for pattern in self._patterns)
        return False


# ---------------------------------------------------------------------------------------------
# 3. Sidecar discovery. Most imports come from directories with no sidecar, so each directory is
#    listed once and only the stems that have a sidecar are remembered: a module whose directory
#    has none costs one dict lookup, no string work and no ``stat``. ``importlib.invalidate_caches()``
#    drops the listings (that is how a sidecar created at run time becomes visible). Directories that
#    cannot be listed (a zip archive on ``sys.path``, an execute-only directory) are probed through
#    the module's own loader (``get_data``), which is also how an archived sidecar is read.
# ---------------------------------------------------------------------------------------------

SIDECAR_SUFFIXES = (".contract.yml", ".contract.yaml")

# directory -> {module stem: sidecar file name}; _PROBE marks directories that cannot be listed.
_listings: "dict[str, dict[str, str] | None]" = {}
_PROBE = None
_SEP = os.sep
_module_suffixes: "tuple[str, ...]" = ()


class Sidecar:
    """A sidecar that was found: its path and, when it had to be read through a loader, its bytes."""

    __slots__ = ("data", "path")

    def __init__(self, path: "str", data: "bytes | None" = None) -> "None":
        self.path = path
        self.data = data

    def __repr__(self) -> "str":
        return f"Sidecar({self.path!r})"


def clear_sidecar_cache() -> "None":
    """Forget every directory listing (called from ``importlib.invalidate_caches()``)."""
    _listings.clear()


def _suffixes() -> "tuple[str, ...]":
    """Module file suffixes, longest first, so that ``.cpython-311-x86_64-linux-gnu.so`` wins over ``.so``."""
    global _module_suffixes
    if not _module_suffixes:
        # ``_imp`` is the builtin behind ``importlib.machinery.EXTENSION_SUFFIXES`` and is always
        # loaded; importing ``importlib.machinery`` here cost ~0.4 ms on the first guarded import.
        import _imp

        every = {*_imp.extension_suffixes(), ".py", ".pyc", ".pyw"}
        _module_suffixes = tuple(sorted(every, key=len, reverse=True))
    return _module_suffixes


def module_stem(filename: "str") -> "str":
    """``foo.cpython-311-x86_64-linux-gnu.so`` -> ``foo``; unknown suffix -> text before the last dot."""
    for suffix in _suffixes():
        if filename.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)]
    return filename.rpartition(".")[0] or filename


def _list(directory: "str") -> "dict[str, str] | None":
    names = _names_known_to_path_finder(directory)
    if names is None:
        try:
            names = os.listdir(directory)
        except OSError:
            return _PROBE
    found: dict[str, str] = {}
    preferred, alternative = SIDECAR_SUFFIXES
    for name in names:
        if ".contract.y" not in name:
            continue
        # When both exist, ``.contract.yml`` is the one used, whatever order the names come in.
        if name.endswith(preferred):
            found[name[: -len(preferred)]] = name
        elif name.endswith(alternative):
            found.setdefault(name[: -len(alternative)], name)
    found.pop("", None)  # a file named just ".contract.yml" belongs to no module
    return found


def _names_known_to_path_finder(directory: "str") -> "Any":
    """The directory listing the standard ``FileFinder`` already holds, if it has one.

    The module being imported was just found in ``directory`` by a ``FileFinder``, which lists each
    directory once and keeps the names in its private ``_path_cache`` set (CPython since 3.3,
    refreshed by the finder itself when the directory's mtime changes). Reading it saves one
    ``listdir`` per directory, which is most of what a first import from a new package costs
    this hook. Anything unexpected (no finder for that path, another finder type, an empty or
    missing cache, a case-folding platform where the set holds lower-cased names) falls back to
    ``os.listdir``.
    """
    finder = sys.path_importer_cache.get(directory)
    names = getattr(finder, "_path_cache", None)
    if names.__class__ is not set or not names or sys.platform.startswith(("win", "cygwin", "darwin")):
        return None
    return names


def find_sidecar(origin: "str", loader: "Any") -> "Sidecar | None":
    """The sidecar of the module whose file is ``origin``, or None. Never raises for a missing file."""
    directory, _, filename = origin.rpartition(os.sep)
    if os.altsep and os.altsep in filename:
        directory, _, filename = origin.rpartition(os.altsep)
    try:
        stems = _listings[directory]
    except KeyError:
        stems = _listings[directory] = _list(directory)
    if stems is not None:
        if not stems:
            return None
        name = stems.get(module_stem(filename))
        return None if name is None else Sidecar(directory + os.sep + name)
    return _probe(directory, module_stem(filename), loader)


def _probe(directory: "str", stem: "str", loader: "Any") -> "Sidecar | None":
    """Look for the sidecar through the loader: zip archives and unlistable directories."""
    get_data = getattr(loader, "get_data", None)
    if get_data is None:
        return None
    for suffix in SIDECAR_SUFFIXES:
        path = directory + os.sep + stem + suffix
        try:
            data = get_data(path)
        except OSError:
            continue
        return Sidecar(path, bytes(data))
    return None


# ---------------------------------------------------------------------------------------------
# 4. The finder.
#
# Invariants and the reasons for them:
# - ``find_spec`` never raises an error of its own: ``importlib.util.find_spec`` probes (and
#   ``pkgutil``) must keep working on refused modules. Exceptions raised by the other finders are
#   theirs and propagate unchanged, as they would without the hook.
# - Never ``importlib.util.find_spec``/``import_module`` from in here: those take module locks and
#   can deadlock across threads. Only the other finders' ``find_spec`` methods are called, in
#   ``sys.meta_path`` order, and *their* spec object is returned (returning None instead would make
#   the import system ask them all a second time).
# - A per-thread reentrancy guard: the hook's own lazy imports (``_loader``, the contract engine)
#   run inside an import and come back through this finder; they are let through untouched.
# ---------------------------------------------------------------------------------------------


class ContractFinder:
    """``sys.meta_path`` entry of importspy-hook; ``mode`` is ``"enforce"`` or ``"warn"``."""

    _importspy_hook_finder = True  # marker used to find it again without importing this module

    def __init__(self, mode: "str" = "enforce", exclude: "str | None" = None) -> "None":
        self.mode = mode
        self.scope = Scope(os.environ.get("IMPORTSPY_HOOK_EXCLUDE") if exclude is None else exclude)
        self._verdicts = self.scope.verdicts  # the scope's per-name cache, read directly below
        self._busy: set[int] = set()
        # ``find_spec`` of the finders after this one, and the ``sys.meta_path`` it was taken from:
        # rebuilt only when ``sys.meta_path`` changes, instead of two ``getattr`` per finder per import.
        self._later: tuple[Any, ...] = ()
        self._seen: Any = None

    def __repr__(self) -> "str":
        return f"<importspy_hook.ContractFinder mode={self.mode!r}>"

    # -- reentrancy -------------------------------------------------------------------------
    def enter(self) -> "bool":
        """Mark this thread busy; False if it already was (then the caller must not proceed)."""
        ident = get_ident()
        if ident in self._busy:
            return False
        self._busy.add(ident)
        return True

    def leave(self) -> "None":
        self._busy.discard(get_ident())

    # -- the finder protocol ----------------------------------------------------------------
    def find_spec(self, fullname: "str", path: "Any" = None, target: "Any" = None) -> "Any":
        # Written for the common case, an import with no contract: one dict lookup for the name,
        # the other finders' own work, one dict lookup for the directory. Keep it that way.
        skip = self._verdicts.get(fullname)
        if skip is None:
            skip = self.scope.skips(fullname)
        if skip and fullname not in REGISTRY:
            return None
        meta_path = sys.meta_path
        if meta_path != self._seen:
            self._refresh(meta_path)
        for find_spec in self._later:
            spec = find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None:
            return spec  # a namespace package: no file, no contract
        if not REGISTRY:
            origin = spec.origin
            if origin.__class__ is str:
                stems = _listings.get(origin.rpartition(_SEP)[0])
                if stems is not None and not stems:
                    return spec  # its directory is listed and holds no sidecar at all
        # The slow path: look for the sidecar, wrap the loader. The hook's own lazy imports come
        # back through here while this thread is busy; they are let through unguarded.
        if not self.enter():
            return spec
        try:
            self._guard(spec)
        except Exception as exc:  # a bug of ours must not break an unrelated import
            _internal_error(fullname, exc)
        finally:
            self.leave()
        return spec

    def invalidate_caches(self) -> "None":
        """``importlib.invalidate_caches()``: new sidecars become visible, as new modules do."""
        clear_sidecar_cache()

    # -- internals --------------------------------------------------------------------------
    def _refresh(self, meta_path: "Any") -> "None":
        """Recompute the finders to ask after this one, after ``sys.meta_path`` changed."""
        try:
            position = meta_path.index(self)
        except ValueError:  # called directly, not from the import system: ask everyone
            following = list(meta_path)
        else:
            if position and self._move_to_front(meta_path, position):
                position = 0
            following = list(meta_path[position + 1 :])
        later = []
        for finder in following:
            if getattr(finder, "_importspy_hook_finder", False):
                continue
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is not None:
                later.append(find_spec)
        # ``_later`` before ``_seen``: a thread that sees the new ``_seen`` also sees the new ``_later``.
        self._later = tuple(later)
        self._seen = meta_path[:]

    @staticmethod
    def _move_to_front(meta_path: "list[Any]", position: "int") -> "bool":
        """Take back the first place after another tool inserted a finder in front of this one.

        pytest puts its assertion rewriter at ``sys.meta_path[0]`` after start-up; a module it
        serves (a test helper registered for rewriting, say) would then never reach this finder,
        and its contract would go unchecked. Moving back in front keeps every finder in the same
        relative order, and this finder asks the others in that order, so their behaviour is
        unchanged. Safe during the import system's own iteration over ``sys.meta_path``: this
        finder sits at ``position``, the iteration's next index is ``position + 1``, and removing
        it from ``position`` and inserting it at 0 leaves every entry after ``position`` at its
        index, so no finder is skipped or asked twice for the current import.
        """
        try:
            finder = meta_path.pop(position)
            meta_path.insert(0, finder)
        except (IndexError, TypeError, AttributeError):  # meta_path is not a plain list
            return False
        return True

    def _guard(self, spec: "Any") -> "None":
        registered = REGISTRY.get(spec.name)
        sidecar: object | None = registered
        if sidecar is None:
            origin = spec.origin
            if not spec.has_location or not isinstance(origin, str):
                return
            sidecar = find_sidecar(origin, spec.loader)
            if sidecar is None:
                return
        from ._loader import GuardedLoader

        spec.loader = GuardedLoader(spec.loader, sidecar, self, spec.name)


def _internal_error(fullname: "str", exc: "BaseException") -> "None":
    try:
        from ._log import emit

        emit("warning", "hook.internal_error", target=fullname, error=f"{type(exc).__name__}: {exc}")
    except Exception:
        pass
