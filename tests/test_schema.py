"""One schema table (``_schema``) for both ways of building a contract (§6, §10).

A contract written in a file and the same contract built from the Python models and given to
``register()`` must be judged alike: refused for the same reason, at the same key. These pairs were
chosen where the two used to disagree (``register`` accepted what the file refused).
"""

from __future__ import annotations

from typing import Any

import pytest

from _importspy_hook_startup import REGISTRY
from importspy_hook import ContractError, register
from importspy_hook._contract_model import (
    Attribute,
    Class,
    Contract,
    Dependency,
    Deployment,
    EnvVariable,
    Importers,
    Runtime,
    Superclass,
)
from importspy_hook._contract_parse import parse_contract

PAIRS: list[tuple[str, Contract, str, str]] = [
    (
        "dependencies: {'not a name!': null}\n",
        Contract(dependencies=[Dependency("not a name!")]),
        "dependencies.not a name!",
        "is not a distribution name (PEP 508)",
    ),
    (
        "dependencies: {x: {required: 'yes'}}\n",
        Contract(dependencies=[Dependency("x", required="yes")]),  # type: ignore[arg-type]
        "dependencies.x.required",
        "expected true or false",
    ),
    (
        "runtime: {environment: {A: {value: x, secret: maybe}}}\n",
        Contract(runtime=Runtime(environment=[EnvVariable("A", "x", secret="maybe")])),  # type: ignore[arg-type]
        "runtime.environment.A.secret",
        "expected true or false",
    ),
    (
        "classes: [{name: C, attributes: [{name: a, type: klass}]}]\n",
        Contract(classes=[Class("C", attributes=[Attribute("a", type="klass")])]),
        "classes[0].attributes[0].type",
        "expected 'class' or 'instance', found 'klass'",
    ),
    (
        "classes: [{name: C, superclasses: [{name: ' '}]}]\n",
        Contract(classes=[Class("C", superclasses=[Superclass(" ")])]),
        "classes[0].superclasses[0].name",
        "empty",
    ),
    (
        "importers: {allow: ['']}\n",
        Contract(importers=Importers(allow=[""])),
        "importers.allow[0]",
        "empty",
    ),
    (
        "deployments: [{arch: sparc}]\n",
        Contract(deployments=[Deployment(arch="sparc")]),
        "deployments[0].arch",
        "unknown architecture 'sparc'",
    ),
]


def _refusal_of_file(text: str) -> ContractError:
    with pytest.raises(ContractError) as info:
        parse_contract(text)
    return info.value


def _refusal_of_register(contract: Contract) -> ContractError:
    try:
        with pytest.raises(ContractError) as info:
            register("never_imported_schema_pair", contract)
        assert "never_imported_schema_pair" not in REGISTRY
    finally:
        REGISTRY.pop("never_imported_schema_pair", None)
    return info.value


@pytest.mark.parametrize(("text", "contract", "key", "reason"), PAIRS, ids=[p[2] for p in PAIRS])
def test_a_file_and_register_refuse_the_same_contract_at_the_same_key(
    text: str, contract: Contract, key: str, reason: str
) -> None:
    from_file = _refusal_of_file(text)
    from_register = _refusal_of_register(contract)
    assert (from_file.key, from_register.key) == (key, key)
    assert reason in from_file.reason and reason in from_register.reason


@pytest.mark.parametrize(
    "fields",
    [{"runtime": "linux"}, {"classes": ["C"]}, {"importers": {"allow": ["app.*"]}}],
)
def test_register_refuses_a_child_that_is_not_a_model(fields: dict[str, Any]) -> None:
    """Not an AttributeError from deep inside the check: a ContractError naming the key."""
    error = _refusal_of_register(Contract(**fields))
    assert error.key.split("[")[0] == next(iter(fields))
