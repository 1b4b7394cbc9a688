"""The contract engine: one program per contract, one evaluator that admits fast and explains (§6, §7, §11).

A contract — parsed from a sidecar (its plain form, ``_schema``) or built from the attrs models of the
Python API (``register``, ``check``: turned into the same plain form) — is compiled, once per
content, into a small program of plain tuples, which the cache beside bytecode stores (``_cache``).
Each operation carries what its rule needs to decide *and* what a message needs to explain: the
field path (``deployments[0].systems[0].os``), the contract line, the text as written, and the
normal forms computed when it was compiled (OS and architecture names, version clauses, annotation
spellings).

One evaluator runs it, at two speeds, with one function per rule:

* to admit (:func:`holds`, on the contracted-import path): the facts are the platform, the raw
  ``os.environ`` storage and the plain records of the caller's source (``_structure``); the first
  operation that does not hold stops the run, no message is built, and nothing typed, attrs or
  packaging is imported. False is not a refusal, only "explain": a value only the live caller module
  holds, or a question the records cannot answer, makes a rule not hold here;
* to explain (:func:`explain`: a refusal, ``check()``, the CLI, the pytest plugin): the facts are a
  ``Context`` (possibly simulated) and the caller's full structure (source merged with the live
  module, ``_structure``); every operation runs, and each rule, on its failing branch only, words
  its violations — the way pytest's assertion rewriting computes the verdict first and builds the
  explanation only when it fails. Its answer is the verdict the user sees.

The rules, in the words a user reads them (each is one function below):

* a field that is absent (or ``null``) is not checked;
* alternatives (``deployments``, their ``systems``, their ``pythons``) need one match; when none
  matches, one violation says so and the *closest* alternative's own violations follow (the one
  with the fewest, the first on a tie), because "you are one environment variable away from
  deployment 2" is actionable and a list of every alternative's failures is not (:func:`_any`);
* conditions inside one entry, and the sections of the contract, are all AND-ed;
* values compare tolerant of YAML typing (``1.0.0`` vs ``"1.0.0"``, ``true`` vs ``True``):
  equal when ``==`` or when the contract's source text is the ``repr``/``str`` of the found value;
  annotations compare as normalised text; superclasses by full name or last dotted part;
  arguments by name, in order, with annotation and default when the contract gives them;
* environment values are compared whoever may see them, but shown only as
  ``_errors.value_may_be_shown`` allows (§6): never for a name declared secret anywhere in the
  contract (under any ``secrets``, or ``secret: true`` — in any block, so ``runtime.environment``
  and every deployment see it) nor for a name that looks like a credential; neither the value
  found nor the one the contract requires (for a secret, that is the secret) is shown then; the
  caller's variables, attributes and argument defaults named like credentials are not shown either,
  and no text of any violation that contains such a value (:func:`_withhold`);
* with no identifiable importer, ``importers.allow`` and ``importers.deny`` both fail: an
  unidentified importer can prove neither that it is allowed nor that it is not denied (§5).

Violations are returned in contract order (by line), so the message reads like the file.

Why a compliant verdict may be cached (``Entry.verdicts``, keyed by :func:`verdict_key`): the
admitting run reads nothing but the environment variables the program names, the caller's names
and source (file stamp), and facts that cannot change while the process runs; the key holds exactly
those. Where the answer would depend on the live caller module, the admitting run has already said
False. Contracts on installed distributions are not cached (reading the key would cost as much as
the check). Failures are never cached.

Program layout, all marshal-able: ``(annotation norms, flags, environment names, operations,
secret names)``, each operation a tuple whose first item is one of the ``OP_*`` codes below.
"""

import os
import sys

from ._cache import (
    MAX_CONTRACT_BYTES,
    ForkSafeLock,
    cache_path,
    digest,
    read_record,
    read_regular,
    source_of,
    too_large,
    write_record,
)
from ._facts import (
    normalise_arch,
    normalise_distribution_name,
    normalise_implementation,
    normalise_os,
    platform_facts,
)

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: this module is on the contracted-import path
if TYPE_CHECKING:
    from typing import Any

    from ._context import Context
    from ._contract_model import Contract
    from ._errors import ContractError, Violation
    from ._schema import Node

    Program = tuple[dict[str, str], int, tuple[str, ...], tuple[tuple[Any, ...], ...], tuple[str, ...]]
    View = tuple[Any, ...]

__all__ = [
    "Entry",
    "Run",
    "annotation_norms",
    "caller_source",
    "clear",
    "compile_contract",
    "contract_entry",
    "environment_holds",
    "explain",
    "holds",
    "model_entry",
    "parse_source",
    "plan",
    "specialise",
    "values_equal",
    "verdict_key",
]

OP_ENV, OP_PYTHON, OP_OS, OP_ARCH, OP_IMPLEMENTATION, OP_ANY, OP_IMPORTERS, OP_DEPENDENCIES, OP_MODULE = (
    range(9)
)
NEEDS_CALLER_NAME, NEEDS_SOURCE, NEEDS_DISTRIBUTIONS = 1, 2, 4

_OPERATOR_START = ("<", ">", "=", "!", "~")
_ANNOTATED = {
    "Variable": ("annotation",),
    "Argument": ("annotation",),
    "Attribute": ("annotation",),
    "Function": ("return_annotation",),
}
_STRUCTURE_FIELDS = ("filename", "version", "variables", "functions", "classes")
_SECRET_EXPECTED = "set to the value the contract requires (secret, not shown)"
_SECRET_FOUND = "set to another value (secret, not shown)"
_SECRET_DEFAULT_EXPECTED = "defaulting to the value the contract requires (secret, not shown)"
_SECRET_DEFAULT_FOUND = "defaulting to another value (secret, not shown)"
# What replaces a violation's expected, found and message texts holding a withheld value (_withhold).
_WITHHELD = (
    "the value the contract requires (it holds a secret, not shown)",
    "another value (it holds a secret, not shown)",
    "not shown: it holds a secret",
)
_NO_CALLER = (
    "no identifiable importing module (import from python -c, the REPL, exec, C code or a thread "
    "running only standard-library code)"
)
_IMPORT_FROM_APPLICATION = "import it from an application function, so that the importer can be identified"


# --------------------------------------------------------------------------- compiling


def annotation_norms(plain: "Node") -> "dict[str, str]":
    """Every annotation the contract writes → its normalised spelling (``_annotations``).

    Computed when the contract is parsed (``ast`` is needed) and stored with it, so that checking
    compares precomputed strings. A contract without annotations never imports ``ast`` here.
    """
    from ._schema import CHILDREN

    texts: set[str] = set()

    def walk(item: "Node") -> None:
        kind, fields = item
        for field in _ANNOTATED.get(kind, ()):
            text = fields.get(field)
            if isinstance(text, str):
                texts.add(text)
        for field, (_, many) in CHILDREN.get(kind, {}).items():
            value = fields.get(field)
            if value is None:
                continue
            for child in value if many else (value,):
                walk(child)

    walk(plain)
    if not texts:
        return {}
    from ._annotations import normalise_annotation

    return {text: normalise_annotation(text) for text in texts}


def compile_contract(plain: "Node", norms: "dict[str, str]") -> "Program":
    """The program of a plain contract (see the module docstring); raises on a malformed tree."""
    compiler = _Compiler(norms)
    operations = compiler.contract(plain[1])
    return (norms, compiler.flags, tuple(compiler.env_names), tuple(operations), _secret_names(plain[1]))


def _line(fields: "dict[str, Any]", key: "str | None" = None) -> "int":
    """The contract line of a node, or of one of its keys (the node's own when not written)."""
    line: int = fields.get("line") or 0
    if key is None:
        return line
    found: int = (fields.get("lines") or {}).get(key, line)
    return found


def _one_of(names: "tuple[str, ...] | list[str]") -> "str":
    return names[0] if len(names) == 1 else "one of " + ", ".join(names)


def _secret_names(contract: "dict[str, Any]") -> "tuple[str, ...]":
    """Every environment variable name the contract declares secret, in any of its blocks (§6)."""
    names: set[str] = set()
    runtime = contract.get("runtime")
    for variable in (runtime[1].get("environment") if runtime is not None else None) or ():
        if variable[1].get("secret"):
            names.add(variable[1]["name"])
    for deployment in contract.get("deployments") or ():
        for system in deployment[1].get("systems") or ():
            environment = system[1].get("environment")
            if environment is None:
                continue
            for variable in environment[1].get("variables") or ():
                if variable[1].get("secret"):
                    names.add(variable[1]["name"])
            names.update(secret[1]["name"] for secret in environment[1].get("secrets") or ())
    return tuple(sorted(names))


