"""The caller's structure, read statically from its source and merged with the live module (§5).

The import of a guarded module usually runs at the top of the caller (``import plugin`` on line 1),
when the caller's own classes and functions do not exist yet. Inspecting the live module would
therefore see an empty shell, so the caller's *source* is the primary input: it is parsed with
:mod:`ast` (never imported, executed or reloaded). The live module object then only contributes
what the source cannot say statically — names created dynamically (``globals()[...] = ...``), and
the values of non-literal assignments that have already run. When no source exists at all (a
``.pyc``-only module, C code), the live module is all there is, and ``has_source`` says so.

Parsing costs far more than a check, so the AST-derived part is cached per file, keyed on
``(path, mtime_ns, size)``: an edited file is parsed again, an unchanged one never. The AST walk
itself lives in ``_shape``, which produces plain records (also cached beside bytecode, by content,
for the next process); this module turns them into the attrs models below.
"""

from __future__ import annotations

import enum
import os
import types
from collections.abc import Mapping
from typing import Any, Literal, Protocol

import attrs

from . import _shape
from ._annotations import normalise_annotation
from ._locks import ForkSafeLock

__all__ = [
    "UNKNOWN",
    "Argument",
    "Attribute",
    "CallerLike",
    "ClassInfo",
    "Function",
    "ModuleStructure",
    "Variable",
    "normalise_annotation",
    "read_structure",
]


class CallerLike(Protocol):
    """What the structure reader needs to know about the importing module (see ``_caller.Caller``)."""

    @property
    def name(self) -> str | None: ...

    @property
    def file(self) -> str | None: ...

    @property
    def module(self) -> types.ModuleType | None: ...


class _Unknown(enum.Enum):
    """Type of :data:`UNKNOWN` (an enum member, so it stays a singleton through pickling)."""

    UNKNOWN = "UNKNOWN"

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __str__(self) -> str:
        return "<unknown value>"


#: The value of a variable or attribute whose value is not a literal and is not (yet) set in the
#: live module: a contract requiring a value cannot be satisfied by it.
UNKNOWN = _Unknown.UNKNOWN


# --------------------------------------------------------------------------- models


@attrs.frozen
class Argument:
    """One parameter, in signature order; ``*args``/``**kwargs`` appear under their own names."""

    name: str
    annotation: str | None
    default: str | None


@attrs.frozen
class Function:
    name: str
    arguments: tuple[Argument, ...]
    return_annotation: str | None
    is_async: bool


@attrs.frozen
class Attribute:
    """A class attribute (set in the class body) or instance attribute (``self.x = ...``)."""

    name: str
    kind: Literal["class", "instance"]
    value: object
    annotation: str | None


_last_dotted_part = _shape.last_dotted_part


@attrs.frozen
class ClassInfo:
    name: str
    attributes: tuple[Attribute, ...]
    methods: tuple[Function, ...]
    superclasses: tuple[str, ...]

    def superclass_names(self) -> tuple[str, ...]:
        """Bases without module path or subscript (``base.Plugin`` → ``Plugin``,
        ``Generic[T]`` → ``Generic``): contracts name a superclass, not how it was imported."""
        return tuple(_last_dotted_part(text) for text in self.superclasses)


@attrs.frozen
class Variable:
    name: str
    value: object
    annotation: str | None


@attrs.frozen
class ModuleStructure:
    name: str | None
    path: str | None
    filename: str | None
    version: str | None
    has_source: bool
    variables: Mapping[str, Variable]
    functions: Mapping[str, Function]
    classes: Mapping[str, ClassInfo]


# --------------------------------------------------------------------------- parsed source


