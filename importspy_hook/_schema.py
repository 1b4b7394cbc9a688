"""The contract language, written once (§6): node kinds, their fields, value types and rules.

One table, read by every way of building a contract:

* the parser (``_contract_parse``) takes from it the keys each YAML mapping may hold (unknown keys
  are errors), which key is required, how each value is read, and each value's rule;
* ``register()`` (``_activation.register``) walks a contract built from the attrs models with
  :func:`model_problem`, which applies the same rules to the same fields;
* the plain form (below: what the parser builds, the cache stores and the compiler reads) and the
  cache's shape check (:func:`shape_ok`) take each kind's fields and children from it;
* ``contracts/contract.schema.json`` (for editors) and the attrs models (``_contract_model``) are
  tested against it field by field (``tests/test_schema_agreement.py``).

What is *not* here, because it belongs to one way of writing a contract only: YAML node kinds and
tags ("expected a string, found a number (quote it)"), positions, the two YAML aliases that may not
be given together with the key they spell, and the resource limits; all in ``_contract_parse``.

A value's rule takes the value already known to have its Python type (a ``str`` for texts) and
answers why it is not acceptable, or None; the message is the one a file's error and a
``register()`` error both show. Standard library only, no attrs, no ruamel.yaml: the parser reads
this table on every parse, and the shape check of a cache record reads it when a contract's models
are built; the rules import what they need (``packaging`` for version specifiers, ``ast`` for
annotations) only when a value of their type is met.
"""

import os

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs milliseconds
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ._contract_model import Contract

    Node = tuple[str, dict[str, Any]]

__all__ = [
    "ARCH_NAMES",
    "ATTRIBUTE_TYPES",
    "CHILDREN",
    "IMPLEMENTATION_NAMES",
    "KINDS",
    "OS_NAMES",
    "Field",
    "Kind",
    "Type",
    "env_name_problem",
    "from_models",
    "join_key",
    "model_problem",
    "node",
    "shape_ok",
    "to_models",
]

# --------------------------------------------------------------------------- vocabularies

# Accepted spellings (compared lower-case, ASCII only) of the names that have a closed vocabulary.
# A misspelt OS would otherwise never match and silently refuse every importer — or, inside an
# alternative, silently disable that alternative — so unknown names are contract errors. The
# values are compared after the normalisation of ``_context`` (``macos`` ≡ ``darwin``).
OS_NAMES = frozenset({
    "linux", "darwin", "macos", "mac", "osx", "macosx", "windows", "win32", "nt", "freebsd",
    "openbsd", "netbsd", "sunos", "aix", "cygwin", "emscripten", "wasi", "android", "ios",
})  # fmt: skip
ARCH_NAMES = frozenset({
    "x86_64", "amd64", "x86-64", "x64", "aarch64", "arm64", "armv8", "armv8l", "i386", "i486",
    "i586", "i686", "x86", "arm", "armv6l", "armv7", "armv7l", "ppc", "ppc64", "ppc64le", "s390x",
    "riscv64", "loongarch64", "mips", "mips64", "sparc64", "wasm32",
})  # fmt: skip
IMPLEMENTATION_NAMES = frozenset({
    "cpython", "pypy", "graalpy", "graalpython", "ironpython", "jython", "micropython", "brython",
    "pyston", "rustpython", "nuitka", "transcrypt",
})  # fmt: skip
ATTRIBUTE_TYPES = ("class", "instance")
SCHEMA_VERSIONS = (1,)

# PEP 508 distribution names (case-insensitive); compiled when first needed, so that reading the
# table (a cache record's shape check could, on the import path) does not import ``re``.
DISTRIBUTION_NAME_PATTERN = r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$"
_OPERATORS = "<>=!~"


# --------------------------------------------------------------------------- value rules


def env_name_problem(name: "str") -> "str | None":
    """Why ``name`` cannot name an environment variable of this process, or None (§6).

    A name that holds ``=`` can never be set, and one the OS cannot encode (a lone surrogate)
    cannot even be looked up — it would fail in the middle of a check instead of where it is written.
    """
    if "=" in name:
        return "an environment variable name cannot contain '='"
    try:
        os.fsencode(name)
    except UnicodeError:
        return "an environment variable name must be encodable by the operating system"
    return None


def _requirement_problem(text: "str") -> "str | None":
    """A PEP 440 specifier set, or a bare release (``"3.11"`` = any 3.11.x)."""
    from ._versions import check_requirement_syntax

    return check_requirement_syntax(text.strip())


