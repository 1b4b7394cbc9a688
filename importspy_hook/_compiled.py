"""The compiled check: a contract reduced to the comparisons that prove an import compliant (§11).

``_check`` is the authority on a contract's verdict and on every word of its violations, but it
works on attrs models and a ``Context``, and attrs alone costs ≈ 20 ms to import — four times the
budget of a first contracted import (§11). Most imports are compliant, and proving that needs none
of the messages. So a contract is compiled, once per content, into a small program of plain tuples
(cached beside bytecode with it, see ``_cache``), and :func:`compliant` runs that program against
the platform facts, ``os.environ`` and the plain records of the caller's source (``_shape``).

The one rule that keeps this safe: :func:`compliant` answers True only when ``_check`` would find
no violation; when it cannot tell — a value only the live caller module holds, a version spelling
the small PEP 440 evaluator declines — it answers False, and ``_validate`` asks ``_check``, whose
answer stands. A False is therefore never a refusal by itself, only a "look closer".

Why a compliant verdict may be cached (``Entry.verdicts``, keyed by :func:`verdict_key`): the
program reads nothing but the environment variables it names, the caller's names and source (file
stamp), and facts that cannot change while the process runs; the key holds exactly those. Where
the answer would depend on the live caller module, :func:`compliant` has already said False.
Contracts on installed distributions are not cached (reading the key would cost as much as the
check). Failures are never cached.

Program layout, all marshal-able: ``(annotation norms, flags, environment names, operations)``,
each operation a tuple whose first item is one of the ``OP_*`` codes below.
"""

import os
import sys

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

    from ._plain import Node

    Program = tuple[dict[str, str], int, tuple[str, ...], tuple[tuple[Any, ...], ...]]

