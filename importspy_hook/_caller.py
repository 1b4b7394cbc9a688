"""Who is importing: the caller of §5, found by walking frames, only when a sidecar exists.

The frame walk starts at the hook's own frame and climbs until it reaches code that is not import
machinery: frames of ``importlib`` (frozen ``importlib._bootstrap`` included), of importspy_hook,
of any other standard-library module (so ``importlib.import_module``, ``importlib.metadata`` entry
points, ``runpy`` and ``pickle`` resolve to the application that called them), and of modules matching
``IMPORTSPY_HOOK_LOADERS`` (plugin loaders such as ``pluggy.*``) are passed over. ``sys._getframe`` and
``f_back`` are used instead of ``inspect.stack()``, which would read source files for every frame.
"""

import os
import sys
from _frozen_importlib import ModuleSpec  # importlib.machinery's, without importing it

TYPE_CHECKING = False  # not ``typing``/``types``: this module is on the contracted-import path
if TYPE_CHECKING:
    from types import FrameType, ModuleType

__all__ = ["Caller", "find_caller", "is_internal"]


class Caller:
    """The module whose code ran the import.

    ``name`` is its module name (``"__main__"`` for a script; ``module_name`` resolves that to the
    real name under ``python -m``), ``file`` the path of its source (None when there is none),
    ``module`` the live module object, which may be only partly initialised (the import statement
    may be its first line).

    ``module_name`` is worked out once, here: the guard and the verdict cache read it on every
    contracted import, and a property would run Python code each time. (A ``__main__`` module's
    ``__spec__`` is set before its code runs, so it is known by the time it imports anything.)
    """

    __slots__ = ("file", "module", "module_name", "name")

    def __init__(self, name: "str | None", file: "str | None", module: "ModuleType | None") -> "None":
        self.name = name
        self.file = file
        self.module = module
        self.module_name = _importable_name(name, module)

    def __repr__(self) -> "str":
        return f"Caller(name={self.name!r}, file={self.file!r})"


_NAMESPACE = type(sys.implementation)  # types.SimpleNamespace, without importing types


def _importable_name(name: "str | None", module: "ModuleType | None") -> "str | None":
    """The importable name: ``pkg.mod`` for ``python -m pkg.mod`` rather than ``__main__``.

    ``__mp_main__`` is the application's main module again, run by a spawn or forkserver
    ``multiprocessing`` child: it answers to the name the parent's imports were judged under
    (``pkg.mod``, or ``__main__`` for a script), so a contract that admits the host in the parent
    admits it in its pool — ``importers`` patterns see both that name and ``__mp_main__``.
    """
    if (name == "__main__" or name == "__mp_main__") and module is not None:
        namespace = _module_dict(module)  # raw: a module subclass's __getattribute__ is host code
        spec = namespace.get("__spec__") if type(namespace) is dict else None
        # Exact types whose attributes are plain instance data (a spec of the host's making is not asked).
        kind = type(spec)
        spec_name = getattr(spec, "name", None) if kind is ModuleSpec or kind is _NAMESPACE else None
        if type(spec_name) is str and spec_name:
            return spec_name
    if name == "__mp_main__":
        return "__main__"
    return name


_STANDARD: "frozenset[str] | None" = None
_OWN = frozenset(
    {"importspy_hook", "_importspy_hook_startup", "_frozen_importlib", "_frozen_importlib_external"}
)


def _standard() -> "frozenset[str]":
    global _STANDARD
    if _STANDARD is None:
        names = set(getattr(sys, "stdlib_module_names", ()))
        names.update(sys.builtin_module_names)
        names.update(_OWN)
        _STANDARD = frozenset(names)
    return _STANDARD


# The standard library's directory (where ``os`` was loaded from; the base interpreter's, in a venv),
# as spelled there and with every symbolic link resolved.
_LIBRARY = os.path.join(os.path.dirname(os.path.abspath(getattr(os, "__file__", None) or os.sep)), "")
_REAL_LIBRARY = os.path.join(os.path.realpath(_LIBRARY), "")


def _really_standard(top: "str", frame: "FrameType") -> "bool":
    """Whether a frame whose module has a standard-library top-level name runs the standard library's
    code: frozen or built in (a ``<...>`` file name), or a file of the library's own directory, not of
    a ``site-packages`` below it. An application package that happens to share a name (a Django app
    ``calendar``, a ``secrets.py`` of its own) is application code, and may be the caller (§5)."""
    if top in _OWN:
        return True
    filename = frame.f_code.co_filename
    if filename.startswith("<"):
        return True
    if filename.startswith(_LIBRARY):
        below = filename[len(_LIBRARY) :]
    else:
        # Another spelling of the same files (a symlinked or resolved sys.path entry, /lib for
        # /usr/lib) is still the library: a text prefix alone would make its frame the caller. Rare,
        # so the few lstat calls of realpath are paid only here.
        real = os.path.realpath(filename)
        if not real.startswith(_REAL_LIBRARY):
            return False
        below = real[len(_REAL_LIBRARY) :]
    return not below.startswith(("site-packages", "dist-packages"))


