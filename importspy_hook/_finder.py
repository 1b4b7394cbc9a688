"""The finder's rare paths, loaded the first time a process takes one of them.

The start-up module (``_importspy_hook_startup``) holds what every process needs on every import,
and every process of the environment unmarshals and runs all of it at start-up (SPEC §11 leaves
room for one small module). What only some processes meet lives here instead:

- a check that could not be set up: fail closed where a contract applies, fail open loudly where
  none is known to (``failed``);
- exclusion patterns (``excluded``, when ``IMPORTSPY_HOOK_EXCLUDE`` is set);
- another tool's finder put in front of this one (``move_to_front``), and, on 3.10 and 3.11, a
  legacy finder with only ``find_module`` (``Legacy``);
- finders added or rebound between the time they were worked out and a miss (``search_again``).

This module never imports the start-up module back (no import cycle): what it needs comes as
arguments, the finder first. It is imported from inside the finder's ``find_spec``, with the import
system's global lock let go (the start-up module's ``_unlocked``: a thread importing this module
meanwhile must not wait for that lock while the finder waits for it), and the hook's own modules
are skipped by scope there, so importing it cannot call back into a search. ``failed`` runs the
same way (it imports); the others are called with the global lock held, as the other finders are
(``excluded``'s ``fnmatchcase`` is imported when the finder is made, and kept on it).
``install()`` imports this module up front, outside any import (see SECURITY.md on tracers that ask
the finders on worker threads).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing is not imported on the import path
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["Legacy", "excluded", "failed", "move_to_front", "search_again"]


def excluded(finder: Any, fullname: str) -> bool:
    """Whether an ``IMPORTSPY_HOOK_EXCLUDE`` pattern matches ``fullname`` (``fnmatch``, case-sensitive).

    Verdicts are kept per full name on the finder: deciding costs a ``fnmatch`` per pattern, and
    the plain scope test it stands beside is one set lookup.
    """
    verdict: bool | None = finder.verdicts.get(fullname)
    if verdict is None:
        match: Callable[[str, str], bool] | None = getattr(finder, "match", None)  # made with it
        if match is None:
            from fnmatch import fnmatchcase

            match = fnmatchcase
        verdict = any(match(fullname, pattern) for pattern in finder.patterns)
        finder.verdicts[fullname] = verdict
    return verdict


def move_to_front(meta_path: list[Any], position: int) -> bool:
    """Take back the first place after another tool inserted a finder in front of this one.

    pytest puts its assertion rewriter at ``sys.meta_path[0]`` after start-up; a module it serves (a
    test helper registered for rewriting, say) would then never reach this finder, and its contract
    would go unchecked. Moving back in front keeps every finder in the same relative order, and the
    finder asks the others in that order, so their behaviour is unchanged. Safe during the import
    system's own iteration over ``sys.meta_path``: the finder sits at ``position``, the iteration's
    next index is ``position + 1``, and removing it from ``position`` and inserting it at 0 leaves
    every entry after ``position`` at its index, so no finder is skipped or asked twice for the
    current import.
    """
    try:
        finder = meta_path.pop(position)
        meta_path.insert(0, finder)
    except (IndexError, TypeError, AttributeError):  # meta_path is not a plain list
        return False
    return True


class Legacy:
    """A finder with only the legacy ``find_module`` (served by 3.10 and 3.11; 3.12 ignores it).

    Asked through the import system's own ``_find_spec_legacy``, which warns (``ImportWarning``) as
    the import system does each time it falls back, and builds the spec as it would, so its modules
    meet the check too (a finder left out would serve them after the hook, unchecked).
    """

    __slots__ = ("finder",)

    def __init__(self, finder: Any) -> None:
        self.finder = finder

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        import _frozen_importlib  # builtin and loaded before site runs: no search

        return _frozen_importlib._find_spec_legacy(self.finder, fullname, path)  # type: ignore[attr-defined]


# How many times, at most, the finders are worked out again while a missing module is looked for
# (each finder added during the search may add another).
_ROUNDS = 16


def search_again(finder: Any, meta_path: Any, fullname: str, path: Any, target: Any) -> Any:
    """The first spec for ``fullname`` from a finder not asked yet, or None.

    Called when every finder the hook asked declined ``fullname``, but they are no longer those on
    ``sys.meta_path``, by identity, asked the way they answer now: a finder added during the search
    (the import system, walking the live list, would ask it, and the ones it adds in turn), a
    replacement that compared equal to the finder it replaced, or a finder whose class's
    ``find_spec`` was patched since. Those already asked are not asked again. (A spec found the old
    way is still checked: it is the spec the hook returns that gets loaded.) Bounded, like the chain
    of finders a program could add one miss after another.
    """
    asked = finder._later
    rounds = _ROUNDS
    stale = True
    while stale and rounds:
        rounds -= 1
        finder._refresh(meta_path)  # the list this search walks (a new sys.meta_path is the next one's)
        for find_spec in finder._later:
            if find_spec not in asked:  # bound methods are equal when function and object are
                asked += (find_spec,)
                spec = find_spec(fullname, path, target)
                if spec is not None:
                    return spec
        stale = finder._stale(meta_path)  # finders added by those just asked
    return None


def _cause(exc: BaseException) -> str:
    """What went wrong, worded by ``_errors.describe_error``: the type and where it was raised,
    never the exception's text (it may hold a value the check read)."""
    from ._errors import describe_error

    return describe_error(exc)


def failed(finder: Any, spec: Any, fullname: str, where: str | None, exc: BaseException, known: bool) -> None:
    """The finder could not set a check up for ``spec``.

    ``known``: a contract is known to apply (a sidecar at ``where``, or one registered from
    Python). Then, in enforce mode, the spec's loader is replaced by one that refuses every way of
    running the module (fail closed, §7); warn mode logs it and lets the import go on, as it does
    for violations. When no contract is known to apply, the import goes on (fail open), never
    silently: one line straight to stderr, then the structured event.
    """
    if known and finder.mode == "enforce":
        from ._errors import ContractError, cannot_check, contract_label

        label = contract_label(spec.name, (where,) if where else None)
        text = cannot_check(exc)
        spec.loader = _Refusing(spec.loader, lambda: ContractError(label, 0, 0, "", text))
        return
    cause = _cause(exc)
    name = spec.name if known else fullname
    try:
        line = f"importspy-hook: internal error while looking for a contract of {name!r}, not checked"
        sys.stderr.write(f"{line} ({cause})\n")
        sys.stderr.flush()
    except Exception:  # stderr may be None, closed, or a broken pipe
        pass
    try:
        from ._log import emit

        emit("warning", "hook.internal_error", target=name, error=cause)
    except Exception:  # the line above has said it; logging must not turn this into a refusal
        pass


class _Refusing:
    """A loader that refuses every way of running the module; the rest of the protocol is forwarded.

    ``error`` makes the refusal: a new exception each time, so that two refused imports never
    share (and chain) one traceback.
    """

    def __init__(self, real: Any, error: Callable[[], BaseException]) -> None:
        self.real_loader = real
        self._error = error

    def __getattr__(self, attribute: str) -> Any:
        if attribute in ("real_loader", "_error"):
            raise AttributeError(attribute)
        return getattr(self.real_loader, attribute)

    def create_module(self, spec: Any) -> Any:
        raise self._error()

    def exec_module(self, module: Any) -> None:
        raise self._error()

    def load_module(self, fullname: str) -> Any:
        raise self._error()

    def get_code(self, fullname: str) -> Any:
        raise self._error()
