"""Reading contract files: YAML → :mod:`._contract_model`, with a position for every error (§6).

Why the YAML *node graph* and not ``yaml.load``: building the models from ruamel.yaml's composed
nodes keeps, for every scalar, its source text, its tag and its position. Source text is what makes
``version: 3.10`` mean ``"3.10"`` (a loader would already have turned it into the float ``3.1``),
positions are what let every :class:`ContractError` and every violation name ``file:line``, and
tags are checked here one by one, so ``!!python/...`` and custom tags are refused (with their
position) instead of being constructed.

A contract file is untrusted input read on the import path, so everything a malformed or hostile
file can do ends in :class:`ContractError` and never in another exception: files over 1 MiB are
refused before parsing, non-UTF-8 or binary content is refused, alias expansion ("billion laughs")
and nesting depth are bounded while the models are built, and ruamel.yaml's own errors are turned
into ``ContractError`` with their line and column.

Null means "absent": ImportSpy's own examples write ``return_annotation:`` or ``functions:`` with
nothing after them, and this reads them as "not required". Every key is optional except an entry's
``name``; unknown keys are errors (with a suggestion), because a typo must never silently drop a
requirement.

The builder produces the *plain* form of ``_plain`` (tuples and dicts holding exactly what the
models' constructors receive): the hook checks with it and caches it beside bytecode without ever
importing attrs, and :func:`parse_contract` turns it into the models. Parsed contracts are cached
per process by ``(path, st_mtime_ns, st_size)`` (or by a hash of the bytes when they are given) and
across processes by content hash (``_cache``); a failure is never cached, so fixing the file fixes
the next import.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ._cache import MAX_CONTRACT_BYTES
from ._cache import too_large as _too_large
from ._errors import ContractError
from ._plain import node as _node
from ._plain import to_models

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ._contract_model import Contract
    from ._plain import Node

__all__ = [
    "ARCH_NAMES",
    "IMPLEMENTATION_NAMES",
    "MAX_CONTRACT_BYTES",
    "OS_NAMES",
    "clear_cache",
    "contract_errors",
    "load_contract",
    "parse_contract",
    "parse_plain",
]

_MAX_NODE_VISITS = 250_000  # a 1 MiB file cannot hold more nodes than this without aliases
_MAX_ALIAS_VISITS = 10_000  # visits of nodes already seen: what aliases multiply
_MAX_DEPTH = 48  # the deepest legitimate contract nests about 16 levels

# Accepted spellings (compared lower-case, ASCII only) of the names that have a closed vocabulary.
# A misspelt OS would otherwise never match and silently refuse every importer — or, inside an
# alternative, silently disable that alternative — so unknown names are contract errors. The
# values are compared after the normalisation of ``_context`` (``macos`` ≡ ``darwin``).
OS_NAMES = frozenset(
    {
        "linux",
        "darwin",
        "macos",
        "mac",
        "osx",
        "macosx",
        "windows",
        "win32",
        "nt",
        "freebsd",
        "openbsd",
        "netbsd",
        "sunos",
        "aix",
        "cygwin",
        "emscripten",
        "wasi",
        "android",
        "ios",
    }
)
ARCH_NAMES = frozenset(
    {
        "x86_64",
        "amd64",
        "x86-64",
        "x64",
        "aarch64",
        "arm64",
        "armv8",
        "armv8l",
        "i386",
        "i486",
        "i586",
        "i686",
        "x86",
        "arm",
        "armv6l",
        "armv7",
        "armv7l",
        "ppc",
        "ppc64",
        "ppc64le",
        "s390x",
        "riscv64",
        "loongarch64",
        "mips",
        "mips64",
        "sparc64",
        "wasm32",
    }
)
IMPLEMENTATION_NAMES = frozenset(
    {
        "cpython",
        "pypy",
        "graalpy",
        "graalpython",
        "ironpython",
        "jython",
        "micropython",
        "brython",
        "pyston",
        "rustpython",
        "nuitka",
        "transcrypt",
    }
)
ATTRIBUTE_TYPES = ("class", "instance")

# PEP 508 distribution names (case-insensitive).
_DISTRIBUTION_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")

# Keys of ImportSpy's admission policies that this hook does not implement: refused with a clear
# message rather than ignored, since ignoring them would silently drop a requirement.
_UNSUPPORTED = {
    "dependency_options": "ImportSpy's dependency_options are not supported by importspy-hook",
    "evidence_requirements": "ImportSpy's evidence requirements are not supported by importspy-hook",
    "declared": "ImportSpy's 'declared' (project metadata) check is not supported by importspy-hook",
    "origin": "ImportSpy's distribution origin policy is not supported by importspy-hook",
    "editable": "ImportSpy's 'editable' policy is not supported by importspy-hook",
    "provenance": "ImportSpy's provenance evidence is not supported by importspy-hook",
}

_CORE = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_CORE + t for t in ("str", "int", "float", "bool", "null"))
_TIMESTAMP, _SEQ, _MAP, _MERGE = (_CORE + t for t in ("timestamp", "seq", "map", "merge"))
_SCALAR_TAGS = frozenset({_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP})

_T = TypeVar("_T")


# --------------------------------------------------------------------------- entry points


def parse_contract(text: str | bytes, path: str = "<string>") -> Contract:
    """Parse a contract from its text (or bytes, which must be UTF-8). Raises :class:`ContractError`."""
    return to_models(parse_plain(text, path), path)


def parse_plain(text: str | bytes, path: str = "<string>") -> Node:
    """:func:`parse_contract` without building the models: the plain form of ``_plain``.

    What the hook and the contract cache use, so that a first contracted import pays for
    ruamel.yaml but not for attrs. Raises :class:`ContractError` exactly as ``parse_contract`` does.
    """
    return _build(_source(text, path), path)


def contract_errors(text: str | bytes, path: str = "<string>") -> list[ContractError]:
    """Every error of a contract (what ``importspy-hook lint`` reports), in document order.

    The import path stops at the first error (:func:`parse_plain` raises it); a person fixing a
    file wants them all at once: every unknown key, every bad value. The walk goes on past each
    error with a stand-in value; errors that leave nothing to walk (bad YAML, a document that is
    not a mapping, a missing required ``name``) end the walk of what they concern, and the
    resource limits (size, aliases, depth) end it altogether. An empty list: the contract is sound.
    """
    try:
        source = _source(text, path)
        too_deep = _flow_nesting_error(source, path)
        if too_deep is not None:
            return [too_deep]
        root = _compose(source, path)
    except ContractError as exc:
        return [exc]
    if root is None or _tag(root) == _NULL:
        return []
    builder = _Builder(path, collect=True)
    try:
        plain = builder.contract(root)
    except _Abandoned:
        pass
    except ContractError as exc:
        builder.record(exc)
    except RecursionError:
        builder.record(ContractError(path, 0, 0, "", "document is nested too deeply"))
    errors = builder.collected()
    if not errors:
        try:  # what the models themselves refuse (the import path raises it the same way)
            to_models(plain, path)
        except ContractError as exc:
            errors.append(exc)
    return errors


def _source(text: str | bytes, path: str) -> str:
    """The contract's text, refused when too large, not UTF-8 or not text (NUL)."""
    if isinstance(text, str):
        if len(text) > MAX_CONTRACT_BYTES or len(text.encode("utf-8", "surrogatepass")) > (
            MAX_CONTRACT_BYTES
        ):
            raise _too_large(path)
        nul = text.find("\x00")
        if nul >= 0:
            line, column = _position_in_text(text, nul)
            raise ContractError(path, line, column, "", "contains a NUL character: not a text file")
        return text
    if isinstance(text, (bytes, bytearray, memoryview)):
        return _decode(bytes(text), path)
    raise TypeError(f"contract text must be str or bytes, not {type(text).__name__}")


