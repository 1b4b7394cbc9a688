"""The seam between the import hook and the contract engine, and the registry API (§7, §10).

The finder's loader wrapper calls :func:`validate` once per guarded import, with either the path
of a sidecar or a contract registered from Python. This module is only imported the first time a
contract is met, and what it imports at the top (``_cache``, ``_compiled``) is standard library
only and typing-free: a compliant import never loads attrs, packaging, ruamel.yaml (when the
contract is cached beside bytecode) or structlog (§11). The evaluator's explaining speed
(``_compiled.explain``, a ``Context``, the caller's full structure) runs only when its admitting
speed cannot prove compliance.

Nothing is cached on failure: a refused import re-reads the environment (and a fixed contract) the
next time, so setting the missing variable and importing again works (§7).
"""

from ._cache import source_of
from ._caller import find_caller, is_internal
from ._compiled import (
    NEEDS_CALLER_NAME,
    NEEDS_SOURCE,
    Run,
    contract_entry,
    environment_holds,
    holds,
    model_entry,
    parse_source,
    plan,
    specialise,
    verdict_key,
)

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: this module is on the contracted-import path
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType
    from typing import Any

    from ._caller import Caller
    from ._compiled import Entry
    from ._contract_model import Contract

__all__ = ["SIMULATIONS", "active_overrides", "admitted", "declared_secrets", "registered_name", "validate"]

SIMULATIONS: "list[dict[str, object]]" = []
"""The stack of active simulations (``_simulation.simulate`` pushes and pops its entries here).

It lives here, in the module every check goes through, so that "is anything simulated?" is one truth
test of a list this module owns — never a look into ``sys.modules`` for a module another thread may
still be executing (§7: concurrent first imports each get their own correct verdict). Entries are
only ever added and removed whole, by identity, under ``_simulation``'s lock."""
_VERDICTS_PER_CONTRACT = 64
_DECLINED: "list[Any]" = [None]
"""``(target, entry)`` whose fast check :func:`admitted` has just failed to prove, for the
:func:`validate` of the same import that follows it: a refusal runs the fast check once (§11).
Used once and by that import only; if threads interleave, the worst case is one more fast check
(never a skipped judgement: a skipped fast check only means the judge decides)."""
_READS_CALLER = NEEDS_CALLER_NAME | NEEDS_SOURCE


def admitted(target: "str", path: "str", frame: "FrameType | None") -> "bool":
    """True when the import of ``target`` is certainly admitted by the contract file at ``path``.

    The guard's quick path (§11): the compiled check and its verdict cache, nothing else. False is
    never a refusal, only "ask :func:`validate`", which finds the caller, judges, and words the
    refusal. The caller is looked for (from ``frame`` upwards, §5) only when the compiled contract
    reads it — its name (``importers``) or its structure: a contract on the platform and the
    environment alone judges every importer alike, and an internal import (§4), which would have
    been let through unchecked, is let through all the same when the contract admits it. When it
    does not, :func:`validate`'s caller decides (internal imports are still never refused).

    Raises what :func:`validate` would raise for an unreadable or malformed contract.
    """
    if SIMULATIONS:
        return False  # the context is simulated: only the explanation judges it
    entry = contract_entry(path)
    caller: Caller | None = None
    if entry.program[1] & _READS_CALLER:
        caller = find_caller(frame)
        if is_internal(caller, target, path):
            return True  # an internal import (§4): not evaluated
    if _proved_compliant(entry, caller):
        return True
    _DECLINED[0] = (target, entry)
    return False


def declared_secrets(contract: "Any") -> "tuple[str, ...]":
    """The names ``contract`` declares secret, or none when it cannot be read.

    ``contract`` is what the guard holds: a sidecar ``(path, data or None, error or None)`` or a
    registered ``Contract``. A message or event about that contract withholds their values from
    its path too (§6), whatever the outcome: a violation carries them already; this serves the
    rest (a check that could not complete, the debug events of an admitted import).
    """
    try:
        if contract.__class__ is tuple:
            path, data, error = contract
            return () if error is not None else contract_entry(path, data).program[4]
        return model_entry(contract).program[4]  # type: ignore[no-any-return]
    except Exception:  # unreadable or malformed: nothing it declares is known
        return ()


