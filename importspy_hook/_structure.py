"""The caller's structure, read statically from its source and merged with the live module (§5).

The import of a guarded module usually runs at the top of the caller (``import plugin`` on line 1),
when the caller's own classes and functions do not exist yet. Inspecting the live module would
therefore see an empty shell, so the caller's *source* is the primary input: it is parsed with
:mod:`ast` (never imported, executed or reloaded). The live module object then only contributes
what the source cannot say statically — names created dynamically (``globals()[...] = ...``), and
the values of non-literal assignments that have already run. When no source exists at all (a
``.pyc``-only module, C code), the live module is all there is, and ``has_source`` says so.

Parsing costs far more than a check, so the AST-derived part is cached per file, keyed on
``(path, mtime_ns, size)``: an edited file is parsed again, an unchanged one never.
"""

from __future__ import annotations

import ast
import enum
import io
import os
import threading
import tokenize
import types
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any, Literal, Protocol

import attrs

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


def _last_dotted_part(text: str) -> str:
    return text.split("[", 1)[0].rsplit(".", 1)[-1].strip()


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


# --------------------------------------------------------------------------- AST extraction


class _Parsed:
    """The AST-derived part of a structure: immutable once built, shared through the cache."""

    __slots__ = ("classes", "functions", "imported", "known", "to_fill", "variables")

    def __init__(self) -> None:
        self.variables: dict[str, Variable] = {}
        self.functions: dict[str, Function] = {}
        self.classes: dict[str, ClassInfo] = {}
        # Names bound by import statements: the live module holds them too, but they belong to
        # other modules and must not reappear as the caller's variables.
        self.imported: set[str] = set()
        # Filled by finish(): what the live merge must look at, so that it skips the rest fast.
        self.known: frozenset[str] = frozenset()
        self.to_fill: tuple[str, ...] = ()

    def finish(self) -> _Parsed:
        self.known = frozenset((*self.variables, *self.functions, *self.classes, *self.imported))
        unknown_vars = [name for name, var in self.variables.items() if var.value is UNKNOWN]
        unknown_classes = [
            name
            for name, info in self.classes.items()
            if any(a.kind == "class" and a.value is UNKNOWN for a in info.attributes)
        ]
        self.to_fill = (*unknown_vars, *unknown_classes)
        return self


def _text(node: ast.AST | None) -> str | None:
    return None if node is None else ast.unparse(node)


def _literal(node: ast.expr | None) -> object:
    if node is None:
        return UNKNOWN
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return UNKNOWN


def _arguments(args: ast.arguments) -> tuple[Argument, ...]:
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults.extend(args.defaults)
    result = [
        Argument(arg.arg, _text(arg.annotation), _text(default))
        for arg, default in zip(positional, defaults, strict=True)
    ]
    if args.vararg is not None:
        result.append(Argument(args.vararg.arg, _text(args.vararg.annotation), None))
    result.extend(
        Argument(arg.arg, _text(arg.annotation), _text(default))
        for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    )
    if args.kwarg is not None:
        result.append(Argument(args.kwarg.arg, _text(args.kwarg.annotation), None))
    return tuple(result)


_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def _function(node: _FunctionNode) -> Function:
    return Function(
        name=node.name,
        arguments=_arguments(node.args),
        return_annotation=_text(node.returns),
        is_async=isinstance(node, ast.AsyncFunctionDef),
    )


# ``try``/``except*`` (3.11+) has the same shape as ``try``.
_TRY_NODES: tuple[type[Any], ...] = (ast.Try, *([ast.TryStar] if hasattr(ast, "TryStar") else []))