class _Compiler:
    """Plain nodes → operations. Each ``field`` argument is the path messages name the entry by."""

    def __init__(self, norms: "dict[str, str]") -> "None":
        self.norms = norms
        self.flags = 0
        self.env_names: list[str] = []

    def contract(self, fields: "dict[str, Any]") -> "list[tuple[Any, ...]]":
        operations: list[tuple[Any, ...]] = []
        importers = fields.get("importers")
        if importers is not None:
            self.flags |= NEEDS_CALLER_NAME
            found = importers[1]
            operations.append(
                (
                    OP_IMPORTERS,
                    _strings(found.get("allow")),
                    _strings(found.get("deny")) or (),
                    _line(found, "allow"),
                    _line(found, "deny"),
                )
            )
        runtime = fields.get("runtime")
        if runtime is not None:
            operations += self.runtime(runtime[1])
        operations += self.alternatives(fields, "deployments", "", self.deployment, "deployment")
        operations += self.module(fields, "")
        dependencies = fields.get("dependencies")
        if dependencies:
            self.flags |= NEEDS_DISTRIBUTIONS
            operations.append((OP_DEPENDENCIES, tuple(self.dependency(d[1]) for d in dependencies)))
        return operations

    # -- environment and platform ----------------------------------------------------------------
    def env(self, fields: "dict[str, Any]", field: "str") -> "tuple[Any, ...]":
        name, value = fields["name"], fields.get("value")
        if not isinstance(name, str):
            raise TypeError("environment variables are named by strings")
        # A value of another type (a model built in Python and given to check(), which does not
        # validate) is kept: no environment value equals it, and the explanation says so.
        if name not in self.env_names:
            self.env_names.append(name)
        return (OP_ENV, name, value, field, _line(fields), _line(fields, "value"))

    def python(self, text: "str", field: "str", line: "int") -> "tuple[Any, ...]":
        return (OP_PYTHON, text, _versions().parse_requirement(text), field, line)

    def runtime(self, fields: "dict[str, Any]") -> "list[tuple[Any, ...]]":
        operations: list[tuple[Any, ...]] = []
        if fields.get("python") is not None:
            operations.append(self.python(fields["python"], "runtime.python", _line(fields, "python")))
        operations += self.names(OP_OS, normalise_os, fields, "os", "runtime.")
        operations += self.names(OP_ARCH, normalise_arch, fields, "architecture", "runtime.")
        operations += self.names(OP_IMPLEMENTATION, _implementation, fields, "implementation", "runtime.")
        for variable in fields.get("environment") or ():
            operations.append(self.env(variable[1], f"runtime.environment.{variable[1]['name']}"))
        return operations

    def deployment(self, fields: "dict[str, Any]", field: "str") -> "list[tuple[Any, ...]]":
        operations = self.names(OP_ARCH, normalise_arch, fields, "arch", f"{field}.")
        return operations + self.alternatives(fields, "systems", f"{field}.", self.system, "system")

    def system(self, fields: "dict[str, Any]", field: "str") -> "list[tuple[Any, ...]]":
        operations = self.names(OP_OS, normalise_os, fields, "os", f"{field}.")
        environment = fields.get("environment")
        if environment is not None:
            variables = environment[1].get("variables") or ()
            secrets = environment[1].get("secrets") or ()
            for kind, index, variable in environment_entries(variables, secrets):
                operations.append(self.env(variable[1], f"{field}.environment.{kind}[{index}]"))
        return operations + self.alternatives(fields, "pythons", f"{field}.", self.python_entry, "Python")

    def python_entry(self, fields: "dict[str, Any]", field: "str") -> "list[tuple[Any, ...]]":
        operations: list[tuple[Any, ...]] = []
        if fields.get("version") is not None:
            operations.append(self.python(fields["version"], f"{field}.version", _line(fields, "version")))
        operations += self.names(OP_IMPLEMENTATION, _implementation, fields, "interpreter", f"{field}.")
        for index, module in enumerate(fields.get("modules") or ()):
            operations += self.module(module[1], f"{field}.modules[{index}].")
        return operations

    def names(
        self, code: "int", normalise: "Any", fields: "dict[str, Any]", key: "str", prefix: "str"
    ) -> "list[tuple[Any, ...]]":
        """The OS, architecture or interpreter rule of ``key`` (one name, or a list of them), when
        written: ``(code, the names' normal forms, field, line, the names as written)``."""
        names = _strings(fields.get(key))
        if not names:
            return []
        normal = frozenset(normalise(name) for name in names)
        return [(code, normal, f"{prefix}{key}", _line(fields, key), _one_of(names))]

    def alternatives(
        self, fields: "dict[str, Any]", key: "str", prefix: "str", compile: "Any", noun: "str"
    ) -> "list[tuple[Any, ...]]":
        """The ``OP_ANY`` of a list of alternatives (``deployments``, ``systems``, ``pythons``), when
        written, each entry compiled by ``compile`` under its own field path."""
        entries, field = fields.get(key), f"{prefix}{key}"
        if not entries:
            return []
        compiled = tuple(tuple(compile(entry[1], f"{field}[{index}]")) for index, entry in enumerate(entries))
        return [(OP_ANY, compiled, field, noun, _line(fields, key))]

    def dependency(self, fields: "dict[str, Any]") -> "tuple[Any, ...]":
        """``(normalised name, version, its clauses, required, allowed, name as written, lines of
        allowed, required and version)``."""
        name, version = fields["name"], fields.get("version")
        return (
            normalise_distribution_name(name),
            version,
            None if version is None else _versions().parse_requirement(version),
            bool(fields.get("required", False)),
            bool(fields.get("allowed", True)),
            name,
            _line(fields, "allowed"),
            _line(fields, "required"),
            _line(fields, "version"),
        )

    # -- the importer's structure ----------------------------------------------------------------
    def module(self, fields: "dict[str, Any]", prefix: "str") -> "list[tuple[Any, ...]]":
        filename, version = fields.get("filename"), fields.get("version")
        variables = fields.get("variables") or ()
        functions = fields.get("functions") or ()
        classes = fields.get("classes") or ()
        if filename is None and version is None and not variables and not functions and not classes:
            return []  # the common case of environment-only contracts, kept cheap
        self.flags |= NEEDS_SOURCE
        form: object = None  # the clauses of a specifier; an exact version is compared as written
        if version is not None and version[:1] in _OPERATOR_START:
            form = _versions().parse_requirement(version)
        return [
            (
                OP_MODULE,
                filename,
                version,
                form,
                tuple(self.named_value(v[1], f"{prefix}variables[{i}]") for i, v in enumerate(variables)),
                tuple(self.function(f[1], f"{prefix}functions[{i}]") for i, f in enumerate(functions)),
                tuple(self.klass(c[1], f"{prefix}classes[{i}]") for i, c in enumerate(classes)),
                prefix,
                tuple(_line(fields, key) for key in _STRUCTURE_FIELDS),
            )
        ]

    def annotation(self, text: "object") -> "tuple[Any, Any]":
        return (text, self.norms.get(text) if isinstance(text, str) else None)

    def named_value(self, fields: "dict[str, Any]", field: "str") -> "tuple[Any, ...]":
        """``(name, annotation, its norm, required value or None, value as written, field, line,
        line of the annotation, line of the value)``."""
        annotation, norm = self.annotation(fields.get("annotation"))
        return (
            fields["name"],
            annotation,
            norm,
            fields.get("value"),
            fields.get("value_text"),
            field,
            _line(fields),
            _line(fields, "annotation"),
            _line(fields, "value"),
        )

    def function(self, fields: "dict[str, Any]", field: "str") -> "tuple[Any, ...]":
        arguments = fields.get("arguments")
        returns, returns_norm = self.annotation(fields.get("return_annotation"))
        return (
            fields["name"],
            None
            if arguments is None
            else tuple(self.named_value(a[1], f"{field}.arguments[{i}]") for i, a in enumerate(arguments)),
            returns,
            returns_norm,
            field,
            _line(fields),
            _line(fields, "arguments"),
            _line(fields, "return_annotation"),
        )

    def klass(self, fields: "dict[str, Any]", field: "str") -> "tuple[Any, ...]":
        attributes = fields.get("attributes")
        methods = fields.get("methods")
        superclasses = fields.get("superclasses")
        return (
            fields["name"],
            None
            if attributes is None
            else tuple(
                (a[1].get("type"), *self.named_value(a[1], f"{field}.attributes[{i}]"))
                for i, a in enumerate(attributes)
            ),
            None
            if methods is None
            else tuple(self.function(m[1], f"{field}.methods[{i}]") for i, m in enumerate(methods)),
            None if superclasses is None else tuple((s[1]["name"], _line(s[1])) for s in superclasses),
            field,
            _line(fields),
        )