_PATTERNS: "list[tuple[str, ...]]" = []


def _loader_patterns() -> "tuple[str, ...]":
    """``IMPORTSPY_HOOK_LOADERS``, read once per process like ``IMPORTSPY_HOOK_EXCLUDE``: reading
    ``os.environ`` costs a microsecond, and this runs on every contracted import."""
    if not _PATTERNS:
        raw = os.environ.get("IMPORTSPY_HOOK_LOADERS", "")
        _PATTERNS.append(tuple(p.strip() for p in raw.split(",") if p.strip()))
    return _PATTERNS[0]


def _skipped(name: "str", patterns: "tuple[str, ...]") -> "bool":
    if patterns:
        from fnmatch import fnmatchcase

        return any(fnmatchcase(name, p) for p in patterns)
    return False


def _bootstrap_globals() -> "dict[str, object]":
    """The globals of the import system's frozen ``_bootstrap``: every frame between a loader and
    the import statement but the last runs there, so one identity test passes each of them over
    (the same answer the name test gives, without reading and splitting ``__name__``)."""
    import _frozen_importlib  # the interpreter's own importlib: loaded before any user code

    found: dict[str, object] = vars(_frozen_importlib)
    _BOOTSTRAP.append(found)
    return found


_BOOTSTRAP: "list[dict[str, object]]" = []


def find_caller(start: "FrameType | None" = None) -> "Caller | None":
    """The first frame above ``start`` (default: the caller of this function) that is application code.

    Returns None when there is none (import from C, or only standard-library frames), or when the
    importing code has no module file at all (``python -c``, the REPL): such a caller cannot be
    identified, and §5 says structural requirements then fail clearly. Code run by ``exec`` is its
    globals' module (``exec(source)`` in a module is that module); globals that name no module
    (``exec(source, {})``) are passed over, and the code that ran it is the caller: it chose to.
    """
    frame: FrameType | None = start if start is not None else sys._getframe(1)
    origin = frame
    bootstrap = _BOOTSTRAP[0] if _BOOTSTRAP else _bootstrap_globals()
    patterns = _PATTERNS[0] if _PATTERNS else _loader_patterns()
    standard = _STANDARD if _STANDARD is not None else _standard()
    while frame is not None:
        f_globals = frame.f_globals
        if f_globals is not bootstrap:
            name = f_globals.get("__name__")
            # The other frames (the hook, importlib proper) are decided inline: one set lookup each.
            if (
                isinstance(name, str)
                and ((top := name.partition(".")[0]) not in standard or not _really_standard(top, frame))
                and (not patterns or not _skipped(name, patterns))
            ):
                # None only for a file-less ``__main__`` (``python -c``), such as the bootstrap
                # line of a multiprocessing child: the caller may then be its main module.
                return _make_caller(name, frame) or _main_of_worker(origin, frame)
        frame = frame.f_back
    return _main_of_worker(origin, None)


_SPAWN = "multiprocessing.spawn"


def _main_of_worker(frame: "FrameType | None", stop: "FrameType | None") -> "Caller | None":
    """§5: the application's main module, for an import made by a multiprocessing child's machinery.

    Called only when the walk found no application frame (every frame from ``frame`` up to ``stop``
    is standard library or a plugin loader). A child started by spawn or forkserver runs its work
    inside ``multiprocessing.spawn._main`` (forkserver children too, through ``_serve_one``): it
    unpickles the process object or the pool's work items there, importing the modules they name
    (``plugin.func`` imports ``plugin``). The parent's application sent that work, and the child
    has re-run its main script as ``__mp_main__`` beforehand, so that module is the caller — the
    one the parent's own imports were judged against.

    Two conditions, both required. The ``_main`` frame of the real ``multiprocessing.spawn``
    module (its globals are that module's namespace, not merely named after it) must be on *this*
    thread's stack below the import with nothing but standard-library frames in between: a thread
    of the child, or a ``python -c`` that never went through multiprocessing, still has no caller.
    And ``__mp_main__`` must be in ``sys.modules``: without it (the parent was ``python -c`` or
    the REPL) there is no main module to judge. Nothing is imported here: a process that has not
    imported ``multiprocessing.spawn`` cannot be running in it.
    """
    modules = sys.modules
    if "__mp_main__" not in modules or _SPAWN not in modules:
        return None  # the usual case of a missing caller: two dict lookups
    spawn_globals = _module_dict(modules[_SPAWN])
    while frame is not None and frame is not stop:
        if frame.f_globals is spawn_globals and frame.f_code.co_name == "_main":
            main = modules["__mp_main__"]
            if not issubclass(type(main), type(sys)):
                return None  # not a module: nothing of it is read
            namespace = _module_dict(main)  # raw: a module subclass's __getattribute__ is host code
            file = namespace.get("__file__") if type(namespace) is dict else None
            if not isinstance(file, str) or not file:
                return None  # a main module without a source file: nothing to read
            return Caller("__mp_main__", _ABSOLUTE.get(file) or _absolute(file), main)
        frame = frame.f_back
    return None


