"""The engine must judge exactly as the frozen judge did (issue 13: one engine, same verdicts).

``tests/oracle/judge.py`` is the judge as it was before the rewrite. Every contract the existing
generators draw (``test_compiled.pairs``: structure, annotations, defaults, values, environment,
platform, alternatives, importers) and every contract of the corpora (ImportSpy's documented
examples, the end-to-end contract, the shipped examples) is judged by both, on static and live
callers and on simulated platforms, through each way a user meets a verdict:

* ``importspy_hook.check(contract, context)`` (the API, the CLI's ``check``, the pytest plugin);
* ``_validate.validate`` (the hook: the fast path first, explanations on refusal).

Both must give the same violations — field, expected, found, message and contract line, in order.
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
from oracle import judge
from test_compiled import FakeCaller, pairs
from test_e2e_contracts import CONTRACT as E2E_CONTRACT
from test_e2e_contracts import HOST as E2E_HOST

import importspy_hook
from importspy_hook import _validate
from importspy_hook._context import current_context, platform_facts
from importspy_hook._contract_parse import load_contract, parse_plain
from importspy_hook._errors import ContractError, ContractViolation, Violation
from importspy_hook._plain import to_models

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
@given(cases())
def test_generated_contracts_are_judged_as_the_oracle_judges(
    workdir: Path, case: tuple[dict[str, object], str, bool, dict[str, object]]
) -> None:
    contract, source, live, overrides = case
    caller = _caller(source, workdir, live)
    text = json.dumps(contract)
    plain = parse_plain(text, "generated.contract.yml")
    model = to_models(plain, "generated.contract.yml")
    context = current_context(caller=caller, **overrides)  # type: ignore[arg-type]
    expected = rows(judge.check(model, context))
    assert rows(importspy_hook.check(model, context)) == expected, (text, source, overrides)
    if not overrides:  # the hook judges the real platform only
        path = Path(caller.file or "").parent / "plugin.contract.yml"
        path.write_text(text, encoding="utf-8")
        assert hook_rows("plugin", str(path), caller) == expected, (text, source)


def test_the_generated_cases_reach_violations_of_every_kind(workdir: Path) -> None:
    """The property above would be vacuous if the oracle never found anything to say."""
    fields: set[str] = set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(cases())
    def collect(case: tuple[dict[str, object], str, bool, dict[str, object]]) -> None:
        contract, source, live, overrides = case
        model = to_models(parse_plain(json.dumps(contract), "g.yml"), "g.yml")
        context = current_context(caller=_caller(source, workdir, live), **overrides)  # type: ignore[arg-type]
        for violation in judge.check(model, context):
            fields.add(violation.field.split("[")[0].split(".")[0])

    collect()
    assert {"deployments", "runtime", "variables", "functions", "classes", "importers"} <= fields


# --------------------------------------------------------------------------- the corpora

HOST_SOURCE = textwrap.dedent(E2E_HOST)
CONTEXTS: tuple[dict[str, object], ...] = (
    {},
    {"os": "windows"},
    {"arch": "aarch64", "python": "3.8.1"},
    {"implementation": "PyPy", "python": "3.12.1"},
    {"env": {"E2E_PLUGIN_TOKEN": "x", "PLUGIN_MODE": "production", "API_KEY": "k", "DEBUG": "1"}},
    {"env": {"PATH": None, "HOME": None}, "os": "darwin", "arch": "x86_64"},
)


def corpus_contracts() -> list[tuple[str, str]]:
    found = [("e2e", textwrap.dedent(E2E_CONTRACT))]
    for path in [*CORPUS, *EXAMPLES]:
        found.append((path.name, path.read_text(encoding="utf-8")))
    return found


@pytest.mark.parametrize(("name", "text"), corpus_contracts(), ids=[name for name, _ in corpus_contracts()])
def test_corpus_contracts_are_judged_as_the_oracle_judges(name: str, text: str, tmp_path: Path) -> None:
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
        for overrides in CONTEXTS:
            context = current_context(caller=caller, **overrides)  # type: ignore[arg-type]
            expected = rows(judge.check(model, context))
            assert rows(importspy_hook.check(model, context)) == expected, (name, caller, overrides)
        assert hook_rows("plugin", str(sidecar), caller) == rows(
            judge.check(model, current_context(caller=caller))
        ), (name, caller)
