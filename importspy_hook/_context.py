"""The importing context: platform facts, environment, distributions and the caller (SPEC §5, §6).

A contract is checked against a :class:`Context`. Most of it never changes while a process runs
(OS, architecture, interpreter), so :func:`platform_facts` computes it once. What can change —
environment variables, installed distributions, the caller's structure — is read only when a
contract actually asks for it: environment values at check time from the live mapping, the caller's
structure and the distribution list lazily and at most once per :class:`Context`.

The ``normalise_*`` functions (defined in ``_facts`` and re-exported here) are shared with the
contract parser and the checkers so that a contract saying ``amd64`` and a machine reporting
``x86_64`` compare equal.

Standard library only, and only what is already loaded at start-up: the compiled check
(``_compiled``) reads installed distributions from here on the contracted-import path, where attrs,
``typing``, ``re`` and ``threading`` would each cost milliseconds (§11). :class:`Context` is therefore
a plain slotted class, immutable and compared by identity as it always was.
"""

from __future__ import annotations

import os as _os
import sys
from _collections_abc import Iterator, Mapping  # what ``collections.abc`` re-exports, already loaded

from ._cache import ForkSafeLock
from ._facts import (
    PlatformFacts,
    normalise_arch,
    normalise_distribution_name,
    normalise_implementation,
    normalise_os,
    platform_facts,
)
from ._facts import _machine as _machine  # re-exported: tests pin its behaviour here
from ._facts import _python_version as _python_version

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: see the module docstring
if TYPE_CHECKING:
    from typing import Any

    from ._structure import CallerLike, Structure

__all__ = [
    "Context",
    "PlatformFacts",
    "current_context",
    "installed_distributions",
    "live_context",
    "normalise_arch",
    "normalise_distribution_name",
    "normalise_implementation",
    "normalise_os",
    "platform_facts",
]

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

_DIST_LOCK = ForkSafeLock()
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
            # In the directory's own listing order, as importlib.metadata reads it: when one
            # directory holds two versions of a project (foo-1.0.dist-info and foo-2.0.dist-info
            # after a botched upgrade), ``importlib.metadata.version("foo")`` is the first listed
            # (CPython 3.10 to 3.13), and a contract must judge the version the application sees.
            items = _os.listdir(directory)
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


class Context:
    """Everything a contract is checked against.

    Immutable, and compared by identity: ``environ`` is usually the live ``os.environ``, so value
    equality would change under the caller's feet. The caller's structure and the distributions
    are computed on first use and kept for the lifetime of this object (one import check).
    """

    __slots__ = (
        "_distributions_cache",
        "_known_distributions",
        "_structure_cache",
        "arch",
        "caller",
        "environ",
        "implementation",
        "os",
        "python_version",
    )

    os: str
    arch: str
    python_version: str
    implementation: str
    environ: Mapping[str, str]
    caller: CallerLike | None
    _known_distributions: Mapping[str, str] | None
    _structure_cache: Any
    _distributions_cache: Any

    def __init__(
        self,
        os: str,
        arch: str,
        python_version: str,
        implementation: str,
        environ: Mapping[str, str] | None = None,
        caller: CallerLike | None = None,
        known_distributions: Mapping[str, str] | None = None,
    ) -> None:
        setter = object.__setattr__
        setter(self, "os", os)
        setter(self, "arch", arch)
        setter(self, "python_version", python_version)
        setter(self, "implementation", implementation)
        setter(self, "environ", _os.environ if environ is None else environ)
        setter(self, "caller", caller)
        setter(self, "_known_distributions", known_distributions)
        setter(self, "_structure_cache", _NOT_YET)
        setter(self, "_distributions_cache", _NOT_YET)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Context is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Context is immutable (cannot delete {name!r})")

    def __repr__(self) -> str:
        # The environment is left out: its values may be secrets (SPEC §6).
        return (
            f"Context(os={self.os!r}, arch={self.arch!r}, python_version={self.python_version!r}, "
            f"implementation={self.implementation!r}, caller={self.caller!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as what it says: its facts, a plain copy of its environment, its caller, and
        the distributions it was given or has already read (otherwise read again where it lands).
        ``__setattr__`` refuses, so the default slot-by-slot restore cannot be used."""
        known = self._known_distributions
        if known is None and self._distributions_cache is not _NOT_YET:
            known = self._distributions_cache
        return (
            Context,
            (
                self.os,
                self.arch,
                self.python_version,
                self.implementation,
                dict(self.environ),
                self.caller,
                None if known is None else dict(known),
            ),
        )

    @property
    def caller_name(self) -> str | None:
        """The importing module's name, ``None`` when there is no identifiable caller."""
        return None if self.caller is None else self.caller.name

    def structure(self) -> Structure | None:
        """The caller's structure (source read statically, merged with the live module), in the
        layout of ``_structure``: ``(who, filename, version, has_source, variables, functions,
        classes, norms)``."""
        cached = self._structure_cache
        if cached is _NOT_YET:
            if self.caller is None:
                cached = None
            else:
                from ._structure import read_structure

                cached = read_structure(self.caller)
            object.__setattr__(self, "_structure_cache", cached)
        result: Structure | None = cached
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
    layered over ``os.environ``; a value of ``None`` means "unset". ``distributions``, when
    given, replaces the installed set entirely (names are PEP 503 normalised), so a simulation
    does not depend on what happens to be installed.

    The environment is a snapshot (a plain ``dict`` taken now): what you were given does not
    change when the process's environment does, and the context pickles. (An import is judged
    against a context built at check time, from the live environment: see :func:`live_context`.)
    """
    context = live_context(
        os=os,
        arch=arch,
        python=python,
        implementation=implementation,
        env=env,
        caller=caller,
        distributions=distributions,
    )
    object.__setattr__(context, "environ", dict(context.environ))
    return context


def live_context(
    *,
    os: str | None = None,
    arch: str | None = None,
    python: str | None = None,
    implementation: str | None = None,
    env: Mapping[str, str | None] | None = None,
    caller: CallerLike | None = None,
    distributions: Mapping[str, str] | None = None,
) -> Context:
    """:func:`current_context` for the hook's own check: ``environ`` reads the live ``os.environ``.

    A check reads the variables its contract names when it runs, never a copy of the whole
    environment (that would cost every contracted import a copy of every variable), so setting a
    variable and importing again is judged on the new value (failures are never cached, §7).
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
