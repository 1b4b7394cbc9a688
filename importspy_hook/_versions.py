"""Version requirements as contracts write them (SPEC §6 "Versions"): one :func:`matches`.

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

Two speeds, one function. Importing ``packaging.specifiers`` costs ≈ 13 ms, more than the whole
budget of a contracted import in a fresh process (§11), to answer questions such as "is 3.11.7
``>=3.10``?". So :func:`matches` first reads the forms contracts actually write — ``==``, ``!=``,
``<``, ``<=``, ``>``, ``>=``, ``~=``, ``==X.*``/``!=X.*`` and the bare ``3.11`` — for versions of the
shape ``N(.N)*[{a|b|rc}N][.postN][.devN]`` (what interpreters and nearly every distribution report)
with a small evaluator of plain tuples, and *declines*, inside the same call, to ``packaging`` for
everything else: epochs, local versions, non-canonical spellings (``1.0-RC1``, ``v2``), ``===``,
malformed requirements (whose messages therefore stay packaging's), and the one place where PEP
440's exclusive comparisons carve out a version's own pre-/post-releases (``<V``/``>V`` against V's
family). The fast reading is only allowed to be faster, never different
(``tests/test_fast_versions.py`` holds it to packaging's answers).

Parsed forms are plain tuples of ints, strings and floats, so the contract cache (``_cache``) can
store them with ``marshal``. Standard library only, typing-free, nothing imported until packaging
is needed: this module is on the contracted-import path.
"""

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: this module is on the contracted-import path
if TYPE_CHECKING:
    from typing import Any

    Version = tuple[tuple[int, ...], tuple[str, int] | None, int | None, int | None]
    Key = tuple[tuple[int, ...], tuple[int, str, int], int, float]
    Clause = tuple[object, ...]

__all__ = [
    "OPERATOR_START",
    "check_requirement_syntax",
    "decide",
    "matches",
    "parse_requirement",
    "parse_version",
    "same_version",
    "sort_key",
]

OPERATOR_START = ("<", ">", "=", "!", "~")
"""A requirement starting with one of these is a specifier set; otherwise a bare version."""

_DIGITS = frozenset("0123456789")
_PRE_LETTERS = ("rc", "a", "b")  # "rc" first: it is the only two-letter one
_OPERATORS = ("~=", "==", "!=", "<=", ">=", "<", ">")  # two-character ones first
_INFINITY = float("inf")
_MAX_DIGITS = 24  # no real version number is longer; ``int()`` refuses over 4,300 digits anyway
_UNPARSED: "Any" = object()


# --------------------------------------------------------------------------- the fast reading


def _number(text: "str") -> "int | None":
    """ASCII digits only (``str.isdigit`` also accepts ``²``, which PEP 440 does not), and not
    absurdly many: anything else is left to packaging, which reports it."""
    if text and len(text) <= _MAX_DIGITS and _DIGITS.issuperset(text):
        return int(text)
    return None


def parse_version(text: "str") -> "Version | None":
    """``(release, pre, post, dev)`` for ``N(.N)*[{a|b|rc}N][.postN][.devN]``, else None.

    ``pre`` is ``(letter, number)``; absent segments are None. Anything outside this canonical
    subset (which ``packaging`` may well accept) is None: the caller must then ask ``packaging``.
    """
    parts = text.split(".")
    release: list[int] = []
    pre: tuple[str, int] | None = None
    index = 0
    while index < len(parts):
        part = parts[index]
        number = _number(part)
        if number is not None:
            release.append(number)
            index += 1
            continue
        digits = 0
        while digits <= _MAX_DIGITS and digits < len(part) and part[digits] in _DIGITS:
            digits += 1
        if digits:  # the last release number with a pre-release glued on: ``0rc1``
            last = _number(part[:digits])
            for letter in _PRE_LETTERS:
                if last is not None and part.startswith(letter, digits):
                    count = _number(part[digits + len(letter) :])
                    if count is not None:
                        release.append(last)
                        pre = (letter, count)
                        index += 1
                    break
            if pre is None:
                return None
        break
    if not release:
        return None
    rest = parts[index:]
    post = dev = None
    if rest and rest[0].startswith("post"):
        post = _number(rest[0][4:])
        if post is None:
            return None
        rest = rest[1:]
    if rest and rest[0].startswith("dev"):
        dev = _number(rest[0][3:])
        if dev is None:
            return None
        rest = rest[1:]
    if rest:
        return None
    return (tuple(release), pre, post, dev)


def trimmed(release: "tuple[int, ...]") -> "tuple[int, ...]":
    """The release without trailing zeros: ``3.11.0`` and ``3.11`` are the same release."""
    end = len(release)
    while end > 1 and release[end - 1] == 0:
        end -= 1
    return release[:end]