class _Parsed:
    """The source-derived part of a structure, as models: immutable once built, shared through the cache.

    Built from the plain records of ``_shape`` (kept in ``records``, which is what the caches
    store), so the AST is read once per content whichever path asks first.
    """

    __slots__ = ("classes", "functions", "imported", "known", "records", "to_fill", "variables")

    def __init__(self, records: _shape.Parsed) -> None:
        self.records = records
        plain_variables, plain_functions, plain_classes, imported, _ = records
        self.variables: dict[str, Variable] = {
            name: Variable(name, value if known else UNKNOWN, annotation)
            for name, (_, known, value, annotation) in plain_variables.items()
        }
        self.functions: dict[str, Function] = {
            name: _function(record) for name, record in plain_functions.items()
        }
        self.classes: dict[str, ClassInfo] = {
            name: ClassInfo(
                name=name,
                attributes=tuple(
                    Attribute(attribute, kind, value if known else UNKNOWN, annotation)
                    for attribute, kind, known, value, annotation in attributes
                ),
                methods=tuple(_function(method) for method in methods),
                superclasses=bases,
            )
            for name, (_, attributes, methods, bases) in plain_classes.items()
        }
        # Names bound by import statements: the live module holds them too, but they belong to
        # other modules and must not reappear as the caller's variables.
        self.imported: frozenset[str] = frozenset(imported)
        # What the live merge must look at, so that it skips the rest fast.
        self.known: frozenset[str] = frozenset((*self.variables, *self.functions, *self.classes, *imported))
        unknown_vars = [name for name, var in self.variables.items() if var.value is UNKNOWN]
        unknown_classes = [
            name
            for name, info in self.classes.items()
            if any(a.kind == "class" and a.value is UNKNOWN for a in info.attributes)
        ]
        self.to_fill: tuple[str, ...] = (*unknown_vars, *unknown_classes)


def _function(record: tuple[Any, ...]) -> Function:
    name, arguments, returns, is_async = record
    return Function(
        name=name,
        arguments=tuple(Argument(arg, annotation, default) for arg, annotation, default, _, _ in arguments),
        return_annotation=returns,
        is_async=is_async,
    )


def _parse_module(source: str, filename: str) -> _Parsed:
    """Parse a module's source (raises ``SyntaxError`` and friends when it does not parse)."""
    return _Parsed(_shape.parse_source(source, filename))


# --------------------------------------------------------------------------- source and cache

_CACHE_LOCK = ForkSafeLock()
# path -> ((mtime_ns, size), parsed or None when the file does not parse)
_FILE_CACHE: dict[str, tuple[tuple[int, int], _Parsed | None]] = {}
# (module name, hash of source) -> parsed, for source that only a loader can give
_LOADER_CACHE: dict[tuple[str | None, int], _Parsed | None] = {}


def _parse_or_none(source: str, filename: str) -> _Parsed | None:
    try:
        return _parse_module(source, filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # The caller is running, so its source must have compiled once; a file that no longer
        # parses was edited since, or needs a newer Python. Either way: no trustworthy source.
        return None


_source_path = _shape.source_path


def _parsed_from_file(path: str) -> tuple[bool, _Parsed | None]:
    """``(file was readable, parsed)``; parses only when neither this process nor the cache beside
    bytecode (``_shape``) knows the file's current content."""
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return False, None
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _CACHE_LOCK:
        entry = _FILE_CACHE.get(path)
    if entry is not None and entry[0] == stamp:
        return True, entry[1]
    known, found = _shape.cached_plain(path, stamp)
    if known:
        parsed = None if found is None else _Parsed(found)
    else:
        if found is None:
            return False, None
        try:
            source = _shape.decode(found)
        except (SyntaxError, UnicodeDecodeError, LookupError):
            return False, None
        parsed = _parse_or_none(source, path)
        _shape.remember(path, stamp, found, None if parsed is None else parsed.records)
    with _CACHE_LOCK:
        _FILE_CACHE[path] = (stamp, parsed)
    return True, parsed


def _parsed_from_loader(caller: CallerLike) -> _Parsed | None:
    module = caller.module
    if module is None:
        return None
    loader = getattr(module, "__loader__", None)
    spec = getattr(module, "__spec__", None)
    if loader is None and spec is not None:
        loader = spec.loader
    get_source = getattr(loader, "get_source", None)
    name = getattr(spec, "name", None) or caller.name
    if get_source is None or name is None:
        return None
    try:
        source = get_source(name)
    except Exception:  # loaders raise ImportError, OSError, or worse: no source is the answer
        return None
    if not isinstance(source, str):
        return None
    key = (name, hash(source))
    with _CACHE_LOCK:
        if key in _LOADER_CACHE:
            return _LOADER_CACHE[key]
    parsed = _parse_or_none(source, caller.file or f"<{name}>")
    with _CACHE_LOCK:
        if len(_LOADER_CACHE) > 256:  # source from loaders has no mtime: bound the cache instead
            _LOADER_CACHE.clear()
        _LOADER_CACHE[key] = parsed
    return parsed


def _clear_cache() -> None:
    """Forget every parsed source (tests, and long-running processes that reload a lot)."""
    with _CACHE_LOCK:
        _FILE_CACHE.clear()
        _LOADER_CACHE.clear()
    _shape.forget()


# --------------------------------------------------------------------------- live module

_PLAIN_SCALARS = (str, int, float, bool, bytes, complex, type(None))


def _plain(value: object, depth: int = 0) -> bool:
    """Whether a live value is the kind of data a contract can state (what ``literal_eval`` makes)."""
    if isinstance(value, _PLAIN_SCALARS):
        return True
    if depth > 8:
        return False
    if isinstance(value, list | tuple | set | frozenset):
        return type(value) in (list, tuple, set, frozenset) and all(_plain(item, depth + 1) for item in value)
    if type(value) is dict:
        return all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in value.items())
    return False