def _module_version_problem(text: "str") -> "str | None":
    """The importer's version: exact (anything), or a specifier set when it starts with an operator."""
    if text.strip()[:1] in tuple(_OPERATORS):
        return _requirement_problem(text)
    return None


def _annotation_problem(text: "str") -> "str | None":
    """An annotation the engine can normalise (one too deep for ``ast`` is refused where written)."""
    from ._annotations import annotation_problem

    return annotation_problem(text)


def not_a_distribution(name: "str") -> "str":
    """The refusal of a dependency's name (also of a YAML key that is not a string at all)."""
    return f"{name!r} is not a distribution name (PEP 508)"


def _distribution_problem(name: "str") -> "str | None":
    import re  # cached by re itself after the first dependency

    return None if re.match(DISTRIBUTION_NAME_PATTERN, name) else not_a_distribution(name)


def _attribute_type_problem(kind: "str") -> "str | None":
    if kind in ATTRIBUTE_TYPES:
        return None
    return f"expected 'class' or 'instance', found {kind!r}"


def schema_version_problem(shown: "str") -> "str":
    """The refusal of a schema version other than 1 (``shown``: as the user wrote it)."""
    return f"unsupported schema_version {shown}; only 1 is known"


def _vocabulary_rule(names: "frozenset[str]", what: "str") -> "Callable[[str], str | None]":
    def problem(text: "str") -> "str | None":
        if text.isascii() and text.lower() in names:
            return None
        return f"unknown {what} {text!r} (expected one of: {', '.join(sorted(names))})"

    return problem


# --------------------------------------------------------------------------- the table


class Type:
    """A leaf value type: its Python type, its rule, and its definition in the JSON Schema.

    ``python``: what a model's field must hold (``object``: anything). ``rule``: see the module
    docstring. ``names``: the closed vocabulary, when there is one. ``schema``: the name of its
    ``$defs`` entry in ``contracts/contract.schema.json`` (None: written inline there).
    """

    __slots__ = ("name", "names", "python", "rule", "schema")

    def __init__(
        self,
        name: "str",
        python: "type",
        rule: "Callable[[Any], str | None] | None" = None,
        schema: "str | None" = None,
        names: "frozenset[str] | tuple[str, ...] | None" = None,
    ) -> "None":
        self.name = name
        self.python = python
        self.rule = rule
        self.schema = schema
        self.names = names

    def __repr__(self) -> "str":
        return f"<type {self.name}>"


def _vocabulary(names: "frozenset[str]", what: "str", schema: "str") -> "Type":
    return Type(what, str, _vocabulary_rule(names, what), schema, names)


TEXT = Type("text", str, None, "text")
ANNOTATION = Type("annotation", str, _annotation_problem, "annotation")
VALUE = Type("value", object, None, "value")
REQUIREMENT = Type("requirement", str, _requirement_problem, "requirement")
MODULE_VERSION = Type("module version", str, _module_version_problem, "moduleVersion")
BOOL = Type("bool", bool)
SCHEMA_VERSION = Type("schema version", int)
ENV_NAME = Type("environment variable name", str, env_name_problem, "envName")
ENV_VALUE = Type("environment value", str, None, "envValue")
DISTRIBUTION = Type("distribution name", str, _distribution_problem)
OS = _vocabulary(OS_NAMES, "operating system", "os")
ARCH = _vocabulary(ARCH_NAMES, "architecture", "arch")
INTERPRETER = _vocabulary(IMPLEMENTATION_NAMES, "interpreter", "implementation")
IMPLEMENTATION = _vocabulary(IMPLEMENTATION_NAMES, "implementation", "implementation")
ATTRIBUTE_TYPE = Type("attribute type", str, _attribute_type_problem, None, ATTRIBUTE_TYPES)

# YAML layouts beyond "a mapping of this kind" / "a list of them" (how the parser reads a field):
NAMED = "named"  # a list of entries, or ImportSpy's older mapping NAME: value (``variables``)
TEXT_OR_ENTRY = "text or entry"  # a list of names or of {name: ...} (``superclasses``)
NAMES = "names"  # a list of names only (``secrets``)
ENV = "env"  # a list of entries, or a mapping NAME: null | value | {value, secret}
ENV_MAPPING = "env mapping"  # only the mapping NAME: null | value | {value, secret}
KEYED = "keyed"  # a mapping NAME: null | {the kind's other keys} (``dependencies``)
ONE_OR_LIST = "one or list"  # one name, or a list of names (``runtime.os``)


