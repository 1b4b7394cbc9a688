"""The seam between the import hook and the contract engine, and the registry API (§7, §10).

The finder's loader wrapper calls :func:`validate` once per guarded import, with either the path
of a sidecar or a contract registered from Python. Everything the engine needs is imported here
lazily: this module itself is only imported the first time a contract is met (so a process that
never imports a guarded module never pays for attrs or packaging), and ruamel.yaml only when a
contract file has to be parsed.

Nothing is cached on failure: a refused import re-reads the environment (and a fixed contract) the
next time, so setting the missing variable and importing again works (§7).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._check import check
from ._context import current_context
from ._contract_parse import load_contract
from ._errors import ContractError, ContractViolation
from ._finder import REGISTRY
from ._simulation import active_overrides

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ._caller import Caller
    from ._contract_model import Contract

__all__ = ["register", "unregister", "validate"]


def validate(
    target: str,
    contract: str | Contract,
    caller: Caller | None,
    *,
    read: Callable[[str], bytes] | None = None,
) -> None:
    """Check the import of ``target`` by ``caller``; raise :class:`ContractViolation` if refused.

    ``contract`` is a sidecar path (loaded, and cached, by ``load_contract``; ``read(path)`` gives
    its bytes when it lives in an archive) or a :class:`Contract` built in Python. A malformed
    contract raises :class:`ContractError`.
    """
    if isinstance(contract, str):
        loaded = load_contract(contract, data=None if read is None else read(contract))
        where = contract
    else:
        loaded = contract
        where = _registered_name(target, contract)
    # A simulation (``importspy_hook.pytest_plugin``, ``check --set``) judges the import as if the
    # context had other values; outside tests nothing is active and this is an empty dict.
    overrides: dict[str, Any] = active_overrides()
    violations = check(loaded, current_context(caller=caller, **overrides))
    if violations:
        name = caller.module_name if caller is not None else None
        raise ContractViolation(target, name, where, violations)


def _registered_name(target: str, contract: Contract) -> str:
    path = contract.path
    return path if path and path != "<contract>" else f"<registered contract for {target}>"


def register(module_name: str, contract: Contract) -> None:
    """Guard ``module_name`` with a contract built in Python, as if it shipped that sidecar.

    For hosts that keep their contracts in code (ImportSpy's "SpyModel" idea). Takes effect for
    imports that reach the finder from now on: a module already in ``sys.modules`` is not
    re-checked until it is reloaded. A registered contract takes precedence over a sidecar.
    Raises :class:`ContractError` when the contract is malformed (a bad version specifier, an
    unknown OS name...), exactly as the same contract in a file would.
    """
    from ._contract_model import Contract

    if not isinstance(module_name, str) or not module_name or module_name.startswith("."):
        raise ValueError(f"register() needs an absolute module name, not {module_name!r}")
    if not isinstance(contract, Contract):
        raise TypeError(f"register() needs an importspy_hook.Contract, not {type(contract).__name__}")
    _check_model(contract, _registered_name(module_name, contract))
    REGISTRY[module_name] = contract


def unregister(module_name: str) -> None:
    """Stop guarding ``module_name`` with a registered contract (no error if it was not)."""
    REGISTRY.pop(module_name, None)


# --------------------------------------------------------------------------- model validation


def _check_model(contract: Contract, where: str) -> None:
    """The parser's value checks, for a contract that did not come from a file."""
    from ._contract_parse import ARCH_NAMES, ATTRIBUTE_TYPES, IMPLEMENTATION_NAMES, OS_NAMES

    def fail(key: str, reason: str) -> None:
        raise ContractError(where, 0, 0, key, reason)

    def name(value: Any, key: str) -> None:
        if not isinstance(value, str) or not value.strip():
            fail(key, f"expected a non-empty string, found {value!r}")

    def optional_text(value: Any, key: str) -> None:
        if value is not None:
            name(value, key)

    def requirement(value: Any, key: str, *, exact_allowed: bool = False) -> None:
        if value is None:
            return
        name(value, key)
        if exact_allowed and value.strip()[:1] not in ("<", ">", "=", "!", "~"):
            return
        from ._versions import check_requirement_syntax

        problem = check_requirement_syntax(value)
        if problem is not None:
            fail(key, problem)

    def vocabulary(value: Any, key: str, names: frozenset[str], what: str) -> None:
        name(value, key)
        if not value.isascii() or value.lower() not in names:
            fail(key, f"unknown {what} {value!r} (expected one of: {', '.join(sorted(names))})")

    def module(entry: Any, prefix: str) -> None:
        optional_text(entry.filename, f"{prefix}filename")
        requirement(entry.version, f"{prefix}version", exact_allowed=True)
        for index, variable in enumerate(entry.variables or ()):
            name(variable.name, f"{prefix}variables[{index}].name")
            optional_text(variable.annotation, f"{prefix}variables[{index}].annotation")
        for index, function in enumerate(entry.functions or ()):
            signature(function, f"{prefix}functions[{index}]")
        for index, klass in enumerate(entry.classes or ()):
            key = f"{prefix}classes[{index}]"
            name(klass.name, f"{key}.name")
            for number, attribute in enumerate(klass.attributes or ()):
                name(attribute.name, f"{key}.attributes[{number}].name")
                if attribute.type is not None and attribute.type not in ATTRIBUTE_TYPES:
                    fail(f"{key}.attributes[{number}].type", "expected 'class' or 'instance'")
            for number, method in enumerate(klass.methods or ()):
                signature(method, f"{key}.methods[{number}]")
            for number, superclass in enumerate(klass.superclasses or ()):
                name(superclass.name, f"{key}.superclasses[{number}]")

    def signature(function: Any, key: str) -> None:
        name(function.name, f"{key}.name")
        optional_text(function.return_annotation, f"{key}.return_annotation")
        for index, argument in enumerate(function.arguments or ()):
            name(argument.name, f"{key}.arguments[{index}].name")
            optional_text(argument.annotation, f"{key}.arguments[{index}].annotation")

    def environment(variables: Any, key: str) -> None:
        for index, variable in enumerate(variables or ()):
            name(variable.name, f"{key}[{index}].name")
            if "=" in variable.name:
                fail(f"{key}[{index}].name", "an environment variable name cannot contain '='")
            if variable.value is not None and not isinstance(variable.value, str):
                fail(f"{key}[{index}].value", "an environment value must be a string")

    if contract.schema_version not in (None, 1):
        fail("schema_version", f"unsupported schema_version {contract.schema_version!r}; only 1 is known")
    optional_text(contract.policy_id, "policy_id")
    module(contract, "")
    for index, deployment in enumerate(contract.deployments or ()):
        key = f"deployments[{index}]"
        if deployment.arch is not None:
            vocabulary(deployment.arch, f"{key}.arch", ARCH_NAMES, "architecture")
        for number, system in enumerate(deployment.systems or ()):
            skey = f"{key}.systems[{number}]"
            if system.os is not None:
                vocabulary(system.os, f"{skey}.os", OS_NAMES, "operating system")
            if system.environment is not None:
                environment(system.environment.variables, f"{skey}.environment.variables")
                environment(system.environment.secrets, f"{skey}.environment.secrets")
            for count, python in enumerate(system.pythons or ()):
                pkey = f"{skey}.pythons[{count}]"
                requirement(python.version, f"{pkey}.version")
                if python.interpreter is not None:
                    vocabulary(python.interpreter, f"{pkey}.interpreter", IMPLEMENTATION_NAMES, "interpreter")
                for last, entry in enumerate(python.modules or ()):
                    module(entry, f"{pkey}.modules[{last}].")
    runtime = contract.runtime
    if runtime is not None:
        requirement(runtime.python, "runtime.python")
        for field, names, what in (
            ("os", OS_NAMES, "operating system"),
            ("architecture", ARCH_NAMES, "architecture"),
            ("implementation", IMPLEMENTATION_NAMES, "implementation"),
        ):
            for index, value in enumerate(getattr(runtime, field) or ()):
                vocabulary(value, f"runtime.{field}[{index}]", names, what)
        environment(runtime.environment, "runtime.environment")
    for dependency in contract.dependencies or ():
        name(dependency.name, "dependencies")
        requirement(dependency.version, f"dependencies.{dependency.name}.version")
        if dependency.required and not dependency.allowed:
            fail(f"dependencies.{dependency.name}", "a dependency cannot be both required and not allowed")
    if contract.importers is not None:
        for field in ("allow", "deny"):
            for index, pattern in enumerate(getattr(contract.importers, field) or ()):
                name(pattern, f"importers.{field}[{index}]")
