"""Version requirements as contracts write them (SPEC §6 "Versions")."""

from __future__ import annotations

import pytest

from importspy_hook._versions import check_requirement_syntax, matches


@pytest.mark.parametrize(
    ("requirement", "actual", "expected"),
    [
        # A bare release means "this release and anything under it".
        ("3.11", "3.11.0", True),
        ("3.11", "3.11.7", True),
        ("3.11", "3.11", True),
        ("3.11", "3.12.0", False),
        ("3.11", "3.1.1", False),
        ("3.11", "3.110.0", False),
        ("3.1", "3.10.2", False),  # the YAML-float trap: "3.1" is not "3.10"
        ("3.10", "3.10.2", True),
        ("3", "3.13.1", True),
        ("3", "4.0", False),
        ("3.12.8", "3.12.8", True),
        ("3.12.8", "3.12.9", False),
        ("3.12.8", "3.12.80", False),
        ("3.11.*", "3.11.4", True),
        ("3.11.*", "3.12.0", False),
        ("v3.11", "3.11.2", True),
        # Pre-releases of the actual version belong to their release line.
        ("3.13", "3.13.0rc1", True),
        ("3.13.0rc1", "3.13.0rc1", True),
        ("3.13.0rc1", "3.13.0", False),
        # Specifier sets (PEP 440), whitespace tolerated.
        (">=3.10,<3.14", "3.13.1", True),
        (">=3.10,<3.14", "3.14.0", False),
        (">=3.10,<3.14", "3.9.18", False),
        ("  >= 3.10 , < 3.14  ", "3.12.0", True),
        (">=3.12", "3.11.7", False),
        (">=3.13", "3.13.0rc1", False),  # rc1 sorts before the final 3.13.0
        (">=3.13.0rc1", "3.13.0rc2", True),
        ("<3.14", "3.13.0b1", True),  # the pre-release is allowed as an actual version
        ("<3.13", "3.13.0b1", False),  # PEP 440: a 3.13 beta is not "below 3.13"
        ("==3.11.*", "3.11.9", True),
        ("!=3.11.5", "3.11.5", False),
        ("!=3.11.5", "3.11.6", True),
        ("~=2.1", "2.9", True),
        ("~=2.1", "3.0", False),
        ("==2.0", "2.0.0", True),
        # Unparsable actual versions only match by exact string.
        ("===2023-custom", "2023-custom", True),
        ("===2023-custom", "2023-other", False),
        (">=1.0", "not-a-version", False),
        ("1.0", "not-a-version", False),
        ("1.0", " 1.0.1 ", True),
    ],
)
def test_matches(requirement: str, actual: str, expected: bool) -> None:
    assert matches(requirement, actual) is expected


@pytest.mark.parametrize(
    "requirement",
    ["", "   ", "banana", ">=x", ">= 3.10 <3.14", "3.11,<3.13", "3..11", "=>3.10", "3.13.0rc1.*", "~3"],
)
def test_invalid_requirement_is_reported(requirement: str) -> None:
    """The parser reports it (with its line); a malformed requirement that reaches a check anyway
    (a contract built in Python) matches nothing, it never raises out of the check."""
    message = check_requirement_syntax(requirement)
    assert message is not None
    assert requirement.strip() in message or "empty" in message
    assert "version" in message
    assert matches(requirement, "3.11.0") is False


@pytest.mark.parametrize(
    "requirement", ["3.11", ">=3.10,<3.14", " ~=1.4 ", "1!2.0", "===custom", "2.0.post1"]
)
def test_valid_requirement_has_no_message(requirement: str) -> None:
    assert check_requirement_syntax(requirement) is None


def test_non_string_requirement_is_reported() -> None:
    # A YAML float (3.10 read as 3.1) must never be silently accepted as a version.
    message = check_requirement_syntax(3.1)  # type: ignore[arg-type]
    assert message is not None and "string" in message


def test_a_huge_release_matches_nothing_and_never_raises() -> None:
    # packaging reads specifier versions lazily: a 5,000-digit release fails at comparison time,
    # with a ValueError from int(); the one matches() turns it into "no match", as for any
    # malformed requirement.
    assert matches(">=1." + "1" * 5001, "3.11.7") is False
