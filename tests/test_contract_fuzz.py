"""Property: whatever a contract file holds, loading it gives a Contract or a ContractError.

A sidecar is read on the import path of someone else's program; any other exception escaping the
parser would be an internal error of the hook (failing open, §7) instead of a clear refusal. Random
documents, random bytes and random mutations of valid contracts all go through ``parse_contract``;
contracts that do load are then checked against a context, which must not raise either.
"""

from __future__ import annotations

import io
import string
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importspy_hook._check import check
from importspy_hook._context import current_context
from importspy_hook._contract_model import Contract
from importspy_hook._contract_parse import parse_contract
from importspy_hook._errors import ContractError, Violation

CORPUS = Path(__file__).parent / "data" / "importspy_corpus"
SEEDS = [path.read_text(encoding="utf-8") for path in sorted(CORPUS.glob("*.yml"))]

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = [
    "schema_version", "policy_id", "filename", "version", "variables", "functions", "classes",
    "deployments", "runtime", "dependencies", "importers", "name", "value", "annotation", "type",
    "arguments", "return_annotation", "attributes", "methods", "superclasses", "arch", "systems",
    "os", "environment", "envs", "secrets", "pythons", "interpreter", "modules", "python",
    "architecture", "implementation", "required", "allowed", "allow", "deny", "secret", "default",
]  # fmt: skip
WORDS = ["linux", "darwin", "x86_64", "arm64", "CPython", "3.10", ">=3.11", "class", "instance", "*", ""]


def outcome(text: str | bytes) -> Contract | None:
    """Parse; a ContractError is a fine answer, anything else fails the property."""
    try:
        contract = parse_contract(text, "fuzz.contract.yml")
    except ContractError as error:
        assert isinstance(error.line, int) and isinstance(error.reason, str) and str(error)
        return None
    assert isinstance(contract, Contract)
    return contract


def judged(contract: Contract | None) -> None:
    if contract is None:
        return
    context = current_context(
        os="linux", arch="x86_64", python="3.11.4", implementation="CPython",
        env={"MODE": "x"}, distributions={"packaging": "24.0"},
    )  # fmt: skip
    violations = check(contract, context)
    assert all(isinstance(violation, Violation) for violation in violations)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=12),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), children, max_size=5),
    ),
    max_leaves=25,
)


def dump(data: Any) -> str:
    from ruamel.yaml import YAML

    stream = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, stream)
    return stream.getvalue()


@FAST
@given(st.dictionaries(st.sampled_from(KEYS), documents, max_size=6))
def test_random_documents(data: dict[str, Any]) -> None:
    judged(outcome(dump(data)))


@FAST
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_random_text_and_bytes(text: str | bytes) -> None:
    judged(outcome(text))


YAML_BITS = [
    ":", ": ", "- ", "-", "[", "]", "{", "}", ",", "&a ", "*a", "<<: *a", "!!python/object:os.system ",
    "!tag ", "!!binary ", "? ", "|", ">", "'", '"', "#", "\n", "\n  ", "\t", "\x00", "\ufeff", "---\n",
    "%YAML 1.1\n", "null", "~", "3.10", "1e999", "0x_", "2024-13-45", "é",
]  # fmt: skip


@st.composite
def mutations(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        position = draw(st.integers(min_value=0, max_value=len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "duplicate", "swap"]))
        if kind == "insert":
            piece = draw(st.one_of(st.sampled_from(YAML_BITS), st.text(string.printable, max_size=4)))
            text = text[:position] + piece + text[position:]
        elif kind == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 20)) :]
        elif kind == "replace":
            piece = draw(st.sampled_from(YAML_BITS + WORDS + KEYS))
            end = position + draw(st.integers(0, 8))
            text = text[:position] + piece + text[end:]
        else:
            lines = text.splitlines(keepends=True)
            if len(lines) > 1:
                first = draw(st.integers(0, len(lines) - 1))
                second = draw(st.integers(0, len(lines) - 1))
                if kind == "duplicate":
                    lines.insert(second, lines[first])
                else:
                    lines[first], lines[second] = lines[second], lines[first]
                text = "".join(lines)
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_mutated_valid_contracts(text: str) -> None:
    judged(outcome(text))
    judged(outcome(text.encode("utf-8", "surrogatepass")))


def test_seeds_load() -> None:
    # the mutations start from real contracts: make sure most of them load unmutated
    assert sum(outcome(seed) is not None for seed in SEEDS) >= 18