def environment_entries(variables: "Any", secrets: "Any") -> "list[tuple[str, int, Any]]":
    """The entries of one ``environment`` block that are checked: ``(list, index, entry)``.

    Every variable; then every secret whose name is not also under ``variables`` (a secret listed
    there too is checked once, with its value requirement, §6). The one place of that rule.
    """
    found = [("variables", index, variable) for index, variable in enumerate(variables)]
    listed = {variable[1]["name"] for variable in variables}
    for index, secret in enumerate(secrets):
        if secret[1]["name"] not in listed:
            found.append(("secrets", index, secret))
    return found


def _implementation(name: "str") -> "str":
    return normalise_implementation(name).lower()


def _strings(value: "Any") -> "tuple[str, ...] | None":
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    names = tuple(value)
    if not all(isinstance(name, str) for name in names):
        raise TypeError("expected names")
    return names


# --------------------------------------------------------------------------- value comparison


def values_equal(expected: "object", expected_text: "str | None", actual: "object") -> "bool":
    """Whether a found value satisfies a contract value, tolerant of how YAML typed it.

    ``True`` and ``1`` are not the same requirement, so a bool only equals a bool by value; any
    other pair is equal when ``==`` says so, or when the text written in the contract is how
    Python spells the found value (``repr`` or ``str``): ``version: 1.0`` matches ``"1.0"``,
    ``value: None`` matches ``None``.
    """
    if isinstance(expected, bool) or isinstance(actual, bool):
        if isinstance(expected, bool) and isinstance(actual, bool):
            return expected is actual
    else:
        try:
            if expected == actual:
                return True
        except Exception:  # an exotic __eq__ must not break the check
            pass
    if expected_text is None:
        return False
    try:
        return expected_text in (repr(actual), str(actual))
    except Exception:
        return False


def _shown(value: "object", text: "str | None") -> "str":
    """A contract value as the user wrote it (strings quoted, ``3.10`` kept as ``3.10``)."""
    if isinstance(value, str) or text is None:
        return repr(value)
    return text


def _same_annotation(expected: "str", norm: "str | None", actual: "str", norms: "Any") -> "bool":
    """Same text, or same normalised text, on precomputed spellings.

    ``norm`` is the contract's (computed when it was compiled), ``norms`` the caller's (computed
    when its source was parsed, for the texts normalisation can change; :data:`_EVERY_NORM` for
    a structure that also holds texts read from the live module): ``ast`` is imported here only
    for a record that lacks one.
    """
    if expected == actual:
        return True
    found = norms.get(actual)
    if found is None:
        from ._structure import plain_annotation

        if plain_annotation(actual):
            found = actual
        else:
            from ._annotations import normalise_annotation

            found = normalise_annotation(actual)
    if norm is None:
        from ._annotations import normalise_annotation

        norm = normalise_annotation(expected)
    return bool(norm == found)


class _EveryNorm:
    """The caller's norms when its texts are not all ``ast.unparse`` outputs: normalise each."""

    @staticmethod
    def get(text: "str") -> "str":
        from ._annotations import normalise_annotation

        return normalise_annotation(text)


_EVERY_NORM = _EveryNorm()


def _requirement_matches(text: "str", clauses: "Any", actual: "str") -> "bool":
    """A version requirement (§6), with the clauses parsed when the contract was compiled."""
    return bool(_versions().matches(text, actual, clauses))


def _module_version_matches(required: "str", form: "Any", actual: "str") -> "bool":
    """``version`` of a module: a specifier, or an exact version (PEP 440 equality)."""
    if required[:1] in _OPERATOR_START:
        return _requirement_matches(required, form, actual)
    return bool(_versions().same_version(required, actual))


def inherits(required: "str", bases: "tuple[str, ...]") -> "bool":
    """The superclass rule (§6): a base named in full, or by its last dotted part (generic
    arguments ignored): ``Base`` is met by ``mod.Base`` and ``Base[T]``."""
    last = required.rsplit(".", 1)[-1]
    last_dotted_part = (_STRUCTURE if _STRUCTURE is not None else _load_structure()).last_dotted_part
    return any(base == required or last_dotted_part(base) == last for base in bases)


# --------------------------------------------------------------------------- the rules
#
# One function per rule. Each takes its operation and either the facts of a run (``facts.why`` is
# None when admitting, the list the violations go to when explaining) or, below the module rule,
# the caller's view and ``why`` itself. The verdict is computed first; a message is built only on
# the failing branch, and only when explaining. When admitting, a rule may stop at its first
# failure; when explaining, it goes on, so that the user reads everything that must change.


def _violation(field: "str", expected: "str", actual: "str", message: "str", line: "int") -> "Violation":
    violation: Violation = _module("._errors").Violation(field, expected, actual, message, line)
    return violation


def _env(operation: "tuple[Any, ...]", facts: "Run") -> "bool":
    """An environment variable is set (to the value the contract gives, if any)."""
    _, name, value, field, line, value_line = operation
    actual = facts.env(name)
    if _set_as_required(actual, None if value is None else facts.stored(value)):
        return True
    why = facts.why
    if why is not None:
        if actual is None:
            why.append(_violation(field, f"{name} to be set", f"{name} not set", "", line))
        elif _module("._errors").value_may_be_shown(name, facts.secrets, actual, value):
            why.append(_violation(field, f"{name}={value!r}", f"{name}={actual!r}", "", value_line))
        else:
            why.append(
                _violation(field, f"{name} {_SECRET_EXPECTED}", f"{name} {_SECRET_FOUND}", "", value_line)
            )
    return False


def _set_as_required(actual: "object", expected: "object") -> "bool":
    """The environment rule itself: the variable is set (``actual`` is not None) and, when the
    contract gives a value (``expected`` not None), set to it. Both in the same form (stored or as
    text): :func:`_env` and :func:`environment_holds` each pass their own."""
    return actual is not None and (expected is None or actual == expected)


def environment_holds(checks: "tuple[tuple[Any, Any], ...] | None", operations: "tuple[Any, ...]") -> "bool":
    """The environment operations of a plan (:func:`plan`), admitting speed: ``checks`` are their
    ``(storage key, stored value or None)``, worked out once when the plan was made, and read
    straight from ``os.environ``'s storage (one dict lookup each, no Python function per reading);
    when that storage cannot be read (``os.environ`` replaced since, or not the standard mapping)
    the operations run as any others (:func:`_env`)."""
    data = _ENVIRON_DATA
    if checks is None or os.environ is not _ENVIRON:
        return all(map(_ENVIRONMENT_RUN.one, operations))
    get = data.get  # checks is None when there is no storage
    for key, expected in checks:  # noqa: SIM110 - ``all`` with a generator costs more here
        if not _set_as_required(get(key), expected):
            return False
    return True


def _platform_holds(operation: "tuple[Any, ...]", platform: "Any") -> "bool":
    """The verdict of a platform operation (Python version, OS, architecture, interpreter)."""
    code = operation[0]
    if code == OP_PYTHON:
        return _requirement_matches(operation[1], operation[2], platform.python_version)
    if code == OP_OS:
        return bool(platform.os in operation[1])
    if code == OP_ARCH:
        return bool(platform.arch in operation[1])
    return bool(platform.implementation.lower() in operation[1])


def _platform(operation: "tuple[Any, ...]", facts: "Run") -> "bool":
    """The platform rules; the explanation shows the fact as the platform spells it."""
    platform = facts.platform()
    if _platform_holds(operation, platform):
        return True
    why = facts.why
    if why is not None:
        code = operation[0]
        if code == OP_PYTHON:  # (OP_PYTHON, requirement, clauses, field, line)
            found = f"{platform.python_version} ({platform.implementation})"
            why.append(_violation(operation[3], operation[1], found, "", operation[4]))
        else:  # (code, normal forms, field, line, names as written)
            found = {OP_OS: platform.os, OP_ARCH: platform.arch}.get(code, platform.implementation)
            why.append(_violation(operation[2], operation[4], found, "", operation[3]))
    return False