def load_contract(path: str | os.PathLike[str], *, data: bytes | None = None) -> Contract:
    """The contract at ``path`` (parsed once per content), or a :class:`ContractError`.

    ``data``: the file's bytes when they were read some other way (a sidecar inside a zip archive is
    read through its loader's ``get_data``); ``path`` then only names the contract in messages.
    Parsed contracts are kept for the process and, for files, in the cache beside bytecode
    (``_cache``), so a contract unchanged since an earlier run is not parsed again.
    Thread-safe; failures are never cached.
    """
    from ._cache import contract_entry

    return contract_entry(os.fspath(path), data).model()


def clear_cache() -> None:
    """Forget every parsed contract of this process (tests; the cache is otherwise self-validating).

    The cache files beside bytecode are left alone: they are validated against the contract's
    content whenever they are read.
    """
    from ._cache import clear

    clear()


# --------------------------------------------------------------------------- bytes → text


def _position_in_text(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _decode(data: bytes, path: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:4] in (b"\x00\x00\xfe\xff",):
        raise ContractError(path, 1, 1, "", "contract must be UTF-8 (found a UTF-16/32 byte order mark)")
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        column = nul - (data.rfind(b"\n", 0, nul) + 1) + 1
        raise ContractError(path, line, column, "", "contains a NUL byte: not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ContractError(path, line, column, "", "contract is not valid UTF-8") from None


# --------------------------------------------------------------------------- text → nodes


def _compose(source: str, path: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        # A fresh YAML object per document: they are not thread-safe, and creating one is cheap.
        return YAML(typ="safe", pure=True).compose(source)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        parts = [p for p in (exc.context, exc.problem) if p]
        reason = ": ".join(str(p).strip() for p in parts) or "invalid YAML"
        raise ContractError(path, line, column, "", f"invalid YAML: {reason}") from None
    except YAMLError as exc:  # ReaderError (unacceptable characters) and friends
        position = getattr(exc, "position", None)
        line, column = _position_in_text(source, position) if isinstance(position, int) else (0, 0)
        reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
        raise ContractError(path, line, column, "", f"invalid YAML: {reason}") from None
    except RecursionError:
        raise ContractError(path, 0, 0, "", "document is nested too deeply") from None
    except Exception as exc:  # anything else ruamel may raise on hostile input (or -W error)
        raise ContractError(path, 0, 0, "", f"invalid YAML: {type(exc).__name__}: {exc}") from None


def _build(source: str, path: str) -> Node:
    too_deep = _flow_nesting_error(source, path)
    if too_deep is not None:
        raise too_deep
    root = _compose(source, path)
    builder = _Builder(path)
    if root is None or _tag(root) == _NULL:
        # empty document, only comments, or a bare null: an empty contract, which accepts all
        return _node("Contract")
    try:
        return builder.contract(root)
    except RecursionError:
        raise ContractError(path, 0, 0, "", "document is nested too deeply") from None


_FLOW_TOKENS = re.compile(r"""[\[\]{}'"#\n]""")


def _flow_nesting_error(source: str, path: str) -> ContractError | None:
    """A position for "nested too deeply" before the YAML scanner sees the document.

    ruamel.yaml's scanner does work per token that grows with the flow depth, so a megabyte of
    deeply nested brackets costs it minutes before the depth bound of the builder is ever reached,
    and a recursion error has no position. The flow brackets are counted here (outside quoted
    scalars and comments) and a document that opens more than ``_MAX_DEPTH`` of them is refused at
    the bracket that goes too deep. Only documents with that many brackets at all are scanned.
    """
    if source.count("[") + source.count("{") <= _MAX_DEPTH:
        return None
    depth = 0
    quote = ""  # the quote character while inside a quoted scalar
    index = 0
    while True:
        match = _FLOW_TOKENS.search(source, index)
        if match is None:
            return None
        char, index = match.group(), match.end()
        if quote:
            if char == quote:
                if quote == "'" and source.startswith("'", index):
                    index += 1  # '' is an escaped quote inside single quotes
                elif quote == '"' and _escaped(source, match.start()):
                    continue
                else:
                    quote = ""
            continue
        if char == "#":
            if match.start() == 0 or source[match.start() - 1] in " \t\n":
                end = source.find("\n", index)
                if end < 0:
                    return None
                index = end  # a comment runs to the end of its line
            continue
        if char in "'\"":
            if match.start() == 0 or source[match.start() - 1] in " \t\n[{,":
                quote = char  # a quote opens a scalar only where a scalar can start (not in it's)
        elif char in "[{":
            depth += 1
            if depth > _MAX_DEPTH:
                line, column = _position_in_text(source, match.start())
                return ContractError(path, line, column, "", "document is nested too deeply")
        elif char in "]}":
            depth = max(depth - 1, 0)


def _escaped(source: str, position: int) -> bool:
    """Whether the character at ``position`` follows an odd number of backslashes."""
    count = 0
    while position > 0 and source[position - 1] == "\\":
        count += 1
        position -= 1
    return count % 2 == 1


def _tag(node: Any) -> str:
    tag = node.tag
    return str(getattr(tag, "value", tag))  # ruamel 0.18 wraps tags in a Tag object


def _kind(node: Any) -> str:
    """How a node is described to the user in type errors."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return {
        _STR: "a string",
        _INT: "a number",
        _FLOAT: "a number",
        _BOOL: "true/false",
        _NULL: "null",
        _TIMESTAMP: "a date",
    }.get(_tag(node), "a value")


def _convert_scalar(node: Any) -> object:
    """The Python value of a plain scalar; when YAML 1.1 forms do not convert, its text."""
    tag, text = _tag(node), node.value
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return text.lower() in ("true", "yes", "on", "y")
    if tag == _INT:
        digits = text.replace("_", "")
        for base in (0, 10):
            try:
                return int(digits, base)
            except ValueError:
                continue
        return text
    if tag == _FLOAT:
        lowered = text.replace("_", "").lower()
        if lowered in (".inf", "+.inf"):
            return math.inf
        if lowered == "-.inf":
            return -math.inf
        if lowered == ".nan":
            return math.nan
        try:
            return float(lowered)
        except ValueError:
            return text
    return text  # str, timestamp (kept as written)


# --------------------------------------------------------------------------- nodes → models

_Reader = Callable[[Any, str, int], _T]



def env_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name an environment variable of this process, or None (§6).

    Shared by the parser and ``register()``: a name that holds ``=`` can never be set, and one the
    OS cannot encode (a lone surrogate) cannot even be looked up — it would fail in the middle of a
    check instead of where it is written.
    """
    if "=" in name:
        return "an environment variable name cannot contain '='"
    try:
        os.fsencode(name)
    except UnicodeError:
        return "an environment variable name must be encodable by the operating system"
    return None

class _Abandoned(Exception):
    """Collecting only: the rest of a list item is not worth walking, and its error is recorded."""


class _Builder:
    """Schema-directed walk over the node graph of one document.

    Strict (the import path): the first error is raised. Collecting (``collect=True``, for
    ``lint``): :meth:`fail` records an error and the walk goes on with a stand-in value, and an
    error raised anyway (nothing left to walk) is recorded where the enclosing list item or the
    document ends. In strict mode :meth:`fail` raises exactly what was raised before, so the
    import path's messages are those of the collecting walk's first error.
    """

    def __init__(self, path: str, *, collect: bool = False) -> None:
        self.path = path
        self.errors: list[ContractError] | None = [] if collect else None
        self.stopped = False  # a resource limit was hit: the collecting walk must end too
        self.visits = 0
        self.alias_visits = 0
        self.seen: set[int] = set()
        from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

        self.Mapping, self.Scalar, self.Sequence = MappingNode, ScalarNode, SequenceNode

    # -- plumbing ----------------------------------------------------------------------------
    def error(self, node: Any, key: str, reason: str) -> ContractError:
        mark = getattr(node, "start_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        return ContractError(self.path, line, column, key, reason)

    def fail(self, node: Any, key: str, reason: str) -> None:
        """An error after which the walk can go on: raised when strict, recorded when collecting."""
        error = self.error(node, key, reason)
        if self.errors is None:
            raise error
        self.record(error)

    def record(self, error: ContractError) -> None:
        """Keep ``error`` unless one was already found at its position (a stand-in value that
        fails again where the first error was must not be reported twice)."""
        assert self.errors is not None
        if not any((e.line, e.column) == (error.line, error.column) for e in self.errors):
            self.errors.append(error)

    def collected(self) -> list[ContractError]:
        """The recorded errors in document order (the walk visits a mapping's keys first)."""
        return sorted(self.errors or (), key=lambda e: (e.line, e.column))

    def item(self, read: _Reader[_T], node: Any, key: str, depth: int) -> _T | None:
        """One list item; when collecting, an error that ends it is recorded and None returned."""
        if self.errors is None:
            return read(node, key, depth)
        try:
            return read(node, key, depth)
        except _Abandoned:
            return None
        except ContractError as exc:
            if self.stopped:
                raise
            self.record(exc)
            return None

    def enter(self, node: Any, key: str, depth: int) -> None:
        """Account for one visit of ``node``: limits on size, aliases, depth; core tags only."""
        self.visits += 1
        ident = id(node)
        if ident in self.seen:
            self.alias_visits += 1
        else:
            self.seen.add(ident)
        if self.visits > _MAX_NODE_VISITS or self.alias_visits > _MAX_ALIAS_VISITS:
            self.stopped = True
            raise self.error(node, key, "too many aliases / document too large")
        if depth > _MAX_DEPTH:
            self.stopped = True
            raise self.error(node, key, "document is nested too deeply")
        tag = _tag(node)
        if isinstance(node, self.Scalar):
            allowed = tag in _SCALAR_TAGS or tag == _MERGE
        elif isinstance(node, self.Sequence):
            allowed = tag == _SEQ
        else:
            allowed = tag == _MAP
        if not allowed:
            self.fail(node, key, f"tag {tag.replace(_CORE, '!!')!r} is not allowed (only plain YAML values)")

    @staticmethod
    def line(node: Any) -> int:
        return int(node.start_mark.line) + 1

    def is_null(self, node: Any) -> bool:
        return isinstance(node, self.Scalar) and _tag(node) == _NULL

    def mapping(self, node: Any, key: str, depth: int) -> dict[str, tuple[Any, Any]]:
        """Key text -> (key node, value node), merge keys (``<<``) resolved, duplicates refused."""
        self.enter(node, key, depth)
        if not isinstance(node, self.Mapping):
            self.fail(node, key, f"expected a mapping, found {_kind(node)}")
            return {}
        entries: dict[str, tuple[Any, Any]] = {}
        merged: dict[str, tuple[Any, Any]] = {}
        for key_node, value_node in node.value:
            self.enter(key_node, key, depth + 1)
            if isinstance(key_node, self.Scalar) and _tag(key_node) == _MERGE:
                sources = value_node.value if isinstance(value_node, self.Sequence) else [value_node]
                if isinstance(value_node, self.Sequence):
                    self.enter(value_node, key, depth + 1)
                for source in sources:  # earlier mappings in a merge list take precedence
                    for name, pair in self.mapping(source, key, depth + 1).items():
                        merged.setdefault(name, pair)
                continue
            if not isinstance(key_node, self.Scalar) or _tag(key_node) not in (_STR, _INT, _FLOAT):
                self.fail(key_node, key, f"keys must be names, found {_kind(key_node)}")
                continue
            name = str(key_node.value)
            if name in entries:
                where = _join(key, name)
                self.fail(
                    key_node,
                    where,
                    f"duplicate key {name!r} (first written on line {self.line(entries[name][0])})",
                )
                continue
            entries[name] = (key_node, value_node)
        for name, pair in merged.items():
            entries.setdefault(name, pair)
        return entries

    def entry(
        self, node: Any, key: str, depth: int, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> tuple[dict[str, Any], dict[str, int]]:
        """A mapping with a closed set of keys: value nodes by key (nulls dropped), key lines."""
        items = self.mapping(node, key, depth)
        values: dict[str, Any] = {}
        lines: dict[str, int] = {}
        misspelt = False
        for name, (key_node, value_node) in items.items():
            if name not in allowed:
                self.fail(key_node, _join(key, name), self.unknown(name, allowed))
                misspelt = True
                continue
            lines[name] = self.line(key_node)
            if self.is_null(value_node):
                self.enter(value_node, _join(key, name), depth + 1)
                continue
            values[name] = value_node
        for name in required:
            if name not in values:
                if misspelt:  # collecting: "unknown key 'nmae' (did you mean 'name'?)" said it
                    raise _Abandoned
                raise self.error(node, key, f"missing required key {name!r}")
        return values, lines

    @staticmethod
    def unknown(name: str, allowed: tuple[str, ...]) -> str:
        special = _UNSUPPORTED.get(name)
        if special:
            return special
        text = f"unknown key {name!r}"
        import difflib  # only for this message: ~1 ms of import the valid case never pays

        close = difflib.get_close_matches(name, allowed, n=1)
        if close:
            return f"{text} (did you mean {close[0]!r}?)"
        return f"{text} (expected one of: {', '.join(allowed)})"

    def listing(self, node: Any, key: str, depth: int, item: _Reader[_T]) -> tuple[_T, ...]:
        self.enter(node, key, depth)
        if not isinstance(node, self.Sequence):
            self.fail(node, key, f"expected a list, found {_kind(node)}")
            return ()
        if self.errors is None:
            return tuple(item(child, f"{key}[{index}]", depth + 1) for index, child in enumerate(node.value))
        read = (
            self.item(item, child, f"{key}[{index}]", depth + 1) for index, child in enumerate(node.value)
        )
        return tuple(result for result in read if result is not None)

    # -- scalars -----------------------------------------------------------------------------
    def string(self, node: Any, key: str, depth: int) -> str:
        """A name or a text: a string scalar, non-empty."""
        self.enter(node, key, depth)
        if not isinstance(node, self.Scalar) or _tag(node) != _STR:
            hint = " (quote it)" if isinstance(node, self.Scalar) else ""
            self.fail(node, key, f"expected a string, found {_kind(node)}{hint}")
            return str(node.value) if isinstance(node, self.Scalar) else "?"
        text: str = node.value
        if not text.strip():
            self.fail(node, key, "must not be empty")
        return text

    def annotation(self, node: Any, key: str, depth: int) -> str:
        """An annotation: a string the engine can normalise (§6: one too deep for ``ast`` is an error
        here, at its line and key, not a ``RecursionError`` when it is first compared)."""
        text = self.string(node, key, depth)
        from ._annotations import annotation_problem

        problem = annotation_problem(text)
        if problem is not None:
            raise self.error(node, key, problem)
        return text

    def boolean(self, node: Any, key: str, depth: int) -> bool:
        self.enter(node, key, depth)
        if not isinstance(node, self.Scalar) or _tag(node) != _BOOL:
            self.fail(node, key, f"expected true or false, found {_kind(node)}")
            return False
        return bool(_convert_scalar(node))

    def scalar_text(self, node: Any, key: str, depth: int) -> str:
        """Any scalar, as written (``3.10`` stays ``3.10``; ``true`` stays ``true``)."""
        self.enter(node, key, depth)
        if not isinstance(node, self.Scalar) or _tag(node) == _MERGE:
            self.fail(node, key, f"expected a single value, found {_kind(node)}")
            return "?"
        return str(node.value)

    def version(self, node: Any, key: str, depth: int, *, requirement: bool = True) -> str:
        """A version or specifier, read from the source text so ``3.10`` is never ``3.1``."""
        self.enter(node, key, depth)
        if not isinstance(node, self.Scalar) or _tag(node) not in (_STR, _INT, _FLOAT):
            self.fail(node, key, f'expected a version such as "3.11", found {_kind(node)}')
            return "0"
        text = str(node.value).strip()
        if not text:
            self.fail(node, key, "must not be empty")
            return "0"
        if requirement or text[0] in "<>=!~":
            from ._versions import check_requirement_syntax

            problem = check_requirement_syntax(text)
            if problem is not None:
                self.fail(node, key, problem)
        return text

    def value(self, node: Any, key: str, depth: int) -> tuple[object, str | None]:
        """A required value (variables, attributes, defaults): Python value and source text."""
        self.enter(node, key, depth)
        if isinstance(node, self.Scalar):
            return _convert_scalar(node), str(node.value)
        return self.plain(node, key, depth), None

    def plain(self, node: Any, key: str, depth: int) -> object:
        """A list or mapping value, converted as a safe loader would (bounded like the rest)."""
        if isinstance(node, self.Sequence):
            return [self.value(child, f"{key}[{i}]", depth + 1)[0] for i, child in enumerate(node.value)]
        result: dict[object, object] = {}
        for name, (key_node, value_node) in self.mapping(node, key, depth).items():
            result[_convert_scalar(key_node)] = self.value(value_node, _join(key, name), depth + 1)[0]
        return result

    def vocabulary(self, node: Any, key: str, depth: int, names: frozenset[str], what: str) -> str:
        text = self.string(node, key, depth)
        if not text.isascii() or text.lower() not in names:
            self.fail(node, key, f"unknown {what} {text!r} (expected one of: {', '.join(sorted(names))})")
        return text

    # -- the contract ------------------------------------------------------------------------
    def contract(self, node: Any) -> Node:
        keys = (
            "schema_version",
            "policy_id",
            "filename",
            "version",
            "variables",
            "functions",
            "classes",
            "deployments",
            "runtime",
            "dependencies",
            "importers",
        )
        if not isinstance(node, self.Mapping):
            self.enter(node, "", 0)
            raise self.error(node, "", f"a contract must be a mapping, found {_kind(node)}")
        values, lines = self.entry(node, "", 0, keys)
        depth = 1
        fields = self.module_fields(values, "", depth)
        if "schema_version" in values:
            fields["schema_version"] = self.schema_version(values["schema_version"], depth)
        if "policy_id" in values:
            fields["policy_id"] = self.string(values["policy_id"], "policy_id", depth)
        if "deployments" in values:
            fields["deployments"] = self.listing(values["deployments"], "deployments", depth, self.deployment)
        if "runtime" in values:
            fields["runtime"] = self.runtime(values["runtime"], "runtime", depth)
        if "dependencies" in values:
            fields["dependencies"] = self.dependencies(values["dependencies"], "dependencies", depth)
        if "importers" in values:
            fields["importers"] = self.importers(values["importers"], "importers", depth)
        return _node("Contract", **fields, line=self.line(node), lines=lines)

    def schema_version(self, node: Any, depth: int) -> int:
        self.enter(node, "schema_version", depth)
        if not isinstance(node, self.Scalar) or _tag(node) != _INT or _convert_scalar(node) != 1:
            self.fail(
                node,
                "schema_version",
                f"unsupported schema_version {node.value!r}; only 1 is known"
                if isinstance(node, self.Scalar)
                else f"expected 1, found {_kind(node)}",
            )
        return 1

    def module_fields(self, values: Mapping[str, Any], key: str, depth: int) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if "filename" in values:
            fields["filename"] = self.string(values["filename"], _join(key, "filename"), depth)
        if "version" in values:
            fields["version"] = self.version(
                values["version"], _join(key, "version"), depth, requirement=False
            )
        if "variables" in values:
            fields["variables"] = self.variables(values["variables"], _join(key, "variables"), depth)
        if "functions" in values:
            fields["functions"] = self.listing(
                values["functions"], _join(key, "functions"), depth, self.function
            )
        if "classes" in values:
            fields["classes"] = self.listing(values["classes"], _join(key, "classes"), depth, self.klass)
        return fields

    def module(self, node: Any, key: str, depth: int) -> Node:
        keys = ("filename", "version", "variables", "functions", "classes")
        values, lines = self.entry(node, key, depth, keys)
        fields = self.module_fields(values, key, depth + 1)
        return _node("Module", **fields, line=self.line(node), lines=lines)

    def variables(self, node: Any, key: str, depth: int) -> tuple[Node, ...]:
        if isinstance(node, self.Mapping):  # ImportSpy's older form: {name: value}
            result = []
            for name, (key_node, value_node) in self.mapping(node, key, depth).items():
                where = _join(key, name)
                value, text = (None, None)
                if not self.is_null(value_node):
                    value, text = self.value(value_node, where, depth + 1)
                result.append(_node("Variable", name, value=value, value_text=text, line=self.line(key_node)))
            return tuple(result)
        return self.listing(node, key, depth, self.variable)

    def variable(self, node: Any, key: str, depth: int) -> Node:
        values, lines = self.entry(node, key, depth, ("name", "annotation", "value"), ("name",))
        fields = self.named_value_fields(values, key, depth + 1)
        return _node("Variable", **fields, line=self.line(node), lines=lines)

    def named_value_fields(self, values: Mapping[str, Any], key: str, depth: int) -> dict[str, Any]:
        fields: dict[str, Any] = {"name": self.string(values["name"], _join(key, "name"), depth)}
        if "annotation" in values:
            fields["annotation"] = self.annotation(values["annotation"], _join(key, "annotation"), depth)
        for value_key in ("value", "default"):
            if value_key in values:
                fields["value"], fields["value_text"] = self.value(
                    values[value_key], _join(key, value_key), depth
                )
        return fields

    def argument(self, node: Any, key: str, depth: int) -> Node:
        keys = ("name", "annotation", "value", "default")
        values, lines = self.entry(node, key, depth, keys, ("name",))
        if "value" in values and "default" in values:
            self.fail(node, key, "give the default as 'value' or 'default', not both")
        fields = self.named_value_fields(values, key, depth + 1)
        if "default" in lines and "value" not in lines:
            lines["value"] = lines["default"]
        return _node("Argument", **fields, line=self.line(node), lines=lines)

    def function(self, node: Any, key: str, depth: int) -> Node:
        keys = ("name", "arguments", "return_annotation")
        values, lines = self.entry(node, key, depth, keys, ("name",))
        fields: dict[str, Any] = {"name": self.string(values["name"], _join(key, "name"), depth + 1)}
        if "arguments" in values:
            fields["arguments"] = self.listing(
                values["arguments"], _join(key, "arguments"), depth + 1, self.argument
            )
        if "return_annotation" in values:
            fields["return_annotation"] = self.annotation(
                values["return_annotation"], _join(key, "return_annotation"), depth + 1
            )
        return _node("Function", **fields, line=self.line(node), lines=lines)

    def attribute(self, node: Any, key: str, depth: int) -> Node:
        keys = ("name", "type", "annotation", "value")
        values, lines = self.entry(node, key, depth, keys, ("name",))
        fields = self.named_value_fields(values, key, depth + 1)
        if "type" in values:
            kind = self.string(values["type"], _join(key, "type"), depth + 1)
            if kind not in ATTRIBUTE_TYPES:
                self.fail(
                    values["type"], _join(key, "type"), f"expected 'class' or 'instance', found {kind!r}"
                )
            fields["type"] = kind
        return _node("Attribute", **fields, line=self.line(node), lines=lines)

    def superclass(self, node: Any, key: str, depth: int) -> Node:
        if isinstance(node, self.Mapping):  # ImportSpy 0.5 writes {name: Base}
            values, lines = self.entry(node, key, depth, ("name",), ("name",))
            name = self.string(values["name"], _join(key, "name"), depth + 1)
            return _node("Superclass", name, line=self.line(node), lines=lines)
        return _node("Superclass", self.string(node, key, depth), line=self.line(node))

    def klass(self, node: Any, key: str, depth: int) -> Node:
        keys = ("name", "attributes", "methods", "superclasses")
        values, lines = self.entry(node, key, depth, keys, ("name",))
        fields: dict[str, Any] = {"name": self.string(values["name"], _join(key, "name"), depth + 1)}
        if "attributes" in values:
            fields["attributes"] = self.listing(
                values["attributes"], _join(key, "attributes"), depth + 1, self.attribute
            )
        if "methods" in values:
            fields["methods"] = self.listing(
                values["methods"], _join(key, "methods"), depth + 1, self.function
            )
        if "superclasses" in values:
            fields["superclasses"] = self.listing(
                values["superclasses"], _join(key, "superclasses"), depth + 1, self.superclass
            )
        return _node("Class", **fields, line=self.line(node), lines=lines)

    # -- deployments -------------------------------------------------------------------------
    def deployment(self, node: Any, key: str, depth: int) -> Node:
        values, lines = self.entry(node, key, depth, ("arch", "systems"))
        fields: dict[str, Any] = {}
        if "arch" in values:
            fields["arch"] = self.vocabulary(
                values["arch"], _join(key, "arch"), depth + 1, ARCH_NAMES, "architecture"
            )
        if "systems" in values:
            fields["systems"] = self.listing(values["systems"], _join(key, "systems"), depth + 1, self.system)
        return _node("Deployment", **fields, line=self.line(node), lines=lines)

    def system(self, node: Any, key: str, depth: int) -> Node:
        values, lines = self.entry(node, key, depth, ("os", "environment", "envs", "pythons"))
        fields: dict[str, Any] = {}
        if "os" in values:
            fields["os"] = self.vocabulary(
                values["os"], _join(key, "os"), depth + 1, OS_NAMES, "operating system"
            )
        if "environment" in values and "envs" in values:
            self.fail(values["envs"], _join(key, "envs"), "'envs' is the old name of 'environment'; give one")
        if "environment" in values:
            fields["environment"] = self.environment(
                values["environment"], _join(key, "environment"), depth + 1
            )
        elif "envs" in values:  # ImportSpy's earlier spelling: envs: {NAME: value}
            where = _join(key, "envs")
            variables = self.env_variables(values["envs"], where, depth + 1)
            fields["environment"] = _node(
                "Environment", variables=variables, line=lines["envs"], lines={"variables": lines["envs"]}
            )
            lines["environment"] = lines["envs"]
        if "pythons" in values:
            fields["pythons"] = self.listing(values["pythons"], _join(key, "pythons"), depth + 1, self.python)
        return _node("System", **fields, line=self.line(node), lines=lines)

    def environment(self, node: Any, key: str, depth: int) -> Node:
        values, lines = self.entry(node, key, depth, ("variables", "secrets"))
        fields: dict[str, Any] = {}
        if "variables" in values:
            fields["variables"] = self.env_variables(values["variables"], _join(key, "variables"), depth + 1)
        if "secrets" in values:
            fields["secrets"] = self.listing(
                values["secrets"], _join(key, "secrets"), depth + 1, self.secret_name
            )
        return _node("Environment", **fields, line=self.line(node), lines=lines)

    def secret_name(self, node: Any, key: str, depth: int) -> Node:
        return _node("EnvVariable", self.env_name(node, key, depth), secret=True, line=self.line(node))

    def env_name(self, node: Any, key: str, depth: int) -> str:
        name = self.string(node, key, depth)
        problem = env_name_problem(name)
        if problem is not None:
            self.fail(node, key, problem)
        return name

    def env_variables(self, node: Any, key: str, depth: int) -> tuple[Node, ...]:
        if isinstance(node, self.Mapping):  # {NAME: value}; null = presence only
            return self.env_mapping(node, key, depth)
        return self.listing(node, key, depth, self.env_variable)

    def env_mapping(self, node: Any, key: str, depth: int) -> tuple[Node, ...]:
        result = []
        for name, (key_node, value_node) in self.mapping(node, key, depth).items():
            where = _join(key, name)
            self.env_name(key_node, where, depth + 1)
            line = self.line(key_node)
            if isinstance(value_node, self.Mapping):  # {NAME: {value: ..., secret: true}}
                values, lines = self.entry(value_node, where, depth + 1, ("value", "secret"))
                result.append(self.env_fields(name, values, lines, where, depth + 2, line))
            elif self.is_null(value_node):
                self.enter(value_node, where, depth + 1)
                result.append(_node("EnvVariable", name, line=line))
            else:
                text = self.scalar_text(value_node, where, depth + 1)
                result.append(_node("EnvVariable", name, value=text, line=line, lines={"value": line}))
        return tuple(result)

    def env_variable(self, node: Any, key: str, depth: int) -> Node:
        keys = ("name", "value", "secret", "annotation")
        values, lines = self.entry(node, key, depth, keys, ("name",))
        name = self.env_name(values["name"], _join(key, "name"), depth + 1)
        if "annotation" in values:  # ImportSpy documents it; environment values are always text
            self.string(values["annotation"], _join(key, "annotation"), depth + 1)
        return self.env_fields(name, values, lines, key, depth + 1, self.line(node))

    def env_fields(
        self, name: str, values: Mapping[str, Any], lines: dict[str, int], key: str, depth: int, line: int
    ) -> Node:
        value = None
        if "value" in values:
            value = self.scalar_text(values["value"], _join(key, "value"), depth)
        secret = False
        if "secret" in values:
            secret = self.boolean(values["secret"], _join(key, "secret"), depth)
        return _node("EnvVariable", name, value=value, secret=secret, line=line, lines=lines)

    def python(self, node: Any, key: str, depth: int) -> Node:
        values, lines = self.entry(node, key, depth, ("version", "interpreter", "modules"))
        fields: dict[str, Any] = {}
        if "version" in values:
            fields["version"] = self.version(values["version"], _join(key, "version"), depth + 1)
        if "interpreter" in values:
            fields["interpreter"] = self.vocabulary(
                values["interpreter"],
                _join(key, "interpreter"),
                depth + 1,
                IMPLEMENTATION_NAMES,
                "interpreter",
            )
        if "modules" in values:
            fields["modules"] = self.listing(values["modules"], _join(key, "modules"), depth + 1, self.module)
        return _node("Python", **fields, line=self.line(node), lines=lines)

    # -- runtime, dependencies, importers ----------------------------------------------------
    def runtime(self, node: Any, key: str, depth: int) -> Node:
        keys = ("python", "os", "architecture", "implementation", "environment")
        values, lines = self.entry(node, key, depth, keys)
        fields: dict[str, Any] = {}
        if "python" in values:
            fields["python"] = self.version(values["python"], _join(key, "python"), depth + 1)
        for name, vocabulary, what in (
            ("os", OS_NAMES, "operating system"),
            ("architecture", ARCH_NAMES, "architecture"),
            ("implementation", IMPLEMENTATION_NAMES, "implementation"),
        ):
            if name in values:
                fields[name] = self.names(values[name], _join(key, name), depth + 1, vocabulary, what)
        if "environment" in values:
            where = _join(key, "environment")
            self.enter(values["environment"], where, depth + 1)
            if not isinstance(values["environment"], self.Mapping):
                self.fail(
                    values["environment"],
                    where,
                    f"expected a mapping of NAME: value, found {_kind(values['environment'])}",
                )
            else:
                fields["environment"] = self.env_mapping(values["environment"], where, depth + 1)
        return _node("Runtime", **fields, line=self.line(node), lines=lines)

    def names(
        self, node: Any, key: str, depth: int, vocabulary: frozenset[str], what: str
    ) -> tuple[str, ...]:
        """A list of names, or one name (the short form ``os: linux``)."""
        if isinstance(node, self.Sequence):
            return self.listing(node, key, depth, lambda n, k, d: self.vocabulary(n, k, d, vocabulary, what))
        return (self.vocabulary(node, key, depth, vocabulary, what),)

    def dependencies(self, node: Any, key: str, depth: int) -> tuple[Node, ...]:
        result = []
        for name, (key_node, value_node) in self.mapping(node, key, depth).items():
            where = _join(key, name)
            self.enter(key_node, where, depth + 1)
            if _tag(key_node) != _STR or not _DISTRIBUTION_NAME.match(name):
                self.fail(key_node, where, f"{name!r} is not a distribution name (PEP 508)")
            line = self.line(key_node)
            if self.is_null(value_node):
                self.enter(value_node, where, depth + 1)
                result.append(_node("Dependency", name, line=line))
                continue
            values, lines = self.entry(value_node, where, depth + 1, ("version", "required", "allowed"))
            fields: dict[str, Any] = {}
            if "version" in values:
                fields["version"] = self.version(values["version"], _join(where, "version"), depth + 2)
            for flag in ("required", "allowed"):
                if flag in values:
                    fields[flag] = self.boolean(values[flag], _join(where, flag), depth + 2)
            if fields.get("required") and fields.get("allowed") is False:
                self.fail(value_node, where, "a dependency cannot be both required and not allowed")
            result.append(_node("Dependency", name, **fields, line=line, lines=lines))
        return tuple(result)

    def importers(self, node: Any, key: str, depth: int) -> Node:
        values, lines = self.entry(node, key, depth, ("allow", "deny"))
        fields: dict[str, Any] = {}
        for name in ("allow", "deny"):
            if name in values:
                fields[name] = self.listing(values[name], _join(key, name), depth + 1, self.string)
        return _node("Importers", **fields, line=self.line(node), lines=lines)


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name
