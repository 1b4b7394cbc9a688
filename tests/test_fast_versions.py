"""The fast reading inside ``_versions.matches`` must agree with packaging wherever it answers.

The fast reading keeps ``packaging`` (≈ 13 ms to import) off the contracted-import path; it is
allowed to decline a question (``None``, and ``matches`` then asks packaging), never to answer it
differently. So every test here compares it with the packaging-only reading that ``_versions`` used
before the two were merged (``_versions._read_requirement``): a table of the forms contracts
write, then hypothesis properties over generated versions and requirements, many of them
deliberately outside the subset the fast reading accepts.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from packaging.version import InvalidVersion, Version

from importspy_hook import _versions


def reference(requirement: str, actual: str) -> bool:
    """What ``matches`` answered before the fast reading existed: packaging only."""
    specifiers, exact_strings = _versions._read_requirement(requirement)
    try:
        version = Version(actual.strip())
    except InvalidVersion:
        return exact_strings is not None and actual.strip() in exact_strings
    return bool(specifiers.contains(version, prereleases=True))


def fast(requirement: str, actual: str) -> bool | None:
    """The fast reading alone: None where ``matches`` would decline to packaging."""
    clauses = _versions.parse_requirement(requirement)
    version = _versions.parse_version(actual.strip())
    if clauses is None or version is None:
        return None
    return _versions.decide(clauses, version)


# --------------------------------------------------------------------------- table

CASES = [
    # (requirement, actual, expected) — expected is PEP 440 as packaging reads it
    (">=3.10", "3.11.7", True),
    (">=3.10", "3.9.18", False),
    (">=3.10,<3.14", "3.13.0", True),
    (">=3.10,<3.14", "3.14.1", False),
    ("<3.12", "3.11.7", True),
    ("<=3.11", "3.11.0", True),
    ("<=3.11", "3.11.1", False),
    (">3.11", "3.12.0", True),
    ("==3.11.7", "3.11.7", True),
    ("==3.11", "3.11.0", True),  # zero padding
    ("==3.11", "3.11.1", False),
    ("!=3.11.7", "3.11.7", False),
    ("!=3.11.7", "3.11.8", True),
    ("==3.11.*", "3.11.7", True),
    ("==3.11.*", "3.12.0", False),
    ("==3.11.*", "3.11.0rc1", True),
    ("==3.0.*", "3", True),  # padded before the prefix comparison
    ("!=3.11.*", "3.11.7", False),
    ("!=3.11.*", "3.10.2", True),
    ("~=3.11", "3.12.1", True),
    ("~=3.11", "4.0", False),
    ("~=3.11.2", "3.11.9", True),
    ("~=3.11.2", "3.12.0", False),
    ("~=3.11.2", "3.11.1", False),
    ("~=2.2.post3", "2.3", True),
    ("~=1.4.5a4", "1.4.5", True),
    ("3.11", "3.11.7", True),  # §6: a bare release is the whole series
    ("3.11", "3.12.0", False),
    ("3.11", "3.11.0rc1", True),
    ("3.11.*", "3.11.4", True),
    ("3", "3.13.1", True),
    ("3.12.8", "3.12.8", True),
    ("3.12.8", "3.12.9", False),
    ("3.13.0rc1", "3.13.0rc1", True),  # a bare pre-release is an exact pin
    ("3.13.0rc1", "3.13.0", False),
    (">=1.0.dev1", "1.0a1", True),  # dev < pre < final < post
    ("<1.0a1", "1.0.dev3", None),  # V's own family under <V: packaging decides
    (">1.0", "1.0.post1", None),
    ("<1.0", "0.9.post5", True),
    (">1.0", "1.1.dev0", True),
    (">= 3.10", "3.11", True),  # whitespace after the operator
    ("  >=3.10 , <4  ", "3.11", True),
]


@pytest.mark.parametrize(("requirement", "actual", "expected"), CASES)
def test_table(requirement: str, actual: str, expected: bool | None) -> None:
    assert fast(requirement, actual) is expected
    assert _versions.matches(requirement, actual) is reference(requirement, actual)
    if expected is not None:
        assert reference(requirement, actual) is expected


DECLINED = [
    "===3.11",  # arbitrary equality
    "==1!2.0",  # epoch
    "==2.0+local",  # local version
    ">=v3.10",  # non-canonical spelling
    ">=3.10-rc1",
    ">=3.10RC1",
    "~=3",  # invalid: needs two release numbers
    "<=3.11.*",  # invalid: a wildcard only with == and !=
    "==3.11a1.*",  # invalid: a wildcard only after a plain release
    ">=3.10,,<4",  # an empty clause
    ">=",
    "3.13.0rc1.*",
    "latest",
    "",
]


@pytest.mark.parametrize("requirement", DECLINED)
def test_forms_outside_the_subset_are_left_to_packaging(requirement: str) -> None:
    assert _versions.parse_requirement(requirement) is None


def test_invalid_requirements_keep_packagings_messages() -> None:
    message = _versions.check_requirement_syntax("~=3")
    assert message is not None and "invalid version specifier" in message
    assert _versions.check_requirement_syntax(">=3.10,<3.14") is None
    assert _versions.check_requirement_syntax("3.13.0rc1.*") == (
        "invalid version '3.13.0rc1.*': '.*' only follows a plain release such as '3.11.*'"
    )


@pytest.mark.parametrize(
    "text", ["1.0-rc1", "v1.0", "1!1.0", "1.0+abc", "1.0c1", "1.0.post", "1..0", "1.", ""]
)
def test_versions_outside_the_subset_are_declined(text: str) -> None:
    assert _versions.parse_version(text) is None


def test_unparsable_actual_versions_fall_back_to_exact_strings() -> None:
    # Not PEP 440 at all: packaging cannot order it, so only the exact pin matches.
    assert fast("==2.0", "2.0 custom build") is None
    assert _versions.matches("==2.0", "2.0 custom build") is False
    assert _versions.matches(">=1.0", "not a version") is False


# --------------------------------------------------------------------------- properties

_number = st.integers(min_value=0, max_value=12).map(str) | st.sampled_from(["0", "00", "010", "2024"])
_release = st.lists(_number, min_size=1, max_size=4).map(".".join)
_suffix = st.sampled_from(
    [
        "",
        "a1",
        "b2",
        "rc1",
        "rc0",
        ".post1",
        ".post0",
        ".dev0",
        ".dev3",
        "a1.dev1",
        "rc2.post1",
        ".post2.dev1",
    ]
)
_noise = st.sampled_from(
    ["", "", "", "", "+local", "-1", "c1", "RC1", "v", "1!", ".*", " ", "-rc1", "alpha1"]
)


@st.composite
def versions(draw: st.DrawFn) -> str:
    text = draw(_release) + draw(_suffix)
    noise = draw(_noise)
    if noise in ("v", "1!"):
        return noise + text
    return text + noise


_operator = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~=", "===", "=", ""])


@st.composite
def clauses(draw: st.DrawFn) -> str:
    version = draw(versions())
    if draw(st.booleans()) and draw(st.booleans()):
        version = draw(_release) + ".*"
    spacing = draw(st.sampled_from(["", "", " "]))
    return draw(_operator) + spacing + version


@st.composite
def requirements(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(versions())  # the bare form of §6
    return ",".join(draw(st.lists(clauses(), min_size=1, max_size=3)))


@settings(max_examples=1500, deadline=None)
@given(requirements(), versions())
@example(">=3.10", "3.11.7")
@example("<1.0", "1.0rc1")
@example("~=1.0", "1.0.post1.dev2")
def test_agrees_with_packaging_whenever_it_answers(requirement: str, actual: str) -> None:
    answer = fast(requirement, actual)
    if _versions.parse_requirement(requirement) is not None:
        # Whatever the fast parser reads is valid for packaging too (no new syntax accepted).
        _versions._read_requirement(requirement)
    if answer is not None:
        assert answer is reference(requirement, actual), (requirement, actual)
    # And the public function, with or without the fast path, gives packaging's answer.
    try:
        expected = reference(requirement, actual)
    except ValueError:  # malformed: reported by the parser, and it matches nothing
        assert _versions.check_requirement_syntax(requirement) is not None
        assert _versions.matches(requirement, actual) is False
    else:
        assert _versions.matches(requirement, actual) is expected


@settings(max_examples=800, deadline=None)
@given(versions(), versions())
def test_ordering_agrees_with_packaging(left: str, right: str) -> None:
    ours_left, ours_right = _versions.parse_version(left), _versions.parse_version(right)
    if ours_left is None or ours_right is None:
        return
    theirs_left, theirs_right = Version(left), Version(right)  # parsable: the subset is PEP 440
    key_left, key_right = _versions.sort_key(ours_left), _versions.sort_key(ours_right)
    assert (key_left < key_right) is (theirs_left < theirs_right)
    assert (key_left == key_right) is (theirs_left == theirs_right)
    assert ours_left[0] == theirs_left.release


@settings(max_examples=500, deadline=None)
@given(versions())
def test_parsed_versions_are_what_packaging_reads(text: str) -> None:
    ours = _versions.parse_version(text)
    if ours is None:
        return
    try:
        theirs = Version(text)
    except InvalidVersion:  # pragma: no cover - would be the bug this test exists for
        pytest.fail(f"{text!r} read by the fast reading but invalid for packaging")
    release, pre, post, dev = ours
    assert (release, pre, post, dev) == (theirs.release, theirs.pre, theirs.post, theirs.dev)
