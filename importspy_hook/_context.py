"""The importing context: platform facts, environment, distributions and the caller (SPEC §5, §6).

A contract is checked against a :class:`Context`. Most of it never changes while a process runs
(OS, architecture, interpreter), so :func:`platform_facts` computes it once. What can change —
environment variables, installed distributions, the caller's structure — is read only when a
contract actually asks for it: environment values at check time from the live mapping, the caller's
structure and the distribution list lazily and at most once per :class:`Context`.

The ``normalise_*`` functions are shared with the contract parser and the validator so that a
contract saying ``amd64`` and a machine reporting ``x86_64`` compare equal.
"""

from __future__ import annotations

import os as _os
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ._structure import CallerLike, ModuleStructure

__all__ = [
    "Context",
    "PlatformFacts",
    "current_context",
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


def normalise_os(name: str) -> str:
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


def normalise_arch(name: str) -> str:
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


def normalise_implementation(name: str) -> str:
    """Canonical interpreter spelling (``CPython``, ``PyPy``, …); unknown names are only stripped."""
    stripped = name.strip()
    return _IMPLEMENTATIONS.get(stripped.lower(), stripped)


_DIST_SEPARATORS = re.compile(r"[-_.]+")


def normalise_distribution_name(name: str) -> str:
    """PEP 503 normalised name, so ``Ruamel.YAML`` and ``ruamel-yaml`` are one distribution."""
    return _DIST_SEPARATORS.sub("-", name.strip()).lower()


# --------------------------------------------------------------------------- platform facts


class PlatformFacts:
    """What cannot change while the process runs. Plain slotted class: no attrs at start-up cost."""

    __slots__ = ("arch", "implementation", "os", "python_version")

    os: str
    arch: str
    python_version: str
    implementation: str

    def __init__(self, os: str, arch: str, python_version: str, implementation: str) -> None:
        object.__setattr__(self, "os", os)
        object.__setattr__(self, "arch", arch)
        object.__setattr__(self, "python_version", python_version)
        object.__setattr__(self, "implementation", implementation)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"PlatformFacts is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"PlatformFacts is immutable (cannot delete {name!r})")

    def _key(self) -> tuple[str, str, str, str]:
        return (self.os, self.arch, self.python_version, self.implementation)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PlatformFacts):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"PlatformFacts(os={self.os!r}, arch={self.arch!r}, "
            f"python_version={self.python_version!r}, implementation={self.implementation!r})"
        )


_RELEASE_LEVELS = {"alpha": "a", "beta": "b", "candidate": "rc"}


def _python_version(info: Any = None) -> str:
    """``3.11.7``, or ``3.13.0rc1`` for a pre-release, the way PEP 440 spells it."""
    info = sys.version_info if info is None else info
    text = f"{info[0]}.{info[1]}.{info[2]}"
    level = _RELEASE_LEVELS.get(info[3])
    if level is not None:
        text += f"{level}{info[4]}"
    return text


def _machine() -> str:
    uname = getattr(_os, "uname", None)
    if uname is not None:
        machine: str = uname().machine
    else:  # Windows has no os.uname; `platform` is only imported there (it is slow to import).
        import platform

        machine = platform.machine()
    arch = normalise_arch(machine)
    # A 32-bit interpreter on a 64-bit x86 kernel runs i686 code: that is what a contract (and
    # any compiled extension) cares about, not the kernel's word size.
    if arch == "x86_64" and sys.maxsize <= 2**32:
        arch = "i686"
    return arch


@lru_cache(maxsize=1)
def platform_facts() -> PlatformFacts:
    """The process's OS, architecture, Python version and implementation, computed once."""
    return PlatformFacts(
        os=normalise_os(sys.platform),
        arch=_machine(),
        python_version=_python_version(),
        implementation=normalise_implementation(sys.implementation.name),
    )


# --------------------------------------------------------------------------- environment


