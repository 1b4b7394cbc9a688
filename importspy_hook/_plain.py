"""The plain form of a contract: the models of ``_contract_model`` as tuples and dicts (§6, §11).

Why a second form: the attrs models are what users author and what messages are built from, but
attrs costs ≈ 20 ms to import, more than the whole budget of a first contracted import (§11). The
parser (``_contract_parse``) therefore builds this form, which holds exactly what it used to pass to
the models' constructors; the cache (``_cache``) stores it with ``marshal``; the engine
(``_compiled``) compiles it; and the models are built from it only when the API needs
them (:func:`to_models`), so that building them runs the models' own converters and post-init
exactly as before.

A node is ``(kind, fields)``: ``kind`` the model class name, ``fields`` the keyword arguments given
to it (``line`` and ``lines`` included, the contract's ``path`` excluded: it names where the
contract was read from, not what it says). Values stay what the parser made of them: str, int,
float, bool, None, lists and dicts of those. Standard library only, nothing imported at all.
"""

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: this module is on the contracted-import path
if TYPE_CHECKING:
    from typing import Any

    from ._contract_model import Contract

    Node = tuple[str, dict[str, Any]]

__all__ = ["FIELDS", "from_models", "node", "shape_ok", "to_models"]

# Model -> its fields, in declaration order (``line``/``lines`` are common to all).
FIELDS: "dict[str, tuple[str, ...]]" = {
    "Argument": ("name", "annotation", "value", "value_text"),
    "Function": ("name", "arguments", "return_annotation"),
    "Variable": ("name", "annotation", "value", "value_text"),
    "Attribute": ("name", "type", "annotation", "value", "value_text"),
    "Superclass": ("name",),
    "Class": ("name", "attributes", "methods", "superclasses"),
    "Module": ("filename", "version", "variables", "functions", "classes"),
    "EnvVariable": ("name", "value", "secret"),
    "Environment": ("variables", "secrets"),
    "Python": ("version", "interpreter", "modules"),
    "System": ("os", "environment", "pythons"),
    "Deployment": ("arch", "systems"),
    "Runtime": ("python", "os", "architecture", "implementation", "environment"),
    "Dependency": ("name", "version", "required", "allowed"),
    "Importers": ("allow", "deny"),
    "Contract": (
        "filename",
        "version",
        "variables",
        "functions",
        "classes",
        "deployments",
        "runtime",
        "dependencies",
        "importers",
        "schema_version",
        "policy_id",
    ),
}

# (model, field) -> (kind of the child node, True when the field holds a tuple of them).
_MODULE_CHILDREN = {
    "variables": ("Variable", True),
    "functions": ("Function", True),
    "classes": ("Class", True),
}
CHILDREN: "dict[str, dict[str, tuple[str, bool]]]" = {
    "Function": {"arguments": ("Argument", True)},
    "Class": {
        "attributes": ("Attribute", True),
        "methods": ("Function", True),
        "superclasses": ("Superclass", True),
    },
    "Module": _MODULE_CHILDREN,
    "Environment": {"variables": ("EnvVariable", True), "secrets": ("EnvVariable", True)},
    "Python": {"modules": ("Module", True)},
    "System": {"environment": ("Environment", False), "pythons": ("Python", True)},
    "Deployment": {"systems": ("System", True)},
    "Runtime": {"environment": ("EnvVariable", True)},
    "Contract": {
        **_MODULE_CHILDREN,
        "deployments": ("Deployment", True),
        "runtime": ("Runtime", False),
        "dependencies": ("Dependency", True),
        "importers": ("Importers", False),
    },
}


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
        children = CHILDREN.get(kind, {})
        kwargs: dict[str, Any] = {}
        for name, value in fields.items():
            child = children.get(name)
            if child is not None and value is not None:
                value = tuple(build(each) for each in value) if child[1] else build(value)
            kwargs[name] = value
        return getattr(_contract_model, kind)(**kwargs)

    kind, fields = plain
    built = build((kind, {**fields, "path": path}))
    contract: Contract = built
    return contract


def from_models(model: "Any") -> "Node":
    """The plain form of a model built in Python (a contract given to ``register``)."""
    kind = type(model).__name__
    children = CHILDREN.get(kind, {})
    fields: dict[str, Any] = {}
    for name in FIELDS[kind]:
        value = getattr(model, name)
        child = children.get(name)
        if child is not None and value is not None:
            value = tuple(from_models(each) for each in value) if child[1] else from_models(value)
        fields[name] = value
    fields["line"] = model.line
    fields["lines"] = dict(model.lines)
    return (kind, fields)


def shape_ok(plain: "object", kind: "str" = "Contract") -> "bool":
    """Whether ``plain`` is a well-formed node tree (what a cache file read back must be).

    Checks structure, not values: node kinds, field names, child nodes where children belong,
    and positions as ints. Values are checked again where they are used.
    """
    if type(plain) is not tuple or len(plain) != 2:
        return False
    name, fields = plain
    if name != kind or type(fields) is not dict:
        return False
    allowed = FIELDS[kind]
    children = CHILDREN.get(kind, {})
    for field, value in fields.items():
        if field == "line":
            if type(value) is not int:
                return False
            continue
        if field == "lines":
            if type(value) is not dict or any(
                type(key) is not str or type(number) is not int for key, number in value.items()
            ):
                return False
            continue
        if field not in allowed:
            return False
        child = children.get(field)
        if child is None or value is None:
            continue
        child_kind, many = child
        if many:
            if type(value) is not tuple or not all(shape_ok(each, child_kind) for each in value):
                return False
        elif not shape_ok(value, child_kind):
            return False
    return True