class Field:
    """One key of a kind's YAML mapping, and the model field it fills.

    ``type``: a leaf :class:`Type`, or None when the field holds nodes of ``kind``. ``many``: a list
    of them (a tuple in the models). ``layout``: how the YAML writes it, when not plainly (see the
    layout names above). ``spells``: the model field this key fills, when it is an alias
    (``default`` spells an argument's ``value``); None for a key that is accepted and not kept.
    """

    __slots__ = ("key", "kind", "layout", "many", "required", "spells", "type")

    def __init__(
        self,
        key: "str",
        type: "Type | None" = None,
        *,
        kind: "str | None" = None,
        many: "bool" = False,
        required: "bool" = False,
        layout: "str | None" = None,
        spells: "str | None" = "",
    ) -> "None":
        self.key = key
        self.type = type
        self.kind = kind
        self.many = many
        self.required = required
        self.layout = layout
        self.spells = key if spells == "" else spells

    def __repr__(self) -> "str":
        return f"<field {self.key}>"


class Kind:
    """A node kind: a YAML mapping of the contract language and the attrs model it becomes.

    ``fields`` in the order the user is told about them ("expected one of: ..."). ``keyed``: the
    keys an entry may hold when it is written under its name (``dependencies: {NAME: {...}}``).
    ``derived``: model fields no key fills directly (an entry's value as written). ``rule``: a rule
    on the entry as a whole, given a getter of its field values.
    """

    __slots__ = ("derived", "fields", "keyed", "keys", "name", "required", "rule")

    def __init__(
        self,
        name: "str",
        fields: "tuple[Field, ...]",
        *,
        keyed: "tuple[str, ...]" = (),
        derived: "tuple[str, ...]" = (),
        rule: "Callable[[Callable[[str], Any]], str | None] | None" = None,
    ) -> "None":
        self.name = name
        self.fields = fields
        self.keys = tuple(field.key for field in fields)
        self.required = tuple(field.key for field in fields if field.required)
        self.keyed = keyed
        self.derived = derived
        self.rule = rule

    def model_fields(self) -> "tuple[str, ...]":
        """The model's fields this kind's keys fill (aliases once), then the derived ones."""
        names: list[str] = []
        for field in self.fields:
            if field.spells is not None and field.spells not in names:
                names.append(field.spells)
        return (*names, *self.derived)

    def __repr__(self) -> "str":
        return f"<kind {self.name}>"


def _dependency_rule(get: "Callable[[str], Any]") -> "str | None":
    if get("required") is True and get("allowed") is False:
        return "a dependency cannot be both required and not allowed"
    return None


def _module_fields() -> "tuple[Field, ...]":
    return (
        Field("filename", TEXT),
        Field("version", MODULE_VERSION),
        Field("variables", kind="Variable", many=True, layout=NAMED),
        Field("functions", kind="Function", many=True),
        Field("classes", kind="Class", many=True),
    )


def _named_value_fields() -> "tuple[Field, ...]":
    return (Field("name", TEXT, required=True), Field("annotation", ANNOTATION), Field("value", VALUE))