def _any(operation: "tuple[Any, ...]", facts: "Run") -> "bool":
    """Alternatives: one must hold; else "none matched" and the closest one's own violations."""
    why = facts.why
    if why is None:
        for alternative in operation[1]:  # noqa: SIM110 - ``any`` with a generator costs more here
            if facts.all(alternative):
                return True
        return False
    assert isinstance(facts, Explain)  # only an explaining run has a ``why``
    _, alternatives, field, noun, line = operation
    results: list[list[Violation]] = []
    for alternative in alternatives:
        found: list[Violation] = []
        facts.why = found
        try:
            facts.all(alternative)
        finally:
            facts.why = why
        if not found:
            return True
        results.append(found)
    if len(results) == 1:
        why += results[0]
        return False
    best = min(range(len(results)), key=lambda index: len(results[index]))
    why.append(
        _violation(
            field,
            f"one of {len(results)} {noun}s to match",
            "none matched",
            f"closest is {field}[{best}]; its differences follow",
            line,
        )
    )
    why += results[best]
    return False


def _importers(operation: "tuple[Any, ...]", facts: "Run") -> "bool":
    """``importers.allow``/``deny`` against the importer's names (§5); an unidentified importer
    can prove neither that it is allowed nor that it is not denied."""
    from fnmatch import fnmatchcase

    _, allow, deny, allow_line, deny_line = operation
    caller = facts.caller
    names = [
        name
        for name in (getattr(caller, "module_name", None), getattr(caller, "name", None))
        if isinstance(name, str) and name
    ]
    why = facts.why
    if not names:
        if not (allow or deny):
            return True
        if why is not None:
            if allow:
                why.append(
                    _violation(
                        "importers.allow",
                        f"an importer matching {_one_of(allow)}",
                        _NO_CALLER,
                        _IMPORT_FROM_APPLICATION,
                        allow_line,
                    )
                )
            if deny:
                why.append(
                    _violation(
                        "importers.deny",
                        f"an importer not matching {_one_of(deny)}",
                        _NO_CALLER,
                        f"an unidentified importer cannot prove it is not denied; {_IMPORT_FROM_APPLICATION}",
                        deny_line,
                    )
                )
        return False
    holds = True
    if allow and not any(fnmatchcase(name, pattern) for name in names for pattern in allow):
        if why is None:
            return False
        holds = False
        why.append(
            _violation("importers.allow", f"an importer matching {_one_of(allow)}", names[0], "", allow_line)
        )
    for index, pattern in enumerate(deny):
        if any(fnmatchcase(name, pattern) for name in names):
            if why is None:
                return False
            holds = False
            why.append(
                _violation(
                    f"importers.deny[{index}]", f"an importer not matching {pattern}", names[0], "", deny_line
                )
            )
    return holds


def _dependencies(operation: "tuple[Any, ...]", facts: "Run") -> "bool":
    """Installed distributions: required, not allowed, version."""
    installed = facts.distributions()
    why = facts.why
    holds = True
    for (
        normal,
        text,
        clauses,
        required,
        allowed,
        name,
        allowed_line,
        required_line,
        version_line,
    ) in operation[1]:
        version = installed.get(normal)
        field = f"dependencies.{name}"
        if not allowed and version is not None:
            if why is None:
                return False
            holds = False
            why.append(
                _violation(
                    f"{field}.allowed",
                    f"{name} not installed",
                    f"{name} {version}",
                    "this distribution is not allowed",
                    allowed_line,
                )
            )
        if required and version is None:
            if why is None:
                return False
            holds = False
            why.append(
                _violation(
                    f"{field}.required", f"{name} installed", f"{name} not installed", "", required_line
                )
            )
        if text is not None and version is not None and not _requirement_matches(text, clauses, version):
            if why is None:
                return False
            holds = False
            why.append(
                _violation(f"{field}.version", f"{name} {text}", f"{name} {version}", "", version_line)
            )
    return holds


# -- the importer's structure ---------------------------------------------------------------------
#
# The caller is seen through its structure, ``(who, filename, version, has source, variables,
# functions, classes, norms)`` in ``_structure``'s record layout: the records of its source alone
# when admitting (:func:`_source_view`), merged with its live module when explaining
# (:meth:`Explain.module`). The rules below read only that view.


def _module_rule(operation: "tuple[Any, ...]", view: "View | None", why: "list[Violation] | None") -> "bool":
    """The structural requirements of the top level, or of one ``pythons[].modules[]`` entry."""
    _, filename, version, form, variables, functions, classes, prefix, lines = operation
    if view is None:
        if why is not None:
            first = _first_asked(operation, 0)
            why.append(
                _violation(
                    f"{prefix}{_STRUCTURE_FIELDS[first]}",
                    "an importing module whose structure can be checked",
                    _NO_CALLER,
                    f"structural requirements need the importer's code; {_IMPORT_FROM_APPLICATION}",
                    lines[first],
                )
            )
        return False
    who, found_filename, found_version, has_source, found_variables, found_functions, found_classes, norms = (
        view
    )
    holds = True
    if filename is not None and found_filename != filename:
        if why is None:
            return False
        holds = False
        why.append(_violation(f"{prefix}filename", filename, found_filename or "no file", "", lines[0]))
    if version is not None and (
        found_version is None or not _module_version_matches(version, form, found_version)
    ):
        if why is None:
            return False
        holds = False
        shown = found_version if found_version is not None else "no __version__"
        why.append(_violation(f"{prefix}version", version, shown, "", lines[1]))
    if (variables or functions or classes) and not has_source:
        if why is not None:
            first = _first_asked(operation, 2)
            why.append(
                _violation(
                    f"{prefix}{_STRUCTURE_FIELDS[first]}",
                    f"the source of {who} to check its structure",
                    "caller source not available",
                    "only modules with Python source can meet variables/functions/classes requirements",
                    lines[first],
                )
            )
        return False
    for variable in variables:
        if not _variable(variable, found_variables, norms, who, why):
            if why is None:
                return False
            holds = False
    for function in functions:
        name, field, line = function[0], function[4], function[5]
        found = found_functions.get(name)
        if found is None:
            if why is None:
                return False
            holds = False
            why.append(_violation(field, f"function {name}", f"no function {name} in {who}", "", line))
        elif not _signature(function, found, norms, name, why):
            if why is None:
                return False
            holds = False
    for klass in classes:
        if not _klass(klass, found_classes, norms, who, why):
            if why is None:
                return False
            holds = False
    return holds


_STRUCTURE_POSITIONS = (1, 2, 4, 5, 6)  # where an OP_MODULE holds each of _STRUCTURE_FIELDS


def _first_asked(operation: "tuple[Any, ...]", start: "int") -> "int":
    """The first of ``_STRUCTURE_FIELDS[start:]`` the entry writes (the one a message names)."""
    for index in range(start, len(_STRUCTURE_FIELDS)):
        value = operation[_STRUCTURE_POSITIONS[index]]
        if value is not None if index < 2 else value:
            return index
    return start


def _annotation(
    field: "str",
    name: "str",
    expected: "str | None",
    norm: "str | None",
    actual: "str | None",
    norms: "Any",
    line: "int",
    why: "list[Violation] | None",
) -> "bool":
    """An annotation the contract gives, as normalised text."""
    if expected is None or (actual is not None and _same_annotation(expected, norm, actual, norms)):
        return True
    if why is not None:
        found = f"{name} without annotation" if actual is None else f"{name}: {actual}"
        why.append(_violation(field, f"{name}: {expected}", found, "", line))
    return False


def _value(
    field: "str",
    name: "str",
    expected: "object",
    text: "str | None",
    known: "bool",
    actual: "object",
    line: "int",
    why: "list[Violation] | None",
) -> "bool":
    """A value the contract gives; a value that is not a literal cannot be compared (when
    admitting: perhaps the live module holds it, and the explanation will read it)."""
    if expected is None:
        return True
    if known and values_equal(expected, text, actual):
        return True
    if why is not None:
        wanted = f"{name} = {_shown(expected, text)}"
        if not known:
            why.append(
                _violation(
                    field,
                    wanted,
                    f"{name} = a value that is not a literal",
                    "it cannot be compared without running code",
                    line,
                )
            )
        elif _holds_a_credential(name.rpartition(".")[2], actual):
            # A caller's ``API_TOKEN = os.environ[...]`` (or ``DATABASE = {"password": ...}``) holds
            # a credential: §6's name rule covers it as it covers the variable it came from.
            why.append(_violation(field, f"{name} {_SECRET_EXPECTED}", f"{name} {_SECRET_FOUND}", "", line))
        else:
            why.append(_violation(field, wanted, f"{name} = {actual!r}", "", line))
    return False


