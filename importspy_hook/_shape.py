"""The caller's source structure as plain data, parsed once per content and cached beside bytecode.

Why plain data: the compiled check (``_compiled``) compares a contract's structural requirements
with what the caller's source defines, on the contracted-import path, where attrs costs more than
the whole budget (§11). So the AST is reduced here to tuples and dicts (what ``marshal`` stores),
and ``_structure`` builds its attrs models from the same data for the API and for messages.

Why a cache beside bytecode: parsing a host module's source costs milliseconds (``ast`` itself is a
few more to import), and a fresh process that meets a contract with structural requirements
would pay it every time. The record ``__pycache__/<stem>.structure.<cache tag>.marshal`` is keyed
by the digest of the source's bytes (``_cache.digest``) and follows every rule of the contract
cache (``_cache``).
Within a process, parsed sources are keyed by ``(path, st_mtime_ns, st_size)``.

Records (tuples, in this order):

* variable ``(name, known, value, annotation)`` — ``known`` is False when the value is not a literal;
* argument ``(name, annotation, default_text, default_is_literal, default_value)``;
* function ``(name, arguments, return_annotation, is_async)``;
* attribute ``(name, kind, known, value, annotation)`` — ``kind`` is ``"class"`` or ``"instance"``;
* class ``(name, attributes, methods, superclasses)``;
* a parsed source ``(variables, functions, classes, imported, norms)``: three name-keyed dicts in
  source order, the sorted names bound by import statements, and the normalised spelling
  (``_annotations``) of every annotation whose text normalisation could change (see
  :func:`plain_annotation`), so that comparing annotations later needs no ``ast``.
"""

import os

from ._locks import ForkSafeLock

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: this module is on the contracted-import path
if TYPE_CHECKING:
    import ast
    from collections.abc import Iterator
    from typing import Any

    Parsed = tuple[dict[str, Any], dict[str, Any], dict[str, Any], tuple[str, ...], dict[str, str]]
    Stamp = tuple[int, int]

__all__ = [
    "cached_plain",
    "decode",
    "default_literal",
    "last_dotted_part",
    "parse_source",
    "plain_annotation",
    "plain_for_file",
    "remember",
    "source_path",
]

_NORMALISED_MARKERS = ("'", '"', "typing", "Optional", "Union", "|")


def plain_annotation(text: "str") -> "bool":
    """Whether ``text``, written by ``ast.unparse``, is already its own normalised spelling.

    The normaliser only rewrites quoted forward references, ``typing.``/``typing_extensions.``
    prefixes, ``Optional``/``Union`` and ``|`` unions; an unparsed text containing none of them
    comes back unchanged. Every annotation text of a record is an ``ast.unparse`` output.
    """
    return not any(marker in text for marker in _NORMALISED_MARKERS)


_SOURCE_SUFFIXES = (".py", ".pyw")


def source_path(file: "str | None") -> "str | None":
    """The ``.py`` that belongs to ``file`` (itself, or the source of a ``__pycache__`` entry)."""
    if not file:
        return None
    if file.endswith(_SOURCE_SUFFIXES):
        return file
    if file.endswith(".pyc"):
        import sys

        external = sys.modules.get("_frozen_importlib_external")
        source_from_cache: Any = getattr(external, "source_from_cache", None)
        if source_from_cache is None:  # pragma: no cover - an interpreter without frozen importlib
            import importlib.util

            source_from_cache = importlib.util.source_from_cache
        try:
            candidate: str = source_from_cache(file)
        except ValueError:  # a legacy ``foo.pyc`` next to where ``foo.py`` would be
            candidate = file[:-1]
        return candidate
    return None


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
    """Marks a value that is not a literal while the records are being built."""


_UNKNOWN = _Unknown()


def parse_source(source: "str", filename: "str") -> "Parsed":
    """The records of a module's source; raises ``SyntaxError`` (and friends) when it does not parse."""
    import ast

    extractor = _Extractor(ast)
    return extractor.module(quiet_parse(source))


_parses = iter(range(1 << 62))  # ``next`` on it is atomic: a name of its own for every parse


def quiet_parse(source: "str", mode: "str" = "exec") -> "Any":
    """``ast.parse`` that neither prints nor raises the compiler's warnings (§5).

    Parsing the caller's source meets what the interpreter met when it compiled it: an invalid escape
    sequence (``"\\d"``) is a ``SyntaxWarning`` (a ``DeprecationWarning`` before 3.12). The
    interpreter said so once, or never (bytecode compiled at install time); the hook must not say it
    again on every cold cache, and under ``-W error`` / ``PYTHONWARNINGS=error`` / pytest's
    ``filterwarnings = error`` the warning would become a ``SyntaxError`` that refuses a compliant
    host ("caller source not available").

    ``warnings.catch_warnings`` swaps the process-wide filter list, which races with other threads.
    Instead the parse gets a file name of its own, and one filter that ignores every warning from
    exactly that "module" (the warnings machinery names the module of a compiler warning after its
    file) goes in front of the list for the duration of the parse: other threads' warnings and
    filter changes are untouched, and the entry is removed by value afterwards.
    """
    import ast
    import warnings

    name = f"<importspy-hook parse {next(_parses)}>"
    # A plain string as the module of a filter matches exactly (what the default filters use).
    entry = ("ignore", None, Warning, name, 0)
    filters: Any = warnings.filters  # a list at run time (typeshed says Sequence)
    filters.insert(0, entry)
    try:
        return ast.parse(source, filename=name, mode=mode)
    finally:
        try:
            filters.remove(entry)
        except ValueError:  # someone reset the filters meanwhile: nothing of ours is left
            pass


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


