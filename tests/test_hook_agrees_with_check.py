"""The hook and ``check()`` give one verdict, in the same words (issue 13: one evaluator).

The hook admits through the evaluator's fast speed (``_validate``: specialised program, plan,
verdict cache) and explains a refusal with its explaining speed; ``importspy_hook.check`` (the
API, the CLI's ``check``, the pytest plugin) explains only. Every contract the generators of
``test_compiled`` draw (structure, annotations, defaults, values, environment, platform,
alternatives, importers) and every contract of the corpora (ImportSpy's documented examples, the
end-to-end contract, the shipped examples) is judged both ways, on static and live callers: the
same violations — field, expected, found, message and contract line, in order — or none.

(Until the single evaluator landed, this test compared both against a frozen copy of the former
judge, ``tests/oracle``; they agreed on every case, and the oracle was removed.)
"""

from __future__ import annotations

import json
import os
import textwrap
import types
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_compiled import FakeCaller, pairs
from test_e2e_contracts import CONTRACT as E2E_CONTRACT
from test_e2e_contracts import HOST as E2E_HOST

import importspy_hook
from importspy_hook import _validate
from importspy_hook._check import load_contract
from importspy_hook._context import current_context, platform_facts
from importspy_hook._contract_parse import parse_plain
from importspy_hook._errors import ContractError, ContractViolation, Violation
from importspy_hook._schema import to_models

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted((ROOT / "tests" / "data" / "importspy_corpus").glob("*.yml"))
EXAMPLES = sorted((ROOT / "examples").rglob("*.contract.yml"))

Row = tuple[str, str, str, str, int]


def rows(violations: list[Violation] | tuple[Violation, ...]) -> list[Row]:
    return [(v.field, v.expected, v.actual, v.message, v.line) for v in violations]


def hook_rows(target: str, path: str, caller: object) -> list[Row]:
    """What the hook says about ``path`` for ``caller``: [] when admitted, else the violations."""
    try:
        _validate.validate(target, path, caller)  # type: ignore[arg-type]
    except ContractViolation as refusal:
        return rows(refusal.violations)
    return []


def simulated(draw: st.DrawFn) -> dict[str, object]:
    """Platform overrides for ``current_context``: none, or another OS/arch/Python/interpreter."""
    facts = platform_facts()
    overrides: dict[str, object] = {}
    if draw(st.booleans()):
        overrides["os"] = draw(st.sampled_from((facts.os, "windows", "darwin")))
    if draw(st.booleans()):
        overrides["arch"] = draw(st.sampled_from((facts.arch, "s390x", "aarch64")))
    if draw(st.booleans()):
        overrides["python"] = draw(st.sampled_from(("3.8.1", "2.7.18", facts.python_version, "3.13.0rc1")))
    if draw(st.booleans()):
        overrides["implementation"] = draw(st.sampled_from(("PyPy", "CPython")))
    if draw(st.booleans()):
        overrides["env"] = {"PATH": draw(st.sampled_from(("no", None, os.environ["PATH"])))}
    return overrides


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, object], str, bool, dict[str, object]]:
    contract, source = draw(pairs())
    return contract, source, draw(st.booleans()), simulated(draw)


_count = iter(range(10**9))


def _caller(source: str, directory: Path, live: bool) -> FakeCaller:
    number = next(_count)
    folder = directory / f"o{number}"
    folder.mkdir()
    host = folder / "host.py"
    host.write_text(source, encoding="utf-8")
    module = None
    if live:
        module = types.ModuleType(f"host{number}")
        module.__file__ = str(host)
        exec(compile(source, str(host), "exec"), vars(module))
    return FakeCaller(f"host{number}", str(host), module)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("oracle")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs(), st.booleans())
def test_generated_contracts_get_the_same_verdict_from_the_hook_and_check(
    workdir: Path, pair: tuple[dict[str, object], str], live: bool
) -> None:
    contract, source = pair
    caller = _caller(source, workdir, live)
    text = json.dumps(contract)
    model = to_models(parse_plain(text, "plugin.contract.yml"), "plugin.contract.yml")
    expected = rows(importspy_hook.check(model, current_context(caller=caller)))  # type: ignore[arg-type]
    path = Path(caller.file or "").parent / "plugin.contract.yml"
    path.write_text(text, encoding="utf-8")
    assert hook_rows("plugin", str(path), caller) == expected, (text, source)


def test_the_generated_cases_reach_violations_of_every_kind(workdir: Path) -> None:
    """The property above would be vacuous if the evaluator never found anything to say."""
    fields: set[str] = set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(cases())
    def collect(case: tuple[dict[str, object], str, bool, dict[str, object]]) -> None:
        contract, source, live, overrides = case
        model = to_models(parse_plain(json.dumps(contract), "g.yml"), "g.yml")
        context = current_context(caller=_caller(source, workdir, live), **overrides)  # type: ignore[arg-type]
        for violation in importspy_hook.check(model, context):
            fields.add(violation.field.split("[")[0].split(".")[0])

    collect()
    assert {"deployments", "runtime", "variables", "functions", "classes", "importers"} <= fields


# --------------------------------------------------------------------------- the corpora

HOST_SOURCE = textwrap.dedent(E2E_HOST)


def corpus_contracts() -> list[tuple[str, str]]:
    found = [("e2e", textwrap.dedent(E2E_CONTRACT))]
    for path in [*CORPUS, *EXAMPLES]:
        found.append((path.name, path.read_text(encoding="utf-8")))
    return found


@pytest.mark.parametrize(("name", "text"), corpus_contracts(), ids=[name for name, _ in corpus_contracts()])
def test_corpus_contracts_get_the_same_verdict_from_the_hook_and_check(
    name: str, text: str, tmp_path: Path
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    host = folder / "host.py"
    host.write_text(HOST_SOURCE, encoding="utf-8")
    sidecar = folder / "plugin.contract.yml"
    sidecar.write_text(text, encoding="utf-8")
    try:
        model = load_contract(sidecar)
    except ContractError:
        return  # a refused example (test_importspy_corpus pins why)
    live = types.ModuleType("host")
    live.__file__ = str(host)
    callers = (None, FakeCaller("host", str(host)), FakeCaller("host", str(host), live))
    for caller in callers:
        expected = rows(importspy_hook.check(model, current_context(caller=caller)))  # type: ignore[arg-type]
        assert hook_rows("plugin", str(sidecar), caller) == expected, (name, caller)
