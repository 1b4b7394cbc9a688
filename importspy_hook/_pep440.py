"""A small PEP 440 evaluator for the version requirements contracts actually write (§6, §11).

Why not ``packaging`` on the hot path: importing ``packaging.specifiers`` costs ≈ 13 ms, more than
twice the whole budget of a contracted import in a fresh process (§11), to answer questions such as
"is 3.11.7 ``>=3.10``?". This module answers the common forms itself — ``==``, ``!=``, ``<``,
``<=``, ``>``, ``>=``, ``~=``, ``==X.*``/``!=X.*`` and the bare ``3.11`` of §6 — for versions of the
shape ``N(.N)*[{a|b|rc}N][.postN][.devN]`` (what interpreters and nearly every distribution
report), and says "I do not know" (``None``) for everything else: epochs, local versions,
non-canonical spellings (``1.0-RC1``, ``v2``), ``===``, and the one place where PEP 440's exclusive
comparisons carve out a version's own pre-/post-releases (``<V``/``>V`` against V's family).
``_versions`` then asks ``packaging``, so the answer is always packaging's: this module is only
allowed to be faster, never different (``tests/test_fast_versions.py`` holds it to that).

Parsed forms are plain tuples of ints, strings and floats, so the contract cache (``_cache``) can
store them with ``marshal``. Standard library only, and nothing imported at all.
"""

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: this module is on the contracted-import path
if TYPE_CHECKING:
    Version = tuple[tuple[int, ...], tuple[str, int] | None, int | None, int | None]
    Key = tuple[tuple[int, ...], tuple[int, str, int], int, float]
    Clause = tuple[object, ...]

__all__ = ["matches", "parse_requirement", "parse_version", "sort_key", "trimmed"]

_DIGITS = frozenset("0123456789")
_PRE_LETTERS = ("rc", "a", "b")  # "rc" first: it is the only two-letter one
_OPERATORS = ("~=", "==", "!=", "<=", ">=", "<", ">")  # two-character ones first
_INFINITY = float("inf")


_MAX_DIGITS = 24  # no real version number is longer; ``int()`` refuses over 4,300 digits anyway


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
    """The clauses of a requirement as ``_versions`` reads it (§6), or None when not in the subset.

    A requirement starting with an operator is a comma-separated specifier set; a bare release
    ``3.11`` (or ``3.11.*``) means ``==3.11.*``; a bare version with a pre-, post- or dev-segment
    is an exact pin. None means "ask packaging" — including for every malformed requirement, so
    that the error message a contract author reads is packaging-based and unchanged.
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
        return None  # ``3.13.0rc1.*`` is an error, worded by _versions
    return (("==", sort_key(version)),)


def _prefix_match(release: "tuple[int, ...]", prefix: "tuple[int, ...]") -> "bool":
    """``==prefix.*``: the release, zero-padded to the prefix's length, starts with the prefix."""
    if len(release) < len(prefix):
        release = release + (0,) * (len(prefix) - len(release))
    return release[: len(prefix)] == prefix


def matches(clauses: "tuple[Clause, ...]", version: "Version") -> "bool | None":
    """Whether ``version`` satisfies every clause (pre-releases allowed, as ``_versions`` asks).

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