KINDS: "dict[str, Kind]" = {
    kind.name: kind
    for kind in (
        Kind(
            "Contract",
            (
                Field("schema_version", SCHEMA_VERSION),
                Field("policy_id", TEXT),
                *_module_fields(),
                Field("deployments", kind="Deployment", many=True),
                Field("runtime", kind="Runtime"),
                Field("dependencies", kind="Dependency", many=True, layout=KEYED),
                Field("importers", kind="Importers"),
            ),
        ),
        Kind("Module", _module_fields()),
        Kind("Variable", _named_value_fields(), derived=("value_text",)),
        Kind(
            "Argument",
            (*_named_value_fields(), Field("default", VALUE, spells="value")),
            derived=("value_text",),
        ),
        Kind(
            "Function",
            (
                Field("name", TEXT, required=True),
                Field("arguments", kind="Argument", many=True),
                Field("return_annotation", ANNOTATION),
            ),
        ),
        Kind(
            "Attribute",
            (
                Field("name", TEXT, required=True),
                Field("type", ATTRIBUTE_TYPE),
                Field("annotation", ANNOTATION),
                Field("value", VALUE),
            ),
            derived=("value_text",),
        ),
        Kind("Superclass", (Field("name", TEXT, required=True),)),
        Kind(
            "Class",
            (
                Field("name", TEXT, required=True),
                Field("attributes", kind="Attribute", many=True),
                Field("methods", kind="Function", many=True),
                Field("superclasses", kind="Superclass", many=True, layout=TEXT_OR_ENTRY),
            ),
        ),
        Kind("Deployment", (Field("arch", ARCH), Field("systems", kind="System", many=True))),
        Kind(
            "System",
            (
                Field("os", OS),
                Field("environment", kind="Environment"),
                Field("envs", kind="EnvVariable", many=True, layout=ENV, spells="environment"),
                Field("pythons", kind="Python", many=True),
            ),
        ),
        Kind(
            "Environment",
            (
                Field("variables", kind="EnvVariable", many=True, layout=ENV),
                Field("secrets", kind="EnvVariable", many=True, layout=NAMES),
            ),
        ),
        Kind(
            "EnvVariable",
            (
                Field("name", ENV_NAME, required=True),
                Field("value", ENV_VALUE),
                Field("secret", BOOL),
                # ImportSpy documents it; environment values are always text: read, not kept
                Field("annotation", TEXT, spells=None),
            ),
            keyed=("value", "secret"),
        ),
        Kind(
            "Python",
            (
                Field("version", REQUIREMENT),
                Field("interpreter", INTERPRETER),
                Field("modules", kind="Module", many=True),
            ),
        ),
        Kind(
            "Runtime",
            (
                Field("python", REQUIREMENT),
                Field("os", OS, many=True, layout=ONE_OR_LIST),
                Field("architecture", ARCH, many=True, layout=ONE_OR_LIST),
                Field("implementation", IMPLEMENTATION, many=True, layout=ONE_OR_LIST),
                Field("environment", kind="EnvVariable", many=True, layout=ENV_MAPPING),
            ),
        ),
        Kind(
            "Dependency",
            (
                Field("name", DISTRIBUTION, required=True),
                Field("version", REQUIREMENT),
                Field("required", BOOL),
                Field("allowed", BOOL),
            ),
            keyed=("version", "required", "allowed"),
            rule=_dependency_rule,
        ),
        Kind("Importers", (Field("allow", TEXT, many=True), Field("deny", TEXT, many=True))),
    )
}


# --------------------------------------------------------------------------- models (register)


def join_key(key: "str", name: "str") -> "str":
    """The key path of ``name`` inside the entry at ``key`` (what errors of files and models name)."""
    return f"{key}.{name}" if key else name


def _leaf_problem(kind: "Type", value: "Any") -> "str | None":
    """A model's leaf value: its Python type (the models' counterpart of YAML's tags), its rule."""
    python = kind.python
    if python is str and (type(value) is not str or not value.strip()):
        if kind is ENV_VALUE:
            return "an environment value must be a string"
        return f"expected a non-empty string, found {value!r}"
    if python is bool and type(value) is not bool:
        return f"expected true or false, found {value!r}"
    if kind is SCHEMA_VERSION and (type(value) is not int or value not in SCHEMA_VERSIONS):
        return schema_version_problem(repr(value))
    rule = kind.rule
    return None if rule is None else rule(value)


def model_problem(model: "Any", kind: "str" = "Contract", key: "str" = "") -> "tuple[str, str] | None":
    """The first (key path, reason) that makes a contract built from the models malformed, or None.

    The same table and rules as a file's, applied to the models' fields: what a file refuses,
    ``register()`` refuses, at the same key path wherever the models allow the same path
    (entries written under their name, like ``dependencies.NAME``, are named the same way).
    Reads the models with ``getattr`` only (no attrs import).
    """
    if type(model).__name__ != kind:
        return key, f"expected {kind}, found {model!r}"
    table = KINDS[kind]
    for field in table.fields:
        if field.spells != field.key:
            continue  # an alias, or a key that is not kept: the model has no such field
        value = getattr(model, field.key)
        if value is None:
            continue
        where = join_key(key, field.key)
        if not field.many:
            items: tuple[tuple[str, Any], ...] = ((where, value),)
        elif type(value) is not tuple:  # the models' converters make tuples of any other list
            return where, f"expected a list, found {value!r}"
        else:
            items = tuple((f"{where}[{index}]", item) for index, item in enumerate(value))
        for item_key, item in items:
            if field.type is not None:
                problem = _leaf_problem(field.type, item)
                if problem is not None:
                    return item_key, problem
                continue
            name = getattr(item, "name", None)
            keyed = field.layout in (KEYED, ENV_MAPPING) and type(name) is str
            if keyed:  # written under its name in a file: NAME is its key there, and here
                item_key = join_key(where, str(name))
            found = model_problem(item, field.kind or "", item_key)
            if found is not None:
                if keyed and found[0] == join_key(item_key, "name"):
                    return item_key, found[1]
                return found
    if table.rule is not None:
        problem = table.rule(lambda name: getattr(model, name))
        if problem is not None:
            return key, problem
    return None