class _LayeredEnviron(Mapping[str, str]):
    """Overrides over a live base mapping; an override of ``None`` hides the variable.

    The base is consulted on every lookup, so a variable set after the context was built is seen
    (failures are never cached, SPEC §7: setting the variable and importing again must work).
    """

    __slots__ = ("_base", "_overrides")

    def __init__(self, base: Mapping[str, str], overrides: Mapping[str, str | None]) -> None:
        self._base = base
        self._overrides = dict(overrides)

    def __getitem__(self, key: str) -> str:
        if key in self._overrides:
            value = self._overrides[key]
            if value is None:
                raise KeyError(key)
            return value
        return self._base[key]

    def __contains__(self, key: object) -> bool:
        if key in self._overrides:
            return self._overrides[key] is not None
        return key in self._base

    def __iter__(self) -> Iterator[str]:
        for key in self._base:
            if key not in self._overrides:
                yield key
        for key, value in self._overrides.items():
            if value is not None:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        # Names only: values may be secrets (SPEC §6) and must not leak through a repr.
        return f"<environment: {len(self)} variables, overrides for {sorted(self._overrides)}>"


# --------------------------------------------------------------------------- distributions

_DIST_LOCK = threading.Lock()
_DIST_CACHE: tuple[tuple[tuple[str, int], ...], Mapping[str, str]] | None = None


def _path_key() -> tuple[tuple[str, int], ...]:
    """``sys.path`` with each entry's mtime: installing or removing a distribution changes it."""
    key = []
    for entry in sys.path:
        try:
            mtime = _os.stat(entry or ".").st_mtime_ns
        except (OSError, TypeError, ValueError):
            mtime = -1
        key.append((entry, mtime))
    return tuple(key)


def _read_name_and_version(path: str) -> tuple[str | None, str | None]:
    """``Name`` and ``Version`` from a core-metadata file, reading only as far as needed.

    Both come first in every file a build tool writes; the long description after the header
    (often most of the file) is never read.
    """
    name = version = None
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break  # end of the header
                if line[0] in " \t":
                    continue  # continuation of a folded field
                key, sep, value = line.partition(":")
                if not sep:
                    continue
                key = key.strip().lower()
                if key == "name" and name is None:
                    name = value.strip()
                elif key == "version" and version is None:
                    version = value.strip()
                if name and version:
                    break
    except (OSError, ValueError):
        return None, None
    return name, version


def _metadata_file(directory: str, item: str) -> str | None:
    lower = item.lower()
    if lower.endswith(".dist-info"):
        return _os.path.join(directory, item, "METADATA")
    if lower.endswith(".egg-info"):
        path = _os.path.join(directory, item)
        return path if _os.path.isfile(path) else _os.path.join(path, "PKG-INFO")
    return None


def _scan_archive(entry: str, found: dict[str, str]) -> None:
    """Distributions inside a zip on ``sys.path``: rare, so the slow general machinery is fine."""
    try:
        from importlib.metadata import distributions

        for dist in distributions(path=[entry]):
            name, version = dist.metadata["Name"], dist.version
            if name and version:
                found.setdefault(normalise_distribution_name(name), version)
    except Exception:  # an unreadable archive must not break the check of the others
        return


def _scan_distributions() -> Mapping[str, str]:
    """What ``importlib.metadata.distributions()`` finds on ``sys.path``, without importing it.

    ``importlib.metadata`` costs tens of milliseconds to import (email, zipfile, csv, ...), far
    more than the whole budget of a contracted import in a fresh process (SPEC §11); listing the
    ``*.dist-info``/``*.egg-info`` entries of each directory and reading two header fields is
    what it does for ordinary directories anyway.
    """
    found: dict[str, str] = {}
    for entry in sys.path:
        if not isinstance(entry, str):
            continue
        directory = entry or "."
        try:
            items = sorted(_os.listdir(directory))
        except NotADirectoryError:
            _scan_archive(entry, found)
            continue
        except (OSError, ValueError):
            continue
        candidates = [_metadata_file(directory, item) for item in items]
        if directory.lower().endswith(".egg"):  # an unzipped egg put on sys.path itself
            candidates.append(_os.path.join(directory, "EGG-INFO", "PKG-INFO"))
        for path in candidates:
            if path is None:
                continue
            name, version = _read_name_and_version(path)
            if name and version:
                found.setdefault(normalise_distribution_name(name), version)
    return found


