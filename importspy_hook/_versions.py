"""Version requirements as contracts write them (SPEC §6 "Versions").

Contracts mix two habits. Packaging people write PEP 440 specifiers (``">=3.10,<3.14"``); people
pinning a deployment write a bare release (``"3.11"``) and mean "any 3.11.x", not "exactly 3.11.0".
Both are accepted here, so every field that holds a version (``python``, ``version``, dependency
versions) behaves the same way:

* a requirement starting with an operator (``<``, ``>``, ``=``, ``!``, ``~``) is a PEP 440 specifier
  set; pre-releases of the *actual* version are allowed, because an interpreter or a library that
  happens to be a release candidate is still the version it claims to be;
* a bare version means "this release and anything under it": ``"3"`` is any 3.x, ``"3.11"`` any
  3.11.x, ``"3.12.8"`` is 3.12.8 (and its own sub-releases such as 3.12.8.1 or post-releases). A
  bare version with a pre-, post-, dev- or local segment (``"3.13.0rc1"``) is an exact pin. A
  trailing ``.*`` (``"3.11.*"``) is accepted as the same prefix match;
* an actual version that is not PEP 440 (some distributions still ship such versions) cannot be
  ordered, so it only matches by exact string equality.

The common forms are decided by ``_pep440`` (no import at all); ``packaging`` is imported only for
what that small evaluator declines (epochs, local versions, non-canonical spellings, malformed
requirements — whose error messages therefore stay packaging's). Parsed requirements and versions
are cached because the same few strings are compared on every contracted import.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from . import _pep440

if TYPE_CHECKING:  # pragma: no cover - typing only
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

__all__ = ["check_requirement_syntax", "fast_match", "matches_version", "same_version"]

_OPERATOR_START = frozenset("<>=!~")


class _Requirement:
    """A parsed requirement: the specifier set, plus what exact-string fallback applies."""

    __slots__ = ("exact_strings", "specifiers")

    def __init__(self, specifiers: SpecifierSet, exact_strings: tuple[str, ...] | None) -> None:
        self.specifiers = specifiers
        # Strings an unparsable actual version must equal; None means no such version can match.
        self.exact_strings = exact_strings


@lru_cache(maxsize=512)
def _parse_requirement(requirement: str) -> _Requirement:
    """Parse once; raise ``ValueError`` with a message meant for the contract's author."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    text = requirement.strip()
    if not text:
        raise ValueError("empty version requirement")
    if text[0] in _OPERATOR_START:
        try:
            specifiers = SpecifierSet(text)
        except InvalidSpecifier:
            raise ValueError(
                f"invalid version specifier {text!r} (expected PEP 440, e.g. '>=3.10,<3.14')"
            ) from None
        pins = [spec.version for spec in specifiers if spec.operator in ("==", "===")]
        only_pins = len(pins) == len(specifiers) and len(set(pins)) == 1
        return _Requirement(specifiers, (pins[0],) if only_pins else None)

    prefix = text[:-2] if text.endswith(".*") else text
    try:
        version = Version(prefix)
    except InvalidVersion:
        raise ValueError(
            f"invalid version {text!r} (expected a release such as '3.11' or a PEP 440 "
            f"specifier such as '>=3.11')"
        ) from None
    is_plain_release = (
        version.pre is None and version.post is None and version.dev is None and version.local is None
    )
    if is_plain_release:
        epoch = f"{version.epoch}!" if version.epoch else ""
        release = ".".join(str(part) for part in version.release)
        specifiers = SpecifierSet(f"=={epoch}{release}.*")
    elif text.endswith(".*"):
        raise ValueError(f"invalid version {text!r}: '.*' only follows a plain release such as '3.11.*'")
    else:
        specifiers = SpecifierSet(f"=={version}")
    return _Requirement(specifiers, (text,))


@lru_cache(maxsize=512)
def _parse_version(actual: str) -> Version | None:
    from packaging.version import Version

    try:
        return Version(actual)
    except ValueError:  # InvalidVersion, or a number too long for int()
        return None


def matches_version(requirement: str, actual: str) -> bool:
    """Whether the version ``actual`` satisfies ``requirement`` (rules in the module docstring).

    Raises ``ValueError`` when the requirement itself is malformed; the contract parser calls
    :func:`check_requirement_syntax` first, so on the import path this only happens for contracts
    built by hand in Python.
    """
    stripped = actual.strip()
    fast = fast_match(requirement, stripped)
    if fast is not None:
        return fast
    parsed = _parse_requirement(requirement)
    version = _parse_version(stripped)
    if version is None:
        return parsed.exact_strings is not None and stripped in parsed.exact_strings
    return parsed.specifiers.contains(version, prereleases=True)


def same_version(required: str, actual: str) -> bool:
    """PEP 440 equality of two versions (``1.0`` == ``1.0.0``); False when either is not PEP 440."""
    from packaging.version import Version

    try:
        return Version(required) == Version(actual)
    except ValueError:  # InvalidVersion, or a number too long for int() (over 4,300 digits)
        return False


def check_requirement_syntax(requirement: str) -> str | None:
    """The error message for a malformed requirement, or ``None`` when it is usable.

    Lets the contract parser report a bad specifier at parse time, with its line, instead of
    failing later at the first comparison.
    """
    if not isinstance(requirement, str):
        return f"a version requirement must be a string, not {type(requirement).__name__}"
    if _fast_requirement(requirement) is not None:
        return None  # every form the fast evaluator reads is valid PEP 440 (tested against packaging)
    try:
        _parse_requirement(requirement)
    except ValueError as exc:
        return str(exc)
    return None


# Both caches are bounded by what contracts write and what versions are installed: a few strings.
_FAST_REQUIREMENTS: dict[str, tuple[object, ...] | None] = {}
_FAST_VERSIONS: dict[str, object] = {}


def _fast_requirement(requirement: str) -> tuple[object, ...] | None:
    try:
        return _FAST_REQUIREMENTS[requirement]
    except KeyError:
        pass
    parsed = _pep440.parse_requirement(requirement)
    if len(_FAST_REQUIREMENTS) < 4096:
        _FAST_REQUIREMENTS[requirement] = parsed
    return parsed


def fast_match(requirement: str, actual: str) -> bool | None:
    """:func:`matches_version` when ``_pep440`` can decide it without packaging, else None."""
    clauses = _fast_requirement(requirement)
    if clauses is None:
        return None
    try:
        version = _FAST_VERSIONS[actual]
    except KeyError:
        version = _FAST_VERSIONS[actual] = _pep440.parse_version(actual.strip())
        if len(_FAST_VERSIONS) > 4096:
            _FAST_VERSIONS.clear()
    if version is None:
        return None
    return _pep440.matches(clauses, version)  # type: ignore[arg-type]
