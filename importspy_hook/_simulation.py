"""Simulated importing contexts: "what would this contract say on Windows, without that variable?".

A contract author wants to prove, on a Linux CI runner, that their contract refuses Windows or a
missing credential. The engine judges an import against ``current_context(...)``; this module keeps
a process-wide stack of overrides for it, and ``_validate.validate`` merges
:func:`active_overrides` into the context of every check, so an import performed inside
``simulate(os="windows")`` is judged as if it ran on Windows. The pytest plugin
(``importspy_hook.pytest_plugin``) and ``importspy-hook check --set`` are built on it.

Why process-wide and not per thread: the import that must be judged may run in another thread than
the test that set up the simulation (a plugin host with a worker pool), and a simulation is a test
device, never something production code turns on. Entries are removed by identity, so two threads
leaving their blocks in any order leave the stack consistent.

Standard library only, and nothing is done per import unless a simulation is active: the common
case of :func:`active_overrides` is one truth test of an empty list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from ._cache import ForkSafeLock
from ._validate import SIMULATIONS, active_overrides

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs milliseconds
if TYPE_CHECKING:
    from typing import TypedDict

    from typing_extensions import Unpack

    class Simulation(TypedDict, total=False):
        """The keywords of a simulation (:data:`KEYS`), as ``simulate`` and the pytest plugin take them."""

        os: str | None
        arch: str | None
        python: str | None
        implementation: str | None
        env: Mapping[str, str | None] | None
        distributions: Mapping[str, str] | None


__all__ = ["KEYS", "SET_KEYS", "active_overrides", "parse_assignments", "simulate"]

KEYS = ("os", "arch", "python", "implementation", "env", "distributions")
"""The keyword arguments of ``_context.current_context`` that a simulation may override."""

SET_KEYS = {
    "os": "os",
    "arch": "arch",
    "architecture": "arch",
    "python": "python",
    "interpreter": "implementation",
    "implementation": "implementation",
}
"""``check --set KEY=VALUE`` spellings (§9 uses ``interpreter=``) → ``current_context`` keyword."""

_lock = ForkSafeLock()
_stack = SIMULATIONS  # owned by ``_validate``, which reads it on every check (``active_overrides``)


def _validated(overrides: Mapping[str, object]) -> dict[str, object]:
    """Copy ``overrides``, dropping ``None`` ("not simulated") and rejecting what cannot work.

    A typo such as ``sytem="windows"`` must fail loudly: silently ignoring it would make a test
    pass against the real context and prove nothing.
    """
    unknown = sorted(set(overrides) - set(KEYS))
    if unknown:
        raise TypeError(
            f"cannot simulate {', '.join(map(repr, unknown))}; expected some of: {', '.join(KEYS)}"
        )
    result: dict[str, object] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        if key in ("env", "distributions"):
            if not isinstance(value, Mapping):
                raise TypeError(f"{key}= must be a mapping, not {type(value).__name__}")
            value = dict(value)
        elif not isinstance(value, str):
            raise TypeError(f"{key}= must be a string, not {type(value).__name__}")
        result[key] = value
    return result


@contextmanager
def simulate(**overrides: Unpack[Simulation]) -> Iterator[dict[str, object]]:
    """Judge imports made inside the block as if the context had these values.

    The keywords are those of ``current_context`` named in :data:`KEYS` (``os``, ``arch``,
    ``python``, ``implementation``, ``env``, ``distributions``); ``None`` is "not simulated", and
    any other keyword is refused. ``env`` is layered over the real environment (a value of ``None``
    means "unset"), and nested blocks merge their ``env`` mappings; every other key is replaced by
    the innermost block that gives it. ``distributions`` replaces the installed set as a whole.
    Yields the overrides now in force (a copy).
    """
    entry = _validated(overrides)
    with _lock:
        _stack.append(entry)
    try:
        yield active_overrides()
    finally:
        with _lock:
            for index in range(len(_stack) - 1, -1, -1):
                if _stack[index] is entry:
                    del _stack[index]
                    break


def parse_assignments(assignments: Iterable[str], unset: Iterable[str] = ()) -> dict[str, object]:
    """``["os=windows", "env.TOKEN=x"]`` (and names to unset) → ``current_context`` keywords.

    Raises ``ValueError`` with a one-line message for the command line when an item is malformed.
    The message names the key, never the value (SPEC §6: no contract has proven it is no secret).
    """
    overrides: dict[str, object] = {}
    env: dict[str, str | None] = {}
    for index, item in enumerate(assignments, 1):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--set expects KEY=VALUE; item {index} is not (not shown: may hold a value)")
        if key.startswith("env."):
            name = key[4:]
            if not name:
                raise ValueError(f"--set item {index}: missing variable name after 'env.'")
            env[name] = value
            continue
        target = SET_KEYS.get(key.lower())
        if target is None:
            raise ValueError(
                f"--set: unknown key {key!r} (expected os=, arch=, python=, interpreter= or env.NAME=)"
            )
        if not value.strip():
            raise ValueError(f"--set {key}=: empty value")
        overrides[target] = value.strip()
    for name in unset:
        if not name or "=" in name:
            shown = repr(name.partition("=")[0] + "=<value not shown>") if name else "an empty name"
            raise ValueError(f"--unset expects a variable name, got {shown}")
        env[name] = None
    if env:
        overrides["env"] = env
    return overrides