__all__ = [
    "annotation_norms",
    "caller_source",
    "compile_contract",
    "compliant",
    "environment_entries",
    "environment_holds",
    "inherits",
    "plan",
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


# --------------------------------------------------------------------------- compiling


def annotation_norms(plain: "Node") -> "dict[str, str]":
    """Every annotation the contract writes → its normalised spelling (``_annotations``).

    Computed when the contract is parsed (``ast`` is needed) and stored with it, so that checking
    compares precomputed strings. A contract without annotations never imports ``ast`` here.
    """
    from ._plain import CHILDREN

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
    return (norms, compiler.flags, tuple(compiler.env_names), tuple(operations))


class _Compiler:
    def __init__(self, norms: "dict[str, str]") -> "None":
        self.norms = norms
        self.flags = 0
        self.env_names: list[str] = []

    def contract(self, fields: "dict[str, Any]") -> "list[tuple[Any, ...]]":
        operations: list[tuple[Any, ...]] = []
        importers = fields.get("importers")
        if importers is not None:
            self.flags |= NEEDS_CALLER_NAME
            allow, deny = importers[1].get("allow"), importers[1].get("deny")
            operations.append((OP_IMPORTERS, _strings(allow), _strings(deny) or ()))
        runtime = fields.get("runtime")
        if runtime is not None:
            operations += self.runtime(runtime[1])
        deployments = fields.get("deployments")
        if deployments:
            operations.append((OP_ANY, tuple(tuple(self.deployment(d[1])) for d in deployments)))
        operations += self.module(fields)
        dependencies = fields.get("dependencies")
        if dependencies:
            self.flags |= NEEDS_DISTRIBUTIONS
            operations.append((OP_DEPENDENCIES, tuple(self.dependency(d[1]) for d in dependencies)))
        return operations

    # -- environment and platform ----------------------------------------------------------------
    def env(self, name: "str", value: "object") -> "tuple[Any, ...]":
        if not isinstance(name, str) or (value is not None and not isinstance(value, str)):
            raise TypeError("environment variables are named by strings and have string values")
        if name not in self.env_names:
            self.env_names.append(name)
        return (OP_ENV, name, value)

    def python(self, text: "str") -> "tuple[Any, ...]":
        return (OP_PYTHON, text, _versions().parse_requirement(text))

    def runtime(self, fields: "dict[str, Any]") -> "list[tuple[Any, ...]]":
        operations: list[tuple[Any, ...]] = []
        if fields.get("python") is not None:
            operations.append(self.python(fields["python"]))
        for field, code, normalise in (
            ("os", OP_OS, normalise_os),
            ("architecture", OP_ARCH, normalise_arch),
            ("implementation", OP_IMPLEMENTATION, _implementation),
        ):
            names = _strings(fields.get(field))
            if names:
                operations.append((code, frozenset(normalise(name) for name in names)))
        for variable in fields.get("environment") or ():
            operations.append(self.env(variable[1]["name"], variable[1].get("value")))
        return operations

    def deployment(self, fields: "dict[str, Any]") -> "list[tuple[Any, ...]]":
        operations: list[tuple[Any, ...]] = []
        if fields.get("arch") is not None:
            operations.append((OP_ARCH, frozenset((normalise_arch(fields["arch"]),))))
        systems = fields.get("systems")
        if systems:
            operations.append((OP_ANY, tuple(tuple(self.system(s[1])) for s in systems)))
        return operations

    def system(self, fields: "dict[str, Any]") -> "list[tuple[Any, ...]]":
        operations: list[tuple[Any, ...]] = []
        if fields.get("os") is not None:
            operations.append((OP_OS, frozenset((normalise_os(fields["os"]),))))
        environment = fields.get("environment")
        if environment is not None:
            variables = environment[1].get("variables") or ()
            secrets = environment[1].get("secrets") or ()
            for _, _, variable in environment_entries(variables, secrets, _node_name):
                operations.append(self.env(variable[1]["name"], variable[1].get("value")))
        pythons = fields.get("pythons")
        if pythons:
            operations.append((OP_ANY, tuple(tuple(self.python_entry(p[1])) for p in pythons)))
        return operations

    def python_entry(self, fields: "dict[str, Any]") -> "list[tuple[Any, ...]]":
        operations: list[tuple[Any, ...]] = []
        if fields.get("version") is not None:
            operations.append(self.python(fields["version"]))
        if fields.get("interpreter") is not None:
            operations.append((OP_IMPLEMENTATION, frozenset((_implementation(fields["interpreter"]),))))
        for module in fields.get("modules") or ():
            operations += self.module(module[1])
        return operations

    def dependency(self, fields: "dict[str, Any]") -> "tuple[Any, ...]":
        version = fields.get("version")
        return (
            normalise_distribution_name(fields["name"]),
            version,
            None if version is None else _versions().parse_requirement(version),
            bool(fields.get("required", False)),
            bool(fields.get("allowed", True)),
        )

    # -- the importer's structure ----------------------------------------------------------------
    def module(self, fields: "dict[str, Any]") -> "list[tuple[Any, ...]]":
        filename, version = fields.get("filename"), fields.get("version")
        variables = fields.get("variables") or ()
        functions = fields.get("functions") or ()
        classes = fields.get("classes") or ()
        if filename is None and version is None and not variables and not functions and not classes:
            return []
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
                tuple(self.named_value(v[1]) for v in variables),
                tuple(self.function(f[1]) for f in functions),
                tuple(self.klass(c[1]) for c in classes),
            )
        ]

    def annotation(self, text: "object") -> "tuple[Any, Any]":
        return (text, self.norms.get(text) if isinstance(text, str) else None)

    def named_value(self, fields: "dict[str, Any]") -> "tuple[Any, ...]":
        """``(name, annotation, its norm, required value or None, value as written)``."""
        annotation, norm = self.annotation(fields.get("annotation"))
        return (fields["name"], annotation, norm, fields.get("value"), fields.get("value_text"))

    def function(self, fields: "dict[str, Any]") -> "tuple[Any, ...]":
        arguments = fields.get("arguments")
        returns, returns_norm = self.annotation(fields.get("return_annotation"))
        return (
            fields["name"],
            None if arguments is None else tuple(self.named_value(a[1]) for a in arguments),
            returns,
            returns_norm,
        )

    def klass(self, fields: "dict[str, Any]") -> "tuple[Any, ...]":
        attributes = fields.get("attributes")
        methods = fields.get("methods")
        superclasses = fields.get("superclasses")
        return (
            fields["name"],
            None
            if attributes is None
            else tuple((a[1].get("type"), *self.named_value(a[1])) for a in attributes),
            None if methods is None else tuple(self.function(m[1]) for m in methods),
            None if superclasses is None else tuple(s[1]["name"] for s in superclasses),
        )