def _holds_a_credential(name: "str", value: "object", depth: "int" = 0) -> "bool":
    """Whether a caller's value may be a credential: its name, or a key of a mapping inside it,
    looks like one (§6's name rule, applied to the caller's own variables, class and instance
    attributes, and argument defaults). A value that holds a secret under an innocent name is
    withheld by :func:`_withhold`."""
    if _module("._errors").looks_like_credential(name):
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


def _variable(
    required: "tuple[Any, ...]",
    found_variables: "dict[str, Any]",
    norms: "Any",
    who: "str",
    why: "list[Violation] | None",
) -> "bool":
    name, annotation, norm, value, text, field, line, annotation_line, value_line = required
    found = found_variables.get(name)
    if found is None:
        if why is not None:
            why.append(_violation(field, f"variable {name}", f"no variable {name} in {who}", "", line))
        return False
    _, known, actual, actual_annotation = found
    holds = _annotation(
        f"{field}.annotation", name, annotation, norm, actual_annotation, norms, annotation_line, why
    )
    if holds or why is not None:
        holds = _value(f"{field}.value", name, value, text, known, actual, value_line, why) and holds
    return holds


def _signature(
    required: "tuple[Any, ...]",
    found: "tuple[Any, ...]",
    norms: "Any",
    label: "str",
    why: "list[Violation] | None",
) -> "bool":
    """A function's or method's arguments and return annotation."""
    arguments, returns, returns_norm, field = required[1], required[2], required[3], required[4]
    holds = arguments is None or _arguments(required, found[1], norms, label, why)
    if not holds and why is None:
        return False
    if returns is not None:
        actual = found[2]
        if actual is None or not _same_annotation(returns, returns_norm, actual, norms):
            if why is not None:
                shown = (
                    f"{label}(...) without return annotation"
                    if actual is None
                    else f"{label}(...) -> {actual}"
                )
                why.append(
                    _violation(
                        f"{field}.return_annotation", f"{label}(...) -> {returns}", shown, "", required[7]
                    )
                )
            return False
    return holds


def _arguments(
    function: "tuple[Any, ...]",
    found: "tuple[Any, ...]",
    norms: "Any",
    label: "str",
    why: "list[Violation] | None",
) -> "bool":
    """Each required argument by name (with annotation and default), then their relative order."""
    positions = {argument[0]: index for index, argument in enumerate(found)}

    def signature() -> "str":  # only built for a message
        return f"{label}({', '.join(argument[0] for argument in found)})"

    holds = True
    previous = -1
    in_order = True
    for name, annotation, norm, value, text, field, line, annotation_line, value_line in function[1]:
        position = positions.get(name)
        if position is None:
            if why is None:
                return False
            holds = False
            why.append(_violation(field, f"argument {name} of {label}", signature(), "", line))
            continue
        if position < previous:
            if why is None:
                return False
            in_order = False
        previous = position
        _, found_annotation, default, is_literal, default_value = found[position]
        if not _annotation(
            f"{field}.annotation", name, annotation, norm, found_annotation, norms, annotation_line, why
        ):
            if why is None:
                return False
            holds = False
        if value is None:
            continue
        if default is not None and (
            values_equal(value, text, default_value)
            if is_literal
            else text is not None and " ".join(text.split()) == " ".join(default.split())
        ):
            continue
        if why is None:
            return False
        holds = False
        if default is not None and _holds_a_credential(name, default_value):
            # ``def login(password="...")``: an argument is named like a credential as a variable is.
            expected, shown = f"{name} {_SECRET_DEFAULT_EXPECTED}", f"{name} {_SECRET_DEFAULT_FOUND}"
        else:
            expected = f"{name}={_shown(value, text)}"
            shown = f"{name} without default" if default is None else f"{name}={default}"
        why.append(_violation(f"{field}.value", expected, shown, "", value_line))
    if not in_order:
        assert why is not None
        names = ", ".join(argument[0] for argument in function[1])
        why.append(
            _violation(
                f"{function[4]}.arguments", f"arguments in the order {names}", signature(), "", function[6]
            )
        )
        return False
    return holds


def _klass(
    required: "tuple[Any, ...]",
    found_classes: "dict[str, Any]",
    norms: "Any",
    who: "str",
    why: "list[Violation] | None",
) -> "bool":
    name, attributes, methods, superclasses, field, line = required
    found = found_classes.get(name)
    if found is None:
        if why is not None:
            why.append(_violation(field, f"class {name}", f"no class {name} in {who}", "", line))
        return False
    _, found_attributes, found_methods, bases = found
    holds = True
    for attribute in attributes or ():
        if not _attribute(attribute, name, found_attributes, norms, why):
            if why is None:
                return False
            holds = False
    if methods:
        by_name = {method[0]: method for method in found_methods}
        for method in methods:
            method_name = method[0]
            label = f"{name}.{method_name}"
            found_method = by_name.get(method_name)
            if found_method is None:
                if why is None:
                    return False
                holds = False
                why.append(
                    _violation(
                        method[4],
                        f"method {label}",
                        f"no method {method_name} in class {name}",
                        "",
                        method[5],
                    )
                )
            elif not _signature(method, found_method, norms, label, why):
                if why is None:
                    return False
                holds = False
    for index, (superclass, superclass_line) in enumerate(superclasses or ()):
        if not inherits(superclass, bases):
            if why is None:
                return False
            holds = False
            listed = ", ".join(bases)
            why.append(
                _violation(
                    f"{field}.superclasses[{index}]",
                    f"class {name} to inherit from {superclass}",
                    f"class {name}({listed})" if listed else f"class {name} without base classes",
                    "",
                    superclass_line,
                )
            )
    return holds


def _attribute(
    required: "tuple[Any, ...]",
    class_name: "str",
    found_attributes: "tuple[Any, ...]",
    norms: "Any",
    why: "list[Violation] | None",
) -> "bool":
    """A class or instance attribute. Several matches (class and instance attribute of one name,
    type not given): the first that meets the requirement wins; otherwise report the first."""
    kind, name, annotation, norm, value, text, field, line, annotation_line, value_line = required
    label = f"{class_name}.{name}"
    best: list[Violation] | None = None
    matched = False
    for found_name, found_kind, known, actual, found_annotation in found_attributes:
        if found_name != name or (kind is not None and found_kind != kind):
            continue
        matched = True
        problems: list[Violation] | None = None if why is None else []
        holds = _annotation(
            f"{field}.annotation", label, annotation, norm, found_annotation, norms, annotation_line, problems
        )
        if holds or problems is not None:
            holds = (
                _value(f"{field}.value", label, value, text, known, actual, value_line, problems) and holds
            )
        if holds:
            return True
        if best is None:
            best = problems
    if why is not None:
        if matched:
            why += best or ()
        else:
            described = f"{kind} attribute {label}" if kind else f"attribute {label}"
            other = [found[1] for found in found_attributes if found[0] == name]
            if other:
                shown = f"only {'a class' if other[0] == 'class' else 'an instance'} attribute {label}"
            else:
                shown = f"no attribute {name} in class {class_name}"
            why.append(_violation(field, described, shown, "", line))
    return False


def _source_view(source: "tuple[str, tuple[int, int], Any]") -> "View":
    """The caller as its source records show it (admitting: nothing of the live module)."""
    path, _, parsed = source
    if parsed is None:
        return (None, os.path.basename(path), None, False, {}, {}, {}, {})
    variables, functions, classes, _, norms = parsed
    declared = variables.get("__version__")
    version = declared[2] if declared is not None and declared[1] and isinstance(declared[2], str) else None
    return (None, os.path.basename(path), version, True, variables, functions, classes, norms)


_DISTRIBUTION_VERSIONS: "dict[str, tuple[Any, str | None]]" = {}