def installed_distributions() -> Mapping[str, str]:
    """Normalised distribution name → version, first on ``sys.path`` wins; cached per process.

    The cache is keyed on ``sys.path`` and the mtimes of its entries, so a ``pip install`` during
    the run is noticed without rescanning every site directory on every contracted import.
    """
    global _DIST_CACHE
    key = _path_key()
    with _DIST_LOCK:
        cached = _DIST_CACHE
    if cached is not None and cached[0] == key:
        return cached[1]
    result = _scan_distributions()
    with _DIST_LOCK:
        _DIST_CACHE = (key, result)
    return result


# --------------------------------------------------------------------------- context

_NOT_YET: Any = object()


@attrs.define(frozen=True, eq=False)
class Context:
    """Everything a contract is checked against.

    Compared by identity: ``environ`` is usually the live ``os.environ``, so value equality would
    change under the caller's feet. The caller's structure and the distributions are computed on
    first use and kept for the lifetime of this object (one import check).
    """

    os: str
    arch: str
    python_version: str
    implementation: str
    environ: Mapping[str, str] = attrs.field(factory=lambda: _os.environ, repr=False)
    caller: CallerLike | None = None
    _known_distributions: Mapping[str, str] | None = attrs.field(default=None, repr=False)
    _structure_cache: Any = attrs.field(init=False, default=_NOT_YET, repr=False)
    _distributions_cache: Any = attrs.field(init=False, default=_NOT_YET, repr=False)

    @property
    def caller_name(self) -> str | None:
        """The importing module's name, ``None`` when there is no identifiable caller."""
        return None if self.caller is None else self.caller.name

    def structure(self) -> ModuleStructure | None:
        """The caller's structure (source read statically, merged with the live module)."""
        cached = self._structure_cache
        if cached is _NOT_YET:
            if self.caller is None:
                cached = None
            else:
                from ._structure import read_structure

                cached = read_structure(self.caller)
            object.__setattr__(self, "_structure_cache", cached)
        result: ModuleStructure | None = cached
        return result

    def distributions(self) -> Mapping[str, str]:
        """Normalised (PEP 503) distribution name → version string."""
        cached = self._distributions_cache
        if cached is _NOT_YET:
            known = self._known_distributions
            cached = installed_distributions() if known is None else known
            object.__setattr__(self, "_distributions_cache", cached)
        result: Mapping[str, str] = cached
        return result


def current_context(
    *,
    os: str | None = None,
    arch: str | None = None,
    python: str | None = None,
    implementation: str | None = None,
    env: Mapping[str, str | None] | None = None,
    caller: CallerLike | None = None,
    distributions: Mapping[str, str] | None = None,
) -> Context:
    """The context of this process, with optional overrides to simulate another platform.

    Overrides are normalised like contract values (``os="macOS"`` gives ``darwin``). ``env`` is
    layered over the live ``os.environ``; a value of ``None`` means "unset". ``distributions``,
    when given, replaces the installed set entirely (names are PEP 503 normalised), so a
    simulation does not depend on what happens to be installed.
    """
    facts = platform_facts()
    environ: Mapping[str, str] = _os.environ if env is None else _LayeredEnviron(_os.environ, env)
    known = (
        None
        if distributions is None
        else {normalise_distribution_name(name): str(v).strip() for name, v in distributions.items()}
    )
    return Context(
        os=facts.os if os is None else normalise_os(os),
        arch=facts.arch if arch is None else normalise_arch(arch),
        python_version=facts.python_version if python is None else python.strip(),
        implementation=(
            facts.implementation if implementation is None else normalise_implementation(implementation)
        ),
        environ=environ,
        caller=caller,
        known_distributions=known,
    )
