"""Judging an importing context against a contract: every rule of SPEC §6, every violation of §7.

``check`` never stops at the first problem: a refused import should tell its user everything that
must change, in one go. The rules, in the words a user reads them:

* a field that is absent (or ``null``) is not checked;
* alternatives (``deployments``, their ``systems``, their ``pythons``) need one match; when none
  matches, one violation says so and the *closest* alternative's own violations follow (the one
  with the fewest, the first on a tie), because "you are one environment variable away from
  deployment 2" is actionable and a list of every alternative's failures is not;
* conditions inside one entry, and the sections of the contract, are all AND-ed;
* values compare tolerant of YAML typing (``1.0.0`` vs ``"1.0.0"``, ``true`` vs ``True``):
  equal when ``==`` or when the contract's source text is the ``repr``/``str`` of the found value;
  annotations compare as normalised text; superclasses by full name or last dotted part;
  arguments by name, in order, with annotation and default when the contract gives them;
* environment values are compared whoever may see them, but shown only as
  ``_errors.value_may_be_shown`` allows (§6): never for a name declared secret anywhere in the
  contract (under any ``secrets``, or ``secret: true`` — in any block, so ``runtime.environment``
  and every deployment see it) nor for a name that looks like a credential; neither the value
  found nor the one the contract requires (for a secret, that is the secret) is shown then;
* with no identifiable importer, ``importers.allow`` and ``importers.deny`` both fail: an
  unidentified importer can prove neither that it is allowed nor that it is not denied (§5).

Violations are returned in contract order (by line), so the message reads like the file.
The caller's structure and the installed distributions are only computed when the contract asks
for them; ``_structure`` itself (``ast``, attrs models) is only imported then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from ._compiled import environment_entries, inherits, values_equal
from ._context import (
    normalise_arch,
    normalise_distribution_name,
    normalise_implementation,
    normalise_os,
)
from ._contract_model import (
    Argument,
    Class,
    Contract,
    Dependency,
    Deployment,
    Environment,
    EnvVariable,
    Function,
    Importers,
    Module,
    Python,
    Runtime,
    System,
    Variable,
)
from ._errors import Violation, looks_like_credential, value_may_be_shown
from ._versions import OPERATOR_START, matches, same_version

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ._context import Context
    from ._structure import ClassInfo, ModuleStructure
    from ._structure import Function as FoundFunction

__all__ = ["check", "values_equal"]

_T = TypeVar("_T")
_SECRET_EXPECTED = "set to the value the contract requires (secret, not shown)"
_SECRET_FOUND = "set to another value (secret, not shown)"
_NO_CALLER = (
    "no identifiable importing module (import from python -c, the REPL, exec, C code or a thread "
    "running only standard-library code)"
)
_IMPORT_FROM_APPLICATION = "import it from an application function, so that the importer can be identified"


def check(contract: Contract, context: Context) -> list[Violation]:
    """Every requirement of ``contract`` that ``context`` does not meet; empty when compliant."""
    judge = _Judge(context, _secret_names(contract))
    found: list[Violation] = []
    if contract.importers is not None:
        found += judge.importers(contract.importers)
    if contract.runtime is not None:
        found += judge.runtime(contract.runtime)
    if contract.deployments:
        found += judge.alternatives(
            contract.deployments,
            "deployments",
            "deployment",
            judge.deployment,
            contract.line_of("deployments"),
        )
    found += judge.module(contract, "")
    if contract.dependencies:
        found += judge.dependencies(contract.dependencies)
    found.sort(key=lambda violation: violation.line)  # stable: same-line order is kept
    return found


def _secret_names(contract: Contract) -> frozenset[str]:
    """Every environment variable name the contract declares secret, in any of its blocks (§6)."""
    runtime = contract.runtime
    names = {variable.name for variable in (runtime and runtime.environment) or () if variable.secret}
    for deployment in contract.deployments or ():
        for system in deployment.systems or ():
            environment = system.environment
            if environment is None:
                continue
            names.update(variable.name for variable in environment.variables or () if variable.secret)
            names.update(secret.name for secret in environment.secrets or ())
    return frozenset(names)


# --------------------------------------------------------------------------- value comparison


def _shown(value: object, text: str | None) -> str:
    """A contract value as the user wrote it (strings quoted, ``3.10`` kept as ``3.10``)."""
    if isinstance(value, str) or text is None:
        return repr(value)
    return text


@lru_cache(maxsize=1024)
def _default_value(text: str) -> tuple[bool, Any]:
    """A found default's source text as a value, when it is a literal."""
    import ast

    try:
        return True, ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _version_matches(requirement: str, actual: str) -> bool:
    """``version`` of a module: exact (PEP 440 equality allowed), or a specifier."""
    if requirement[:1] in OPERATOR_START:
        return matches(requirement, actual)
    return same_version(requirement, actual)


