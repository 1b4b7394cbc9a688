"""The caller's structure, read statically from its source and merged with the live module (§5).

The import of a guarded module usually runs at the top of the caller (``import plugin`` on line 1),
when the caller's own classes and functions do not exist yet. Inspecting the live module would
therefore see an empty shell, so the caller's *source* is the primary input: it is parsed with
:mod:`ast` (never imported, executed or reloaded). The live module object then only contributes
what the source cannot say statically — names created dynamically (``globals()[...] = ...``), and
the values of non-literal assignments that have already run. When no source exists at all (a
``.pyc``-only module, C code), the live module is all there is, and ``has_source`` says so.

Reading the live module never runs the application's code (§5): its namespace is read as the raw
``__dict__`` (never ``getattr``, which reaches a PEP 562 module ``__getattr__`` or a module
subclass), values are classified by ``type(value)`` and the raw ``__mro__`` (never ``isinstance``,
which asks a proxy for its ``__class__`` — Django's ``LazyObject`` evaluates itself there), only
exact plain data is kept as a value (comparing it runs no ``__eq__`` of the host's), and nothing is
``repr``-ed but plain data and the standard library's typing objects. An int too large to write as
text (``N = 10**100000``: ``repr`` raises on 3.11+) becomes a :class:`TooLarge` that compares
equal to the same number and prints as its size.

Parsing costs far more than a check, so the AST-derived part is cached per file, keyed on
``(path, mtime_ns, size)``: an edited file is parsed again, an unchanged one never. The AST walk
itself lives in ``_shape``, which produces plain records (also cached beside bytecode, by content,
for the next process); this module turns them into the attrs models below.
"""

from __future__ import annotations

import enum
import os
import sys
import types
from collections.abc import Mapping
from importlib.machinery import ModuleSpec
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
    "TooLarge",
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


