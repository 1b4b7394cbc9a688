"""The caller's structure (§5): the records of its source, merged with the raw values of its live module.

The import of a guarded module usually runs at the top of the caller (``import plugin`` on line 1),
when the caller's own classes and functions do not exist yet. Inspecting the live module would
therefore see an empty shell, so the caller's *source* is the primary input: it is parsed with
:mod:`ast` (never imported, executed or reloaded). The live module object then only contributes
what the source cannot say statically — names created dynamically (``globals()[...] = ...``), and
the values of non-literal assignments that have already run. When no source exists at all (a
``.pyc``-only module, C code), the live module is all there is, and ``has_source`` says so.

One representation, plain data, serves both questions the contract engine (``_compiled``) asks.
Admitting an import, on the contracted-import path where attrs costs more than the whole budget
(§11), it compares a contract with the source's records alone (``_cache.source_of``); explaining one
(a refusal, ``check()``, the CLI), it reads the same records merged with the live module
(:func:`read_structure`). So the AST is reduced here to tuples and dicts, which ``marshal`` stores.

Why a cache beside bytecode: parsing a host module's source costs milliseconds (``ast`` itself is a
few more to import), and a fresh process that meets a contract with structural requirements
would pay it every time. The record ``__pycache__/<stem>.structure.<cache tag>.marshal`` is keyed
by the digest of the source's bytes (``_cache.digest``) and follows every rule of the contract
cache (``_cache``). Within a process, parsed sources are kept in one table, keyed by path and
``(st_mtime_ns, st_size)``: an edited file is parsed again, an unchanged one never. Both the table
and the records live in ``_cache`` (``source_of``), which the contracted-import path loads anyway:
this module, the parser, is loaded only when a source has to be parsed or a structure explained.

Reading the live module never runs the application's code (§5): its namespace is read as the raw
``__dict__`` (never ``getattr``, which reaches a PEP 562 module ``__getattr__`` or a module
subclass), values are classified by ``type(value)`` and the raw ``__mro__`` (never ``isinstance``,
which asks a proxy for its ``__class__`` — Django's ``LazyObject`` evaluates itself there), only
exact plain data is kept as a value (comparing it runs no ``__eq__`` of the host's), and nothing is
``repr``-ed but plain data and the standard library's typing objects. An int too large to write as
text (``N = 10**100000``: ``repr`` raises on 3.11+) becomes a :class:`TooLarge` that compares
equal to the same number and prints as its size.

Records (tuples, in this order):

* variable ``(name, known, value, annotation)`` — ``known`` is False when the value is not a literal
  (and not set in the live module), ``value`` is then None;
* argument ``(name, annotation, default_text, default_is_literal, default_value)``;
* function ``(name, arguments, return_annotation, is_async)``;
* attribute ``(name, kind, known, value, annotation)`` — ``kind`` is ``"class"`` or ``"instance"``;
* class ``(name, attributes, methods, superclasses)``;
* a parsed source ``(variables, functions, classes, imported, norms)``: three name-keyed dicts in
  source order, the sorted names bound by import statements, and the normalised spelling
  (``_annotations``) of every annotation whose text normalisation could change (see
  :func:`plain_annotation`), so that comparing annotations later needs no ``ast``;
* the caller's structure ``(who, filename, version, has_source, variables, functions, classes,
  norms)``: how messages name the caller, the file its structure comes from, its ``__version__``
  as written, whether its source was read, the three dicts above, and the source's norms.
"""

import os
import sys

from ._cache import SOURCES, remember_source, source_of

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: this module is on the contracted-import path
if TYPE_CHECKING:
    import ast
    from collections.abc import Iterator
    from types import FunctionType, ModuleType
    from typing import Any, Protocol

    Parsed = tuple[dict[str, Any], dict[str, Any], dict[str, Any], tuple[str, ...], dict[str, str]]
    Stamp = tuple[int, int]
    Structure = tuple[
        str, str | None, str | None, bool, dict[str, Any], dict[str, Any], dict[str, Any], dict[str, str]
    ]

    class CallerLike(Protocol):
        """What the structure reader needs to know about the importing module (``_caller.Caller``)."""

        @property
        def name(self) -> str | None: ...

        @property
        def file(self) -> str | None: ...

        @property
        def module(self) -> ModuleType | None: ...


__all__ = [
    "TooLarge",
    "decode",
    "default_literal",
    "last_dotted_part",
    "parse_source",
    "plain_annotation",
    "read_structure",
    "records_of",
]

_NORMALISED_MARKERS = ("'", '"', "typing", "Optional", "Union", "|")


def plain_annotation(text: "str") -> "bool":
    """Whether ``text``, written by ``ast.unparse``, is already its own normalised spelling.

    The normaliser only rewrites quoted forward references, ``typing.``/``typing_extensions.``
    prefixes, ``Optional``/``Union`` and ``|`` unions; an unparsed text containing none of them
    comes back unchanged. Every annotation text of a record is an ``ast.unparse`` output.
    """
    return not any(marker in text for marker in _NORMALISED_MARKERS)