@lru_cache(maxsize=1024)
def _python_matches(requirement: str, actual: str) -> bool:
    """Cached: the same few (requirement, version) pairs are judged on every contracted import."""
    return matches(requirement, actual)  # a malformed requirement (built in Python) matches nothing


# Contract-side names are few and judged on every import: normalise each spelling once.
_os = lru_cache(maxsize=256)(normalise_os)
_arch = lru_cache(maxsize=256)(normalise_arch)


@lru_cache(maxsize=256)
def _implementation(name: str) -> str:
    return normalise_implementation(name).lower()


@lru_cache(maxsize=256)
def _normalised(names: tuple[str, ...], kind: str) -> frozenset[str]:
    normalise = {"os": normalise_os, "arch": normalise_arch}.get(kind)
    if normalise is None:
        return frozenset(normalise_implementation(name).lower() for name in names)
    return frozenset(normalise(name) for name in names)


def _name(entry: EnvVariable) -> str:
    return entry.name


def _one_of(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else "one of " + ", ".join(names)


@lru_cache(maxsize=64)
def _distribution_version(module_name: str) -> str | None:
    """The version of the distribution that installs ``module_name`` (§6 ``version`` fallback).

    The distribution is the first on ``sys.path`` whose top-level names include the module's: its
    ``top_level.txt`` when it has one (only setuptools writes it), otherwise the first component of
    each path its ``RECORD`` lists, which is all a flit, hatchling, pdm or poetry wheel leaves.
    ``importlib.metadata.packages_distributions`` reads ``top_level.txt`` alone on 3.10 and infers
    differently on 3.11, 3.12 and 3.13, so the names are worked out here, the same on every Python.
    """
    try:
        from importlib.machinery import all_suffixes
        from importlib.metadata import PackageNotFoundError, distributions, version

        top = module_name.partition(".")[0]
        suffixes = sorted(all_suffixes(), key=len, reverse=True)  # ".cpython-311-x86_64-linux-gnu.so" first

        def top_level_names(files: Iterable[Any]) -> Iterable[str]:
            for file in files:
                parts = file.parts
                if len(parts) > 1:
                    yield parts[0]  # a package directory (or "..", "x.dist-info": not identifiers)
                    continue
                name = parts[0] if parts else ""
                for suffix in suffixes:
                    if name.endswith(suffix):
                        yield name[: -len(suffix)]  # a top-level module: "x.py", "x.<abi>.so"
                        break

        for distribution in distributions():
            declared = distribution.read_text("top_level.txt")
            names = declared.split() if declared is not None else top_level_names(distribution.files or ())
            if any(name == top for name in names if name.isidentifier()):
                try:  # by name, to agree with importlib.metadata.version() when two are installed
                    return version(distribution.metadata["Name"])
                except PackageNotFoundError:  # a directory name the lookup by name misses
                    return distribution.version
    except Exception:  # metadata problems mean "unknown", never an internal error
        return None
    return None


# --------------------------------------------------------------------------- the judge


class _Judge:
    """The rules, bound to one context. Each method returns the violations of one entry."""

    def __init__(self, context: Context, secrets: frozenset[str] = frozenset()) -> None:
        self.context = context
        self.secrets = secrets  # contract-wide: which variables' values may never be shown

    # -- alternatives --------------------------------------------------------------------------
    def alternatives(
        self,
        items: Sequence[_T],
        field: str,
        noun: str,
        evaluate: Callable[[_T, str], list[Violation]],
        line: int,
    ) -> list[Violation]:
        """One of ``items`` must match; otherwise "none matched" plus the closest one's reasons."""
        results: list[list[Violation]] = []
        for index, item in enumerate(items):
            found = evaluate(item, f"{field}[{index}]")
            if not found:
                return []
            results.append(found)
        if not results:  # an empty list of alternatives imposes nothing
            return []
        if len(results) == 1:
            return results[0]
        best = min(range(len(results)), key=lambda index: len(results[index]))
        head = Violation(
            field,
            f"one of {len(results)} {noun}s to match",
            "none matched",
            f"closest is {field}[{best}]; its differences follow",
            line,
        )
        return [head, *results[best]]

    def deployment(self, deployment: Deployment, field: str) -> list[Violation]:
        found: list[Violation] = []
        if deployment.arch is not None and _arch(deployment.arch) != self.context.arch:
            found.append(
                Violation(f"{field}.arch", deployment.arch, self.context.arch, "", deployment.line_of("arch"))
            )
        if deployment.systems:
            found += self.alternatives(
                deployment.systems,
                f"{field}.systems",
                "system",
                self.system,
                deployment.line_of("systems"),
            )
        return found

    def system(self, system: System, field: str) -> list[Violation]:
        found: list[Violation] = []
        if system.os is not None and _os(system.os) != self.context.os:
            found.append(Violation(f"{field}.os", system.os, self.context.os, "", system.line_of("os")))
        if system.environment is not None:
            found += self.environment(system.environment, f"{field}.environment")
        if system.pythons:
            found += self.alternatives(
                system.pythons, f"{field}.pythons", "Python", self.python, system.line_of("pythons")
            )
        return found

    def python(self, python: Python, field: str) -> list[Violation]:
        context = self.context
        found: list[Violation] = []
        if python.version is not None and not _python_matches(python.version, context.python_version):
            found.append(
                Violation(
                    f"{field}.version",
                    python.version,
                    f"{context.python_version} ({context.implementation})",
                    "",
                    python.line_of("version"),
                )
            )
        if python.interpreter is not None and (
            _implementation(python.interpreter) != context.implementation.lower()
        ):
            found.append(
                Violation(
                    f"{field}.interpreter",
                    python.interpreter,
                    context.implementation,
                    "",
                    python.line_of("interpreter"),
                )
            )
        for index, module in enumerate(python.modules or ()):
            found += self.module(module, f"{field}.modules[{index}].")
        return found

    # -- environment ---------------------------------------------------------------------------
    def environment(self, environment: Environment, field: str) -> list[Violation]:
        found: list[Violation] = []
        entries = environment_entries(environment.variables or (), environment.secrets or (), _name)
        for kind, index, variable in entries:
            found += self.env_variable(variable, f"{field}.{kind}[{index}]")
        return found

    def env_variable(self, variable: EnvVariable, field: str) -> list[Violation]:
        name = variable.name
        actual = self.context.environ.get(name)
        if actual is None:
            return [Violation(field, f"{name} to be set", f"{name} not set", "", variable.line)]
        if variable.value is None or actual == variable.value:
            return []
        if value_may_be_shown(name, self.secrets):
            expected, found = f"{name}={variable.value!r}", f"{name}={actual!r}"
        else:
            expected, found = f"{name} {_SECRET_EXPECTED}", f"{name} {_SECRET_FOUND}"
        return [Violation(field, expected, found, "", variable.line_of("value"))]

    # -- runtime -------------------------------------------------------------------------------
    def runtime(self, runtime: Runtime, field: str = "runtime") -> list[Violation]:
        context = self.context
        found: list[Violation] = []
        if runtime.python is not None and not _python_matches(runtime.python, context.python_version):
            found.append(
                Violation(
                    f"{field}.python",
                    runtime.python,
                    f"{context.python_version} ({context.implementation})",
                    "",
                    runtime.line_of("python"),
                )
            )
        for name, names, actual, kind in (
            ("os", runtime.os, context.os, "os"),
            ("architecture", runtime.architecture, context.arch, "arch"),
            ("implementation", runtime.implementation, context.implementation, "implementation"),
        ):
            if not names:
                continue
            compared = actual.lower() if kind == "implementation" else actual
            if compared not in _normalised(tuple(names), kind):
                found.append(Violation(f"{field}.{name}", _one_of(names), actual, "", runtime.line_of(name)))
        for variable in runtime.environment or ():
            found += self.env_variable(variable, f"{field}.environment.{variable.name}")
        return found

    # -- dependencies and importers ------------------------------------------------------------
    def dependencies(self, dependencies: Iterable[Dependency]) -> list[Violation]:
        installed = self.context.distributions()
        found: list[Violation] = []
        for dependency in dependencies:
            name = dependency.name
            field = f"dependencies.{name}"
            version = installed.get(normalise_distribution_name(name))
            if not dependency.allowed and version is not None:
                found.append(
                    Violation(
                        f"{field}.allowed",
                        f"{name} not installed",
                        f"{name} {version}",
                        "this distribution is not allowed",
                        dependency.line_of("allowed"),
                    )
                )
            if dependency.required and version is None:
                found.append(
                    Violation(
                        f"{field}.required",
                        f"{name} installed",
                        f"{name} not installed",
                        "",
                        dependency.line_of("required"),
                    )
                )
            if (
                dependency.version is not None
                and version is not None
                and not _python_matches(dependency.version, version)
            ):
                found.append(
                    Violation(
                        f"{field}.version",
                        f"{name} {dependency.version}",
                        f"{name} {version}",
                        "",
                        dependency.line_of("version"),
                    )
                )
        return found

    def importers(self, importers: Importers) -> list[Violation]:
        caller = self.context.caller
        names = [
            name
            for name in (getattr(caller, "module_name", None), self.context.caller_name)
            if isinstance(name, str) and name
        ]
        if not names:
            return self.unidentified_importer(importers)
        shown = names[0]
        found: list[Violation] = []
        allow = importers.allow
        if allow and not any(fnmatchcase(name, pattern) for name in names for pattern in allow):
            found.append(
                Violation(
                    "importers.allow",
                    f"an importer matching {_one_of(allow)}",
                    shown,
                    "",
                    importers.line_of("allow"),
                )
            )
        for index, pattern in enumerate(importers.deny or ()):
            if any(fnmatchcase(name, pattern) for name in names):
                found.append(
                    Violation(
                        f"importers.deny[{index}]",
                        f"an importer not matching {pattern}",
                        shown,
                        "",
                        importers.line_of("deny"),
                    )
                )
        return found

    def unidentified_importer(self, importers: Importers) -> list[Violation]:
        """No caller (§5): it can prove neither that it is allowed nor that it is not denied."""
        found: list[Violation] = []
        if importers.allow:
            found.append(
                Violation(
                    "importers.allow",
                    f"an importer matching {_one_of(importers.allow)}",
                    _NO_CALLER,
                    _IMPORT_FROM_APPLICATION,
                    importers.line_of("allow"),
                )
            )
        if importers.deny:
            found.append(
                Violation(
                    "importers.deny",
                    f"an importer not matching {_one_of(importers.deny)}",
                    _NO_CALLER,
                    f"an unidentified importer cannot prove it is not denied; {_IMPORT_FROM_APPLICATION}",
                    importers.line_of("deny"),
                )
            )
        return found

    # -- the importer's structure --------------------------------------------------------------
    def module(self, module: Module | Contract, prefix: str) -> list[Violation]:
        """Structural requirements (top level, or one ``pythons[].modules[]`` entry)."""
        if (
            module.filename is None
            and module.version is None
            and not module.variables
            and not module.functions
            and not module.classes
        ):
            return []  # the common case of environment-only contracts, kept cheap
        needs_source = [key for key in ("variables", "functions", "classes") if getattr(module, key)]
        asked = [key for key in ("filename", "version") if getattr(module, key) is not None]
        asked += needs_source
        if not asked:
            return []
        structure = self.context.structure() if self.context.caller is not None else None
        if structure is None:
            first = asked[0]
            return [
                Violation(
                    f"{prefix}{first}",
                    "an importing module whose structure can be checked",
                    _NO_CALLER,
                    f"structural requirements need the importer's code; {_IMPORT_FROM_APPLICATION}",
                    module.line_of(first),
                )
            ]
        who = structure.name or structure.filename or "the importer"
        found: list[Violation] = []
        if module.filename is not None and structure.filename != module.filename:
            found.append(
                Violation(
                    f"{prefix}filename",
                    module.filename,
                    structure.filename or "no file",
                    "",
                    module.line_of("filename"),
                )
            )
        if module.version is not None:
            found += self.version(module, structure, prefix)
        if needs_source and not structure.has_source:
            first = needs_source[0]
            found.append(
                Violation(
                    f"{prefix}{first}",
                    f"the source of {who} to check its structure",
                    "caller source not available",
                    "only modules with Python source can meet variables/functions/classes requirements",
                    module.line_of(first),
                )
            )
            return found
        for index, variable in enumerate(module.variables or ()):
            found += self.variable(variable, structure, f"{prefix}variables[{index}]", who)
        for index, function in enumerate(module.functions or ()):
            field = f"{prefix}functions[{index}]"
            actual = structure.functions.get(function.name)
            if actual is None:
                found.append(
                    Violation(
                        field,
                        f"function {function.name}",
                        f"no function {function.name} in {who}",
                        "",
                        function.line,
                    )
                )
            else:
                found += self.signature(function, actual, field, function.name)
        for index, klass in enumerate(module.classes or ()):
            found += self.klass(klass, structure, f"{prefix}classes[{index}]", who)
        return found

    def version(self, module: Module | Contract, structure: ModuleStructure, prefix: str) -> list[Violation]:
        required = module.version
        assert required is not None
        actual = structure.version
        if actual is None and structure.name and structure.name != "__main__":
            actual = _distribution_version(structure.name)
        if actual is not None and _version_matches(required, actual):
            return []
        return [
            Violation(
                f"{prefix}version",
                required,
                actual if actual is not None else "no __version__",
                "",
                module.line_of("version"),
            )
        ]

    def variable(
        self, variable: Variable, structure: ModuleStructure, field: str, who: str
    ) -> list[Violation]:
        actual = structure.variables.get(variable.name)
        if actual is None:
            return [
                Violation(
                    field,
                    f"variable {variable.name}",
                    f"no variable {variable.name} in {who}",
                    "",
                    variable.line,
                )
            ]
        found: list[Violation] = []
        found += _annotation(
            f"{field}.annotation",
            variable.name,
            variable.annotation,
            actual.annotation,
            variable.line_of("annotation"),
        )
        found += _value(
            f"{field}.value",
            variable.name,
            variable.value,
            variable.value_text,
            actual.value,
            variable.line_of("value"),
        )
        return found

    def signature(self, function: Function, actual: FoundFunction, field: str, label: str) -> list[Violation]:
        found: list[Violation] = []
        if function.arguments is not None:
            found += _arguments(function, actual, field, label)
        if function.return_annotation is not None:
            expected = function.return_annotation
            if actual.return_annotation is None:
                found.append(
                    Violation(
                        f"{field}.return_annotation",
                        f"{label}(...) -> {expected}",
                        f"{label}(...) without return annotation",
                        "",
                        function.line_of("return_annotation"),
                    )
                )
            elif not _same_annotation(expected, actual.return_annotation):
                found.append(
                    Violation(
                        f"{field}.return_annotation",
                        f"{label}(...) -> {expected}",
                        f"{label}(...) -> {actual.return_annotation}",
                        "",
                        function.line_of("return_annotation"),
                    )
                )
        return found

    def klass(self, klass: Class, structure: ModuleStructure, field: str, who: str) -> list[Violation]:
        actual = structure.classes.get(klass.name)
        if actual is None:
            return [
                Violation(field, f"class {klass.name}", f"no class {klass.name} in {who}", "", klass.line)
            ]
        found: list[Violation] = []
        for index, attribute in enumerate(klass.attributes or ()):
            found += _attribute(attribute, actual, f"{field}.attributes[{index}]")
        methods = {method.name: method for method in actual.methods}
        for index, method in enumerate(klass.methods or ()):
            method_field = f"{field}.methods[{index}]"
            label = f"{klass.name}.{method.name}"
            found_method = methods.get(method.name)
            if found_method is None:
                found.append(
                    Violation(
                        method_field,
                        f"method {label}",
                        f"no method {method.name} in class {klass.name}",
                        "",
                        method.line,
                    )
                )
            else:
                found += self.signature(method, found_method, method_field, label)
        for index, superclass in enumerate(klass.superclasses or ()):
            if not inherits(superclass.name, actual.superclasses):
                bases = ", ".join(actual.superclasses)
                found.append(
                    Violation(
                        f"{field}.superclasses[{index}]",
                        f"class {klass.name} to inherit from {superclass.name}",
                        f"class {klass.name}({bases})"
                        if bases
                        else f"class {klass.name} without base classes",
                        "",
                        superclass.line,
                    )
                )
        return found


# --------------------------------------------------------------------------- structural helpers


_structure_api: tuple[Callable[[str], str], object] | None = None


def _structure_names() -> tuple[Callable[[str], str], object]:
    """``(normalise_annotation, UNKNOWN)``, imported on first use and then kept.

    ``_structure`` (``ast``, ``tokenize``) is only needed by contracts with structural requirements;
    an import statement per comparison would cost more than the comparison itself.
    """
    global _structure_api
    if _structure_api is None:
        from ._structure import UNKNOWN, normalise_annotation

        _structure_api = (normalise_annotation, UNKNOWN)
    return _structure_api


def _same_annotation(expected: str, actual: str) -> bool:
    if expected == actual:
        return True
    normalise = _structure_names()[0]
    return normalise(expected) == normalise(actual)


def _annotation(
    field: str, name: str, expected: str | None, actual: str | None, line: int
) -> list[Violation]:
    if expected is None:
        return []
    if actual is None:
        return [Violation(field, f"{name}: {expected}", f"{name} without annotation", "", line)]
    if _same_annotation(expected, actual):
        return []
    return [Violation(field, f"{name}: {expected}", f"{name}: {actual}", "", line)]


def _holds_a_credential(name: str, value: object, depth: int = 0) -> bool:
    """Whether a caller's value may be a credential: its name, or a key of a mapping inside it,
    looks like one (§6's name rule, applied to the caller's own variables)."""
    if looks_like_credential(name):
        return True
    if depth > 4:
        return True  # too deep to tell: not shown
    if type(value) is dict:
        return any(
            type(key) is str and _holds_a_credential(key, item, depth + 1) for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        return any(_holds_a_credential("", item, depth + 1) for item in value)
    return False


def _value(
    field: str, name: str, expected: object, text: str | None, actual: object, line: int
) -> list[Violation]:
    if expected is None:
        return []
    if actual is _structure_names()[1]:  # UNKNOWN: not a literal, so it cannot be compared
        return [
            Violation(
                field,
                f"{name} = {_shown(expected, text)}",
                f"{name} = a value that is not a literal",
                "it cannot be compared without running code",
                line,
            )
        ]
    if values_equal(expected, text, actual):
        return []
    if _holds_a_credential(name.rpartition(".")[2], actual):
        # A caller's ``API_TOKEN = os.environ[...]`` (or ``DATABASE = {"password": ...}``) holds a
        # credential: §6's name rule covers it as it covers the environment variable it came from.
        return [Violation(field, f"{name} {_SECRET_EXPECTED}", f"{name} {_SECRET_FOUND}", "", line)]
    return [Violation(field, f"{name} = {_shown(expected, text)}", f"{name} = {actual!r}", "", line)]


def _arguments(function: Function, actual: FoundFunction, field: str, label: str) -> list[Violation]:
    """Each required argument by name (with annotation/default), then their relative order."""
    assert function.arguments is not None
    positions = {argument.name: index for index, argument in enumerate(actual.arguments)}

    def signature() -> str:  # only built for a message
        return f"{label}({', '.join(argument.name for argument in actual.arguments)})"

    found: list[Violation] = []
    order: list[int] = []
    for index, argument in enumerate(function.arguments):
        argument_field = f"{field}.arguments[{index}]"
        position = positions.get(argument.name)
        if position is None:
            found.append(
                Violation(
                    argument_field, f"argument {argument.name} of {label}", signature(), "", argument.line
                )
            )
            continue
        order.append(position)
        found_argument = actual.arguments[position]
        found += _annotation(
            f"{argument_field}.annotation",
            argument.name,
            argument.annotation,
            found_argument.annotation,
            argument.line_of("annotation"),
        )
        found += _default(argument, found_argument.default, f"{argument_field}.value")
    if order != sorted(order):
        names = ", ".join(argument.name for argument in function.arguments)
        found.append(
            Violation(
                f"{field}.arguments",
                f"arguments in the order {names}",
                signature(),
                "",
                function.line_of("arguments"),
            )
        )
    return found


def _default(argument: Argument, actual: str | None, field: str) -> list[Violation]:
    if argument.value is None:
        return []
    expected = f"{argument.name}={_shown(argument.value, argument.value_text)}"
    line = argument.line_of("value")
    if actual is None:
        return [Violation(field, expected, f"{argument.name} without default", "", line)]
    is_literal, value = _default_value(actual)
    if is_literal:
        if values_equal(argument.value, argument.value_text, value):
            return []
    elif argument.value_text is not None and " ".join(argument.value_text.split()) == " ".join(
        actual.split()
    ):
        return []
    return [Violation(field, expected, f"{argument.name}={actual}", "", line)]


def _attribute(attribute: Any, actual: ClassInfo, field: str) -> list[Violation]:
    kind = attribute.type
    label = f"{actual.name}.{attribute.name}"
    matching = [a for a in actual.attributes if a.name == attribute.name and (kind is None or a.kind == kind)]
    if not matching:
        described = f"{kind} attribute {label}" if kind else f"attribute {label}"
        other = [a.kind for a in actual.attributes if a.name == attribute.name]
        if other:
            found = f"only {'a class' if other[0] == 'class' else 'an instance'} attribute {label}"
        else:
            found = f"no attribute {attribute.name} in class {actual.name}"
        return [Violation(field, described, found, "", attribute.line)]
    # Several matches (class and instance attribute of one name, type not given): the first
    # that meets the requirement wins; otherwise report against the first.
    best: list[Violation] | None = None
    for candidate in matching:
        problems = _annotation(
            f"{field}.annotation",
            label,
            attribute.annotation,
            candidate.annotation,
            attribute.line_of("annotation"),
        ) + _value(
            f"{field}.value",
            label,
            attribute.value,
            attribute.value_text,
            candidate.value,
            attribute.line_of("value"),
        )
        if not problems:
            return []
        if best is None:
            best = problems
    return best or []