def _distribution_version(module_name: "str") -> "str | None":
    """The version of the distribution that installs ``module_name`` (§6 ``version`` fallback).

    The distribution is the first on ``sys.path`` whose top-level names include the module's: its
    ``top_level.txt`` when it has one (only setuptools writes it), otherwise the first component of
    each path its ``RECORD`` lists, which is all a flit, hatchling, pdm or poetry wheel leaves.
    ``importlib.metadata.packages_distributions`` reads ``top_level.txt`` alone on 3.10 and infers
    differently on 3.11, 3.12 and 3.13, so the names are worked out here, the same on every Python.

    Remembered per module name under ``sys.path`` and its entries' mtimes (what installing or
    removing a distribution changes, as for ``_context.installed_distributions``), so a caller's
    distribution installed while the process runs is seen; a lookup that failed is not remembered.
    """
    key = _module("._context")._path_key()
    known = _DISTRIBUTION_VERSIONS.get(module_name)
    if known is not None and known[0] == key:
        return known[1]
    found: str | None = None
    try:
        from importlib.machinery import all_suffixes
        from importlib.metadata import PackageNotFoundError, distributions, version

        top = module_name.partition(".")[0]
        suffixes = sorted(all_suffixes(), key=len, reverse=True)  # ".cpython-311-x86_64-linux-gnu.so" first

        def top_level_names(files: "Any") -> "Any":
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
                    found = version(distribution.metadata["Name"])
                except PackageNotFoundError:  # a directory name the lookup by name misses
                    found = distribution.version
                break
    except Exception:  # metadata problems mean "unknown", never an internal error (nor remembered)
        return None
    if len(_DISTRIBUTION_VERSIONS) >= 64:
        _DISTRIBUTION_VERSIONS.clear()
    _DISTRIBUTION_VERSIONS[module_name] = (key, found)
    return found


# --------------------------------------------------------------------------- running


_NOT_YET: "Any" = object()


def _versions() -> "Any":
    """The version rules: needed to compile a contract and for version checks, which the
    platform specialisation (and the cache record) settle once, so not imported on a warm path."""
    return _module("._versions")


def _environment() -> "tuple[Any, Any]":
    """``(os.environ, its storage)`` when ``os.environ`` is the standard mapping, else ``(it, None)``.

    ``os.environ.get`` runs five Python functions (encode the key, look up, decode the value) and
    costs about a microsecond; the mapping keeps its data in ``_data``, keyed and valued in the
    platform's form (bytes on POSIX), which a dict lookup reads in tens of nanoseconds. Writes
    through ``os.environ`` (and ``monkeypatch.setenv``) update that storage, so reading it is
    reading the environment. Any other ``os.environ`` (replaced by a test, an unusual
    interpreter) is read through its ``get``.
    """
    environ = os.environ
    data = getattr(environ, "_data", None)
    standard = type(environ).__name__ == "_Environ" and isinstance(data, dict)
    return environ, data if standard and hasattr(environ, "encodekey") and hasattr(
        environ, "encodevalue"
    ) else None


_ENVIRON, _ENVIRON_DATA = _environment()
_KEYS: "dict[str, Any]" = {}
_STORED: "dict[str, Any]" = {}


def _stored(value: "str") -> "object":
    """A contract's expected value in the form :meth:`Run.env` returns (encoding is one-to-one)."""
    if _ENVIRON_DATA is None or os.environ is not _ENVIRON:
        return value
    found = _STORED.get(value)
    if found is None:
        found = _ENVIRON.encodevalue(value)
        if len(_STORED) < 1024:
            _STORED[value] = found
    return found


_PLATFORM = frozenset((OP_PYTHON, OP_OS, OP_ARCH, OP_IMPLEMENTATION))


def specialise(operations: "tuple[tuple[Any, ...], ...]", facts: "Any" = None) -> "tuple[Any, ...] | None":
    """The operations left once the platform facts are known; None when the platform refuses.

    OS, architecture, interpreter and Python version cannot change while the process runs, so
    they are judged once per contract: alternatives the platform rules out disappear, one that
    the platform alone satisfies makes its whole group true, and what is left to read on each
    import is the environment, the caller and the distributions. (A simulation, which changes
    the platform, never reaches the compiled check.)
    """
    facts = platform_facts() if facts is None else facts
    residual: list[tuple[Any, ...]] = []
    for operation in operations:
        code = operation[0]
        if code in _PLATFORM:
            if not _platform_holds(operation, facts):
                return None
            continue
        if code != OP_ANY:
            residual.append(operation)
            continue
        alternatives: list[tuple[Any, ...]] | None = []
        for alternative in operation[1]:
            rest = specialise(alternative, facts)
            if rest is None:
                continue
            if not rest:
                alternatives = None  # this alternative holds whatever the rest says
                break
            alternatives.append(rest)  # type: ignore[union-attr]
        if alternatives is None:
            continue
        if not alternatives:
            return None
        if len(alternatives) == 1:
            residual.extend(alternatives[0])
        else:
            residual.append((OP_ANY, tuple(alternatives), *operation[2:]))
    return tuple(residual)


class Run:
    """The facts of one admitting run: the caller, and what was read about it (read at most once);
    the platform, ``os.environ``'s storage and the installed distributions as the process has them.

    ``memo`` (the contract's :class:`Entry`) keeps the structural operations proven on
    a given caller source — path and stamp: the same content gives the same answer — so that a
    re-check after an environment change reads only the environment.
    """

    __slots__ = ("_source", "caller", "memo")

    def __init__(
        self, caller: "Any", memo: "dict[Any, bool] | None" = None, source: "Any" = _NOT_YET
    ) -> "None":
        self.caller = caller
        self.memo: dict[Any, bool] = {} if memo is None else memo
        self._source: Any = source  # what caller_source(caller) returns, when already read

    @staticmethod
    def env(name: "str") -> "object":
        """The value of ``name`` in ``os.environ`` (None when unset), in its stored form (see
        :func:`_environment`): compare it with :func:`_stored` values only."""
        environ = os.environ
        data = _ENVIRON_DATA
        if data is None or environ is not _ENVIRON:
            return environ.get(name)
        key = _KEYS.get(name)
        if key is None:
            key = _KEYS[name] = environ.encodekey(name)
        return data.get(key)

    def source(self) -> "tuple[str, tuple[int, int], Any] | None":
        """``(source path, stamp, records or None)`` of the caller, or None when it has no readable
        source file."""
        source = self._source
        if source is _NOT_YET:
            source = self._source = caller_source(self.caller)
        result: tuple[str, tuple[int, int], Any] | None = source
        return result

    # -- the program -----------------------------------------------------------------------------
    def all(self, operations: "tuple[tuple[Any, ...], ...]") -> "bool":
        """Every operation holds; the first that does not stops the run (``all`` stops there)."""
        return all(map(self.one, operations))

    def one(self, operation: "tuple[Any, ...]") -> "bool":
        """Whether one operation holds: the dispatch to the rules, for both speeds."""
        code = operation[0]
        if code == OP_ENV:
            return _env(operation, self)
        if code == OP_MODULE:
            return self.module(operation)
        if code == OP_ANY:
            return _any(operation, self)
        if code == OP_IMPORTERS:
            return _importers(operation, self)
        if code == OP_DEPENDENCIES:
            return _dependencies(operation, self)
        if code in _PLATFORM:  # a program that was not specialised
            return _platform(operation, self)
        return False  # an operation this code does not know: never admit it

    # -- the facts, as the admitting run reads them ----------------------------------------------
    why: "list[Violation] | None" = None  # admitting: no explanation is built
    secrets: "tuple[str, ...]" = ()
    stored = staticmethod(_stored)

    @staticmethod
    def platform() -> "Any":
        return platform_facts()

    @staticmethod
    def distributions() -> "Any":
        return _module("._context").installed_distributions()

    def module(self, operation: "tuple[Any, ...]") -> "bool":
        """The structural rule on the caller's source records, remembered per source stamp."""
        source = self._source
        if source is _NOT_YET:
            source = self.source() if self.caller is not None else None
        if source is None:
            return False  # no caller, or source only a loader can give: the explanation reads the live module
        key = (id(operation), source[0], source[1])
        if key in self.memo:
            return True
        if not _module_rule(operation, _source_view(source), None):
            return False
        if len(self.memo) >= 256:
            self.memo.clear()
        self.memo[key] = True
        return True


