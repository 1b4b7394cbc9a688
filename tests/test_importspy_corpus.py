"""ImportSpy compatibility (SPEC §6): contracts shaped like ImportSpy's documented examples.

Each file under ``tests/data/importspy_corpus`` was written for this corpus from one documented
ImportSpy example (its header names the document) and says what must happen to it: ``Expect:
loads``, or ``Expect: error <key path>: <words of the reason>`` with a ``Why:`` line when the
example uses something importspy-hook refuses on purpose.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from importspy_hook._check import check, load_contract
from importspy_hook._context import current_context
from importspy_hook._contract_model import Contract
from importspy_hook._errors import ContractError

CORPUS = Path(__file__).parent / "data" / "importspy_corpus"
FILES = sorted(CORPUS.glob("*.yml"))


def expectation(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# Expect:"):
            return line.partition(":")[2].strip()
    raise AssertionError(f"{path.name} has no '# Expect:' header")


def test_corpus_is_not_empty() -> None:
    assert len(FILES) >= 25
    assert sum(expectation(path) == "loads" for path in FILES) >= 18


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_documented_example(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "# Source: ImportSpy" in text, "every corpus file names the document it follows"
    expected = expectation(path)
    if expected == "loads":
        assert isinstance(load_contract(path), Contract)
        return
    assert expected.startswith("error "), expected
    key, _, reason = expected[len("error ") :].partition(": ")
    assert "# Why:" in text, "a refused example says why"
    with pytest.raises(ContractError) as info:
        load_contract(path)
    assert info.value.key == key
    assert reason in info.value.reason
    assert info.value.line > 0


def load(name: str) -> Contract:
    return load_contract(CORPUS / name)


def test_unquoted_python_versions_keep_their_text() -> None:
    def versions(contract: Contract) -> list[str | None]:
        return [
            python.version
            for deployment in contract.deployments or ()
            for system in deployment.systems or ()
            for python in system.pythons or ()
        ]

    assert versions(load("examples_04_runtime_only.yml")) == ["3.10"]
    assert versions(load("examples_04_basic.yml")) == ["3.11"]
    assert versions(load("repo_external_module_compliance.yml")) == ["3.12.8", "3.12.4", None]


def test_runtime_only_example_is_judged_on_the_right_version() -> None:
    contract = load("examples_04_runtime_only.yml")
    context = current_context(os="linux", arch="x86_64", python="3.10.14", implementation="CPython")
    assert check(contract, context) == []
    context = current_context(os="linux", arch="amd64", python="3.1.5", implementation="CPython")
    assert [v.actual for v in check(contract, context)] == ["3.1.5 (CPython)"]


def test_macos_and_envs_spellings_are_understood() -> None:
    contract = load("rst_contract_structure.yml")
    context = current_context(os="darwin", arch="x86_64", python="3.12.8", implementation="CPython")
    assert [v.field for v in check(contract, context) if v.field.startswith("deployments")] == []
    envs = load("rst_defining_contracts_envs.yml")
    linux = current_context(
        os="linux", arch="x86_64", python="3.12.8", implementation="CPython", env={"STAGE": "test"}
    )
    assert [(v.field, v.expected) for v in check(envs, linux) if v.field.startswith("deployments")] == [
        ("deployments[0].systems[0].environment.variables[0]", "STAGE='live'")
    ]


class FakeCaller:
    def __init__(self, name: str, file: str) -> None:
        self.name = name
        self.file = file
        self.module = None
        self.module_name = name


def test_structural_example_against_a_host(tmp_path: Path) -> None:
    host = tmp_path / "billing.py"
    host.write_text(
        textwrap.dedent(
            """\
            import billing_guard  # the guarded module is imported before anything below exists

            STAGE = "live"


            class Extension:
                family = "billing"

                def start(self, cents: int) -> str:
                    return str(cents)
            """
        )
    )
    contract = load("examples_05_structural.yml")
    context = current_context(caller=FakeCaller("billing", str(host)))
    assert check(contract, context) == []
    host.write_text(host.read_text().replace('"live"', '"test"').replace("-> str", "-> bytes"))
    context = current_context(caller=FakeCaller("billing", str(host)))
    assert [(v.field, v.line) for v in check(contract, context)] == [
        ("variables[0].value", 7),
        ("classes[0].methods[0].return_annotation", 19),
    ]