def _live_value(value: object) -> object:
    return value if _plain(value) else UNKNOWN


def _annotation_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None or value is type(None):
        return "None"
    if isinstance(value, type):
        return value.__qualname__
    return repr(value)


class _CO:
    """Code object flags (the ``inspect.CO_*`` values, stable since 3.6; ``inspect`` is slow to import)."""

    VARARGS = 0x04
    VARKEYWORDS = 0x08
    COROUTINE = 0x80
    ASYNC_GENERATOR = 0x200


def _live_function(name: str, func: Any) -> Function | None:
    """A function created at run time: its signature from the code object (no ``inspect``)."""
    code = getattr(func, "__code__", None)
    if not isinstance(code, types.CodeType):
        return None
    try:
        annotations = dict(getattr(func, "__annotations__", None) or {})
    except Exception:  # lazily evaluated annotations (PEP 649) may fail to resolve
        annotations = {}
    defaults = tuple(getattr(func, "__defaults__", None) or ())
    kwdefaults = dict(getattr(func, "__kwdefaults__", None) or {})

    def argument(arg: str, default: str | None = None) -> Argument:
        text = _annotation_text(annotations[arg]) if arg in annotations else None
        return Argument(arg, text, default)

    # co_varnames starts with the positional parameters, then keyword-only ones, then the
    # names of *args and **kwargs when the flags say they exist.
    names = code.co_varnames
    npos, nkw = code.co_argcount, code.co_kwonlyargcount
    first_default = npos - len(defaults)
    arguments = [
        argument(arg, repr(defaults[i - first_default]) if i >= first_default else None)
        for i, arg in enumerate(names[:npos])
    ]
    index = npos + nkw
    if code.co_flags & _CO.VARARGS:
        arguments.append(argument(names[index]))
        index += 1
    arguments.extend(
        argument(arg, repr(kwdefaults[arg]) if arg in kwdefaults else None)
        for arg in names[npos : npos + nkw]
    )
    if code.co_flags & _CO.VARKEYWORDS:
        arguments.append(argument(names[index]))
    returns = _annotation_text(annotations["return"]) if "return" in annotations else None
    is_async = bool(code.co_flags & (_CO.COROUTINE | _CO.ASYNC_GENERATOR))
    return Function(name, tuple(arguments), returns, is_async)


def _live_class(name: str, cls: type) -> ClassInfo:
    attributes: list[Attribute] = []
    methods: list[Function] = []
    for attr, value in list(vars(cls).items()):
        if attr.startswith("__") and attr.endswith("__"):
            continue
        raw = value.__func__ if isinstance(value, staticmethod | classmethod) else value
        if isinstance(raw, types.FunctionType):
            method = _live_function(attr, raw)
            if method is not None:
                methods.append(method)
        elif not callable(value) and not isinstance(value, property):
            attributes.append(Attribute(attr, "class", _live_value(value), None))
    bases = tuple(base.__qualname__ for base in cls.__bases__ if base is not object)
    return ClassInfo(name, tuple(attributes), tuple(methods), bases)


def _fill_class_values(info: ClassInfo, live: object) -> ClassInfo:
    """Class attributes whose value the source does not spell out, taken from the live class."""
    if not isinstance(live, type):
        return info
    namespace = vars(live)
    filled: list[Attribute] | None = None
    for index, attribute in enumerate(info.attributes):
        if attribute.kind != "class" or attribute.value is not UNKNOWN:
            continue
        value = namespace.get(attribute.name, UNKNOWN)
        if value is UNKNOWN or not _plain(value):
            continue
        if filled is None:
            filled = list(info.attributes)
        filled[index] = Attribute(attribute.name, "class", value, attribute.annotation)
    return info if filled is None else attrs.evolve(info, attributes=tuple(filled))


# Set on every module by the import system; never the caller's own data.
_MODULE_DUNDERS = frozenset(
    ("__name__", "__doc__", "__package__", "__loader__", "__spec__", "__file__", "__cached__", "__builtins__")
)