def decode(data: "bytes") -> "str":
    """Decode like the interpreter does (PEP 263 coding cookie, BOM, default UTF-8).

    ``tokenize`` (which knows every rule) is only imported when the first two lines mention a
    coding at all: most files declare none and are UTF-8.
    """
    first = data.find(b"\n")
    second = data.find(b"\n", first + 1) if first >= 0 else -1
    if b"coding" not in data[: second if second >= 0 else len(data)]:
        return data.decode("utf-8-sig")
    import io
    import tokenize

    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


# --------------------------------------------------------------------------- AST -> records


class _Unknown:
    """Marks a value that is not a literal (in the source) or not plain data (in the live module)
    while the records are being built; a record says it with ``known`` instead."""


_UNKNOWN = _Unknown()


def parse_source(source: "str", filename: "str") -> "Parsed":
    """The records of a module's source; raises ``SyntaxError`` (and friends) when it does not parse."""
    import ast

    from ._annotations import quiet_parse

    extractor = _Extractor(ast)
    return extractor.module(quiet_parse(source))


def default_literal(text: "str | None") -> "tuple[bool, object]":
    """``(True, value)`` when a default's source text is a literal, else ``(False, None)``: what the
    default rule compares (for a parsed source and for a function read from the live module)."""
    if text is None:
        return False, None
    import ast

    try:
        return True, ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