def _make_caller(name: "str", frame: "FrameType") -> "Caller | None":
    f_globals = frame.f_globals
    file = f_globals.get("__file__")
    module = sys.modules.get(name)
    # The same few modules import over and over: their Caller is kept, keyed by the identity of
    # their globals, and reused only while everything it was made from is still what it was —
    # the module in sys.modules and its ``__file__`` (the name was just read from those globals).
    known = _CALLERS.get(id(f_globals))
    if known is not None and known[0] is f_globals and known[1] is module and known[2] is file:
        caller: Caller = known[3]
        if caller.name == name:
            return caller
    if module is not None and _module_dict(module) is not f_globals:
        # A frame whose globals are not that module's (exec with custom globals), or an object that
        # replaced the module in sys.modules (a proxy: reading its attributes would run its code, §5).
        module = None
    path = file
    if not isinstance(path, str):
        filename = frame.f_code.co_filename
        path = None if filename.startswith("<") else filename
    if path is None and name == "__main__":
        return None  # python -c / REPL: no module to read
    absolute = (_ABSOLUTE.get(path) or _absolute(path)) if path else None
    caller = Caller(name, absolute, module)
    if module is not None and isinstance(file, str) and file in _ABSOLUTE:
        # Only a module's own globals (kept alive by the module anyway), with an absolute __file__
        # (a relative one depends on the working directory, which may change).
        if len(_CALLERS) >= 256:
            _CALLERS.clear()
        _CALLERS[id(f_globals)] = (f_globals, module, file, caller)
    return caller


_CALLERS: "dict[int, tuple[dict[str, object], ModuleType, str, Caller]]" = {}

_MODULE_DICT = vars(type(sys))["__dict__"].__get__  # ModuleType's own descriptor: never intercepted


def _module_dict(module: "object") -> "object":
    """The raw ``__dict__`` of a module, None for anything else (no ``getattr`` on it)."""
    try:
        return _MODULE_DICT(module)
    except TypeError:
        return None


_ABSOLUTE: "dict[str, str]" = {}


def _absolute(file: "str") -> "str":
    """``os.path.abspath``, remembered: the same few callers import over and over. (A relative
    ``__file__`` is relative to the working directory, which a process may change: only absolute
    paths are remembered.)"""
    found = _ABSOLUTE.get(file)
    if found is None:
        found = os.path.abspath(file)
        if os.path.isabs(file) and len(_ABSOLUTE) < 4096:
            _ABSOLUTE[file] = found
    return found


def is_internal(caller: "Caller | None", target: "str", sidecar: "str | None") -> "bool":
    """§4 internal imports: ``pkg.a`` importing ``pkg.b`` is not evaluated — when, and only when, both
    belong to the same top-level *regular* package installed in the same place.

    A namespace package is shared by distributions that know nothing of each other (``acme.host``
    from one ``sys.path`` entry loading ``acme.plugins.x`` from another, the PyPA plugin layout), so a
    shared first name proves nothing: the top-level package directory of both must be the same and
    hold an ``__init__``. ``sidecar`` is the target's sidecar path or its own file (both in the
    target's directory, under its stem), or None when neither is known: then nothing proves the two
    are one package, and the import is checked (a contract registered from Python for a module of a
    pkgutil-style namespace, whose every portion has an ``__init__``, is the case in point).
    """
    if caller is None or caller.module_name is None or caller.file is None:
        return False
    top = target.partition(".")[0]
    if caller.module_name.partition(".")[0] != top:
        return False
    caller_dir = os.path.dirname(caller.file)
    caller_top = _top_directory(
        caller.module_name, caller_dir, os.path.basename(caller.file).startswith("__init__.")
    )
    if caller_top is None or sidecar is None or not _regular_package(caller_top):
        return False
    target_dir = os.path.dirname(sidecar)
    target_top = _top_directory(target, target_dir, os.path.basename(sidecar).startswith("__init__."))
    return target_top is not None and os.path.normcase(target_top) == os.path.normcase(caller_top)


def _top_directory(name: "str", directory: "str", is_package: "bool") -> "str | None":
    """The directory of ``name``'s top-level package, given the directory of its file."""
    levels = name.count(".") if is_package else name.count(".") - 1
    if levels < 0:
        return None  # a top-level plain module belongs to no package
    for _ in range(levels):
        directory = os.path.dirname(directory)
    return directory


def _regular_package(directory: "str") -> "bool":
    return any(os.path.isfile(os.path.join(directory, "__init__" + suffix)) for suffix in (".py", ".pyc"))