def validate(
    target: "str",
    contract: "str | Contract",
    caller: "Caller | None",
    *,
    read: "Callable[[str], bytes] | None" = None,
) -> "None":
    """Check the import of ``target`` by ``caller``; raise :class:`ContractViolation` if refused.

    ``contract`` is a sidecar path (loaded, and cached, by ``_cache``; ``read(path)`` gives its
    bytes when it lives in an archive) or a :class:`Contract` built in Python. A malformed contract
    raises :class:`ContractError`.

    One evaluator, two speeds (§11): admitting (``_compiled.holds``, with the verdict cache) proves
    most imports compliant in a few microseconds, without attrs, packaging or a ``Context``; only
    when it cannot — a violation, or a question only the live caller module can answer — does the
    same program run again to explain (``_compiled.explain``), whose verdict and messages are the
    ones the user sees. No attrs model of the contract is built for that.
    """
    declined = _DECLINED[0]
    if declined is not None:
        _DECLINED[0] = None
    if isinstance(contract, str):
        entry = contract_entry(contract, None if read is None else read(contract))
        where = contract
    else:
        where = registered_name(target, contract)
        entry = model_entry(contract)  # register() has validated it as the parser would
    # A simulation (``importspy_hook.pytest_plugin``, ``check --set``) judges the import as if the
    # context had other values; the usual case is one truth test of an empty list.
    overrides = active_overrides()
    just_declined = declined is not None and declined[1] is entry and declined[0] == target
    if not overrides and not just_declined and _proved_compliant(entry, caller):
        return
    from ._compiled import explain
    from ._context import live_context

    violations = explain(entry.program, live_context(caller=caller, **overrides))
    if violations:
        from ._errors import ContractViolation

        name = caller.module_name if caller is not None else None
        raise ContractViolation(target, name, where, violations, entry.program[4])  # its secret names


def _proved_compliant(entry: "Entry", caller: "Caller | None") -> "bool":
    """The admitting run, with its verdict cache; False means "explain", never "refused".

    The usual residual has a plan (``_compiled.plan``): its environment operations run on every
    call, and its caller operations are run once per caller names and source stamp (the key, kept
    in ``entry.verdicts`` only when they hold). Any other residual is keyed as a whole
    (``verdict_key``).
    """
    try:
        steps = entry.plan
        if steps is False:
            residual = entry.residual
            if residual is False:
                residual = entry.residual = specialise(entry.program[3])
            steps = entry.plan = None if residual is None else plan(residual)  # type: ignore[arg-type]
        if steps is None:
            return _proved_as_a_whole(entry, caller)
        if not environment_holds(steps[3], steps[0]):  # type: ignore[index]
            return False
        operations = steps[1]  # type: ignore[index]
        if not operations:
            return True
        if caller is None:
            return bool(holds(operations, Run(None, entry.memo)))  # an importers rule may still hold
        if steps[2]:  # type: ignore[index]
            # _compiled.caller_source(caller), one call fewer: this runs on every contracted import
            source = source_of(getattr(caller, "file", None), parse_source)
            if source is None:
                return False  # no source to read: the live module decides, in the explanation
            key: tuple[Any, ...] = (caller.module_name, caller.name, source[0], source[1])
        else:
            source = None
            key = (caller.module_name, caller.name)
        verdicts = entry.verdicts
        if key in verdicts:
            return True
        if not holds(operations, Run(caller, entry.memo, source)):
            return False
        if len(verdicts) >= _VERDICTS_PER_CONTRACT:
            verdicts.clear()
        verdicts.add(key)
        return True
    except Exception:  # admitting is only a shortcut: whatever goes wrong, the explanation decides
        return False


def _proved_as_a_whole(entry: "Entry", caller: "Caller | None") -> "bool":
    """The compiled check of a residual without a plan (alternatives, distributions)."""
    residual = entry.residual
    if residual is None:
        return False  # this platform is refused: only the explanation can say why
    run = Run(caller, entry.memo)
    key = verdict_key(entry.program, run)
    verdicts = entry.verdicts
    if key is not None and key in verdicts:
        return True
    if not holds(residual, run):  # type: ignore[arg-type]
        return False
    if key is not None:
        if len(verdicts) >= _VERDICTS_PER_CONTRACT:
            verdicts.clear()
        verdicts.add(key)
    return True


def active_overrides() -> "dict[str, Any]":
    """Keyword arguments for ``current_context`` from every active simulation, innermost winning
    (the ``env`` overrides merged); empty, and nearly free, when nothing is simulated."""
    if not SIMULATIONS:
        return {}
    merged: dict[str, Any] = {}
    env: dict[str, Any] = {}
    for entry in tuple(SIMULATIONS):  # a snapshot: another thread may push or pop meanwhile
        for key, value in entry.items():
            if key == "env" and value.__class__ is dict:
                env.update(value)
            else:
                merged[key] = value
    if env:
        merged["env"] = env
    return merged


def registered_name(target: "str", contract: "Contract") -> "str":
    path = contract.path
    return path if path and path != "<contract>" else f"<registered contract for {target}>"