def environment_entries(variables: "Any", secrets: "Any", name: "Any") -> "list[tuple[str, int, Any]]":
    """The entries of one ``environment`` block that are checked: ``(list, index, entry)``.

    Every variable; then every secret whose name is not also under ``variables`` (a secret listed
    there too is checked once, with its value requirement, §6). The one place of that rule, for the
    compiled check and for ``_check``'s messages alike; ``name(entry)`` reads an entry's name
    (a plain node's or a model's).
    """
    found = [("variables", index, variable) for index, variable in enumerate(variables)]
    listed = {name(variable) for variable in variables}
    for index, secret in enumerate(secrets):
        if name(secret) not in listed:
            found.append(("secrets", index, secret))
    return found


def _node_name(node: "Any") -> "Any":
    return node[1]["name"]


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


def _same_annotation(expected: "str", norm: "str | None", actual: "str", norms: "dict[str, str]") -> "bool":
    """``_check``'s rule (same text, or same normalised text) on precomputed spellings.

    ``norm`` is the contract's (computed when it was parsed), ``norms`` the caller's (computed
    when its source was parsed, for the texts normalisation can change): ``ast`` is imported here
    only for a record that lacks one.
    """
    if expected == actual:
        return True
    found = norms.get(actual)
    if found is None:
        from ._shape import plain_annotation

        if plain_annotation(actual):
            found = actual
        else:
            from ._annotations import normalise_annotation

            found = normalise_annotation(actual)
    if norm is None:
        from ._annotations import normalise_annotation

        norm = normalise_annotation(expected)
    return norm == found


def _requirement_matches(text: "str", clauses: "Any", actual: "str") -> "bool":
    """``_check``'s ``_python_matches``, with the clauses parsed when the contract was compiled."""
    return bool(_versions().matches(text, actual, clauses))


def _module_version_matches(required: "str", form: "Any", actual: "str") -> "bool":
    """``_check``'s ``_version_matches``: a specifier, or an exact version (PEP 440 equality)."""
    if required[:1] in _OPERATOR_START:
        return _requirement_matches(required, form, actual)
    return bool(_versions().same_version(required, actual))


def inherits(required: "str", bases: "tuple[str, ...]") -> "bool":
    """The superclass rule (§6): a base named in full, or by its last dotted part (generic
    arguments ignored): ``Base`` is met by ``mod.Base`` and ``Base[T]``."""
    last = required.rsplit(".", 1)[-1]
    return any(base == required or base.split("[", 1)[0].rsplit(".", 1)[-1].strip() == last for base in bases)


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


def _platform_holds(operation: "tuple[Any, ...]", facts: "Any") -> "bool":
    code = operation[0]
    if code == OP_PYTHON:
        return _requirement_matches(operation[1], operation[2], facts.python_version)
    if code == OP_OS:
        return bool(facts.os in operation[1])
    if code == OP_ARCH:
        return bool(facts.arch in operation[1])
    return bool(facts.implementation.lower() in operation[1])


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
            residual.append((OP_ANY, tuple(alternatives)))
    return tuple(residual)