class _Extractor:
    """AST walk; holds the ``ast`` module so that importing this file does not import it."""

    def __init__(self, ast_module: "Any") -> "None":
        self.ast = ast_module
        self.try_nodes = (ast_module.Try, *([ast_module.TryStar] if hasattr(ast_module, "TryStar") else []))
        self.function_nodes = (ast_module.FunctionDef, ast_module.AsyncFunctionDef)
        self.sequence_nodes = (ast_module.Tuple, ast_module.List)
        self.annotations: set[str] = set()

    def text(self, node: "ast.AST | None") -> "str | None":
        return None if node is None else str(self.ast.unparse(node))

    def annotation(self, node: "ast.AST | None") -> "str | None":
        text = self.text(node)
        if text is not None:
            self.annotations.add(text)
        return text

    def literal(self, node: "ast.expr | None") -> "object":
        if node is None:
            return _UNKNOWN
        try:
            return self.ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return _UNKNOWN

    def argument(
        self, name: "str", annotation: "ast.expr | None", default: "ast.expr | None"
    ) -> "tuple[Any, ...]":
        text = self.text(default)
        is_literal, value = default_literal(text)
        return (name, self.annotation(annotation), text, is_literal, value)

    def arguments(self, args: "ast.arguments") -> "tuple[tuple[Any, ...], ...]":
        positional = [*args.posonlyargs, *args.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
        defaults.extend(args.defaults)
        result = [
            self.argument(arg.arg, arg.annotation, default)
            for arg, default in zip(positional, defaults, strict=True)
        ]
        if args.vararg is not None:
            result.append(self.argument(args.vararg.arg, args.vararg.annotation, None))
        result.extend(
            self.argument(arg.arg, arg.annotation, default)
            for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True)
        )
        if args.kwarg is not None:
            result.append(self.argument(args.kwarg.arg, args.kwarg.annotation, None))
        return tuple(result)

    def function(self, node: "ast.FunctionDef | ast.AsyncFunctionDef") -> "tuple[Any, ...]":
        return (
            node.name,
            self.arguments(node.args),
            self.annotation(node.returns),
            isinstance(node, self.ast.AsyncFunctionDef),
        )

    def blocks(self, body: "list[ast.stmt]") -> "Iterator[ast.stmt]":
        """Statements of a block, descending into ``if``/``try`` so conditional definitions count.

        Source order is kept, so when both branches define a name the later one wins, as it would
        on most runs (``try: from fast import x`` / ``except ImportError: def x(): ...``).
        """
        ast = self.ast
        for stmt in body:
            if isinstance(stmt, ast.If):
                yield from self.blocks(stmt.body)
                yield from self.blocks(stmt.orelse)
            elif isinstance(stmt, self.try_nodes):
                yield from self.blocks(stmt.body)
                for handler in stmt.handlers:
                    yield from self.blocks(handler.body)
                yield from self.blocks(stmt.orelse)
                yield from self.blocks(stmt.finalbody)
            else:
                yield stmt

    def assignments(self, stmt: "ast.stmt") -> "Iterator[tuple[str, object, str | None]]":
        """``(name, literal value, annotation)`` for each plain name a statement binds."""
        ast = self.ast
        if isinstance(stmt, ast.Assign):
            value = self.literal(stmt.value)
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    yield target.id, value, None
                elif isinstance(target, self.sequence_nodes):
                    yield from self.unpacked(target, stmt.value)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            yield stmt.target.id, self.literal(stmt.value), self.annotation(stmt.annotation)
        elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            yield stmt.target.id, _UNKNOWN, None

    def unpacked(self, target: "Any", value: "Any") -> "Iterator[tuple[str, object, str | None]]":
        """``a, b = 1, 2`` binds literals pairwise; any other unpacking gives unknown values."""
        ast = self.ast
        pairs = (
            isinstance(value, self.sequence_nodes)
            and len(value.elts) == len(target.elts)
            and not any(isinstance(elt, ast.Starred) for elt in target.elts)
        )
        for index, elt in enumerate(target.elts):
            if isinstance(elt, ast.Starred):
                elt = elt.value
            if isinstance(elt, ast.Name):
                sub = value.elts[index] if pairs else None
                yield elt.id, self.literal(sub), None
            elif isinstance(elt, self.sequence_nodes):
                yield from self.unpacked(elt, value.elts[index] if pairs else ast.Constant(None))

    def method_kind(self, node: "ast.FunctionDef | ast.AsyncFunctionDef") -> "str":
        for decorator in node.decorator_list:
            name = last_dotted_part(self.ast.unparse(decorator))
            if name in ("staticmethod", "classmethod"):
                return name
        return "method"

    @staticmethod
    def shadows(node: "Any", name: "str") -> "bool":
        """Whether a nested function/lambda rebinds ``name`` as a parameter (then it is not ours)."""
        args = node.args
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        return any(arg is not None and arg.arg == name for arg in every)

    def self_assignments(
        self, body: "list[ast.stmt]", receiver: "str"
    ) -> "Iterator[tuple[str, object, str | None]]":
        """``(attribute, literal value, annotation)`` for each ``<receiver>.x = ...`` in a method,
        however deeply nested in ``if``/``for``/``with``/``try`` blocks or closures."""
        ast = self.ast
        stack: list[Any] = list(reversed(body))
        while stack:
            node = stack.pop()
            if isinstance(node, ast.ClassDef):
                continue
            if isinstance(node, (*self.function_nodes, ast.Lambda)) and self.shadows(node, receiver):
                continue
            if isinstance(node, ast.Assign):
                value = self.literal(node.value)
                for each in node.targets:
                    yield from self.receiver_targets(each, receiver, value, None)
            elif isinstance(node, ast.AnnAssign):
                value = self.literal(node.value) if node.value is not None else _UNKNOWN
                yield from self.receiver_targets(
                    node.target, receiver, value, self.annotation(node.annotation)
                )
            elif isinstance(node, (ast.AugAssign, ast.For, ast.AsyncFor, ast.withitem)):
                target = node.optional_vars if isinstance(node, ast.withitem) else node.target
                if target is not None:
                    yield from self.receiver_targets(target, receiver, _UNKNOWN, None)
            stack.extend(reversed(list(ast.iter_child_nodes(node))))

    def receiver_targets(
        self, target: "Any", receiver: "str", value: "object", annotation: "str | None"
    ) -> "Iterator[tuple[str, object, str | None]]":
        ast = self.ast
        if (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == receiver
        ):
            yield target.attr, value, annotation
        elif isinstance(target, self.sequence_nodes):
            for elt in target.elts:
                inner = elt.value if isinstance(elt, ast.Starred) else elt
                yield from self.receiver_targets(inner, receiver, _UNKNOWN, None)

    def klass(self, node: "ast.ClassDef") -> "tuple[Any, ...]":
        # name -> [value, annotation] while building; records at the end
        class_attrs: dict[str, list[Any]] = {}
        instance_attrs: dict[str, list[Any]] = {}
        methods: dict[str, tuple[Any, ...]] = {}
        for stmt in self.blocks(node.body):
            if isinstance(stmt, self.function_nodes):
                methods[stmt.name] = self.function(stmt)
                kind = self.method_kind(stmt)
                params = [*stmt.args.posonlyargs, *stmt.args.args]
                if kind == "staticmethod" or not params:
                    continue
                receiver = params[0].arg
                for name, value, annotation in self.self_assignments(stmt.body, receiver):
                    if kind == "classmethod":
                        # ``cls.x = ...`` creates a class attribute, but only when the method runs,
                        # so a value written directly in the class body takes precedence.
                        class_attrs.setdefault(name, [value, annotation])
                        continue
                    previous = instance_attrs.get(name)
                    if previous is None:
                        instance_attrs[name] = [value, annotation]
                    elif previous[1] is None and annotation is not None:
                        # The first assignment (usually in __init__) gives the value; a later
                        # annotated one still tells the declared type.
                        previous[1] = annotation
            else:
                for name, value, annotation in self.assignments(stmt):
                    class_attrs[name] = [value, annotation]
        attributes = tuple(
            _attribute(name, kind, value, annotation)
            for kind, table in (("class", class_attrs), ("instance", instance_attrs))
            for name, (value, annotation) in table.items()
        )
        return (
            node.name,
            attributes,
            tuple(methods.values()),
            tuple(self.ast.unparse(base) for base in node.bases),
        )

    def module(self, tree: "ast.Module") -> "Parsed":
        ast = self.ast
        variables: dict[str, tuple[Any, ...]] = {}
        functions: dict[str, tuple[Any, ...]] = {}
        classes: dict[str, tuple[Any, ...]] = {}
        imported: set[str] = set()
        for stmt in self.blocks(tree.body):
            if isinstance(stmt, self.function_nodes):
                functions[stmt.name] = self.function(stmt)
                variables.pop(stmt.name, None)
                classes.pop(stmt.name, None)
            elif isinstance(stmt, ast.ClassDef):
                classes[stmt.name] = self.klass(stmt)
                variables.pop(stmt.name, None)
                functions.pop(stmt.name, None)
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                for alias in stmt.names:
                    imported.add(alias.asname or alias.name.split(".", 1)[0])
            else:
                for name, value, annotation in self.assignments(stmt):
                    previous = variables.get(name)
                    if annotation is None and previous is not None:
                        annotation = previous[3]  # ``x: int`` then ``x = 3`` keeps ``int``
                    known = value is not _UNKNOWN
                    variables[name] = (name, known, value if known else None, annotation)
                    functions.pop(name, None)
                    classes.pop(name, None)
        return (variables, functions, classes, tuple(sorted(imported)), self.norms())

    def norms(self) -> "dict[str, str]":
        """The normalised spelling of the annotation-like texts that are not their own already."""
        wanted = [text for text in self.annotations if not plain_annotation(text)]
        if not wanted:
            return {}
        from ._annotations import normalise_annotation

        norms: dict[str, str] = {}
        for text in wanted:
            try:
                norms[text] = normalise_annotation(text)
            except ValueError:  # too deep to normalise: the host's annotation compares as written
                norms[text] = " ".join(text.split())
        return norms