# --------------------------------------------------------------------------- caches

_lock = ForkSafeLock()
# source path -> (stamp, parsed records or None when the source does not parse)
_plain: "dict[str, tuple[Stamp, Parsed | None]]" = {}


def _record_path(path: "str") -> "str | None":
    from ._cache import cache_path

    directory, name = os.path.split(path)
    stem = name.rpartition(".")[0] or name
    return cache_path(directory, stem + ".structure")


def known(path: "str") -> "tuple[Stamp, Parsed | None] | None":
    """``(stamp, records)`` last parsed in this process for ``path`` (a dict read: no lock needed)."""
    return _plain.get(path)


def cached_plain(path: "str", stamp: "Stamp") -> "tuple[bool, Any]":
    """``(True, records or None)`` when known for this ``stamp``, in the process or beside bytecode.

    ``(False, source bytes or None)`` otherwise: the bytes (when they could be read) are then for
    the caller to parse and hand to :func:`remember`.
    """
    with _lock:
        entry = _plain.get(path)
    if entry is not None and entry[0] == stamp:
        return True, entry[1]
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return False, None
    from ._cache import digest, read_record

    key = digest(data)
    payload = read_record(_record_path(path), "structure", key)
    if payload is not None and _records_ok(payload):
        with _lock:
            _plain[path] = (stamp, payload)
        return True, payload
    return False, data


def remember(path: "str", stamp: "Stamp", data: "bytes", parsed: "Parsed | None") -> "None":
    """Keep ``parsed`` (the records of ``data``) for this process and, when it parsed, on disk."""
    with _lock:
        _plain[path] = (stamp, parsed)
    if parsed is not None:
        from ._cache import digest, write_record

        try:
            source = os.stat(path)  # the record is no more readable than the host's source (§7)
        except OSError:
            return
        write_record(_record_path(path), "structure", digest(data), parsed, source)


def forget() -> "None":
    """Forget every parsed source of this process (tests)."""
    with _lock:
        _plain.clear()


def plain_for_file(path: "str", stamp: "Stamp") -> "tuple[bool, Parsed | None]":
    """``(readable, records)`` of the source at ``path`` whose ``(st_mtime_ns, st_size)`` is ``stamp``.

    ``records`` is None when the source does not parse (or cannot be decoded). Parses only when
    neither this process nor the cache beside bytecode knows this content.
    """
    known, found = cached_plain(path, stamp)
    if known:
        return True, found
    if found is None:
        return False, None
    try:
        source = decode(found)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return False, None
    try:
        parsed: Parsed | None = parse_source(source, path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # The caller is running, so its source must have compiled once; a file that no longer
        # parses was edited since, or needs a newer Python. Either way: no trustworthy source.
        parsed = None
    remember(path, stamp, found, parsed)
    return True, parsed


def _records_ok(payload: "object") -> "bool":
    """A structure record read back from disk has the shape the checks index into."""
    if type(payload) is not tuple or len(payload) != 5:
        return False
    variables, functions, classes, imported, norms = payload
    if type(norms) is not dict or not all(type(k) is str and type(v) is str for k, v in norms.items()):
        return False
    if type(variables) is not dict or type(functions) is not dict or type(classes) is not dict:
        return False
    if type(imported) is not tuple or not all(type(name) is str for name in imported):
        return False
    try:
        for name, (own, known, _value, annotation) in variables.items():
            if own != name or type(known) is not bool or not _text_or_none(annotation):
                return False
        if not all(_function_ok(name, record) for name, record in functions.items()):
            return False
        for name, (own, attributes, methods, bases) in classes.items():
            if own != name or type(bases) is not tuple or not all(type(b) is str for b in bases):
                return False
            if type(methods) is not tuple or not all(_function_ok(m[0], m) for m in methods):
                return False
            if type(attributes) is not tuple:
                return False
            for attribute, kind, known, _value, annotation in attributes:
                if type(attribute) is not str or kind not in ("class", "instance"):
                    return False
                if type(known) is not bool or not _text_or_none(annotation):
                    return False
    except (TypeError, ValueError):  # a record of the wrong length does not unpack
        return False
    return True


def _text_or_none(value: "object") -> "bool":
    return value is None or type(value) is str


def _function_ok(name: "object", record: "object") -> "bool":
    if type(record) is not tuple or len(record) != 4:
        return False
    own, arguments, returns, is_async = record
    if own != name or type(own) is not str or type(is_async) is not bool or not _text_or_none(returns):
        return False
    if type(arguments) is not tuple:
        return False
    for argument in arguments:
        if type(argument) is not tuple or len(argument) != 5:
            return False
        arg_name, annotation, default, is_literal, _value = argument
        if type(arg_name) is not str or type(is_literal) is not bool:
            return False
        if not _text_or_none(annotation) or not _text_or_none(default):
            return False
    return True