class TooLarge:
    """A live value holding an int too large to write as text (``repr`` raises on 3.11+ past
    ``sys.get_int_max_str_digits()``, and would print megabytes where it does not).

    It compares equal to the value it stands for (a contract built in Python may state such a
    number), and shows as its size, so a mismatch reads ``N = <an int of about 100001 digits>``.
    """

    __slots__ = ("description", "value")

    def __init__(self, value: object, description: str) -> None:
        self.value = value
        self.description = description

    def __eq__(self, other: object) -> bool:
        if type(other) is TooLarge:
            other = other.value
        return bool(self.value == other)  # plain data on both sides: no host code runs

    __hash__ = None  # type: ignore[assignment]  # equal to an int it does not hash like

    def __repr__(self) -> str:
        return f"<{self.description}>"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        return (TooLarge, (self.value, self.description))


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
            name: Variable(name, _showable(value) if known else UNKNOWN, annotation)
            for name, (_, known, value, annotation) in plain_variables.items()
        }
        self.functions: dict[str, Function] = {
            name: _function(record) for name, record in plain_functions.items()
        }
        self.classes: dict[str, ClassInfo] = {
            name: ClassInfo(
                name=name,
                attributes=tuple(
                    Attribute(attribute, kind, _showable(value) if known else UNKNOWN, annotation)
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
    """Source only a loader can give (a zip archive). Only the standard library's loaders are
    asked: a third party's ``get_source`` is application code, which a check never runs (§5)."""
    namespace = _namespace(caller.module)
    if namespace is None:
        return None
    loader: Any = namespace.get("__loader__")
    spec = namespace.get("__spec__")
    if type(spec) is not ModuleSpec:
        spec = None
    if loader is None and spec is not None:
        loader = spec.loader
    if not _standard_loader(loader):
        return None
    name = spec.name if spec is not None else caller.name
    if type(name) is not str or not name:
        return None
    try:
        source = loader.get_source(name)
    except Exception:  # loaders raise ImportError, OSError, or worse: no source is the answer
        return None
    if type(source) is not str:
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

# Raw reads, which no class, metaclass or module subclass can intercept: the descriptors of
# ``type`` and ``ModuleType`` themselves, called directly (``vars()``, ``cls.__mro__`` and
# ``module.__dict__`` all go through ``getattr``).
def _reader(owner: type, name: str) -> Any:
    return vars(owner)[name].__get__  # the descriptor's own __get__: no lookup on the instance


_TYPE_DICT = _reader(type, "__dict__")
_TYPE_MRO = _reader(type, "__mro__")
_TYPE_BASES = _reader(type, "__bases__")
_TYPE_QUALNAME = _reader(type, "__qualname__")
_TYPE_MODULE = _reader(type, "__module__")
_MODULE_DICT = _reader(types.ModuleType, "__dict__")


def _namespace(module: object) -> dict[str, Any] | None:
    """The raw ``__dict__`` of a module; None when ``module`` is not a module (an object that an
    application put in ``sys.modules``: reading anything from it could run its code)."""
    if module is None:
        return None
    try:
        namespace = _MODULE_DICT(module)
    except TypeError:
        return None
    return namespace if type(namespace) is dict else None


def _derives(cls: type, base: type) -> bool:
    """``issubclass`` without ``__subclasscheck__`` and without ``==`` on the classes of the MRO."""
    return any(each is base for each in _TYPE_MRO(cls))


def _is_class(value: object) -> bool:
    return _derives(type(value), type)


def _type_module(cls: type) -> str | None:
    try:
        module = _TYPE_MODULE(cls)
    except AttributeError:
        return None
    return module if type(module) is str else None


def _qualname(cls: type) -> str:
    name = _TYPE_QUALNAME(cls)
    return name if type(name) is str else "?"


_STANDARD_MODULES = frozenset((*sys.stdlib_module_names, "_frozen_importlib", "_frozen_importlib_external"))


def _standard_loader(loader: object) -> bool:
    module = _type_module(type(loader))
    return module is not None and module.partition(".")[0] in _STANDARD_MODULES


_SCALARS = frozenset(map(id, (str, int, float, bool, bytes, complex, type(None))))
_CONTAINERS = frozenset(map(id, (list, tuple, set, frozenset)))
# Subclasses of these (IntEnum and StrEnum members, ...) stand for the base value, which the base
# type's own slot returns as an exact copy without running any method of the subclass.
_BASE_VALUE: tuple[tuple[type, Any], ...] = (
    (int, int.__index__),
    (str, str.__str__),
    (float, float.__float__),
)
_MAX_DEPTH = 8


def _max_digits() -> int:
    get = getattr(sys, "get_int_max_str_digits", None)
    limit = get() if get is not None else 0
    return limit if 0 < limit < 4300 else 4300  # unlimited would still print megabytes


def _digits(value: int) -> int:
    """An upper bound of the decimal digits of ``value``, without writing it out."""
    return value.bit_length() * 30103 // 100000 + 1


class _Huge(Exception):
    def __init__(self, digits: int) -> None:
        self.digits = digits


def _plain_value(value: Any, depth: int, limit: int) -> object:
    """``value`` as exact plain data (what ``literal_eval`` makes), or UNKNOWN; raises ``_Huge``
    for an int too large to show. Only exact types are looked into: a proxy is never asked anything."""
    cls = type(value)
    if id(cls) in _SCALARS:
        if cls is int and _digits(value) > limit:
            raise _Huge(_digits(value))
        return value
    if depth > _MAX_DEPTH:
        return UNKNOWN
    if id(cls) in _CONTAINERS:
        items = [_plain_value(item, depth + 1, limit) for item in value]
        if any(item is UNKNOWN for item in items):
            return UNKNOWN
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return cls(items)
    if cls is dict:
        pairs = [
            (_plain_value(k, depth + 1, limit), _plain_value(v, depth + 1, limit))
            for k, v in list(value.items())
        ]
        if any(k is UNKNOWN or v is UNKNOWN for k, v in pairs):
            return UNKNOWN
        return dict(pairs)
    for base, convert in _BASE_VALUE:
        if cls is not bool and _derives(cls, base):
            return _plain_value(convert(value), depth, limit)
    return UNKNOWN


def _live_value(value: object) -> object:
    """What a contract's ``value`` is compared with: plain data, a :class:`TooLarge`, or UNKNOWN."""
    try:
        return _plain_value(value, 0, _max_digits())
    except _Huge as huge:
        if type(value) is int:
            return TooLarge(value, f"an int of about {huge.digits} digits")
        try:
            whole = _plain_value(value, 0, 1 << 62)
        except RecursionError:  # pragma: no cover - _MAX_DEPTH keeps it shallow
            whole = UNKNOWN
        if whole is UNKNOWN:
            return UNKNOWN
        return TooLarge(whole, f"a {_qualname(type(value))} holding an int of about {huge.digits} digits")


def _showable(literal: object) -> object:
    """A literal of the source as a value messages can show: a hex literal is not limited in digits
    when compiled, but its decimal ``repr`` is (it becomes a :class:`TooLarge`)."""
    value = _live_value(literal)
    return literal if value is UNKNOWN else value  # UNKNOWN: ``...``, the one non-data literal


def _value_text(value: Any) -> str:
    """How a value found only at run time (a default) is written in messages: ``repr`` of plain
    data, and a placeholder for anything else (its ``repr`` would be the host's code)."""
    if _is_class(value):
        return f"<class {_qualname(value)}>"
    plain = _live_value(value)
    if plain is UNKNOWN:
        return f"<{_qualname(type(value))} object>"
    return repr(plain)


_TYPING_MODULES = frozenset(("typing", "typing_extensions", "types", "builtins"))


def _annotation_text(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None or value is type(None):
        return "None"
    if _is_class(value):
        return _qualname(value)
    if _type_module(type(value)) in _TYPING_MODULES:  # ``list[int]``, ``Optional[str]``, ``int | None``
        try:
            text = repr(value)
        except Exception:
            text = None
        if type(text) is str:
            return text
    return f"<{_qualname(type(value))} object>"


class _CO:
    """Code object flags (the ``inspect.CO_*`` values, stable since 3.6; ``inspect`` is slow to import)."""

    VARARGS = 0x04
    VARKEYWORDS = 0x08
    COROUTINE = 0x80
    ASYNC_GENERATOR = 0x200


def _live_annotations(func: types.FunctionType) -> dict[str, Any]:
    if sys.version_info >= (3, 14):  # pragma: no cover - reading them may evaluate them (PEP 649)
        return {}
    try:
        annotations = func.__annotations__
    except Exception:
        return {}
    return dict(annotations) if type(annotations) is dict else {}


def _live_function(name: str, func: types.FunctionType) -> Function | None:
    """A function created at run time: its signature from the code object (no ``inspect``)."""
    code = func.__code__
    if type(code) is not types.CodeType:
        return None
    annotations = _live_annotations(func)
    defaults = func.__defaults__ if type(func.__defaults__) is tuple else ()
    kwdefaults = func.__kwdefaults__ if type(func.__kwdefaults__) is dict else {}

    def argument(arg: str, default: str | None = None) -> Argument:
        text = _annotation_text(annotations[arg]) if arg in annotations else None
        return Argument(arg, text, default)

    # co_varnames starts with the positional parameters, then keyword-only ones, then the
    # names of *args and **kwargs when the flags say they exist.
    names = code.co_varnames
    npos, nkw = code.co_argcount, code.co_kwonlyargcount
    first_default = npos - len(defaults)
    arguments = [
        argument(arg, _value_text(defaults[i - first_default]) if i >= first_default else None)
        for i, arg in enumerate(names[:npos])
    ]
    index = npos + nkw
    if code.co_flags & _CO.VARARGS:
        arguments.append(argument(names[index]))
        index += 1
    arguments.extend(
        argument(arg, _value_text(kwdefaults[arg]) if arg in kwdefaults else None)
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
    for attr, value in list(_TYPE_DICT(cls).items()):
        if type(attr) is not str or (attr.startswith("__") and attr.endswith("__")):
            continue
        kind = type(value)
        raw = value.__func__ if kind is staticmethod or kind is classmethod else value
        if type(raw) is types.FunctionType:
            method = _live_function(attr, raw)
            if method is not None:
                methods.append(method)
        elif not callable(value) and not _derives(kind, property):  # callable(): a slot test, no code
            attributes.append(Attribute(attr, "class", _live_value(value), None))
    bases = tuple(_qualname(base) for base in _TYPE_BASES(cls) if base is not object)
    return ClassInfo(name, tuple(attributes), tuple(methods), bases)


def _fill_class_values(info: ClassInfo, live: object) -> ClassInfo:
    """Class attributes whose value the source does not spell out, taken from the live class."""
    if not _is_class(live):
        return info
    namespace = _TYPE_DICT(live)
    filled: list[Attribute] | None = None
    for index, attribute in enumerate(info.attributes):
        if attribute.kind != "class" or attribute.value is not UNKNOWN:
            continue
        value = _live_value(namespace.get(attribute.name, UNKNOWN))
        if value is UNKNOWN:
            continue
        if filled is None:
            filled = list(info.attributes)
        filled[index] = Attribute(attribute.name, "class", value, attribute.annotation)
    return info if filled is None else attrs.evolve(info, attributes=tuple(filled))


# Set on every module by the import system; never the caller's own data.
_MODULE_DUNDERS = frozenset(
    ("__name__", "__doc__", "__package__", "__loader__", "__spec__", "__file__", "__cached__", "__builtins__")
)


def _live_only(name: str, value: Any, own_name: str | None) -> Variable | Function | ClassInfo | None:
    """What a name the source does not bind contributes, if anything."""
    # Dunders of the live module are the interpreter's (__name__, __file__, __builtins__...);
    # modules and ``from __future__`` features are imports, not the caller's own values.
    cls = type(value)
    if (
        (name.startswith("__") and name.endswith("__"))
        or _derives(cls, types.ModuleType)
        or _type_module(cls) == "__future__"
    ):
        return None
    if cls is types.FunctionType:
        module = value.__module__
        return _live_function(name, value) if type(module) is str and module == own_name else None
    if _derives(cls, type):
        return _live_class(name, value) if _type_module(value) == own_name else None
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
    namespace = _namespace(module)
    if namespace is None:
        return variables, functions, classes
    own_name = namespace.get("__name__")
    if type(own_name) is not str:
        own_name = module_name
    new_variables: dict[str, Variable] = {}
    new_functions: dict[str, Function] = {}
    new_classes: dict[str, ClassInfo] = {}
    for name in parsed.to_fill if parsed else ():
        value = namespace.get(name, UNKNOWN)
        if value is UNKNOWN:
            continue
        if name in variables:
            live = _live_value(value)
            if live is not UNKNOWN:
                new_variables[name] = attrs.evolve(variables[name], value=live)
        elif name in classes:
            filled = _fill_class_values(classes[name], value)
            if filled is not classes[name]:
                new_classes[name] = filled
    known = parsed.known if parsed else frozenset()
    # A snapshot of the names (taken in one C call): another thread may be adding to the module.
    # Only exact strings are looked up (a str subclass's __hash__/__eq__ would be host code).
    extra = [
        name
        for name in list(namespace)
        if type(name) is str and name not in known and name not in _MODULE_DUNDERS
    ]
    for name in extra:
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
    """``__version__`` as the source or the module's raw namespace holds it. Never ``getattr``: a
    lazy ``__version__`` served by a module ``__getattr__`` (read from ``importlib.metadata``) is
    not evaluated; the check then falls back to the distribution's version (§6)."""
    declared = variables.get("__version__")
    if declared is not None and type(declared.value) is str:
        return declared.value
    namespace = _namespace(module)
    live = namespace.get("__version__") if namespace is not None else None
    return live if type(live) is str else None


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