def _live_only(name: str, value: object, own_name: str | None) -> Variable | Function | ClassInfo | None:
    """What a name the source does not bind contributes, if anything."""
    # Dunders of the live module are the interpreter's (__name__, __file__, __builtins__...);
    # modules and ``from __future__`` features are imports, not the caller's own values.
    if (
        (name.startswith("__") and name.endswith("__"))
        or isinstance(value, types.ModuleType)
        or type(value).__module__ == "__future__"
    ):
        return None
    defined_here = getattr(value, "__module__", None) == own_name
    if isinstance(value, types.FunctionType):
        return _live_function(name, value) if defined_here else None
    if isinstance(value, type):
        return _live_class(name, value) if defined_here else None
    if callable(value):
        return None
    return Variable(name, _live_value(value), None)


def _merge_live(
    parsed: _Parsed | None, module: types.ModuleType | None, module_name: str | None
) -> tuple[Mapping[str, Variable], Mapping[str, Function], Mapping[str, ClassInfo]]:
    """The parsed structure plus what only the live module knows.

    The parsed mappings are shared with the cache and are never modified: they are copied only
    when the live module changes something, which keeps the usual case (a static caller) cheap.
    """
    variables: Mapping[str, Variable] = parsed.variables if parsed else {}
    functions: Mapping[str, Function] = parsed.functions if parsed else {}
    classes: Mapping[str, ClassInfo] = parsed.classes if parsed else {}
    if module is None:
        return variables, functions, classes
    try:
        namespace = vars(module)
    except TypeError:
        return variables, functions, classes
    own_name = getattr(module, "__name__", module_name)
    new_variables: dict[str, Variable] = {}
    new_functions: dict[str, Function] = {}
    new_classes: dict[str, ClassInfo] = {}
    for name in parsed.to_fill if parsed else ():
        value = namespace.get(name, UNKNOWN)
        if value is UNKNOWN:
            continue
        if name in variables:
            if _plain(value):
                new_variables[name] = attrs.evolve(variables[name], value=value)
        elif name in classes:
            filled = _fill_class_values(classes[name], value)
            if filled is not classes[name]:
                new_classes[name] = filled
    known = parsed.known if parsed else frozenset()
    # Snapshots of the names (each taken in one C call): another thread may be adding to the
    # module. The set difference is the fast filter; the list keeps the module's own order.
    extra = namespace.keys() - known - _MODULE_DUNDERS
    for name in [name for name in list(namespace) if name in extra] if extra else ():
        value = namespace.get(name, UNKNOWN)
        found = None if value is UNKNOWN else _live_only(name, value, own_name)
        if isinstance(found, Variable):
            new_variables[name] = found
        elif isinstance(found, Function):
            new_functions[name] = found
        elif isinstance(found, ClassInfo):
            new_classes[name] = found
    if new_variables:
        variables = {**variables, **new_variables}
    if new_functions:
        functions = {**functions, **new_functions}
    if new_classes:
        classes = {**classes, **new_classes}
    return variables, functions, classes


# --------------------------------------------------------------------------- entry point


def _version(variables: Mapping[str, Variable], module: types.ModuleType | None) -> str | None:
    declared = variables.get("__version__")
    if declared is not None and isinstance(declared.value, str):
        return declared.value
    live = getattr(module, "__version__", None) if module is not None else None
    return live if isinstance(live, str) else None


def read_structure(caller: CallerLike) -> ModuleStructure:
    """The caller's structure; never imports, executes or reloads the caller.

    Source comes from the caller's file (``.py``, or the ``.py`` behind a ``__pycache__`` entry),
    else from its loader's ``get_source``. Without parsable source ``has_source`` is ``False`` and
    the structure is whatever the live module holds.
    """
    module = caller.module
    path = caller.file
    parsed: _Parsed | None = None
    readable = False
    source_path = _source_path(path)
    if source_path is not None:
        readable, parsed = _parsed_from_file(source_path)
        if readable and path != source_path:
            path = source_path
    if not readable:
        parsed = _parsed_from_loader(caller)
    variables, functions, classes = _merge_live(parsed, module, caller.name)
    return ModuleStructure(
        name=caller.name,
        path=path,
        filename=os.path.basename(path) if path else None,
        version=_version(variables, module),
        has_source=parsed is not None,
        variables=types.MappingProxyType(variables),
        functions=types.MappingProxyType(functions),
        classes=types.MappingProxyType(classes),
    )