# --------------------------------------------------------------------------- the plain form
#
# Why a second form of a contract beside the attrs models: attrs costs ≈ 20 ms to import, more than
# the whole budget of a first contracted import (§11). The parser builds this form, which holds
# exactly what the models' constructors receive; the cache (``_cache``) stores it with ``marshal``;
# the compiler (``_compiled``) compiles it; and the models are built from it only when the API needs
# them (:func:`to_models`), running the models' own converters. A node is ``(kind, fields)``:
# ``kind`` the model class name, ``fields`` its keyword arguments (``line`` and ``lines`` included,
# the contract's ``path`` excluded: it names where the contract was read from, not what it says).
# Values stay what the parser made of them: str, int, float, bool, None, tuples and dicts of those.

# Kind -> {model field holding nodes -> (their kind, True for a tuple of them)}, from the table
# (an alias such as ``envs`` is read into the field it spells, so only the field itself counts).
CHILDREN: "dict[str, dict[str, tuple[str, bool]]]" = {
    name: {
        field.key: (field.kind, field.many)
        for field in kind.fields
        if field.kind and field.spells == field.key
    }
    for name, kind in KINDS.items()
}
_MODEL_FIELDS = {name: frozenset(kind.model_fields()) for name, kind in KINDS.items()}


def node(kind: "str", *args: "Any", **fields: "Any") -> "Node":
    """The plain counterpart of ``Model(*args, **fields)``; a positional argument is the ``name``."""
    if args:
        fields["name"] = args[0]
    return (kind, fields)


def to_models(plain: "Node", path: "str" = "<contract>") -> "Contract":
    """The attrs models of a plain contract (imports attrs: only for the API and for messages)."""
    from . import _contract_model

    def build(item: "Node") -> "Any":
        kind, fields = item
        children = CHILDREN[kind]
        kwargs: dict[str, Any] = {}
        for name, value in fields.items():
            child = children.get(name)
            if child is not None and value is not None:
                value = tuple(build(each) for each in value) if child[1] else build(value)
            kwargs[name] = value
        return getattr(_contract_model, kind)(**kwargs)

    kind, fields = plain
    contract: Contract = build((kind, {**fields, "path": path}))
    return contract


def from_models(model: "Any") -> "Node":
    """The plain form of a model built in Python (a contract given to ``register``)."""
    kind = type(model).__name__
    children = CHILDREN[kind]
    fields: dict[str, Any] = {}
    for name in KINDS[kind].model_fields():
        value = getattr(model, name)
        child = children.get(name)
        if child is not None and value is not None:
            value = tuple(from_models(each) for each in value) if child[1] else from_models(value)
        fields[name] = value
    fields["line"] = model.line
    fields["lines"] = dict(model.lines)
    return (kind, fields)


def shape_ok(plain: "object", kind: "str" = "Contract") -> "bool":
    """Whether ``plain`` is a well-formed node tree (what a cache record read back must be).

    Checks structure, not values: node kinds, field names, child nodes where children belong,
    and positions as ints. Values are checked again where they are used.
    """
    if type(plain) is not tuple or len(plain) != 2:
        return False
    name, fields = plain
    if name != kind or type(fields) is not dict:
        return False
    allowed = _MODEL_FIELDS[kind]
    children = CHILDREN[kind]
    for field, value in fields.items():
        if field == "line":
            if type(value) is not int:
                return False
        elif field == "lines":
            if type(value) is not dict or any(
                type(key) is not str or type(number) is not int for key, number in value.items()
            ):
                return False
        elif field not in allowed:
            return False
        elif field in children and value is not None:
            child_kind, many = children[field]
            items = (value if type(value) is tuple else None) if many else (value,)
            if items is None or not all(shape_ok(each, child_kind) for each in items):
                return False
    return True
