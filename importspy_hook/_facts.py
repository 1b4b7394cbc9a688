"""The facts of this process that a contract compares, and the spellings that make them comparable.

Split from ``_context`` because these are what the compiled check (``_compiled``) needs on every
contracted import, and that path must not import attrs, ``re``, ``typing`` or ``threading``: each
costs milliseconds in a fresh process, a large part of the §11 budget of its first contracted import
(``benchmarks/README.md``). ``_context`` re-exports every name, so its public behaviour is unchanged.

OS, architecture, Python version and implementation cannot change while the process runs, so
:func:`platform_facts` computes them once.
"""

import os as _os
import sys

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs milliseconds
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "PlatformFacts",
    "normalise_arch",
    "normalise_distribution_name",
    "normalise_implementation",
    "normalise_os",
    "platform_facts",
]

# --------------------------------------------------------------------------- normalisation

_OS_ALIASES = {
    "darwin": "darwin",
    "macos": "darwin",
    "mac": "darwin",
    "osx": "darwin",
    "macosx": "darwin",
    "win32": "windows",
    "windows": "windows",
    "nt": "windows",
}

_ARCH_ALIASES = {
    "amd64": "x86_64",
    "x86-64": "x86_64",
    "x64": "x86_64",
    "x86_64": "x86_64",
    "arm64": "aarch64",
    "aarch64": "aarch64",
    "i386": "i686",
    "i486": "i686",
    "i586": "i686",
    "i686": "i686",
    "x86": "i686",
    "armv7l": "armv7l",
    "armv7": "armv7l",
    # What uname says for a 32-bit ARM user space on an ARMv8 CPU (linux32 personality); it runs
    # armv7l code, and wheel tags (packaging, pip) accept armv7l wheels there too.
    "armv8l": "armv7l",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
}

_IMPLEMENTATIONS = {
    "cpython": "CPython",
    "pypy": "PyPy",
    "graalpy": "GraalPy",
    # GraalPy reported itself as "graalpython" in sys.implementation.name before 23.1.
    "graalpython": "GraalPy",
    "ironpython": "IronPython",
    "jython": "Jython",
    "micropython": "MicroPython",
}


def normalise_os(name: "str") -> "str":
    """Canonical OS name: ``darwin``, ``windows``, ``linux``, ``freebsd`` or the lower-cased input.

    Accepts both what users write (``macOS``, ``Windows``) and what Python reports
    (``sys.platform`` values such as ``win32``, ``linux2``, ``freebsd14``; ``os.name`` ``nt``).
    """
    key = name.strip().lower()
    alias = _OS_ALIASES.get(key)
    if alias is not None:
        return alias
    if key.startswith("linux"):
        return "linux"
    if key.startswith("freebsd"):
        return "freebsd"
    return key


def normalise_arch(name: "str") -> "str":
    """Canonical machine name, so ``amd64``/``x64`` ≡ ``x86_64`` and ``arm64`` ≡ ``aarch64``.

    The spellings differ by OS (Windows says ``AMD64``, macOS ``arm64``, Linux ``aarch64``); a
    contract must not depend on which one its author happened to use.
    """
    key = name.strip().lower()
    alias = _ARCH_ALIASES.get(key)
    if alias is not None:
        return alias
    if key.startswith("armv8"):
        return "aarch64"
    return key


def normalise_implementation(name: "str") -> "str":
    """Canonical interpreter spelling (``CPython``, ``PyPy``, …); unknown names are only stripped."""
    stripped = name.strip()
    return _IMPLEMENTATIONS.get(stripped.lower(), stripped)


_SEPARATORS = frozenset("-_.")


def normalise_distribution_name(name: "str") -> "str":
    """PEP 503 normalised name, so ``Ruamel.YAML`` and ``ruamel-yaml`` are one distribution.

    Every run of ``-``, ``_`` and ``.`` becomes one ``-`` (written as a loop: ``re`` is not loaded
    on the contracted-import path).
    """
    out: list[str] = []
    previous_was_separator = False
    for char in name.strip():
        if char in _SEPARATORS:
            if not previous_was_separator:
                out.append("-")
            previous_was_separator = True
        else:
            out.append(char)
            previous_was_separator = False
    return "".join(out).lower()


# --------------------------------------------------------------------------- platform facts


class PlatformFacts:
    """What cannot change while the process runs. Plain slotted class: no attrs at start-up cost."""

    __slots__ = ("arch", "implementation", "os", "python_version")

    os: "str"
    arch: "str"
    python_version: "str"
    implementation: "str"

    def __init__(self, os: "str", arch: "str", python_version: "str", implementation: "str") -> "None":
        object.__setattr__(self, "os", os)
        object.__setattr__(self, "arch", arch)
        object.__setattr__(self, "python_version", python_version)
        object.__setattr__(self, "implementation", implementation)

    def __setattr__(self, name: "str", value: "object") -> "None":
        raise AttributeError(f"PlatformFacts is immutable (cannot set {name!r})")

    def __delattr__(self, name: "str") -> "None":
        raise AttributeError(f"PlatformFacts is immutable (cannot delete {name!r})")

    def _key(self) -> "tuple[str, str, str, str]":
        return (self.os, self.arch, self.python_version, self.implementation)

    def __eq__(self, other: "object") -> "bool":
        if not isinstance(other, PlatformFacts):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> "int":
        return hash(self._key())

    def __repr__(self) -> "str":
        return (
            f"PlatformFacts(os={self.os!r}, arch={self.arch!r}, "
            f"python_version={self.python_version!r}, implementation={self.implementation!r})"
        )


_RELEASE_LEVELS = {"alpha": "a", "beta": "b", "candidate": "rc"}


def _python_version(info: "Any" = None) -> "str":
    """``3.11.7``, or ``3.13.0rc1`` for a pre-release, the way PEP 440 spells it."""
    info = sys.version_info if info is None else info
    text = f"{info[0]}.{info[1]}.{info[2]}"
    level = _RELEASE_LEVELS.get(info[3])
    if level is not None:
        text += f"{level}{info[4]}"
    return text


# A 64-bit machine name → what a 32-bit interpreter on that kernel runs.
_32_BIT_USER_SPACE = {"x86_64": "i686", "aarch64": "armv7l"}


def _machine() -> "str":
    """The architecture of the code this interpreter runs (not the kernel's).

    ``os.uname()`` describes the kernel: a 32-bit interpreter (armhf Python on a 64-bit Raspberry
    Pi OS kernel, i686 Python on x86_64) gets ``aarch64``/``x86_64`` from it, but runs 32-bit
    code — what a contract, like a wheel tag, is about. The interpreter's word size decides.
    """
    uname = getattr(_os, "uname", None)
    if uname is not None:
        machine: str = uname().machine
    else:  # Windows has no os.uname; `platform` is only imported there (it is slow to import).
        import platform

        machine = platform.machine()
    arch = normalise_arch(machine)
    if sys.maxsize <= 2**32:
        arch = _32_BIT_USER_SPACE.get(arch, arch)
    return arch


_FACTS: "list[PlatformFacts]" = []


def platform_facts() -> "PlatformFacts":
    """The process's OS, architecture, Python version and implementation, computed once."""
    if not _FACTS:
        _FACTS.append(
            PlatformFacts(
                os=normalise_os(sys.platform),
                arch=_machine(),
                python_version=_python_version(),
                implementation=normalise_implementation(sys.implementation.name),
            )
        )
    return _FACTS[0]