def _flatten_blocks(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of a block, descending into ``if``/``try`` so conditional definitions count.

    Source order is kept, so when both branches define a name the later one wins, as it would
    on most runs (``try: from fast import x`` / ``except ImportError: def x(): ...``).
    """
    for stmt in body:
        if isinstance(stmt, ast.If):
            yield from _flatten_blocks(stmt.body)
            yield from _flatten_blocks(stmt.orelse)
        elif isinstance(stmt, _TRY_NODES):
            yield from _flatten_blocks(stmt.body)
            for handler in stmt.handlers:
                yield from _flatten_blocks(handler.body)
            yield from _flatten_blocks(stmt.orelse)
            yield from _flatten_blocks(stmt.finalbody)
        else:
            yield stmt


def _assignments(stmt: ast.stmt) -> Iterator[tuple[str, ast.expr | None, object, str | None]]:
    """``(name, value node, literal value, annotation)`` for each plain name a statement binds."""
    if isinstance(stmt, ast.Assign):
        value = _literal(stmt.value)
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                yield target.id, stmt.value, value, None
            elif isinstance(target, ast.Tuple | ast.List):
                yield from _unpacked(target, stmt.value)
    elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        yield stmt.target.id, stmt.value, _literal(stmt.value), _text(stmt.annotation)
    elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
        yield stmt.target.id, None, UNKNOWN, None


def _unpacked(
    target: ast.Tuple | ast.List, value: ast.expr
) -> Iterator[tuple[str, ast.expr | None, object, str | None]]:
    """``a, b = 1, 2`` binds literals pairwise; any other unpacking gives unknown values."""
    pairs = (
        isinstance(value, ast.Tuple | ast.List)
        and len(value.elts) == len(target.elts)
        and not any(isinstance(elt, ast.Starred) for elt in target.elts)
    )
    for index, elt in enumerate(target.elts):
        if isinstance(elt, ast.Starred):
            elt = elt.value
        if isinstance(elt, ast.Name):
            sub = value.elts[index] if pairs else None  # type: ignore[attr-defined]
            yield elt.id, sub, _literal(sub), None
        elif isinstance(elt, ast.Tuple | ast.List):
            yield from _unpacked(elt, value.elts[index] if pairs else ast.Constant(None))  # type: ignore[attr-defined]


def _method_kind(node: _FunctionNode) -> str:
    for decorator in node.decorator_list:
        name = _last_dotted_part(ast.unparse(decorator))
        if name in ("staticmethod", "classmethod"):
            return name
    return "method"


def _shadows(node: ast.AST, name: str) -> bool:
    """Whether a nested function/lambda rebinds ``name`` as a parameter (then it is not ours)."""
    args: ast.arguments = node.args  # type: ignore[attr-defined]
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return any(arg is not None and arg.arg == name for arg in every)


def _self_assignments(body: list[ast.stmt], receiver: str) -> Iterator[tuple[str, object, str | None]]:
    """``(attribute, literal value, annotation)`` for each ``<receiver>.x = ...`` in a method,
    however deeply nested in ``if``/``for``/``with``/``try`` blocks or closures."""
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.ClassDef):
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and _shadows(node, receiver):
            continue
        if isinstance(node, ast.Assign):
            value = _literal(node.value)
            for each in node.targets:
                yield from _receiver_targets(each, receiver, value, None)
        elif isinstance(node, ast.AnnAssign):
            value = _literal(node.value) if node.value is not None else UNKNOWN
            yield from _receiver_targets(node.target, receiver, value, _text(node.annotation))
        elif isinstance(node, ast.AugAssign | ast.For | ast.AsyncFor | ast.withitem):
            target: ast.expr | None = node.optional_vars if isinstance(node, ast.withitem) else node.target
            if target is not None:
                yield from _receiver_targets(target, receiver, UNKNOWN, None)
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _receiver_targets(
    target: ast.expr, receiver: str, value: object, annotation: str | None
) -> Iterator[tuple[str, object, str | None]]:
    if (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == receiver
    ):
        yield target.attr, value, annotation
    elif isinstance(target, ast.Tuple | ast.List):
        for elt in target.elts:
            inner = elt.value if isinstance(elt, ast.Starred) else elt
            yield from _receiver_targets(inner, receiver, UNKNOWN, None)


def _class(node: ast.ClassDef) -> ClassInfo:
    class_attrs: dict[str, Attribute] = {}
    instance_attrs: dict[str, Attribute] = {}
    methods: dict[str, Function] = {}
    for stmt in _flatten_blocks(node.body):
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            methods[stmt.name] = _function(stmt)
            kind = _method_kind(stmt)
            params = [*stmt.args.posonlyargs, *stmt.args.args]
            if kind == "staticmethod" or not params:
                continue
            receiver = params[0].arg
            for name, value, annotation in _self_assignments(stmt.body, receiver):
                if kind == "classmethod":
                    # ``cls.x = ...`` creates a class attribute, but only when the method runs,
                    # so a value written directly in the class body takes precedence.
                    class_attrs.setdefault(name, Attribute(name, "class", value, annotation))
                    continue
                previous = instance_attrs.get(name)
                if previous is None:
                    instance_attrs[name] = Attribute(name, "instance", value, annotation)
                elif previous.annotation is None and annotation is not None:
                    # The first assignment (usually in __init__) gives the value; a later
                    # annotated one still tells the declared type.
                    instance_attrs[name] = attrs.evolve(previous, annotation=annotation)
        else:
            for name, _node, value, annotation in _assignments(stmt):
                class_attrs[name] = Attribute(name, "class", value, annotation)
    return ClassInfo(
        name=node.name,
        attributes=(*class_attrs.values(), *instance_attrs.values()),
        methods=tuple(methods.values()),
        superclasses=tuple(ast.unparse(base) for base in node.bases),
    )


def _parse_module(source: str, filename: str) -> _Parsed:
    tree = ast.parse(source, filename=filename)
    parsed = _Parsed()
    for stmt in _flatten_blocks(tree.body):
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            parsed.functions[stmt.name] = _function(stmt)
            parsed.variables.pop(stmt.name, None)
            parsed.classes.pop(stmt.name, None)
        elif isinstance(stmt, ast.ClassDef):
            parsed.classes[stmt.name] = _class(stmt)
            parsed.variables.pop(stmt.name, None)
            parsed.functions.pop(stmt.name, None)
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            for alias in stmt.names:
                bound = alias.asname or alias.name.split(".", 1)[0]
                parsed.imported.add(bound)
        else:
            for name, _node, value, annotation in _assignments(stmt):
                previous = parsed.variables.get(name)
                if annotation is None and previous is not None:
                    annotation = previous.annotation  # ``x: int`` then ``x = 3`` keeps ``int``
                parsed.variables[name] = Variable(name, value, annotation)
                parsed.functions.pop(name, None)
                parsed.classes.pop(name, None)
    return parsed.finish()


# --------------------------------------------------------------------------- source and cache

_CACHE_LOCK = threading.Lock()
# path -> ((mtime_ns, size), parsed or None when the file does not parse)
_FILE_CACHE: dict[str, tuple[tuple[int, int], _Parsed | None]] = {}
# (module name, hash of source) -> parsed, for source that only a loader can give
_LOADER_CACHE: dict[tuple[str | None, int], _Parsed | None] = {}

_SOURCE_SUFFIXES = (".py", ".pyw")


def _decode(data: bytes) -> str:
    """Decode like the interpreter does (PEP 263 coding cookie, BOM, default UTF-8)."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


def _parse_or_none(source: str, filename: str) -> _Parsed | None:
    try:
        return _parse_module(source, filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # The caller is running, so its source must have compiled once; a file that no longer
        # parses was edited since, or needs a newer Python. Either way: no trustworthy source.
        return None


def _source_path(file: str | None) -> str | None:
    """The ``.py`` that belongs to ``file`` (itself, or the source of a ``__pycache__`` entry)."""
    if not file:
        return None
    if file.endswith(_SOURCE_SUFFIXES):
        return file
    if file.endswith(".pyc"):
        from importlib.util import source_from_cache

        try:
            candidate = source_from_cache(file)
        except ValueError:  # a legacy ``foo.pyc`` next to where ``foo.py`` would be
            candidate = file[:-1]
        return candidate
    return None


def _parsed_from_file(path: str) -> tuple[bool, _Parsed | None]:
    """``(file was readable, parsed)``; reads and parses only when the file changed."""
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return False, None
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _CACHE_LOCK:
        entry = _FILE_CACHE.get(path)
    if entry is not None and entry[0] == stamp:
        return True, entry[1]
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        source = _decode(data)
    except (OSError, SyntaxError, UnicodeDecodeError, LookupError):
        return False, None
    parsed = _parse_or_none(source, path)
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


# --------------------------------------------------------------------------- annotations

_UNION_NAMES = ("Optional", "Union")
_TYPING_MODULES = ("typing", "typing_extensions")


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


class _AnnotationNormaliser(ast.NodeTransformer):
    """Rewrites an annotation to one canonical spelling (see :func:`normalise_annotation`)."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str):  # a quoted forward reference: compare what it says
            try:
                inner = ast.parse(node.value.strip(), mode="eval").body
            except SyntaxError:
                return node
            return self.visit(inner)  # type: ignore[no-any-return]
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if isinstance(node.value, ast.Name) and node.value.id in _TYPING_MODULES:
            return ast.Name(id=node.attr, ctx=ast.Load())
        return self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        base = self.visit(node.value)
        name = base.id if isinstance(base, ast.Name) else None
        if name == "Literal":  # its strings are values, not forward references
            return ast.Subscript(value=base, slice=node.slice, ctx=ast.Load())
        if name == "Annotated" and isinstance(node.slice, ast.Tuple) and node.slice.elts:
            first, *rest = node.slice.elts
            elts = [self.visit(first), *rest]
            return ast.Subscript(value=base, slice=ast.Tuple(elts=elts, ctx=ast.Load()), ctx=ast.Load())
        inner = self.visit(node.slice)
        if name in _UNION_NAMES:
            members = inner.elts if isinstance(inner, ast.Tuple) else [inner]
            if name == "Optional":
                members = [*members, ast.Constant(None)]
            return _union(members)
        return ast.Subscript(value=base, slice=inner, ctx=ast.Load())

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        left = self.visit(node.left)
        right = self.visit(node.right)
        if isinstance(node.op, ast.BitOr):
            return _union([left, right])
        return ast.BinOp(left=left, op=node.op, right=right)


def _union_members(node: ast.expr) -> Iterator[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        yield from _union_members(node.left)
        yield from _union_members(node.right)
    else:
        yield node


def _union(members: list[ast.expr]) -> ast.expr:
    """``A | B | None``: nested unions flattened, duplicates dropped, ``None`` last."""
    seen: set[str] = set()
    ordered: list[ast.expr] = []
    has_none = False
    for member in members:
        for flat in _union_members(member):
            if _is_none(flat):
                has_none = True
                continue
            key = ast.dump(flat)
            if key not in seen:
                seen.add(key)
                ordered.append(flat)
    if has_none:
        ordered.append(ast.Constant(None))
    result = ordered[0]
    for member in ordered[1:]:
        result = ast.BinOp(left=result, op=ast.BitOr(), right=member)
    return result


@lru_cache(maxsize=2048)
def normalise_annotation(text: str) -> str:
    """One spelling per annotation, so contracts compare annotations as written text (§6).

    Whitespace is normalised, quoted annotations are unquoted, the ``typing.`` prefix is dropped,
    and ``Optional[X]``, ``Union[X, None]`` and ``X | None`` all become ``X | None`` (members keep
    their order, ``None`` goes last). Text that is not a Python expression is only
    whitespace-collapsed.
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return " ".join(text.split())
    try:
        normalised = _AnnotationNormaliser().visit(tree.body)
        return ast.unparse(normalised)
    except (RecursionError, ValueError, TypeError, AttributeError):
        return ast.unparse(tree.body)
