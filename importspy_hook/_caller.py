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

TYPE_CHECKING = False  # not ``typing``/``types``: this module is on the contracted-import path
if TYPE_CHECKING:
    from types import FrameType, ModuleType

__all__ = ["Caller", "find_caller", "same_top_level"]


class Caller:
    """The module whose code ran the import.

    ``name`` is its module name (``"__main__"`` for a script; ``module_name`` resolves that to the
    real name under ``python -m``), ``file`` the path of its source (None when there is none),
    ``module`` the live module object, which may be only partly initialised (the import statement
    may be its first line).
    """

    __slots__ = ("file", "module", "name")

    def __init__(self, name: "str | None", file: "str | None", module: "ModuleType | None") -> "None":
        self.name = name
        self.file = file
        self.module = module

    @property
    def module_name(self) -> "str | None":
        """The importable name: ``pkg.mod`` for ``python -m pkg.mod`` rather than ``__main__``."""
        if self.name == "__main__" and self.module is not None:
            spec = getattr(self.module, "__spec__", None)
            spec_name = getattr(spec, "name", None)
            if isinstance(spec_name, str) and spec_name:
                return spec_name
        return self.name

    def __repr__(self) -> "str":
        return f"Caller(name={self.name!r}, file={self.file!r})"


_STANDARD: "frozenset[str] | None" = None


def _standard() -> "frozenset[str]":
    global _STANDARD
    if _STANDARD is None:
        names = set(getattr(sys, "stdlib_module_names", ()))
        names.update(sys.builtin_module_names)
        names.update({"importspy_hook", "_frozen_importlib", "_frozen_importlib_external"})
        _STANDARD = frozenset(names)
    return _STANDARD


_PATTERNS: "list[tuple[str, ...]]" = []


def _loader_patterns() -> "tuple[str, ...]":
    """``IMPORTSPY_HOOK_LOADERS``, read once per process like ``IMPORTSPY_HOOK_EXCLUDE``: reading
    ``os.environ`` costs a microsecond, and this runs on every contracted import."""
    if not _PATTERNS:
        raw = os.environ.get("IMPORTSPY_HOOK_LOADERS", "")
        _PATTERNS.append(tuple(p.strip() for p in raw.split(",") if p.strip()))
    return _PATTERNS[0]


def _skipped(name: "str", patterns: "tuple[str, ...]") -> "bool":
    if name.partition(".")[0] in _standard():
        return True
    if patterns:
        from fnmatch import fnmatchcase

        return any(fnmatchcase(name, p) for p in patterns)
    return False


def find_caller(start: "FrameType | None" = None) -> "Caller | None":
    """The first frame above ``start`` (default: the caller of this function) that is application code.

    Returns None when there is none (import from C, or only standard-library frames), or when the
    importing code has no module file at all (``python -c``, the REPL, ``exec`` of a string): such a
    caller cannot be identified, and §5 says structural requirements then fail clearly.
    """
    frame: FrameType | None = start if start is not None else sys._getframe(1)
    patterns = _PATTERNS[0] if _PATTERNS else _loader_patterns()
    standard = _STANDARD if _STANDARD is not None else _standard()
    while frame is not None:
        name = frame.f_globals.get("__name__")
        # The common frames (import machinery, the hook) are decided inline: one set lookup each.
        if (
            isinstance(name, str)
            and name.partition(".")[0] not in standard
            and (not patterns or not _skipped(name, patterns))
        ):
            return _make_caller(name, frame)
        frame = frame.f_back
    return None


def _make_caller(name: "str", frame: "FrameType") -> "Caller | None":
    module = sys.modules.get(name)
    if module is not None and getattr(module, "__dict__", None) is not frame.f_globals:
        module = None  # a frame whose globals are not that module's (exec with custom globals)
    file = frame.f_globals.get("__file__")
    if not isinstance(file, str):
        filename = frame.f_code.co_filename
        file = None if filename.startswith("<") else filename
    if file is None and name == "__main__":
        return None  # python -c / REPL: no module to read
    return Caller(name, (_ABSOLUTE.get(file) or _absolute(file)) if file else None, module)


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


def same_top_level(caller: "Caller | None", target: "str") -> "bool":
    """§4 internal imports: ``pkg.a`` importing ``pkg.b`` is not evaluated."""
    if caller is None:
        return False
    name = caller.module_name
    return name is not None and name.partition(".")[0] == target.partition(".")[0]