def _attribute(name: "str", kind: "str", value: "object", annotation: "str | None") -> "tuple[Any, ...]":
    known = value is not _UNKNOWN
    return (name, kind, known, value if known else None, annotation)


def last_dotted_part(text: "str") -> "str":
    """``base.Plugin`` → ``Plugin``, ``Generic[T]`` → ``Generic``: how superclasses are named."""
    return text.split("[", 1)[0].rsplit(".", 1)[-1].strip()


# --------------------------------------------------------------------------- source records
#
# The table of parsed sources (this process) and the records beside bytecode are ``_cache``'s: the
# admitting run looks a caller up there without loading this module. What is here is the parsing
# they fall back on, handed to them as ``records_of``.


def records_of(data: "bytes", filename: "str") -> "Parsed | None":
    """The records of the source ``data`` (the bytes of ``filename``); None when it does not parse.

    Raises ``SyntaxError``, ``UnicodeDecodeError`` or ``LookupError`` when it cannot be decoded
    (``_cache.source_records`` then treats the source as unreadable)."""
    return _parse_or_none(decode(data), filename)


def _parse_or_none(source: "str", filename: "str") -> "Parsed | None":
    try:
        return parse_source(source, filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # The caller is running, so its source must have compiled once; a file that no longer
        # parses was edited since, or needs a newer Python. Either way: no trustworthy source.
        return None


def _source_from_loader(caller: "CallerLike", namespace: "dict[str, Any] | None") -> "Parsed | None":
    """Records of source only a loader can give (a zip archive). Only the standard library's loaders
    are asked: a third party's ``get_source`` is application code, which a check never runs (§5).

    Kept in the same table as files, under the module's name, and stamped with the text's hash and
    length (such source has no mtime); never written beside bytecode."""
    from _frozen_importlib import ModuleSpec  # importlib.machinery's, without importing it

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
    key, stamp = f"<loader {name}>", (hash(source), len(source))  # never a source path (.py)
    entry = SOURCES.get(key)
    if entry is not None and entry[0] == stamp:
        return entry[1]
    parsed = _parse_or_none(source, caller.file or f"<{name}>")
    remember_source(key, stamp, parsed)
    return parsed


# --------------------------------------------------------------------------- the live module


# Raw reads, which no class, metaclass or module subclass can intercept: the descriptors of
# ``type`` and ``ModuleType`` themselves, called directly (``vars()``, ``cls.__mro__`` and
# ``module.__dict__`` all go through ``getattr``).
def _reader(owner: "type", name: "str") -> "Any":
    return vars(owner)[name].__get__  # the descriptor's own __get__: no lookup on the instance


_TYPE_DICT = _reader(type, "__dict__")
_TYPE_MRO = _reader(type, "__mro__")
_TYPE_BASES = _reader(type, "__bases__")
_TYPE_QUALNAME = _reader(type, "__qualname__")
_TYPE_MODULE = _reader(type, "__module__")
# ``types.ModuleType``, ``FunctionType`` and ``CodeType``, the way ``types`` finds them, without
# importing it on the contracted-import path.
_MODULE_DICT = _reader(type(sys), "__dict__")
_FUNCTION_TYPE: "Any" = type(_reader)
_CODE_TYPE: "Any" = type(_reader.__code__)


def _namespace(module: "object") -> "dict[str, Any] | None":
    """The raw ``__dict__`` of a module; None when ``module`` is not a module (an object that an
    application put in ``sys.modules``: reading anything from it could run its code)."""
    if module is None:
        return None
    try:
        namespace = _MODULE_DICT(module)
    except TypeError:
        return None
    return namespace if type(namespace) is dict else None


def _derives(cls: "type", base: "type") -> "bool":
    """``issubclass`` without ``__subclasscheck__`` and without ``==`` on the classes of the MRO."""
    return any(each is base for each in _TYPE_MRO(cls))


def _is_class(value: "object") -> "bool":
    return _derives(type(value), type)


def _type_module(cls: "type") -> "str | None":
    try:
        module = _TYPE_MODULE(cls)
    except AttributeError:
        return None
    return module if type(module) is str else None


def _qualname(cls: "type") -> "str":
    name = _TYPE_QUALNAME(cls)
    return name if type(name) is str else "?"


def _standard_loader(loader: "object") -> "bool":
    module = _type_module(type(loader))
    if module is None:
        return False
    top = module.partition(".")[0]
    return top in sys.stdlib_module_names or top in ("_frozen_importlib", "_frozen_importlib_external")


class TooLarge:
    """A live value holding an int too large to write as text (``repr`` raises on 3.11+ past
    ``sys.get_int_max_str_digits()``, and would print megabytes where it does not).

    It compares equal to the value it stands for (a contract built in Python may state such a
    number), and shows as its size, so a mismatch reads ``N = <an int of about 100001 digits>``.
    """

    __slots__ = ("description", "value")

    def __init__(self, value: "object", description: "str") -> "None":
        self.value = value
        self.description = description

    def __eq__(self, other: "object") -> "bool":
        if type(other) is TooLarge:
            other = other.value
        return bool(self.value == other)  # plain data on both sides: no host code runs

    __hash__ = None  # type: ignore[assignment]  # equal to an int it does not hash like

    def __repr__(self) -> "str":
        return f"<{self.description}>"

    __str__ = __repr__

    def __reduce__(self) -> "tuple[object, ...]":
        return (TooLarge, (self.value, self.description))


_SCALARS = frozenset(map(id, (str, int, float, bool, bytes, complex, type(None))))
_CONTAINERS = frozenset(map(id, (list, tuple, set, frozenset)))
# Subclasses of these (IntEnum and StrEnum members, ...) stand for the base value, which the base
# type's own slot returns as an exact copy without running any method of the subclass.
_BASE_VALUE: "tuple[tuple[type, Any], ...]" = (
    (int, int.__index__),
    (str, str.__str__),
    (float, float.__float__),
)
_MAX_DEPTH = 8


def _max_digits() -> "int":
    get = getattr(sys, "get_int_max_str_digits", None)
    limit = get() if get is not None else 0
    return limit if 0 < limit < 4300 else 4300  # unlimited would still print megabytes


def _digits(value: "int") -> "int":
    """An upper bound of the decimal digits of ``value``, without writing it out."""
    return value.bit_length() * 30103 // 100000 + 1


class _Huge(Exception):
    def __init__(self, digits: "int") -> "None":
        self.digits = digits


def _plain_value(value: "Any", depth: "int", limit: "int") -> "object":
    """``value`` as exact plain data (what ``literal_eval`` makes), or ``_UNKNOWN``; raises ``_Huge``
    for an int too large to show. Only exact types are looked into: a proxy is never asked anything."""
    cls = type(value)
    if id(cls) in _SCALARS:
        if cls is int and _digits(value) > limit:
            raise _Huge(_digits(value))
        return value
    if depth > _MAX_DEPTH:
        return _UNKNOWN
    if id(cls) in _CONTAINERS:
        items = [_plain_value(item, depth + 1, limit) for item in value]
        if any(item is _UNKNOWN for item in items):
            return _UNKNOWN
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return cls(items)
    if cls is dict:
        pairs = [
            (_plain_value(k, depth + 1, limit), _plain_value(v, depth + 1, limit))
            for k, v in list(value.items())
        ]
        if any(k is _UNKNOWN or v is _UNKNOWN for k, v in pairs):
            return _UNKNOWN
        return dict(pairs)
    for base, convert in _BASE_VALUE:
        if cls is not bool and _derives(cls, base):
            return _plain_value(convert(value), depth, limit)
    return _UNKNOWN


def _live_value(value: "object") -> "object":
    """What a contract's ``value`` is compared with: plain data, a :class:`TooLarge`, or ``_UNKNOWN``."""
    try:
        return _plain_value(value, 0, _max_digits())
    except _Huge as huge:
        if type(value) is int:
            return TooLarge(value, f"an int of about {huge.digits} digits")
        try:
            whole = _plain_value(value, 0, 1 << 62)
        except RecursionError:  # pragma: no cover - _MAX_DEPTH keeps it shallow
            whole = _UNKNOWN
        if whole is _UNKNOWN:
            return _UNKNOWN
        return TooLarge(whole, f"a {_qualname(type(value))} holding an int of about {huge.digits} digits")


def _showable(literal: "object") -> "object":
    """A literal of the source as a value messages can show: a hex literal is not limited in digits
    when compiled, but its decimal ``repr`` is (it becomes a :class:`TooLarge`)."""
    value = _live_value(literal)
    return literal if value is _UNKNOWN else value  # _UNKNOWN: ``...``, the one non-data literal


def _value_text(value: "Any") -> "str":
    """How a value found only at run time (a default) is written in messages: ``repr`` of plain
    data, and a placeholder for anything else (its ``repr`` would be the host's code)."""
    if _is_class(value):
        return f"<class {_qualname(value)}>"
    plain = _live_value(value)
    if plain is _UNKNOWN:
        return f"<{_qualname(type(value))} object>"
    return repr(plain)


# The annotation objects of the standard library, rendered from their parts (see _annotation_text).
_GENERIC_ALIAS: "Any" = type(list[int])  # types.GenericAlias, without importing types
_UNION_TYPE: "Any" = type(int | str)  # types.UnionType
_TYPING_CLASSES: "dict[int, type] | None" = None
_UNION_HEADS = ("typing.Union", "typing.Optional")


def _typing_class(cls: "type") -> "bool":
    """Whether ``cls`` is one of the standard library's own annotation classes: an alias, a special
    form, a type variable or a forward reference of ``typing``, ``collections.abc.Callable[...]``.

    A class of the host could call its module ``typing``: only the classes that ``typing``'s (and
    ``_collections_abc``'s) namespace holds, compared by identity, count. ``typing`` is loaded
    already when an object claims to come from it (or the check pays its import, never host code).
    """
    global _TYPING_CLASSES
    if cls is _GENERIC_ALIAS or cls is _UNION_TYPE:
        return True
    if _type_module(cls) not in ("typing", "collections.abc"):
        return False
    if _TYPING_CLASSES is None:
        import _collections_abc
        import typing

        namespaces = (*vars(typing).values(), vars(_collections_abc).get("_CallableGenericAlias"))
        _TYPING_CLASSES = {id(each): each for each in namespaces if _is_class(each)}
    return _TYPING_CLASSES.get(id(cls)) is cls


def _raw_attribute(value: "object", name: "str") -> "Any":
    """An attribute of a standard-library annotation object, without the fallback of its class's
    ``__getattr__`` (which hands other names on to ``__origin__``, possibly a host's class)."""
    try:
        return object.__getattribute__(value, name)
    except AttributeError:
        return None


def _annotation_text(value: "Any") -> "str":
    """How an annotation object of a function made at run time is written in messages.

    The text is built from the object's parts, never by ``repr``: ``Annotated[str, Marker()]`` and
    ``list[obj]`` hold the host's objects, whose ``__repr__`` is application code (§5). Parts are
    read raw (``__origin__``, ``__args__``, ``__metadata__``); classes are named by their raw
    ``__qualname__`` (never their metaclass), plain data by its own ``repr``, the standard library's
    aliases as ``typing`` writes them, and anything else as a placeholder (``<Marker object>``).
    """
    if type(value) is str:
        return value  # a string annotation: the text as written
    return _annotation_part(value, 0)


def _annotation_part(value: "Any", depth: "int") -> "str":
    if value is None or value is type(None):
        return "None"
    if value is Ellipsis:
        return "..."
    cls = type(value)
    if _derives(cls, type):
        return _qualname(value)
    if id(cls) in _SCALARS:  # Literal's values, Annotated's plain metadata: exact builtin types
        if cls is not int or _digits(value) <= _max_digits():
            return repr(value)
    elif depth < _MAX_DEPTH:
        if cls is list:  # Callable's argument list, on the versions that keep it
            return f"[{', '.join(_annotation_part(each, depth + 1) for each in list(value))}]"
        if _typing_class(cls):
            text = _typing_text(value, cls, depth + 1)
            if text is not None:
                return text
    return f"<{_qualname(cls)} object>"


def _typing_text(value: "Any", cls: "type", depth: "int") -> "str | None":
    """A standard-library annotation object as ``typing``'s ``repr`` writes it (which the contract
    engine then normalises), from its raw parts."""

    def parts(items: "Any") -> "str":
        return ", ".join(_annotation_part(each, depth) for each in items)

    args = _raw_attribute(value, "__args__")
    if cls is _UNION_TYPE:
        return " | ".join(_annotation_part(each, depth) for each in args) if type(args) is tuple else None
    origin = _raw_attribute(value, "__origin__")
    name = _raw_attribute(value, "_name")
    if origin is not None:
        metadata = _raw_attribute(value, "__metadata__")
        if type(metadata) is tuple:  # Annotated[T, x]: its __origin__ is T
            return f"typing.Annotated[{parts((origin, *metadata))}]"
        star = "*" if cls is _GENERIC_ALIAS and _raw_attribute(value, "__unpacked__") is True else ""
        head = f"typing.{name}" if type(name) is str else _annotation_part(origin, depth)
        if type(args) is not tuple:
            return head  # typing.List, unsubscripted
        if head in _UNION_HEADS and len(args) == 2 and (args[0] is type(None) or args[1] is type(None)):
            return f"typing.Optional[{_annotation_part(args[args[0] is type(None)], depth)}]"
        if _qualname(cls) == "_CallableGenericAlias" and args:
            first = args[0]
            if first is Ellipsis or _qualname(type(first)) in ("ParamSpec", "_ConcatenateGenericAlias"):
                return f"{head}[{parts(args)}]"
            return f"{head}[[{parts(args[:-1])}], {_annotation_part(args[-1], depth)}]"
        return f"{star}{head}[{parts(args) if args else '()'}]"
    if type(name) is str:
        return f"typing.{name}"  # a special form: Any (before 3.11), Optional, NoReturn...
    forward = _raw_attribute(value, "__forward_arg__")
    if type(forward) is str:
        return repr(forward)  # ForwardRef('Foo'): quoted, as the source wrote it
    own = _raw_attribute(value, "__name__")
    if type(own) is not str:
        return None
    if _qualname(cls) in ("TypeVar", "ParamSpec"):
        if _raw_attribute(value, "__covariant__") is True:
            return f"+{own}"
        return f"-{own}" if _raw_attribute(value, "__contravariant__") is True else f"~{own}"
    return own  # TypeVarTuple, NewType, a type alias


class _CO:
    """Code object flags (the ``inspect.CO_*`` values, stable since 3.6; ``inspect`` is slow to import)."""

    VARARGS = 0x04
    VARKEYWORDS = 0x08
    COROUTINE = 0x80
    ASYNC_GENERATOR = 0x200


def _live_annotations(func: "FunctionType") -> "dict[str, Any]":
    if sys.version_info >= (3, 14):  # pragma: no cover - reading them may evaluate them (PEP 649)
        return {}
    try:
        annotations = func.__annotations__
    except Exception:
        return {}
    return dict(annotations) if type(annotations) is dict else {}


def _live_function(name: "str", func: "FunctionType") -> "tuple[Any, ...] | None":
    """The record of a function created at run time: its signature from the code object (no
    ``inspect``), its defaults written as :func:`_value_text` shows them."""
    code = func.__code__
    if type(code) is not _CODE_TYPE:
        return None
    annotations = _live_annotations(func)
    defaults = func.__defaults__ if type(func.__defaults__) is tuple else ()
    kwdefaults = func.__kwdefaults__ if type(func.__kwdefaults__) is dict else {}

    def argument(arg: "str", default: "str | None" = None) -> "tuple[Any, ...]":
        text = _annotation_text(annotations[arg]) if arg in annotations else None
        return (arg, text, default, *default_literal(default))

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
    return (name, tuple(arguments), returns, is_async)


def _live_class(name: "str", cls: "type") -> "tuple[Any, ...]":
    """The record of a class created at run time, from its raw ``__dict__`` and ``__bases__``."""
    attributes: list[tuple[Any, ...]] = []
    methods: list[tuple[Any, ...]] = []
    for attr, value in list(_TYPE_DICT(cls).items()):
        if type(attr) is not str or (attr.startswith("__") and attr.endswith("__")):
            continue
        kind = type(value)
        raw: Any = value.__func__ if kind is staticmethod or kind is classmethod else value
        if type(raw) is _FUNCTION_TYPE:
            method = _live_function(attr, raw)
            if method is not None:
                methods.append(method)
        elif not callable(value) and not _derives(kind, property):  # callable(): a slot test, no code
            live = _live_value(value)
            known = live is not _UNKNOWN
            attributes.append((attr, "class", known, live if known else None, None))
    bases = tuple(_qualname(base) for base in _TYPE_BASES(cls) if base is not object)
    return (name, tuple(attributes), tuple(methods), bases)


def _fill_class_values(record: "tuple[Any, ...]", live: "object") -> "tuple[Any, ...]":
    """Class attributes whose value the source does not spell out, taken from the live class."""
    if not _is_class(live):
        return record
    namespace = _TYPE_DICT(live)
    name, attributes, methods, bases = record
    filled: list[tuple[Any, ...]] | None = None
    for index, (attribute, kind, known, _, annotation) in enumerate(attributes):
        if kind != "class" or known:
            continue
        value = _live_value(namespace.get(attribute, _UNKNOWN))
        if value is _UNKNOWN:
            continue
        if filled is None:
            filled = list(attributes)
        filled[index] = (attribute, "class", True, value, annotation)
    return record if filled is None else (name, tuple(filled), methods, bases)


# Set on every module by the import system; never the caller's own data.
_MODULE_DUNDERS = frozenset(
    ("__name__", "__doc__", "__package__", "__loader__", "__spec__", "__file__", "__cached__", "__builtins__")
)


def _merge(
    parsed: "Parsed | None", namespace: "dict[str, Any] | None", module_name: "str | None"
) -> "tuple[dict[str, Any], dict[str, Any], dict[str, Any]]":
    """The records of the source (values made showable), plus what only the live module knows.

    The parsed records are shared with the cache and are never modified: the dicts returned are
    the caller's own.
    """
    variables: dict[str, Any] = {}
    functions: dict[str, Any] = {}
    classes: dict[str, Any] = {}
    known: set[str] = set()
    if parsed is not None:
        source_variables, source_functions, source_classes, imported, _ = parsed
        for name, (_, is_known, value, annotation) in source_variables.items():
            variables[name] = (name, is_known, _showable(value) if is_known else None, annotation)
        functions.update(source_functions)
        for name, (_, attributes, methods, bases) in source_classes.items():
            shown = tuple(
                (attribute, kind, is_known, _showable(value) if is_known else None, annotation)
                for attribute, kind, is_known, value, annotation in attributes
            )
            classes[name] = (name, shown, methods, bases)
        # Names bound by import statements: the live module holds them too, but they belong to
        # other modules and must not reappear as the caller's variables.
        known.update(source_variables, source_functions, source_classes, imported)
    if namespace is None:
        return variables, functions, classes
    own_name = namespace.get("__name__")
    if type(own_name) is not str:
        own_name = module_name
    # Values the source does not spell out, which the module may hold by now.
    for name, (_, is_known, _, annotation) in list(variables.items()):
        value = _UNKNOWN if is_known else _live_value(namespace.get(name, _UNKNOWN))
        if value is not _UNKNOWN:
            variables[name] = (name, True, value, annotation)
    for name, record in list(classes.items()):
        if any(kind == "class" and not is_known for _, kind, is_known, _, _ in record[1]):
            value = namespace.get(name, _UNKNOWN)
            if value is not _UNKNOWN:
                classes[name] = _fill_class_values(record, value)
    # A snapshot of the names (taken in one C call): another thread may be adding to the module.
    # Only exact strings are looked up (a str subclass's __hash__/__eq__ would be host code).
    extra = [
        name
        for name in list(namespace)
        if type(name) is str and name not in known and name not in _MODULE_DUNDERS
    ]
    for name in extra:
        value = namespace.get(name, _UNKNOWN)
        # Dunders of the live module are the interpreter's (__name__, __file__, __builtins__...);
        # modules and ``from __future__`` features are imports, not the caller's own values.
        cls = type(value)
        if (
            value is _UNKNOWN
            or (name.startswith("__") and name.endswith("__"))
            or _derives(cls, type(sys))
            or _type_module(cls) == "__future__"
        ):
            continue
        if cls is _FUNCTION_TYPE:
            module = value.__module__
            function = _live_function(name, value) if type(module) is str and module == own_name else None
            if function is not None:
                functions[name] = function
        elif _derives(cls, type):
            if _type_module(value) == own_name:
                classes[name] = _live_class(name, value)
        elif not callable(value):
            live = _live_value(value)
            variables[name] = (name, live is not _UNKNOWN, None if live is _UNKNOWN else live, None)
    return variables, functions, classes


def _version(variables: "dict[str, Any]", namespace: "dict[str, Any] | None") -> "str | None":
    """``__version__`` as the source or the module's raw namespace holds it. Never ``getattr``: a
    lazy ``__version__`` served by a module ``__getattr__`` (read from ``importlib.metadata``) is
    not evaluated; the check then falls back to the distribution's version (§6)."""
    declared = variables.get("__version__")
    if declared is not None and declared[1] and type(declared[2]) is str:
        return str(declared[2])
    live = namespace.get("__version__") if namespace is not None else None
    return live if type(live) is str else None


def read_structure(caller: "CallerLike") -> "Structure":
    """The caller's structure (see the module docstring); never imports, executes or reloads it.

    Source comes from the caller's file (``.py``, or the ``.py`` behind a ``__pycache__`` entry),
    else from its loader's ``get_source``. Without parsable source ``has_source`` is ``False`` and
    the structure is whatever the live module holds.
    """
    file = caller.file
    filename = os.path.basename(file) if file else None
    namespace = _namespace(caller.module)
    found = source_of(file, records_of)
    if found is not None:
        filename = os.path.basename(found[0])
        parsed = found[2]
    else:
        parsed = _source_from_loader(caller, namespace)
    variables, functions, classes = _merge(parsed, namespace, caller.name)
    return (
        caller.name or filename or "the importer",
        filename,
        _version(variables, namespace),
        parsed is not None,
        variables,
        functions,
        classes,
        parsed[4] if parsed is not None else {},
    )