class Run:
    """One check of one import: the caller, and what was read about it (read at most once).

    ``memo`` (the contract entry's, see ``_cache.Entry``) keeps the structural operations proven on
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
        """Every operation holds. The two kinds met on every import — an environment variable, and a
        structural requirement already proven on this caller source — are decided inline."""
        data = _ENVIRON_DATA if os.environ is _ENVIRON else None
        keys = _KEYS
        for operation in operations:
            code = operation[0]
            if code == OP_ENV and data is not None:
                key = keys.get(operation[1])
                if key is not None:
                    actual = data.get(key)
                    if actual is None:
                        return False
                    expected = operation[2]
                    if expected is not None and actual != (_STORED.get(expected) or _stored(expected)):
                        return False
                    continue
            elif code == OP_MODULE:
                source = self._source
                if source.__class__ is tuple and (id(operation), source[0], source[1]) in self.memo:
                    continue
            if not self.one(operation):
                return False
        return True

    def one(self, operation: "tuple[Any, ...]") -> "bool":
        code = operation[0]
        if code == OP_ENV:
            actual = self.env(operation[1])
            return actual is not None and (operation[2] is None or actual == _stored(operation[2]))
        if code == OP_MODULE:
            source = self._source
            if source is _NOT_YET:
                source = self.source() if self.caller is not None else None
            if source is None:
                return False  # no caller, or source only a loader can give: _check reads the live module
            key = (id(operation), source[0], source[1])
            if key in self.memo:
                return True
            if not self.module(operation, source):
                return False
            if len(self.memo) >= 256:
                self.memo.clear()
            self.memo[key] = True
            return True
        if code == OP_ANY:
            for alternative in operation[1]:  # noqa: SIM110 - see all()
                if self.all(alternative):
                    return True
            return False
        if code == OP_IMPORTERS:
            return self.importers(operation)
        if code == OP_DEPENDENCIES:
            return self.dependencies(operation)
        if code in _PLATFORM:  # a program that was not specialised
            return _platform_holds(operation, platform_facts())
        return False  # an operation this code does not know: let _check decide

    def importers(self, operation: "tuple[Any, ...]") -> "bool":
        from fnmatch import fnmatchcase

        caller = self.caller
        names = [
            name
            for name in (getattr(caller, "module_name", None), getattr(caller, "name", None))
            if isinstance(name, str) and name
        ]
        _, allow, deny = operation
        if not names and (allow or deny):
            return False  # an unidentified importer is neither allowed nor proven not denied (§5)
        if allow and not any(fnmatchcase(name, pattern) for name in names for pattern in allow):
            return False
        return not any(fnmatchcase(name, pattern) for pattern in deny for name in names)

    def dependencies(self, operation: "tuple[Any, ...]") -> "bool":
        installed = _module("._context").installed_distributions()
        for name, text, clauses, required, allowed in operation[1]:
            version = installed.get(name)
            if version is None:
                if required:
                    return False
                continue
            if not allowed:
                return False
            if text is not None and not _requirement_matches(text, clauses, version):
                return False
        return True

    # -- structure -------------------------------------------------------------------------------
    def module(self, operation: "tuple[Any, ...]", source: "tuple[str, tuple[int, int], Any]") -> "bool":
        _, filename, version, form, variables, functions, classes = operation
        parsed = source[2]
        if filename is not None and os.path.basename(source[0]) != filename:
            return False
        if version is not None:
            declared = None if parsed is None else parsed[0].get("__version__")
            if declared is None or not declared[1] or not isinstance(declared[2], str):
                return False  # the version would come from the live module or the distribution
            if not _module_version_matches(version, form, declared[2]):
                return False
        if not (variables or functions or classes):
            return True
        if parsed is None:
            return False
        found_variables, found_functions, found_classes, _, norms = parsed
        for variable in variables:
            if not _variable(variable, found_variables, norms):
                return False
        for function in functions:
            found = found_functions.get(function[0])
            if found is None or not _signature(function, found, norms):
                return False
        return all(_klass(klass, found_classes, norms) for klass in classes)


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


_SHAPE: "Any" = None  # the ``_shape`` module, once imported


def caller_source(caller: "Any") -> "tuple[str, tuple[int, int], Any] | None":
    """``(source path, stamp, records or None)`` of ``caller``'s source, None when it has none that
    can be read; one ``stat`` when the source was parsed before (records keyed by path and stamp)."""
    shape = _SHAPE if _SHAPE is not None else _load_shape()
    path = getattr(caller, "file", None)
    if path.__class__ is not str or not path.endswith(".py"):
        path = shape.source_path(path)
        if path is None:
            return None
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
    known = shape.known(path)  # the usual case: parsed in this process, unchanged since
    if known is not None and known[0] == stamp:
        return (path, stamp, known[1])
    readable, parsed = shape.plain_for_file(path, stamp)
    return (path, stamp, parsed) if readable else None


def _load_shape() -> "Any":
    global _SHAPE
    _SHAPE = _module("._shape")
    return _SHAPE


def _variable(
    required: "tuple[Any, ...]", found_variables: "dict[str, Any]", norms: "dict[str, str]"
) -> "bool":
    name, annotation, norm, value, text = required
    found = found_variables.get(name)
    if found is None:
        return False  # perhaps created at run time: only the live module knows
    _, known, actual, actual_annotation = found
    if annotation is not None and (
        actual_annotation is None or not _same_annotation(annotation, norm, actual_annotation, norms)
    ):
        return False
    if value is not None:
        # A value that is not a literal in the source may be filled from the live module.
        return known and values_equal(value, text, actual)
    return True


def _signature(required: "tuple[Any, ...]", found: "tuple[Any, ...]", norms: "dict[str, str]") -> "bool":
    _, arguments, returns, returns_norm = required
    _, found_arguments, found_returns, _ = found
    if arguments is not None and not _arguments(arguments, found_arguments, norms):
        return False
    if returns is not None:
        return found_returns is not None and _same_annotation(returns, returns_norm, found_returns, norms)
    return True


def _arguments(required: "tuple[Any, ...]", found: "tuple[Any, ...]", norms: "dict[str, str]") -> "bool":
    """Each required argument by name (annotation, default), in the same relative order."""
    positions = {argument[0]: index for index, argument in enumerate(found)}
    previous = -1
    for name, annotation, norm, value, text in required:
        position = positions.get(name)
        if position is None or position < previous:
            return False
        previous = position
        _, found_annotation, default, is_literal, default_value = found[position]
        if annotation is not None and (
            found_annotation is None or not _same_annotation(annotation, norm, found_annotation, norms)
        ):
            return False
        if value is None:
            continue
        if default is None:
            return False
        if is_literal:
            if not values_equal(value, text, default_value):
                return False
        elif text is None or " ".join(text.split()) != " ".join(default.split()):
            return False
    return True


def _klass(required: "tuple[Any, ...]", found_classes: "dict[str, Any]", norms: "dict[str, str]") -> "bool":
    name, attributes, methods, superclasses = required
    found = found_classes.get(name)
    if found is None:
        return False
    _, found_attributes, found_methods, bases = found
    for attribute in attributes or ():
        if not _attribute(attribute, found_attributes, norms):
            return False
    if methods:
        by_name = {method[0]: method for method in found_methods}
        for method in methods:
            found_method = by_name.get(method[0])
            if found_method is None or not _signature(method, found_method, norms):
                return False
    return all(inherits(superclass, bases) for superclass in superclasses or ())


def _attribute(
    required: "tuple[Any, ...]", found_attributes: "tuple[Any, ...]", norms: "dict[str, str]"
) -> "bool":
    kind, name, annotation, norm, value, text = required
    for found_name, found_kind, known, actual, found_annotation in found_attributes:
        if found_name != name or (kind is not None and found_kind != kind):
            continue
        if annotation is not None and (
            found_annotation is None or not _same_annotation(annotation, norm, found_annotation, norms)
        ):
            continue
        if value is not None and not (known and values_equal(value, text, actual)):
            continue
        return True
    return False


# --------------------------------------------------------------------------- entry points


def compliant(program: "Program", run: "Run") -> "bool":
    """True only when the import is certainly compliant (see the module docstring)."""
    residual = specialise(program[3])
    return residual is not None and run.all(residual)


def holds(residual: "tuple[Any, ...]", run: "Run") -> "bool":
    """:func:`compliant` for a program already specialised to this platform (:func:`specialise`)."""
    return run.all(residual)


def plan(residual: "tuple[Any, ...]") -> "tuple[Any, ...] | None":
    """The residual as ``(encoded environment checks, environment checks, caller operations,
    reads source)`` when it is a plain conjunction of environment and caller operations — what
    almost every contract leaves once the platform is known — else None.

    Such a residual splits in two: the environment checks, read straight from ``os.environ``'s
    storage on every check (cheaper than building a key of their values), and the operations on
    the caller (its names, its structure), whose verdict depends only on the caller's names and
    source path and stamp, and can be kept under that key. Environment checks are
    ``(name, value or None)``; their encoded form (see :func:`_environment`) is None when
    ``os.environ`` is not the standard mapping.
    """
    checks: list[tuple[str, Any]] = []
    operations: list[tuple[Any, ...]] = []
    reads_source = False
    for operation in residual:
        code = operation[0]
        if code == OP_ENV:
            checks.append((operation[1], operation[2]))
        elif code in (OP_MODULE, OP_IMPORTERS):
            operations.append(operation)
            reads_source = reads_source or code == OP_MODULE
        else:
            return None
    encoded: tuple[tuple[Any, Any], ...] | None = None
    if _ENVIRON_DATA is not None and os.environ is _ENVIRON:
        encoded = tuple(
            (_encoded((name,))[0], None if value is None else _ENVIRON.encodevalue(value))
            for name, value in checks
        )
    return (encoded, tuple(checks), tuple(operations), reads_source)


def environment_holds(plan: "tuple[Any, ...]") -> "bool":
    """Every environment check of a :func:`plan` holds: the variable is set (to its value, if any)."""
    encoded = plan[0]
    data = _ENVIRON_DATA
    if encoded is not None and os.environ is _ENVIRON:
        for key, expected in encoded:
            actual = data.get(key)
            if actual is None or (expected is not None and actual != expected):
                return False
        return True
    for name, value in plan[1]:
        actual = Run.env(name)
        if actual is None or (value is not None and actual != _stored(value)):
            return False
    return True


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
    (and registered for :meth:`Run.all`'s inline reads)."""
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
