"""``contracts/contract.schema.json`` and the parser must agree on what a valid contract is.

Editors validate contracts with the schema while they are written, the hook with the parser when
they are used: a contract that one accepts and the other refuses would be a trap. Every document
below (plus the whole ImportSpy corpus) goes through both and the verdicts must match.

Known, documented limits of the schema (not in the corpus): it does not bound nesting depth or
alias expansion (the parser does, §6), and its PEP 440 pattern approximates the parser's full check.
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from importspy_hook import _schema
from importspy_hook._contract_parse import parse_contract
from importspy_hook._errors import ContractError
from importspy_hook._schema import ARCH_NAMES, IMPLEMENTATION_NAMES, KINDS, OS_NAMES

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "contracts" / "contract.schema.json"
CORPUS = Path(__file__).parent / "data" / "importspy_corpus"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _jsonable(value: Any) -> Any:
    """What a YAML-aware editor hands the schema: JSON data, or an error for anything else."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"not JSON data: {type(value).__name__}")


def schema_accepts(validator: jsonschema.Draft202012Validator, text: str) -> bool:
    from ruamel.yaml import YAML

    try:
        data = _jsonable(YAML(typ="safe", pure=True).load(text))
    except Exception:  # not loadable YAML (duplicate keys, unknown tags...) is not a contract
        return False
    return bool(validator.is_valid(data))


def parser_accepts(text: str) -> bool:
    try:
        parse_contract(text)
    except ContractError:
        return False
    return True


VALID = [
    "",
    "filename: plugin.py\n",
    "schema_version: 1\npolicy_id: x\n",
    "version: 1.0\n",
    "version: '>=1.2,<2'\n",
    "version: 2024.1b3\n",
    "variables: [{name: A, value: 3.10, annotation: float}]\n",
    "variables: {A: 1, B: null, C: [1, 2]}\n",
    "functions: [{name: f, arguments: [{name: a, default: 1}, {name: b, value: null, default: 2}]}]\n",
    "classes: [{name: C, attributes: [{name: a, type: instance}, {name: b, type: null}], "
    "superclasses: [A, {name: b.B}]}]\n",
    "deployments: [{arch: AMD64, systems: [{os: MacOS, pythons: [{version: 3.10, interpreter: cpython}]}]}]"
    "\n",
    "deployments: [{systems: [{envs: {A: b}, environment: null}]}]\n",
    "deployments: [{systems: [{environment: {variables: [{name: A, secret: true}], secrets: [B]}}]}]\n",
    "deployments: [{systems: [{pythons: [{version: '3.13.0rc1'}, {version: '~=3.11'}, {version: 3}]}]}]\n",
    "runtime: {python: '>=3.10,<3.14', os: linux, architecture: [x86_64, ARM64], implementation: [PyPy]}\n",
    "runtime: {environment: {A: null, B: 1, C: {value: x, secret: true}, D: {}}}\n",
    "runtime: {os: []}\n",
    "runtime: {python: '>=3.10,'}\n",  # packaging ignores an empty clause
    "dependencies: {Ruamel.YAML: {version: '>=0.18'}, x: null, y: {required: true, allowed: null}}\n",
    "importers: {allow: ['app.*'], deny: null}\n",
    "deployments: [&d {arch: x86_64}, *d]\n",
    "deployments:\n  - &d {arch: x86_64, systems: [{os: linux}]}\n  - <<: *d\n    arch: aarch64\n",
    "variables: [{name: D, value: 2024-01-31}]\n",
    "~\n",
    "null\n",
]

