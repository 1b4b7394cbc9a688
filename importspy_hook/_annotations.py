"""Annotations compared as written text, whatever the spelling (§6): ``Optional[X]`` is ``X | None``.

The contract cache and the contract engine normalise annotations once, when a contract or a
caller's source is parsed (``_structure``), without importing attrs; the checks then compare two
precomputed strings. Imports nothing of this package and nothing typed, and only code that parses (a
contract's annotations, a caller's source) imports it; so :func:`quiet_parse`, which both the
caller's source and annotations go through, lives here too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import lru_cache

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: a caller's source is parsed on the import path
if TYPE_CHECKING:
    from typing import Any

__all__ = ["AnnotationTooDeep", "annotation_problem", "normalise_annotation", "quiet_parse"]

_parses = iter(range(1 << 62))  # ``next`` on it is atomic: a name of its own for every parse


def quiet_parse(source: str, mode: str = "exec") -> Any:
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


class AnnotationTooDeep(ValueError):
    """An annotation nested too deeply for ``ast`` (a union of thousands of members): it cannot be
    normalised, so it cannot be compared. In a contract this is a malformed contract (§6)."""

    def __init__(self) -> None:
        super().__init__("annotation is nested too deeply to be compared")


_TOO_DEEP = (RecursionError, MemoryError)

_UNION_NAMES = ("Optional", "Union")
_TYPING_MODULES = ("typing", "typing_extensions")


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


class _AnnotationNormaliser(ast.NodeTransformer):
    """Rewrites an annotation to one canonical spelling (see :func:`normalise_annotation`)."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str):  # a quoted forward reference: compare what it says
            try:
                inner = quiet_parse(node.value.strip(), mode="eval").body
            except (SyntaxError, ValueError):  # ValueError: a NUL character, before 3.12
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
    whitespace-collapsed. Raises :class:`AnnotationTooDeep` for an expression too deep for ``ast``
    to read or write back (rather than a ``RecursionError`` from deep inside the engine).
    """
    try:
        tree = quiet_parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):  # ValueError: a NUL character, before 3.12
        return " ".join(text.split())
    except _TOO_DEEP:
        raise AnnotationTooDeep from None
    try:
        try:
            normalised = _AnnotationNormaliser().visit(tree.body)
            return ast.unparse(normalised)
        except (ValueError, TypeError, AttributeError):
            return ast.unparse(tree.body)
    except _TOO_DEEP:
        raise AnnotationTooDeep from None


def annotation_problem(text: str) -> str | None:
    """Why the annotation ``text`` cannot be compared, or None when it can (the contract parser
    reports it at the annotation's own line and key)."""
    try:
        normalise_annotation(text)
    except AnnotationTooDeep as exc:
        return str(exc)
    return None