def sort_key(version: "Version") -> "Key":
    """PEP 440 ordering (packaging's ``_cmpkey`` without epoch and local, which are never parsed here).

    A dev release without pre- or post-release sorts before every pre-release of its release; no
    pre-release sorts after all of them; no post-release before any; no dev release after any.
    """
    release, pre, post, dev = version
    if pre is None:
        pre_key = (-1, "", 0) if post is None and dev is not None else (1, "", 0)
    else:
        pre_key = (0, pre[0], pre[1])
    return (trimmed(release), pre_key, -1 if post is None else post, _INFINITY if dev is None else dev)


def _clause(item: "str") -> "Clause | None":
    for operator in _OPERATORS:
        if item.startswith(operator):
            break
    else:
        return None
    if item.startswith("==="):
        return None  # arbitrary equality: a string comparison with rules of its own
    text = item[len(operator) :].strip(" \t")
    if text.endswith(".*"):
        if operator not in ("==", "!="):
            return None
        version = parse_version(text[:-2])
        if version is None or version[1:] != (None, None, None):
            return None  # a wildcard only follows a plain release
        return (operator + "*", version[0])
    version = parse_version(text)
    if version is None:
        return None
    if operator == "~=":
        if len(version[0]) < 2:
            return None  # ``~=3`` is invalid: let packaging say so
        return (operator, sort_key(version), version[0][:-1])
    if operator in ("<", ">"):
        return (operator, sort_key(version), trimmed(version[0]))
    return (operator, sort_key(version))


def parse_requirement(text: "str") -> "tuple[Clause, ...] | None":
    """The clauses of a requirement as this module reads it (§6), or None when not in the subset.

    A requirement starting with an operator is a comma-separated specifier set; a bare release
    ``3.11`` (or ``3.11.*``) means ``==3.11.*``; a bare version with a pre-, post- or dev-segment
    is an exact pin. None means "ask packaging" — including for every malformed requirement, so
    that the error message a contract author reads is packaging-based and unchanged. The program
    of a contract stores these clauses (``_engine``), so a warm check does not even parse them.
    """
    text = text.strip()
    if not text:
        return None
    if text[0] in "<>=!~":
        clauses = []
        for item in text.split(","):
            item = item.strip()
            clause = _clause(item) if item else None
            if clause is None:
                return None
            clauses.append(clause)
        return tuple(clauses)
    wildcard = text.endswith(".*")
    version = parse_version(text[:-2] if wildcard else text)
    if version is None:
        return None
    if version[1:] == (None, None, None):
        return (("==*", version[0]),)
    if wildcard:
        return None  # ``3.13.0rc1.*`` is an error, worded by packaging below
    return (("==", sort_key(version)),)


def _prefix_match(release: "tuple[int, ...]", prefix: "tuple[int, ...]") -> "bool":
    """``==prefix.*``: the release, zero-padded to the prefix's length, starts with the prefix."""
    if len(release) < len(prefix):
        release = release + (0,) * (len(prefix) - len(release))
    return release[: len(prefix)] == prefix


def decide(clauses: "tuple[Clause, ...]", version: "Version") -> "bool | None":
    """Whether ``version`` satisfies every clause (pre-releases allowed, §6), or None: declined.

    None when a clause cannot be decided here: ``<V``/``>V`` for a version of V's own release,
    where PEP 440 excludes some of V's pre-/post-releases by rules packaging owns.
    """
    key = sort_key(version)
    release = version[0]
    undecided = False
    for clause in clauses:
        operator = clause[0]
        if operator == ">=":
            ok = key >= clause[1]  # type: ignore[operator]
        elif operator == "==*":
            ok = _prefix_match(release, clause[1])  # type: ignore[arg-type]
        elif operator == "<":
            if trimmed(release) == clause[2]:
                undecided = True
                continue
            ok = key < clause[1]  # type: ignore[operator]
        elif operator == "==":
            ok = key == clause[1]
        elif operator == "<=":
            ok = key <= clause[1]  # type: ignore[operator]
        elif operator == "!=":
            ok = key != clause[1]
        elif operator == "!=*":
            ok = not _prefix_match(release, clause[1])  # type: ignore[arg-type]
        elif operator == "~=":
            ok = key >= clause[1] and _prefix_match(release, clause[2])  # type: ignore[operator, arg-type]
        elif operator == ">":
            if trimmed(release) == clause[2]:
                undecided = True
                continue
            ok = key > clause[1]  # type: ignore[operator]
        else:  # a clause this version of the module does not know (a stale cache): ask packaging
            return None
        if not ok:
            return False
    return None if undecided else True


# --------------------------------------------------------------------------- the one entry point

# Bounded by what contracts write and what versions are installed: a few strings each.
_REQUIREMENTS: "dict[str, Any]" = {}
_VERSIONS: "dict[str, Any]" = {}
_PACKAGING_REQUIREMENTS: "dict[str, Any]" = {}
_PACKAGING_VERSIONS: "dict[str, Any]" = {}
_CACHE_LIMIT = 4096


def _memo(table: "dict[str, Any]", text: "str", read: "Any") -> "Any":
    """``read(text)``, computed once per text (what raises is not kept, so it raises again)."""
    found = table.get(text, _UNPARSED)
    if found is _UNPARSED:
        found = read(text)
        if len(table) >= _CACHE_LIMIT:
            table.clear()
        table[text] = found
    return found