INVALID = [
    "a: 1\n",
    "- 1\n",
    "just text\n",
    "filename: 1\n",
    "filename: ''\n",
    "filename: null\nfilename: x\n",
    "schema_version: 2\n",
    "schema_version: '1'\n",
    "policy_id: 3\n",
    "version: '>=1.x'\n",
    "version: true\n",
    "variables: [{value: 1}]\n",
    "variables: [null]\n",
    "variables: 3\n",
    "functions: [{name: f, returns: str}]\n",
    "functions: [{name: f, arguments: [{name: a, value: 1, default: 2}]}]\n",
    "functions: [{name: f, return_annotation: 3}]\n",
    "classes: [{name: C, attributes: [{name: a, type: klass}]}]\n",
    "classes: [{name: C, superclasses: [{name: B, methods: []}]}]\n",
    "deployments: [{arch: sparc}]\n",
    "deployments: [{systems: [{os: linx}]}]\n",
    "deployments: [{systems: [{pythons: [{version: 3.x}]}]}]\n",
    "deployments: [{systems: [{pythons: [{version: '>=3.10,<'}]}]}]\n",
    "deployments: [{systems: [{pythons: [{interpreter: CPyton}]}]}]\n",
    "deployments: [{systems: [{envs: {A: b}, environment: {}}]}]\n",
    "deployments: [{systems: [{environment: {secrets: ['A=B']}}]}]\n",
    "deployments: [{systems: [{environment: {variables: [{name: A, value: [1]}]}}]}]\n",
    "deployments: {arch: x86_64}\n",
    "runtime: {python: '>=3.x'}\n",
    "runtime: {python: true}\n",
    "runtime: {os: [linux, plan9]}\n",
    "runtime: {environment: [A]}\n",
    "runtime: {environment: {A: {value: x, secret: maybe}}}\n",
    "dependencies: {'import:pickle': {allowed: false}}\n",
    "dependencies: {x: {required: true, allowed: false}}\n",
    "dependencies: {x: {declared: true}}\n",
    "dependency_options: {}\n",
    "evidence_requirements: []\n",
    "importers: {allow: app.*}\n",
    "importers: {allow: ['']}\n",
    "filename: !!python/name:os.system\n",
    "filename: !custom x\n",
    "variables: [{name: a, value: !!binary aGk=}]\n",
    "filename: x\n---\nfilename: y\n",
    "filename: [\n",
]


def test_corpus_is_large_enough() -> None:
    assert len(VALID) >= 15 and len(INVALID) >= 30


@pytest.mark.parametrize("document", VALID)
def test_valid_documents(validator: jsonschema.Draft202012Validator, document: str) -> None:
    assert parser_accepts(document), document
    assert schema_accepts(validator, document), document