_ENVIRONMENT_RUN = Run(None)
"""The facts of a plan's environment operations when ``os.environ``'s storage cannot be read
directly (:func:`environment_holds`): those operations read ``os.environ`` and nothing a run keeps
(no caller, no memo), so one object serves every thread."""


class Explain(Run):
    """The facts of an explaining run: a ``Context`` (possibly simulated), the caller's full
    structure, and the contract's secret names; ``why`` collects the violations."""

    __slots__ = ("_view", "context", "secrets", "why")

    def __init__(self, context: "Context", secrets: "tuple[str, ...]") -> "None":
        Run.__init__(self, context.caller)
        self.context = context
        self.secrets = secrets  # contract-wide: which values are never shown
        self.why: list[Violation] | None = []
        self._view: Any = _NOT_YET

    def env(self, name: "str") -> "object":  # type: ignore[override]
        return self.context.environ.get(name)

    @staticmethod
    def stored(value: "str") -> "object":
        return value

    def platform(self) -> "Any":  # type: ignore[override]
        return self.context

    def distributions(self) -> "Any":  # type: ignore[override]
        return self.context.distributions()

    def all(self, operations: "tuple[tuple[Any, ...], ...]") -> "bool":
        """Every operation, even after one fails: the user reads everything that must change."""
        holds = True
        for operation in operations:
            if not self.one(operation):
                holds = False
        return holds

    def module(self, operation: "tuple[Any, ...]") -> "bool":
        """The structural rule on the caller's structure (source merged with the live module),
        whose ``__version__`` falls back to its distribution's, and whose annotation texts are all
        normalised (those read from the live module were not written by ``ast.unparse``)."""
        view = self._view
        if view is _NOT_YET:
            view = None
            structure = self.context.structure() if self.caller is not None else None
            if structure is not None:
                who, filename, version, has_source, variables, functions, classes, _ = structure
                name = self.caller.name
                if version is None and name and name != "__main__":
                    version = _distribution_version(name)
                view = (who, filename, version, has_source, variables, functions, classes, _EVERY_NORM)
            self._view = view
        return _module_rule(operation, view, self.why)


_modules: "dict[str, Any]" = {}


def _module(name: "str") -> "Any":
    """A sibling module, imported on first use and then found without the import statement's cost
    (``from . import x`` goes through the import system's Python code on every call)."""
    module = _modules.get(name)
    if module is None:
        full = f"{__package__}{name}"
        __import__(full)
        module = _modules[name] = sys.modules[full]
    return module


_STRUCTURE: "Any" = None  # the ``_structure`` module, once imported


def caller_source(caller: "Any") -> "tuple[str, tuple[int, int], Any] | None":
    """``(source path, stamp, records or None)`` of ``caller``'s source, None when it has none that
    can be read; one ``stat`` when the source was parsed before (records keyed by path and stamp).
    The records come from ``_cache`` (this process's table, or the record beside bytecode): the
    parser (``_structure``) is loaded only when the source must be parsed."""
    found: tuple[str, tuple[int, int], Any] | None = source_of(getattr(caller, "file", None), parse_source)
    return found


def parse_source(data: "bytes", path: "str") -> "Any":
    """The records of a caller's source (``_cache.source_of``'s parser); loads ``_structure``."""
    return (_STRUCTURE if _STRUCTURE is not None else _load_structure()).records_of(data, path)


def _load_structure() -> "Any":
    global _STRUCTURE
    _STRUCTURE = _module("._structure")
    return _STRUCTURE


# --------------------------------------------------------------------------- entry points


def holds(residual: "tuple[Any, ...]", run: "Run") -> "bool":
    """The admitting run of a program specialised to this platform (:func:`specialise`): True
    only when the import is certainly compliant; False means "explain", never "refused" by itself."""
    return run.all(residual)


def explain(program: "Program", context: "Context") -> "list[Violation]":
    """Every requirement of ``program`` that ``context`` does not meet, in contract order; empty
    when compliant. The verdict the user sees: a refusal, ``check()``, the CLI, the pytest plugin."""
    facts = Explain(context, program[4])
    facts.all(program[3])
    found: list[Violation] = facts.why or []
    if found:
        found = _withhold(found, context.environ, program[4])
    found.sort(key=lambda violation: violation.line)  # stable: same-line order is kept
    return found


def _withhold(violations: "list[Violation]", environ: "Any", secrets: "tuple[str, ...]") -> "list[Violation]":
    """§6's rule on every text every violation shows, whoever worded it: a text that contains a
    value that may not be shown, or the secret part of one (``_errors.withheld_values`` says which
    and where it looks), is replaced, so a secret the importer copied into a variable, a
    container, a class attribute, an argument default or an annotation is never printed under its
    innocent name. Applied here, once, rather than where each value is worded."""
    errors = _module("._errors")
    withheld = errors.withheld_values(environ, secrets)
    if not withheld:
        return violations
    shown: list[Violation] = []
    for violation in violations:
        texts = [violation.expected, violation.actual, violation.message]
        hidden = [errors.holds_withheld(text, withheld) for text in texts]
        if any(hidden):
            expected, actual, message = (
                replacement if hide else text
                for text, hide, replacement in zip(texts, hidden, _WITHHELD, strict=True)
            )
            violation = _violation(violation.field, expected, actual, message, violation.line)
        shown.append(violation)
    return shown


def plan(residual: "tuple[Any, ...]") -> "tuple[Any, ...] | None":
    """The residual as ``(environment operations, caller operations, reads source, environment
    checks)`` when it is a plain conjunction of environment and caller operations — what almost
    every contract leaves once the platform is known — else None.

    Such a residual splits in two: the environment operations, run on every check (reading a
    variable is cheaper than building a key of their values), and the operations on the caller (its
    names, its structure), whose verdict depends only on the caller's names and source path and
    stamp, and can be kept under that key.
    """
    environment: list[tuple[Any, ...]] = []
    operations: list[tuple[Any, ...]] = []
    reads_source = False
    for operation in residual:
        code = operation[0]
        if code == OP_ENV:
            environment.append(operation)
        elif code in (OP_MODULE, OP_IMPORTERS):
            operations.append(operation)
            reads_source = reads_source or code == OP_MODULE
        else:
            return None
    # For :func:`environment_holds`: each environment operation's storage key and stored value, when
    # ``os.environ`` is the standard mapping (the encodings are fixed for the process).
    checks: tuple[tuple[Any, Any], ...] | None = None
    if _ENVIRON_DATA is not None and os.environ is _ENVIRON:
        try:
            checks = tuple(
                (_ENVIRON.encodekey(operation[1]), None if operation[2] is None else _stored(operation[2]))
                for operation in environment
            )
        except Exception:  # a name or value the mapping cannot encode: the operations decide
            checks = None
    return (tuple(environment), tuple(operations), reads_source, checks)


def verdict_key(program: "Program", run: "Run") -> "tuple[Any, ...] | None":
    """What a compliant verdict of ``program`` depends on, or None when it is not worth caching.

    The environment variables the program names (their stored values, read in one pass), the
    caller's names, and — when the program reads the caller's structure — its source path and stamp.
    """
    flags = program[1]
    if not flags or flags & NEEDS_DISTRIBUTIONS:
        return None  # nothing to save (platform and environment only), or too costly to key
    names = program[2]
    data = _ENVIRON_DATA
    if data is not None and os.environ is _ENVIRON:
        keys = _ENCODED.get(names)
        if keys is None:
            keys = _encoded(names)
        values = tuple(map(data.get, keys))
    else:
        values = tuple([Run.env(name) for name in names])
    caller = run.caller
    who = None if caller is None else (getattr(caller, "module_name", None), caller.name)
    if not flags & NEEDS_SOURCE:
        return (values, who)
    source = run._source
    if source is _NOT_YET:
        source = run.source() if caller is not None else None
    if source is None:
        return None
    return (values, who, source[0], source[1])


_ENCODED: "dict[tuple[str, ...], tuple[Any, ...]]" = {}


def _encoded(names: "tuple[str, ...]") -> "tuple[Any, ...]":
    """The storage keys of ``names`` in ``os.environ`` (see :func:`_environment`), remembered
    (and registered for :meth:`Run.env`)."""
    keys = []
    for name in names:
        key = _KEYS.get(name)
        if key is None:
            key = _KEYS[name] = _ENVIRON.encodekey(name)
        keys.append(key)
    found = tuple(keys)
    if len(_ENCODED) < 1024:
        _ENCODED[names] = found
    return found