def _clauses(requirement: "str") -> "tuple[Clause, ...] | None":
    result: tuple[Clause, ...] | None = _memo(_REQUIREMENTS, requirement, parse_requirement)
    return result


def _version(actual: "str") -> "Version | None":
    result: Version | None = _memo(_VERSIONS, actual, lambda text: parse_version(text.strip()))
    return result


def matches(requirement: "str", actual: "str", clauses: "Any" = _UNPARSED) -> "bool":
    """Whether the version ``actual`` satisfies ``requirement`` (rules in the module docstring).

    ``clauses`` is :func:`parse_requirement` of ``requirement`` when the caller has it already (a
    compiled contract stores it). The fast reading answers when it can; when it declines, packaging
    answers, here. A malformed requirement matches nothing: the parser reports it with its line
    (:func:`check_requirement_syntax`), and a contract built in Python is validated the same way.
    """
    if clauses is _UNPARSED:
        clauses = _clauses(requirement)
    if clauses is not None:
        version = _version(actual)
        if version is not None:
            answer = decide(clauses, version)
            if answer is not None:
                return answer
    try:
        specifiers, exact_strings = _packaging_requirement(requirement)
    except ValueError:
        return False
    stripped = actual.strip()
    parsed = _packaging_version(stripped)
    if parsed is None:  # not PEP 440: it cannot be ordered, only pinned exactly
        return exact_strings is not None and stripped in exact_strings
    try:
        return bool(specifiers.contains(parsed, prereleases=True))
    except ValueError:  # packaging reads specifiers lazily: a 5,000-digit release fails only here
        return False


def same_version(required: "str", actual: "str") -> "bool":
    """PEP 440 equality of two versions (``1.0`` == ``1.0.0``); False when either is not PEP 440.

    The exact ``version`` of a module (§6) without an operator: the fast reading's sort keys when
    both are in its subset, packaging's ``Version`` otherwise.
    """
    if required.strip() == actual.strip():
        return True
    left, right = _version(required), _version(actual)
    if left is not None and right is not None:
        return sort_key(left) == sort_key(right)
    one, other = _packaging_version(required.strip()), _packaging_version(actual.strip())
    return one is not None and other is not None and bool(one == other)


def check_requirement_syntax(requirement: "str") -> "str | None":
    """The error message for a malformed requirement, or ``None`` when it is usable.

    Lets the contract parser report a bad specifier at parse time, with its line, instead of
    failing later at the first comparison.
    """
    if not isinstance(requirement, str):
        return f"a version requirement must be a string, not {type(requirement).__name__}"
    if _clauses(requirement) is not None:
        return None  # every form the fast reading accepts is valid PEP 440 (tested against packaging)
    try:
        _packaging_requirement(requirement)
    except ValueError as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------- packaging's reading


def _packaging_requirement(requirement: "str") -> "tuple[Any, tuple[str, ...] | None]":
    """``(SpecifierSet, exact strings)`` of a requirement, parsed once; raises ``ValueError`` with a
    message meant for the contract's author. The exact strings are what an actual version that is
    not PEP 440 must equal (None: no such version can match)."""
    result: tuple[Any, tuple[str, ...] | None] = _memo(
        _PACKAGING_REQUIREMENTS, requirement, _read_requirement
    )
    return result


def _read_requirement(requirement: "str") -> "tuple[Any, tuple[str, ...] | None]":
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion
    from packaging.version import Version as PackagingVersion

    text = requirement.strip()
    if not text:
        raise ValueError("empty version requirement")
    if text[0] in OPERATOR_START:
        try:
            specifiers = SpecifierSet(text)
        except InvalidSpecifier:
            raise ValueError(
                f"invalid version specifier {text!r} (expected PEP 440, e.g. '>=3.10,<3.14')"
            ) from None
        pins = [spec.version for spec in specifiers if spec.operator in ("==", "===")]
        only_pins = len(pins) == len(specifiers) and len(set(pins)) == 1
        return specifiers, ((pins[0],) if only_pins else None)

    prefix = text[:-2] if text.endswith(".*") else text
    try:
        version = PackagingVersion(prefix)
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
        return SpecifierSet(f"=={epoch}{release}.*"), (text,)
    if text.endswith(".*"):
        raise ValueError(f"invalid version {text!r}: '.*' only follows a plain release such as '3.11.*'")
    return SpecifierSet(f"=={version}"), (text,)


def _packaging_version(text: "str") -> "Any":
    """packaging's ``Version`` of ``text``, or None when it is not PEP 440."""
    return _memo(_PACKAGING_VERSIONS, text, _read_packaging_version)


def _read_packaging_version(text: "str") -> "Any":
    from packaging.version import Version as PackagingVersion

    try:
        return PackagingVersion(text)
    except ValueError:  # InvalidVersion, or a number too long for int()
        return None