@pytest.mark.parametrize("document", INVALID)
def test_invalid_documents(validator: jsonschema.Draft202012Validator, document: str) -> None:
    assert not parser_accepts(document), document
    assert not schema_accepts(validator, document), document


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.yml")), ids=lambda path: path.stem)
def test_importspy_corpus_agrees(validator: jsonschema.Draft202012Validator, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert parser_accepts(text) == schema_accepts(validator, text)


def _vocabulary_pattern(validator: jsonschema.Draft202012Validator, name: str) -> re.Pattern[str]:
    return re.compile(validator.schema["$defs"][name]["pattern"])


@pytest.mark.parametrize(
    ("definition", "names"),
    [("os", OS_NAMES), ("arch", ARCH_NAMES), ("implementation", IMPLEMENTATION_NAMES)],
)
def test_vocabularies_match_the_parser(
    validator: jsonschema.Draft202012Validator, definition: str, names: frozenset[str]
) -> None:
    pattern = _vocabulary_pattern(validator, definition)
    for name in names:
        for spelling in (name, name.upper(), name.title()):
            assert pattern.search(spelling), spelling
    for wrong in ("", "x", " linux", "linux ", "linuxx", "amd", "py", "cpython3", "windows10"):
        assert not pattern.search(wrong) or wrong.lower() in names, wrong


def test_schema_describes_every_key_for_editors(validator: jsonschema.Draft202012Validator) -> None:
    schema = validator.schema
    top = schema["properties"]
    assert set(top) == {
        "schema_version",
        "policy_id",
        "filename",
        "version",
        "variables",
        "functions",
        "classes",
        "deployments",
        "runtime",
        "dependencies",
        "importers",
    }
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"

    def described(node: Any) -> bool:
        if "description" in node:
            return True
        if "$ref" in node:
            return described(schema["$defs"][node["$ref"].rsplit("/", 1)[1]])
        return any(described(option) for option in node.get("anyOf", ()))

    assert [key for key, value in top.items() if not described(value)] == []
    assert [name for name, value in schema["$defs"].items() if not described(value)] == []


# --------------------------------------------------------------------------- field by field

# Where each kind of the table is described in the JSON Schema (Importers is written inline).
_DEFINITIONS = {
    "Module": "module",
    "Variable": "variable",
    "Argument": "argument",
    "Function": "function",
    "Attribute": "attribute",
    "Superclass": "superclass",
    "Class": "class",
    "Deployment": "deployment",
    "System": "system",
    "Environment": "environment",
    "EnvVariable": "envVariable",
    "Python": "python",
    "Runtime": "runtime",
    "Dependency": "dependency",
}


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node and len(node) <= 2:  # a reference (with at most a description)
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _options(schema: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    """The alternatives a property accepts, named definitions kept as references, null dropped."""
    result: list[dict[str, Any]] = []
    for option in node.get("anyOf", [node]):
        if option.get("type") == "null":
            continue
        if "anyOf" in option:
            result.extend(_options(schema, option))
        elif _ref(option) in _LAYOUTS:
            result.extend(_options(schema, _resolve(schema, option)))
        else:
            result.append(option)
    return result


_LAYOUTS = {"variables", "envVariables"}  # definitions of the YAML layouts, not of one value


def _ref(option: dict[str, Any]) -> str | None:
    ref = option.get("$ref")
    return None if ref is None else str(ref).rsplit("/", 1)[1]


def _object_of(schema: dict[str, Any], kind: str) -> dict[str, Any]:
    """The JSON Schema object that describes an entry of ``kind`` (its mapping form)."""
    if kind == "Contract":
        return schema
    if kind == "Importers":
        return next(o for o in _options(schema, schema["properties"]["importers"]) if "properties" in o)
    node = _resolve(schema, schema["$defs"][_DEFINITIONS[kind]])
    return next(o for o in _options(schema, node) if o.get("type") == "object" or "properties" in o)


def _leaf_accepted(schema: dict[str, Any], field: _schema.Field, option: dict[str, Any]) -> bool:
    kind = field.type
    assert kind is not None
    if kind.schema is not None:
        return _ref(option) == kind.schema
    if kind is _schema.BOOL:
        return "boolean" in option.get("type", ())
    if kind is _schema.SCHEMA_VERSION:
        return option.get("const") == 1
    if kind is _schema.ATTRIBUTE_TYPE:
        return set(option.get("enum", ())) - {None} == set(_schema.ATTRIBUTE_TYPES)
    if kind is _schema.DISTRIBUTION:
        return False  # a key, not a value: see test_keyed_entries_match_the_table
    raise AssertionError(f"no JSON Schema form known for {kind}")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_has_the_keys_of_the_table(validator: jsonschema.Draft202012Validator, kind: str) -> None:
    """Same keys, same required keys, nothing else accepted: a key added to one is added to both."""
    schema = validator.schema
    table = KINDS[kind]
    entry = _object_of(schema, kind)
    assert entry.get("additionalProperties") is False, kind
    keys = table.keyed if table.keyed and "name" not in entry["properties"] else table.keys
    assert set(entry["properties"]) == set(keys), kind
    required = [key for key in table.required if key in keys]
    assert sorted(entry.get("required", ())) == sorted(required), kind


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_field_has_the_type_of_the_table(validator: jsonschema.Draft202012Validator, kind: str) -> None:
    """Each field's value: its leaf type's definition, or its child kind's (one, a list, or the
    YAML layouts the table names: a mapping form, a single name for a list, names or entries)."""
    schema = validator.schema
    properties = _object_of(schema, kind)["properties"]
    for field in KINDS[kind].fields:
        if field.key not in properties:  # the name of an entry written under it: its key
            assert field.key == "name" and KINDS[kind].keyed, kind
            continue
        options = _options(schema, properties[field.key])
        arrays = [o for o in options if o.get("type") == "array"]
        singles = [o for o in options if o.get("type") != "array"]
        where = f"{kind}.{field.key}"
        if field.type is _schema.VALUE:
            assert _ref(_object_of(schema, kind)["properties"][field.key]) == "value", where
            continue
        if field.type is not None:
            if field.many:
                assert [_leaf_accepted(schema, field, a["items"]) for a in arrays] == [True], where
            if not field.many or field.layout == _schema.ONE_OR_LIST:
                assert any(_leaf_accepted(schema, field, o) for o in singles), where
            else:
                assert singles == [], where
            continue
        child = field.kind or ""
        if not field.many:
            if child == "Importers":  # written inline
                assert singles == [_object_of(schema, child)], where
            else:
                assert [_ref(o) for o in singles] == [_DEFINITIONS[child]], where
            continue
        if field.layout == _schema.KEYED or field.layout == _schema.ENV_MAPPING:
            assert arrays == [], where
        elif field.layout == _schema.NAMES:
            assert [_ref(a["items"]) for a in arrays] == ["envName"], where
        else:
            assert [_ref(a["items"]) for a in arrays] == [_DEFINITIONS[child]], where
        if field.layout in (_schema.NAMED, _schema.ENV, _schema.KEYED, _schema.ENV_MAPPING):
            forms = [_resolve(schema, o).get("type") for o in singles]
            assert forms == ["object"], where  # the mapping form
        else:
            assert singles == [], where


def test_keyed_entries_match_the_table(validator: jsonschema.Draft202012Validator) -> None:
    """``NAME: {...}`` entries: the keys the table allows under a name, the name's own rule."""
    schema = validator.schema
    dependencies = _options(schema, schema["properties"]["dependencies"])[0]
    assert dependencies["propertyNames"]["pattern"] == _schema.DISTRIBUTION_NAME_PATTERN
    assert set(_object_of(schema, "Dependency")["properties"]) == set(KINDS["Dependency"].keyed)
    entry = _resolve(schema, schema["$defs"]["envEntry"])
    mapping = next(o for o in entry["anyOf"] if o.get("type") == "object")
    assert set(mapping["properties"]) == set(KINDS["EnvVariable"].keyed)
    assert _ref(schema["$defs"]["envMapping"]["propertyNames"]) == "envName"


def test_table_and_models_have_the_same_fields_and_children() -> None:
    """The attrs models and the table agree, field by field and child kind by child kind; the plain
    form (what the cache stores) and its shape check take theirs from the table itself."""
    import attrs

    from importspy_hook import _contract_model

    for name, kind in KINDS.items():
        model = getattr(_contract_model, name)
        fields = {f.name: f for f in attrs.fields(model) if f.name not in ("line", "lines", "path")}
        assert set(fields) == set(kind.model_fields()), name
        for field, (child, many) in _schema.CHILDREN[name].items():
            annotation = str(fields[field].type)  # "tuple[Argument, ...] | None"
            assert annotation.startswith(f"tuple[{child}, ...]" if many else child), (name, field)


def test_the_models_short_forms_are_the_tables_layouts() -> None:
    """A list field of the models accepts the short forms its YAML layout in the table allows, and
    no other: the converter of every list field is the one of its layout."""
    import attrs

    from importspy_hook import _contract_model as models

    by_layout = {
        _schema.ONE_OR_LIST: models._names_or_none,
        _schema.TEXT_OR_ENTRY: models._superclasses,
        _schema.NAMES: models._secrets,
    }
    for name, kind in KINDS.items():
        fields = attrs.fields_dict(getattr(models, name))
        for field in kind.fields:
            if field.many and field.spells == field.key:
                expected = by_layout.get(field.layout or "", models._tuple_or_none)
                assert fields[field.key].converter is expected, (name, field.key)


def test_a_file_and_the_models_read_the_short_forms_alike() -> None:
    """``os: linux``, a superclass by name, a secret by name: the same contract either way."""
    from importspy_hook._contract_model import (
        Class,
        Contract,
        Deployment,
        Environment,
        EnvVariable,
        Runtime,
        System,
    )

    text = (
        "runtime: {os: linux}\n"
        "classes: [{name: C, superclasses: [Base]}]\n"
        "deployments: [{systems: [{environment: {variables: [{name: T, value: x}], secrets: [T]}}]}]\n"
    )
    environment = Environment(variables=[EnvVariable("T", "x")], secrets=["T"])
    built = Contract(
        runtime=Runtime(os="linux"),
        classes=[Class("C", superclasses=["Base"])],
        deployments=[Deployment(systems=[System(environment=environment)])],
    )
    assert parse_contract(text) == built