# --------------------------------------------------------------------------- contracts, once
#
# A contract is parsed (or built in Python) and compiled once per content; the program is stored
# beside bytecode by ``_cache`` and kept here for the process. Within the process, parsed contracts
# are keyed by path, mtime, size, ctime and inode, so a contracted import of an unchanged contract
# costs one ``stat``; failures are never cached.


class Entry:
    """One contract: its plain form, its program, and what was judged with it.

    ``verdicts`` holds the keys of compliant verdicts; failures are never added. For a program whose
    residual has a ``plan`` (:func:`plan`: environment checks and caller operations, AND-ed) a key
    is the caller's part only — names, source path and stamp — and the environment is read on every
    check; for any other program a key is :func:`verdict_key`. The attrs models are built on first
    request only (the API's ``load_contract``); violations are explained from the program itself.
    """

    __slots__ = (
        "_checked",
        "_model",
        "digest",
        "memo",
        "path",
        "plain",
        "plan",
        "program",
        "residual",
        "verdicts",
    )

    def __init__(
        self, path: "str", key: "bytes", plain: "Node", program: "tuple[Any, ...]", checked: "bool" = True
    ) -> "None":
        self.path = path
        self.digest = key
        self.plain = plain
        self.program = program
        self.verdicts: set[object] = set()
        self.memo: dict[Any, bool] = {}  # structural operations proven per caller source (Run)
        # The program specialised to this platform (:func:`specialise`), computed on first use;
        # ``False`` until then, None when the platform alone refuses.
        self.residual: tuple[Any, ...] | bool | None = False
        # :func:`plan` of the residual, computed on first use; ``False`` until then, None when the
        # residual has none (alternatives, distributions: the verdict cache decides).
        self.plan: tuple[Any, ...] | bool | None = False
        self._model: Contract | None = None
        self._checked = checked  # False for a tree read back from a cache record

    def model(self) -> "Contract":
        """The contract as attrs models (built once; ``load_contract`` returns the same object).

        A tree read from a cache record is shape-checked first; if it is not a sound contract
        tree after all, the contract file is parsed again (and the entry repaired), so a damaged
        record can never make the engine fail.
        """
        model = self._model
        if model is None:
            from ._schema import shape_ok, to_models

            if not self._checked:
                if not shape_ok(self.plain):
                    fresh = contract_entry(self.path, _read_all(self.path), remember=False)
                    self.plain, self.program = fresh.plain, fresh.program
                    self.residual = self.plan = False
                    self.verdicts.clear()
                    self.memo.clear()
                self._checked = True
            model = self._model = to_models(self.plain, self.path)
        return model

    def __repr__(self) -> "str":
        return f"<contract entry {self.path}>"


_entries: "dict[tuple[object, ...], Entry]" = {}
_lock = ForkSafeLock()
_ENTRY_LIMIT = 4096


def clear() -> "None":
    """Forget every contract parsed in this process (the files beside bytecode stay)."""
    with _lock:
        _entries.clear()


def _remember(key: "tuple[object, ...]", entry: "Entry") -> "Entry":
    with _lock:
        if len(_entries) >= _ENTRY_LIMIT:
            _entries.pop(next(iter(_entries)))
        _entries[key] = entry
    return entry


def _read_error(path: "str", exc: "OSError") -> "ContractError":
    from ._errors import ContractError

    reason = exc.strerror or type(exc).__name__
    return ContractError(path, 0, 0, "", f"cannot read the contract: {reason}")


def _sidecar_record_path(path: "str") -> "str | None":
    directory, name = os.path.split(path)
    for suffix in (".yml", ".yaml"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return cache_path(directory, name[: -len(suffix)])
    return cache_path(directory, name)


def _size_check(path: "str") -> "Any":
    def check(stat: "os.stat_result") -> "None":
        if stat.st_size > MAX_CONTRACT_BYTES:
            raise too_large(path)  # refused before reading: not an OSError, so not "unreadable"

    return check


def _read_all(path: "str") -> "bytes":
    try:
        return read_regular(path, MAX_CONTRACT_BYTES)[0]
    except OSError as exc:
        raise _read_error(path, exc) from None


def _stamp(path: "str", stat: "os.stat_result") -> "tuple[object, ...]":
    """What identifies a contract file's content without reading it: the mtime and size a copy
    can keep (``cp -p``, ``rsync -t``, tar) are not enough, so the inode and the ctime — which no
    write or ``utime`` leaves unchanged — are part of it. (``contract_entry`` makes this tuple
    inline on its fast path: keep the two alike.)"""
    return ("file", path, stat.st_mtime_ns, stat.st_size, stat.st_ctime_ns, stat.st_ino)


def contract_entry(path: "str", data: "bytes | None" = None, *, remember: "bool" = True) -> "Entry":
    """The parsed contract at ``path`` (or in ``data``, its bytes read through a loader).

    Raises :class:`ContractError` for an unreadable, oversized or malformed contract.
    ``remember=False`` parses ``data`` without consulting or filling any cache.
    """
    if data is not None:
        if len(data) > MAX_CONTRACT_BYTES:
            raise too_large(path)
        raw = bytes(data)
        key = digest(raw)
        if not remember:
            return _parse(path, raw, key)
        memo: tuple[object, ...] = ("data", path, key)
        entry = _entries.get(memo)
        if entry is not None:
            return entry
        return _remember(memo, _parse(path, raw, key))
    try:
        # One stat answers the common case (parsed before, unchanged) without opening the file.
        stat = os.stat(path)
        # _stamp(path, stat), inline: this runs on every contracted import
        entry = _entries.get(("file", path, stat.st_mtime_ns, stat.st_size, stat.st_ctime_ns, stat.st_ino))
        if entry is not None:
            return entry
        raw, stat = read_regular(path, MAX_CONTRACT_BYTES, _size_check(path))
        memo = _stamp(path, stat)  # describes what was actually read
    except OSError as exc:
        raise _read_error(path, exc) from None
    if len(raw) > MAX_CONTRACT_BYTES:
        raise too_large(path)
    key = digest(raw)
    record_path = _sidecar_record_path(path)
    entry = _from_record(path, key, read_record(record_path, "contract", key))
    if entry is None:
        entry = _parse(path, raw, key)
        write_record(record_path, "contract", key, _record_of(entry), stat)
    return _remember(memo, entry)


def _from_record(path: "str", key: "bytes", payload: "Any") -> "Entry | None":
    """An entry from a cache record's payload; None when the payload is not a sound contract."""
    if payload is None:
        return None
    try:
        plain, program, facts, residual = payload
        if type(plain) is not tuple or type(program) is not tuple or len(program) != 5:
            return None
        # The tree's full shape is checked when the models are built from it (Entry.model); the
        # admitting run reads the program defensively, and anything it cannot read sends it to the
        # explanation. The program specialised to the platform that wrote the record is kept when
        # this is the same platform, so a warm import does not even load the version evaluator.
        entry = Entry(path, key, plain, program, checked=False)
        if facts == platform_facts()._key() and (residual is None or type(residual) is tuple):
            entry.residual = residual
        return entry
    except Exception:  # anything odd in a record means "not ours": parse the contract again
        return None


def _parse(path: "str", raw: "bytes", key: "bytes") -> "Entry":
    from ._contract_parse import parse_plain

    plain = parse_plain(raw, path)
    return Entry(path, key, plain, compile_contract(plain, annotation_norms(plain)))


def _record_of(entry: "Entry") -> "tuple[Any, ...]":
    """What a cache record holds: the plain tree, its program, and the program specialised to
    this platform (with the platform's facts, so that another platform ignores it)."""
    residual = specialise(entry.program[3])
    entry.residual = residual
    return (entry.plain, entry.program, platform_facts()._key(), residual)


_models: "dict[int, tuple[object, Entry]]" = {}


def model_entry(contract: "Contract") -> "Entry":
    """The entry of a contract built in Python (``register``), compiled once per object.

    Keyed by identity (contracts are immutable), with the object kept alive in the value so that
    its id cannot be reused while the entry exists.
    """
    found = _models.get(id(contract))
    if found is not None and found[0] is contract:
        return found[1]
    from ._schema import from_models

    plain = from_models(contract)
    entry = Entry(contract.path, b"", plain, compile_contract(plain, annotation_norms(plain)))
    entry._model = contract
    with _lock:
        if len(_models) >= 256:
            _models.clear()
        _models[id(contract)] = (contract, entry)
    return entry
