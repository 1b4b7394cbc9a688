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

The builder produces the *plain* form of ``_schema`` (tuples and dicts holding exactly what the
models' constructors receive): the hook compiles it and caches it beside bytecode without ever
importing attrs, and :func:`parse_contract` turns it into the models. This module only parses:
keeping parsed contracts, per process and beside bytecode, is ``_compiled.contract_entry``'s job
(``load_contract`` is in ``_check``); a failure is never cached, so fixing the file fixes the next
import.
"""

from __future__ import annotations

from ._cache import MAX_CONTRACT_BYTES
from ._cache import too_large as _too_large
from ._errors import ContractError
from ._schema import (
    ANNOTATION,
    BOOL,
    ENV,
    ENV_MAPPING,
    ENV_NAME,
    ENV_VALUE,
    KEYED,
    KINDS,
    MODULE_VERSION,
    NAMED,
    NAMES,
    ONE_OR_LIST,
    REQUIREMENT,
    SCHEMA_VERSION,
    SCHEMA_VERSIONS,
    TEXT_OR_ENTRY,
    VALUE,
    Field,
    Kind,
    Type,
    not_a_distribution,
    schema_version_problem,
    to_models,
)
from ._schema import join_key as _join
from ._schema import node as _node

# Not ``typing.TYPE_CHECKING``, and no ``re`` at the top: a first contracted import reads a contract in
# the usual shape without ruamel.yaml, and so without the typing and re it would import (≈ 4 ms).
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing only
    from collections.abc import Callable, Mapping
    from typing import Any, TypeVar

    from ._contract_model import Contract
    from ._schema import Node

    _T = TypeVar("_T")
    _Reader = Callable[[Any, str, int], _T]

__all__ = [
    "MAX_CONTRACT_BYTES",
    "contract_errors",
    "parse_contract",
    "parse_plain",
]

_MAX_NODE_VISITS = 250_000  # a 1 MiB file cannot hold more nodes than this without aliases
_MAX_ALIAS_VISITS = 10_000  # visits of nodes already seen: what aliases multiply
_MAX_DEPTH = 48  # the deepest legitimate contract nests about 16 levels

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

# --------------------------------------------------------------------------- entry points


def parse_contract(text: str | bytes, path: str = "<string>") -> Contract:
    """Parse a contract from its text (or bytes, which must be UTF-8). Raises :class:`ContractError`."""
    return to_models(parse_plain(text, path), path)


def parse_plain(text: str | bytes, path: str = "<string>") -> Node:
    """:func:`parse_contract` without building the models: the plain form of ``_schema``.

    What the hook and the contract cache use, so that a first contracted import pays for
    ruamel.yaml but not for attrs. Raises :class:`ContractError` exactly as ``parse_contract`` does.
    """
    root = _root(text, path)
    if root is None:  # empty document, only comments, or a bare null: an empty contract, which accepts all
        return _node("Contract")
    return _Builder(path).contract(root)


def contract_errors(text: str | bytes, path: str = "<string>") -> list[ContractError]:
    """Every error of a contract (what ``importspy-hook lint`` reports), in document order.

    The import path stops at the first error (:func:`parse_plain` raises it); a person fixing a
    file wants them all at once: every unknown key, every bad value. The walk goes on past each
    error with a stand-in value; errors that leave nothing to walk (bad YAML, a document that is
    not a mapping, a missing required ``name``) end the walk of what they concern, and the
    resource limits (size, aliases, depth) end it altogether. An empty list: the contract is sound.
    """
    try:
        root = _root(text, path)
    except ContractError as exc:
        return [exc]
    if root is None:
        return []
    builder = _Builder(path, collect=True)
    try:
        builder.contract(root)
    except _Abandoned:
        pass
    except ContractError as exc:
        builder.record(exc)
    return builder.collected()


def _root(text: str | bytes, path: str) -> Any:
    """The document's root node, None when it is empty, only comments, or a bare null; raises the
    :class:`ContractError` of a text that is not a YAML document within the limits."""
    source = _source(text, path)
    too_deep = _flow_nesting_error(source, path)
    if too_deep is not None:
        raise too_deep
    root = _compose(source, path)
    return None if root is None or _tag(root) == _NULL else root


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


# --------------------------------------------------------------------------- bytes → text


def _position_in_text(text: str | bytes, index: int) -> tuple[int, int]:
    """The line and column (1-based; in bytes, of bytes) of ``text[index]``."""
    newline: Any = "\n" if isinstance(text, str) else b"\n"
    return text.count(newline, 0, index) + 1, index - (text.rfind(newline, 0, index) + 1) + 1


def _decode(data: bytes, path: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:4] in (b"\x00\x00\xfe\xff",):
        raise ContractError(path, 1, 1, "", "contract must be UTF-8 (found a UTF-16/32 byte order mark)")
    nul = data.find(b"\x00")
    if nul >= 0:
        line, column = _position_in_text(data, nul)
        raise ContractError(path, line, column, "", "contains a NUL byte: not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _position_in_text(data, exc.start)
        raise ContractError(path, line, column, "", "contract is not valid UTF-8") from None


# --------------------------------------------------------------------------- the usual shape, read directly
#
# ruamel.yaml costs a first contracted import ≈ 20 ms (its import, with the standard library it
# pulls in, and its pure-Python scanner: ≈ 4 ms for a one-page contract) — most of the §11 budget
# of a first import ever. Nearly every contract is written in one small shape: block mappings and
# block lists, one key or list item per line, names as keys, and scalars that are plain words,
# numbers or quotes without escapes. :func:`_usual_shape` reads that shape itself, into nodes with
# the tag, text and position ruamel.yaml gives the same text (``tests/test_contract_parse_fast.py``
# holds the two readers to the same trees), and *declines* (returns None) at anything else —
# flow collections, anchors, tags, block scalars, escapes, multi-line scalars, tabs, non-ASCII,
# document markers, and every malformed text — which ruamel.yaml then reads, and words the errors
# of. There is one reader of YAML: this one only recognises the texts it can prove simple.


class _Mark:
    """A node's position, as ruamel.yaml's marks give it (0-based line and column)."""

    __slots__ = ("column", "line")

    def __init__(self, line: int, column: int) -> None:
        self.line, self.column = line, column


class _Scalar:
    __slots__ = ("start_mark", "tag", "value")
    id = "scalar"

    def __init__(self, tag: str, value: str, line: int, column: int) -> None:
        self.tag, self.value, self.start_mark = tag, value, _Mark(line, column)


class _Sequence:
    __slots__ = ("start_mark", "value")
    id = "sequence"
    tag = _SEQ

    def __init__(self, value: list[Any], line: int, column: int) -> None:
        self.value, self.start_mark = value, _Mark(line, column)


class _Mapping:
    __slots__ = ("start_mark", "value")
    id = "mapping"
    tag = _MAP

    def __init__(self, value: list[tuple[Any, Any]], line: int, column: int) -> None:
        self.value, self.start_mark = value, _Mark(line, column)


_WORD_TAGS = {"~": _NULL, "null": _NULL, "Null": _NULL, "NULL": _NULL}
_WORD_TAGS.update(dict.fromkeys(("true", "True", "TRUE", "false", "False", "FALSE"), _BOOL))
_NAME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_FIRST | frozenset("0123456789-.")
_PLAIN_FIRST = _NAME_FIRST | frozenset("0123456789/~(")
_DIGITS = frozenset("0123456789")
_DECLINE = object()  # a line or scalar outside the usual shape


def _plain_tag(text: str) -> str | None:
    """The tag YAML 1.2 (ruamel.yaml's resolver) gives a plain scalar; None when not sure."""
    tag = _WORD_TAGS.get(text)
    if tag is not None:
        return tag
    if text[0] not in _DIGITS:
        return _STR  # a letter, ``_``, ``/``, ``~`` or ``(`` first: no number, date, merge or null
    parts = text.split(".")
    if not all(part and _DIGITS.issuperset(part) for part in parts):
        return None  # 0x1F, 1_000, 1e3, 2024-01-01, 3. ...: ruamel.yaml's resolver decides
    return (_INT, _FLOAT)[len(parts) - 1] if len(parts) <= 2 else _STR  # 3, 3.10, 3.11.7


def _scalar(text: str, line: int, column: int) -> Any:
    """The scalar starting at ``text[column]`` and running to the end of the line (a trailing
    comment already removed), or ``_DECLINE``."""
    rest = text[column:].rstrip(" ")
    first = rest[0]
    if first == "'" or first == '"':
        end = len(rest) - 1
        inner = rest[1:end]
        if end < 1 or rest[end] != first or "\\" in inner or first in inner.replace("''", ""):
            return _DECLINE  # escapes, or text after the closing quote
        return _Scalar(_STR, inner.replace("''", "'") if first == "'" else inner, line, column)
    if first not in _PLAIN_FIRST or ": " in rest or rest.endswith(":"):
        return _DECLINE
    tag = _plain_tag(rest)
    return _DECLINE if tag is None else _Scalar(tag, rest, line, column)


def _without_comment(text: str) -> str | None:
    """The line without its comment (``#`` at the line's start or after a space); None when a quote
    comes before such a ``#`` (it may be inside a quoted scalar: ruamel.yaml decides)."""
    at = text.find("#")
    while at > 0 and text[at - 1] != " ":
        at = text.find("#", at + 1)  # ``a#b`` is part of a plain scalar
    if at < 0:
        return text
    before = text[:at]
    return None if "'" in before or '"' in before else before


def _entries(source: str) -> list[tuple[int, int, str, Any]] | None:
    """The document as ``(line, column, kind, payload)``: ``"-"`` (a list item's dash), ``":"``
    (a key: ``(key node, value node or None)``) or ``"s"`` (a scalar on a
    line of its own); None when a line is outside the usual shape."""
    entries: list[tuple[int, int, str, Any]] = []
    for number, raw in enumerate(source.split("\n")):
        if not raw.isprintable():
            return None  # tabs, carriage returns, control characters
        stripped = _without_comment(raw)
        if stripped is None:
            return None
        text = stripped.rstrip(" ")
        column = len(text) - len(text.lstrip(" "))
        if column == len(text):
            continue  # blank, or a comment alone
        if text.startswith(("---", "...")) and column == 0:
            return None  # document markers
        if text.startswith("- ", column):
            entries.append((number, column, "-", None))
            column += 2
            if text[column] in " -":
                return None  # a list directly in a list, or more than one space after the dash
        elif text[column] == "-" and column == len(text) - 1:
            return None  # an empty list item
        colon = text.find(":", column)
        if text[column] in _NAME_FIRST and colon > 0 and (colon == len(text) - 1 or text[colon + 1] == " "):
            name = text[column:colon]
            if not _NAME_CHARS.issuperset(name) or name in _WORD_TAGS:
                return None
            key = _Scalar(_STR, name, number, column)
            value_at = len(text) - len(text[colon + 1 :].lstrip(" "))
            value = None if value_at == len(text) else _scalar(text, number, value_at)
            if value is _DECLINE:
                return None
            entries.append((number, column, ":", (key, value)))
        else:
            value = _scalar(text, number, column)
            if value is _DECLINE:
                return None
            entries.append((number, column, "s", value))
    return entries


def _usual_shape(source: str) -> Any:
    """The root node of a contract in the usual shape (see above), None when it is not in it."""
    if not source.isascii():
        return None
    entries = _entries(source)
    if not entries or entries[0][2] != ":" or entries[0][1] != 0:
        return None  # empty, or a root that is not a mapping: ruamel.yaml words it
    position = [0]  # the next entry
    end = (source.count("\n"), len(source) - source.rfind("\n") - 1)  # where the text ends

    def node(depth: int) -> Any:
        line, column, kind, payload = entries[position[0]]
        if depth > _MAX_DEPTH:
            raise _Declined
        if kind == "s":
            position[0] += 1
            return payload
        if kind == "-":
            return sequence(line, column, depth)
        return mapping(line, column, depth)

    def sequence(line: int, column: int, depth: int) -> Any:
        items: list[Any] = []
        while position[0] < len(entries):
            _, at_column, kind, _ = entries[position[0]]
            if at_column < column or (at_column == column and kind != "-"):
                break  # the list ends (an indentless list may be followed by its mapping's next key)
            if at_column > column:
                raise _Declined  # a continuation line, or an indentation no block has
            position[0] += 1
            if position[0] == len(entries) or entries[position[0]][1] <= column:
                raise _Declined  # an empty item
            items.append(node(depth + 1))
        return _Sequence(items, line, column)

    def mapping(line: int, column: int, depth: int) -> Any:
        pairs: list[tuple[Any, Any]] = []
        while position[0] < len(entries):
            _, at_column, kind, payload = entries[position[0]]
            if at_column < column:
                break
            if at_column > column or kind != ":":
                raise _Declined
            position[0] += 1
            key, value = payload
            if value is None:
                following = entries[position[0]] if position[0] < len(entries) else None
                if following is not None and (
                    following[1] > column or (following[1] == column and following[2] == "-")
                ):
                    value = node(depth + 1)  # the value is the block below (or an indentless list)
                else:  # an empty value: ruamel.yaml places it where the next token starts
                    value = _Scalar(_NULL, "", *(end if following is None else following[:2]))
            pairs.append((key, value))
        return _Mapping(pairs, line, column)

    try:
        root = mapping(entries[0][0], 0, 0)
    except _Declined:
        return None
    return root if position[0] == len(entries) else None


class _Declined(Exception):
    """The text is outside the usual shape (raised inside :func:`_usual_shape` only)."""


# --------------------------------------------------------------------------- text → nodes


def _compose(source: str, path: str) -> Any:
    root = _usual_shape(source)
    if root is not None:
        return root
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
    import re  # only for a document with that many brackets

    flow_tokens = re.compile(r"""[\[\]{}'"#\n]""")
    depth = 0
    quote = ""  # the quote character while inside a quoted scalar
    index = 0
    while True:
        match = flow_tokens.search(source, index)
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
    if node.id == "mapping":  # ruamel.yaml's nodes and _usual_shape's alike
        return "a mapping"
    if node.id == "sequence":
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
            return float("inf")
        if lowered == "-.inf":
            return float("-inf")
        if lowered == ".nan":
            return float("nan")
        try:
            return float(lowered)
        except ValueError:
            return text
    return text  # str, timestamp (kept as written)


# --------------------------------------------------------------------------- nodes → models


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
        self.Mapping: Any = _Mapping  # the node classes of the root's reader (see contract())
        self.Scalar: Any = _Scalar
        self.Sequence: Any = _Sequence

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
        """One list item of the collecting walk (:meth:`listing` reads them directly when strict): an
        error that ends it is recorded and None returned."""
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

    def leaf(self, kind: Type, node: Any, key: str, depth: int) -> Any:
        """A leaf value of ``kind``: its YAML form checked here, its rule taken from ``_schema``."""
        if kind is BOOL:
            return self.boolean(node, key, depth)
        if kind is ENV_VALUE:
            return self.scalar_text(node, key, depth)
        if kind is SCHEMA_VERSION:
            return self.schema_version(node, depth)
        if kind is REQUIREMENT or kind is MODULE_VERSION:
            text = self.version_text(node, key, depth)
            if text is None:
                return "0"
        else:
            text = self.string(node, key, depth)
        rule = kind.rule
        problem = None if rule is None else rule(text)
        if problem is not None:
            if kind is ANNOTATION:  # nothing to compare it with: the entry ends here
                raise self.error(node, key, problem)
            self.fail(node, key, problem)
        return text

    def version_text(self, node: Any, key: str, depth: int) -> str | None:
        """A version or specifier, read from the source text so ``3.10`` is never ``3.1``."""
        self.enter(node, key, depth)
        if not isinstance(node, self.Scalar) or _tag(node) not in (_STR, _INT, _FLOAT):
            self.fail(node, key, f'expected a version such as "3.11", found {_kind(node)}')
            return None
        text = str(node.value).strip()
        if not text:
            self.fail(node, key, "must not be empty")
            return None
        return text

    def schema_version(self, node: Any, depth: int) -> int:
        self.enter(node, "schema_version", depth)
        if not isinstance(node, self.Scalar):
            self.fail(node, "schema_version", f"expected 1, found {_kind(node)}")
        elif _tag(node) != _INT or _convert_scalar(node) not in SCHEMA_VERSIONS:
            self.fail(node, "schema_version", schema_version_problem(repr(node.value)))
        return 1

    # -- the contract: a walk directed by the table of ``_schema`` ------------------------------
    def contract(self, node: Any) -> Node:
        if not isinstance(node, (_Mapping, _Scalar, _Sequence)):  # read by ruamel.yaml
            from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

            self.Mapping, self.Scalar, self.Sequence = MappingNode, ScalarNode, SequenceNode
        if not isinstance(node, self.Mapping):
            self.enter(node, "", 0)
            raise self.error(node, "", f"a contract must be a mapping, found {_kind(node)}")
        try:
            return self.node(node, "", 0, "Contract")
        except RecursionError:
            raise ContractError(self.path, 0, 0, "", "document is nested too deeply") from None

    def node(self, node: Any, key: str, depth: int, kind: str) -> Node:
        """An entry of ``kind``: a mapping whose keys, and how each is read, the table says."""
        table = KINDS[kind]
        values, lines = self.entry(node, key, depth, table.keys, table.required)
        return self.fill(table, node, values, lines, key, depth + 1, self.line(node))

    def fill(
        self,
        table: Kind,
        node: Any,
        values: Mapping[str, Any],
        lines: dict[str, int],
        key: str,
        depth: int,
        line: int,
        fields: dict[str, Any] | None = None,
    ) -> Node:
        """The plain node of an entry whose keys were read: each field read as its type says."""
        fields = {} if fields is None else fields
        self.aliases(table, node, values, lines, key)
        for field in table.fields:
            if field.key in values:
                self.field(field, values[field.key], _join(key, field.key), depth, fields, lines)
        if table.rule is not None:
            problem = table.rule(fields.get)
            if problem is not None:
                self.fail(node, key, problem)
        return _node(table.name, **fields, line=line, lines=lines)

    def aliases(
        self, table: Kind, node: Any, values: Mapping[str, Any], lines: dict[str, int], key: str
    ) -> None:
        """An alias and the key it spells are not both given (where each is refused: pinned)."""
        if table.name == "Argument" and "value" in values and "default" in values:
            self.fail(node, key, "give the default as 'value' or 'default', not both")
        elif table.name == "System" and "environment" in values and "envs" in values:
            self.fail(values["envs"], _join(key, "envs"), "'envs' is the old name of 'environment'; give one")

    def field(
        self, field: Field, node: Any, key: str, depth: int, fields: dict[str, Any], lines: dict[str, int]
    ) -> None:
        """Read one key of an entry into ``fields`` (under the model field it spells)."""
        target = field.spells
        if target is not None and target != field.key and target in fields:
            return  # an alias of a key already read (collecting only: the conflict was reported)
        kind, layout = field.type, field.layout
        value: Any
        if kind is VALUE:
            value, fields["value_text"] = self.value(node, key, depth)
            if target != field.key and target not in lines:
                lines[target or field.key] = lines[field.key]
        elif kind is not None:
            if not field.many:
                value = self.leaf(kind, node, key, depth)
            elif layout == ONE_OR_LIST and not isinstance(node, self.Sequence):
                value = (self.leaf(kind, node, key, depth),)
            else:
                value = self.listing(node, key, depth, lambda n, k, d: self.leaf(kind, n, k, d))
        elif layout == NAMED:
            value = self.variables(node, key, depth)
        elif layout == TEXT_OR_ENTRY:
            value = self.listing(node, key, depth, self.superclass)
        elif layout == NAMES:
            value = self.listing(node, key, depth, self.secret_name)
        elif layout == KEYED:
            value = self.keyed(node, key, depth, KINDS[field.kind or ""])
        elif layout == ENV_MAPPING:
            value = self.env_only_mapping(node, key, depth)
        elif layout == ENV:
            value = self.env_variables(node, key, depth)
            if target != field.key:  # ImportSpy's earlier ``envs: {NAME: value}`` of a system
                line = lines[field.key]
                value = _node("Environment", variables=value, line=line, lines={"variables": line})
                lines[target or field.key] = line
        elif field.many:
            child = field.kind or ""
            value = self.listing(node, key, depth, lambda n, k, d: self.node(n, k, d, child))
        else:
            value = self.node(node, key, depth, field.kind or "")
        if target is not None:
            fields[target] = value

    # -- the layouts of ImportSpy's older and shorter forms -------------------------------------
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
        return self.listing(node, key, depth, lambda n, k, d: self.node(n, k, d, "Variable"))

    def superclass(self, node: Any, key: str, depth: int) -> Node:
        if isinstance(node, self.Mapping):  # ImportSpy 0.5 writes {name: Base}
            return self.node(node, key, depth, "Superclass")
        return _node("Superclass", self.string(node, key, depth), line=self.line(node))

    def secret_name(self, node: Any, key: str, depth: int) -> Node:
        name = self.leaf(ENV_NAME, node, key, depth)
        return _node("EnvVariable", name, secret=True, line=self.line(node))

    def env_variables(self, node: Any, key: str, depth: int) -> tuple[Node, ...]:
        if isinstance(node, self.Mapping):  # {NAME: value}; null = presence only
            return self.keyed(node, key, depth, KINDS["EnvVariable"])
        return self.listing(node, key, depth, self.env_variable)

    def env_variable(self, node: Any, key: str, depth: int) -> Node:
        plain = self.node(node, key, depth, "EnvVariable")
        plain[1].setdefault("value", None)  # the plain form always states both
        plain[1].setdefault("secret", False)
        return plain

    def env_only_mapping(self, node: Any, key: str, depth: int) -> tuple[Node, ...]:
        """``runtime.environment``: only the mapping form (a list there is ImportSpy 0.4's layout
        of ``systems[].environment``, a likely confusion, so it gets its own message)."""
        if not isinstance(node, self.Mapping):
            self.enter(node, key, depth)
            self.fail(node, key, f"expected a mapping of NAME: value, found {_kind(node)}")
            return ()
        return self.keyed(node, key, depth, KINDS["EnvVariable"])

    def keyed(self, node: Any, key: str, depth: int, table: Kind) -> tuple[Node, ...]:
        """Entries written under their name: ``NAME: null``, ``NAME: {the kind's other keys}``,
        and for environment variables ``NAME: value`` (the value as written)."""
        name_type = table.fields[0].type
        environment = table.name == "EnvVariable"
        result = []
        for name, (key_node, value_node) in self.mapping(node, key, depth).items():
            where = _join(key, name)
            self.enter(key_node, where, depth + 1)
            problem = name_type.rule(name) if name_type is not None and name_type.rule else None
            if problem is None and _tag(key_node) != _STR and not environment:
                problem = not_a_distribution(name)
            if problem is not None:
                self.fail(key_node, where, problem)
            line = self.line(key_node)
            fields: dict[str, Any] = {"name": name}
            if environment:
                fields.update(value=None, secret=False)
            if self.is_null(value_node):
                self.enter(value_node, where, depth + 1)
                result.append(_node(table.name, **fields, line=line))
            elif environment and not isinstance(value_node, self.Mapping):
                fields["value"] = self.scalar_text(value_node, where, depth + 1)
                result.append(_node(table.name, **fields, line=line, lines={"value": line}))
            else:
                values, lines = self.entry(value_node, where, depth + 1, table.keyed)
                result.append(self.fill(table, value_node, values, lines, where, depth + 2, line, fields))
        return tuple(result)
