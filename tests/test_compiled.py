"""The evaluator's admitting speed may only ever *admit* what its explaining speed admits (§7, §11).

``_compiled.holds`` (on the platform-specialised program) is a shortcut: when it answers True the
import proceeds without an explanation ever being built, so a True where ``_compiled.explain``
(``check``) finds a violation would let a non-compliant importer through. These tests generate
hosts and contracts (structure, annotations, defaults, values, environment, platform,
alternatives) and compare the two speeds on each pair; they also pin the verdict cache: a re-check
of the same facts skips the program, a changed fact does not, a failure is never kept.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importspy_hook import _cache, _compiled, _structure, _validate
from importspy_hook._annotations import normalise_annotation
from importspy_hook._check import check, clear_cache
from importspy_hook._context import current_context, platform_facts
from importspy_hook._contract_parse import parse_plain
from importspy_hook._errors import ContractViolation
from importspy_hook._schema import to_models


class FakeCaller:
    def __init__(self, name: str, file: str | None, module: types.ModuleType | None = None) -> None:
        self.name = name
        self.file = file
        self.module = module

    @property
    def module_name(self) -> str:
        return self.name


# --------------------------------------------------------------------------- generated hosts
#
# A host is drawn first (as data, then written as source); the contract is then drawn *from* it:
# each requirement names something the host has or lacks, with an annotation of the same, an
# equivalent or a different spelling, and a value that matches or not. So both verdicts are
# common, and the corners of the rules (equivalent annotations, literal and non-literal defaults,
# argument order, class versus instance attributes) are reached.

NAMES = ("LIMIT", "MODE", "RATE")
SPELLINGS = (
    ("int", "'int'"),
    ("Optional[int]", "int | None", "Union[int, None]", "typing.Optional[int]", "None | int"),
    ("str",),
    ("list[int]",),
    ("List[int]",),
)
ANNOTATIONS = tuple(spelling for group in SPELLINGS for spelling in group)
# source literal -> contract values that match it (the first one as YAML types it)
LITERALS = {
    "5": (5, "5"),
    "'x'": ("x",),
    "1.5": (1.5,),
    "True": (True,),
    "None": ("None",),
    "[1, 2]": ([1, 2],),
    "(1, 2)": (),
    "compute()": (),
}
OTHER_VALUES = (6, "y", False, [2, 1], 1)
DEFAULTS = (None, "3", "'x'", "compute()", "None")


def equivalent(draw: st.DrawFn, annotation: str | None) -> str | None:
    """The same annotation, another spelling of it, a different one, or none required."""
    choice = draw(st.sampled_from(("same", "same", "other", "none")))
    if choice == "none":
        return None
    if choice == "other" or annotation is None:
        return draw(st.sampled_from(ANNOTATIONS))
    group = next(group for group in SPELLINGS if annotation in group)
    return draw(st.sampled_from(group))


def required_value(draw: st.DrawFn, literal: str | None) -> object:
    choice = draw(st.sampled_from(("match", "match", "other", "none")))
    if choice == "none":
        return None
    matches = LITERALS.get(literal or "", ())
    if choice == "match" and matches:
        return draw(st.sampled_from(matches))
    return draw(st.sampled_from(OTHER_VALUES))


@st.composite
def parameters(draw: st.DrawFn) -> list[tuple[str, str | None, str | None]]:
    found = []
    for name in draw(st.lists(st.sampled_from(("a", "b", "c")), max_size=3, unique=True)):
        found.append((name, draw(st.sampled_from((None, *ANNOTATIONS))), draw(st.sampled_from(DEFAULTS))))
    return sorted(found, key=lambda parameter: parameter[2] is not None)  # defaults last


@st.composite
def host_specs(draw: st.DrawFn) -> dict[str, object]:
    return {
        "version": draw(st.sampled_from((None, "1.2.3", "2.0"))),
        "variables": [
            (name, draw(st.sampled_from((None, *ANNOTATIONS))), draw(st.sampled_from(tuple(LITERALS))))
            for name in draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True))
        ],
        "functions": [
            (name, draw(parameters()), draw(st.sampled_from((None, *ANNOTATIONS))), draw(st.booleans()))
            for name in draw(st.lists(st.sampled_from(("run", "stop")), max_size=2, unique=True))
        ],
        "classes": [
            (
                name,
                draw(st.sampled_from(("", "Base", "mod.Base", "Generic[T]"))),
                draw(st.sampled_from((None, *LITERALS))),  # class attribute ``size``
                draw(st.sampled_from((None, *ANNOTATIONS))),  # instance attribute ``label``'s annotation
                draw(st.none() | parameters()),  # method ``go``
            )
            for name in draw(st.lists(st.sampled_from(("Host", "Plugin")), max_size=2, unique=True))
        ],
    }


def source_of(spec: dict[str, object]) -> str:
    lines = ["from typing import Generic, List, Optional, TypeVar, Union", "T = TypeVar('T')"]
    lines += ["class Base: pass", "class mod:", "    Base = Base", "def compute():", "    return 2"]
    if spec["version"]:
        lines.append(f"__version__ = {spec['version']!r}")
    for name, annotation, literal in spec["variables"]:  # type: ignore[attr-defined]
        lines.append(f"{name}: {annotation} = {literal}" if annotation else f"{name} = {literal}")
    for name, params, returns, is_async in spec["functions"]:  # type: ignore[attr-defined]
        lines.append(_def(name, params, returns, is_async, ""))
    for name, base, size, label, go in spec["classes"]:  # type: ignore[attr-defined]
        lines.append(f"class {name}({base}):" if base else f"class {name}:")
        lines.append("    pass")
        if size is not None:
            lines.append(f"    size = {size}")
        if label is not None:
            lines += ["    def __init__(self):", f"        self.label: {label} = 3"]
        if go is not None:
            lines.append(_def("go", [("self", None, None), *go], None, False, "    "))
    return "\n".join(lines) + "\n"


def _def(
    name: str,
    params: list[tuple[str, str | None, str | None]],
    returns: str | None,
    is_async: bool,
    indent: str,
) -> str:
    written = [p + (f": {a}" if a else "") + (f" = {d}" if d else "") for p, a, d in params]
    head = f"{indent}{'async ' if is_async else ''}def {name}({', '.join(written)})"
    return head + (f" -> {returns}" if returns else "") + f":\n{indent}    pass"


def required_function(draw: st.DrawFn, name: str, found: object) -> dict[str, object]:
    params = found[1] if isinstance(found, tuple) and len(found) == 4 else (found or [])  # type: ignore[index]
    returns = found[2] if isinstance(found, tuple) and len(found) == 4 else None
    function: dict[str, object] = {"name": name}
    if draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from([*params, ("zz", None, None)]), max_size=3, unique=True))
        if draw(st.booleans()):
            chosen = sorted(chosen, key=lambda p: [*params, ("zz", None, None)].index(p))
        function["arguments"] = [
            _without_none(
                {
                    "name": parameter,
                    "annotation": equivalent(draw, annotation),
                    "value": draw(
                        st.sampled_from((None, *(LITERALS.get(default or "") or (3,)), "compute()"))
                    ),
                }
            )
            for parameter, annotation, default in chosen
        ]
    if draw(st.booleans()):
        function["return_annotation"] = equivalent(draw, returns) or "int"
    return function


def _without_none(entry: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in entry.items() if value is not None}


@st.composite
def requirements_for(draw: st.DrawFn, spec: dict[str, object]) -> dict[str, object]:
    module: dict[str, object] = {}
    variables = spec["variables"]
    if draw(st.booleans()):
        chosen = draw(
            st.lists(
                st.sampled_from([*variables, ("MISSING", None, "5")]), min_size=1, max_size=2, unique=True
            )
        )  # type: ignore[list-item]
        module["variables"] = [
            _without_none({"name": n, "annotation": equivalent(draw, a), "value": required_value(draw, lit)})
            for n, a, lit in chosen
        ]
    if draw(st.booleans()):
        functions = {f[0]: f for f in spec["functions"]}  # type: ignore[attr-defined]
        name = draw(st.sampled_from(("run", "stop")))
        module["functions"] = [required_function(draw, name, functions.get(name))]
    if draw(st.booleans()):
        classes = {c[0]: c for c in spec["classes"]}  # type: ignore[attr-defined]
        name = draw(st.sampled_from(("Host", "Plugin")))
        found = classes.get(name, (name, "", None, None, None))
        klass: dict[str, object] = {"name": name}
        if draw(st.booleans()):
            klass["superclasses"] = [draw(st.sampled_from(("Base", "pkg.Base", "Generic", "Other")))]
        if draw(st.booleans()):
            attribute = draw(st.sampled_from(("size", "label")))
            literal = found[2] if attribute == "size" else "3"
            klass["attributes"] = [
                _without_none(
                    {
                        "name": attribute,
                        "type": draw(st.sampled_from((None, "class", "instance"))),
                        "annotation": equivalent(draw, found[3]) if attribute == "label" else None,
                        "value": required_value(draw, literal)
                        if literal != "3"
                        else draw(st.sampled_from((None, 3, 4))),
                    }
                )
            ]
        if draw(st.booleans()):
            klass["methods"] = [required_function(draw, "go", [("self", None, None), *(found[4] or [])])]
        module["classes"] = [klass]
    if draw(st.booleans()):
        module["version"] = draw(st.sampled_from(("1.2.3", ">=1.0", "==2.0", "2", "<1", "2.0.0")))
    if draw(st.booleans()):
        module["filename"] = draw(st.sampled_from(("host.py", "host.py", "other.py")))
    return module


@st.composite
def pairs(draw: st.DrawFn) -> tuple[dict[str, object], str]:
    facts = platform_facts()
    spec = draw(host_specs())
    contract: dict[str, object] = draw(requirements_for(spec))
    if draw(st.booleans()):
        contract["runtime"] = _without_none(
            {
                "python": draw(st.sampled_from((None, ">=3.10", "<3.0", "3", f"=={facts.python_version}"))),
                "os": draw(st.sampled_from((None, [facts.os], ["windows"], []))),
                "environment": draw(st.sampled_from((None, {"PATH": None}, {"IMPORTSPY_UNSET_X": None}))),
            }
        )
    if draw(st.booleans()):
        contract["deployments"] = [
            {
                "arch": draw(st.sampled_from((facts.arch, facts.arch, "s390x"))),
                "systems": [
                    {
                        "os": draw(st.sampled_from((facts.os, facts.os, "windows"))),
                        "environment": {
                            "variables": [
                                _without_none(
                                    {
                                        "name": "PATH",
                                        "value": draw(st.sampled_from((None, os.environ["PATH"], "no"))),
                                    }
                                )
                            ]
                        },
                        "pythons": [
                            _without_none(
                                {
                                    "version": draw(st.sampled_from(("3", ">=9", None))),
                                    "interpreter": draw(st.sampled_from((None, "CPython", "PyPy"))),
                                    "modules": [draw(requirements_for(spec))]
                                    if draw(st.booleans())
                                    else None,
                                }
                            )
                        ],
                    }
                ],
            }
            for _ in range(draw(st.integers(min_value=1, max_value=2)))
        ]
    if draw(st.booleans()):
        contract["importers"] = draw(
            st.sampled_from(({"allow": ["host*"]}, {"deny": ["host*"]}, {"allow": ["x*"]}))
        )
    return contract, source_of(spec)


def admits(program: _compiled.Program, run: _compiled.Run) -> bool:
    """The admitting speed of the evaluator on an unspecialised program, as ``_validate`` runs it."""
    residual = _compiled.specialise(program[3])
    return residual is not None and _compiled.holds(residual, run)


_counter = itertools.count()


@pytest.fixture(scope="module")
def hostdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hosts")


def verdicts(contract: dict[str, object], source: str, directory: Path, live: bool) -> tuple[bool, bool]:
    """(compiled says compliant, _check finds nothing) for ``contract`` and a host of ``source``."""
    number = next(_counter)
    directory = directory / f"d{number}"
    directory.mkdir()
    host = directory / "host.py"
    host.write_text(source, encoding="utf-8")
    module = None
    if live:  # a live module that has run: it may fill in what the source leaves unknown
        module = types.ModuleType(f"host{number}")
        module.__file__ = str(host)
        exec(compile(source, str(host), "exec"), vars(module))
    caller = FakeCaller(f"host{number}", str(host), module)
    plain = parse_plain(json.dumps(contract), "generated.contract.yml")
    program = _compiled.compile_contract(plain, _compiled.annotation_norms(plain))
    fast = admits(program, _compiled.Run(caller))
    slow = check(to_models(plain, "generated.contract.yml"), current_context(caller=caller)) == []
    return fast, slow


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs())
def test_compiled_verdict_equals_check_for_static_callers(
    hostdir: Path, pair: tuple[dict[str, object], str]
) -> None:
    contract, source = pair
    fast, slow = verdicts(contract, source, hostdir, live=False)
    assert fast is slow, (json.dumps(contract), source)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs())
def test_compiled_never_admits_what_check_refuses_with_a_live_caller(
    hostdir: Path, pair: tuple[dict[str, object], str]
) -> None:
    contract, source = pair
    fast, slow = verdicts(contract, source, hostdir, live=True)
    assert slow or not fast, (json.dumps(contract), source)


def test_the_generators_reach_both_verdicts(hostdir: Path) -> None:
    """The properties above would be vacuous if every pair were refused (or admitted)."""

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(pairs())
    def sample(pair: tuple[dict[str, object], str]) -> None:
        seen.append(verdicts(*pair, hostdir, live=False))

    seen: list[tuple[bool, bool]] = []
    sample()
    admitted = seen.count((True, True))
    assert admitted >= len(seen) // 10 and seen.count((False, False)) >= len(seen) // 10, (
        admitted,
        len(seen),
    )


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        [
            "int",
            "list[int]",
            "dict[str, int]",
            "Callable[[int], str]",
            "a.b.C",
            "tuple[int, ...]",
            "Literal[1, 2]",
            "Annotated[int, 3]",
            "x[y][z]",
        ]
    )
)
def test_unparsed_annotations_without_markers_are_already_normalised(text: str) -> None:
    assert _structure.plain_annotation(text)
    assert normalise_annotation(text) == text


# --------------------------------------------------------------------------- through validate


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    clear_cache()
    _cache.forget_sources()
    yield tmp_path
    clear_cache()


def _counting_holds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the runs of the compiled program (``holds``) that ``_validate`` makes on the caller's
    structure (the environment operations run on every check, in runs of their own)."""
    runs: list[int] = []
    original = _compiled.holds

    def counting(residual: tuple[tuple[object, ...], ...], run: object) -> bool:
        if any(operation[0] == _compiled.OP_MODULE for operation in residual):
            runs.append(1)
        return original(residual, run)  # type: ignore[arg-type]

    monkeypatch.setattr(_validate, "holds", counting)
    return runs


def test_a_recheck_with_the_same_caller_skips_the_structure(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract = project / "plugin.contract.yml"
    contract.write_text(
        "variables:\n  - name: LIMIT\n    value: 5\n"
        "runtime:\n  environment: {IMPORTSPY_T_FLAG: null, IMPORTSPY_T_STAGE: ci}\n"
    )
    host = project / "host.py"
    host.write_text("LIMIT = 5\n")
    caller = FakeCaller("host", str(host))
    runs = _counting_holds(monkeypatch)
    monkeypatch.setenv("IMPORTSPY_T_FLAG", "1")
    monkeypatch.setenv("IMPORTSPY_T_STAGE", "ci")
    _validate.validate("plugin", str(contract), caller)
    _validate.validate("plugin", str(contract), caller)
    assert len(runs) == 1  # the caller's structure was proven once, for this source
    # The environment is read on every check, whatever is cached about the caller.
    monkeypatch.setenv("IMPORTSPY_T_FLAG", "2")
    _validate.validate("plugin", str(contract), caller)
    monkeypatch.setenv("IMPORTSPY_T_STAGE", "prod")
    with pytest.raises(ContractViolation, match="IMPORTSPY_T_STAGE"):
        _validate.validate("plugin", str(contract), caller)
    monkeypatch.setenv("IMPORTSPY_T_STAGE", "ci")
    monkeypatch.delenv("IMPORTSPY_T_FLAG")
    with pytest.raises(ContractViolation, match="IMPORTSPY_T_FLAG"):
        _validate.validate("plugin", str(contract), caller)
    with pytest.raises(ContractViolation):  # failures are never cached
        _validate.validate("plugin", str(contract), caller)
    monkeypatch.setenv("IMPORTSPY_T_FLAG", "1")
    _validate.validate("plugin", str(contract), caller)  # fixed: admitted again
    assert len(runs) == 1
    host.write_text("LIMIT = 6\n")  # the caller's source changed: its stamp is in the key
    os.utime(host, ns=(10**18, 10**18))
    with pytest.raises(ContractViolation, match="LIMIT"):
        _validate.validate("plugin", str(contract), caller)
    with pytest.raises(ContractViolation):
        _validate.validate("plugin", str(contract), caller)
    assert len(runs) == 3  # re-run on the new source, and a failure is not kept
    host.write_text("LIMIT = 5\n")
    os.utime(host, ns=(2 * 10**18, 2 * 10**18))
    _validate.validate("plugin", str(contract), caller)
    assert len(runs) == 4


def test_the_structure_verdict_is_kept_per_caller(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    contract = project / "plugin.contract.yml"
    contract.write_text("variables:\n  - name: LIMIT\n    value: 5\nimporters:\n  deny: [bad*]\n")
    (project / "host.py").write_text("LIMIT = 5\n")
    (project / "bad_host.py").write_text("LIMIT = 5\n")
    runs = _counting_holds(monkeypatch)
    _validate.validate("plugin", str(contract), FakeCaller("host", str(project / "host.py")))
    _validate.validate("plugin", str(contract), FakeCaller("host", str(project / "host.py")))
    assert len(runs) == 1
    # Same source file, another importer's name: not the cached verdict.
    with pytest.raises(ContractViolation, match="bad_host"):
        _validate.validate("plugin", str(contract), FakeCaller("bad_host", str(project / "host.py")))
    with pytest.raises(ContractViolation, match="bad_host"):
        _validate.validate("plugin", str(contract), FakeCaller("bad_host", str(project / "bad_host.py")))


def test_alternatives_are_cached_as_a_whole_verdict(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two alternative systems: the environment decides which one holds, so the verdict is keyed on
    # the environment values (and the caller), not split.
    facts = platform_facts()
    contract = project / "plugin.contract.yml"
    contract.write_text(
        "variables:\n  - name: LIMIT\n    value: 5\n"
        "deployments:\n"
        f"  - arch: {facts.arch}\n"
        "    systems:\n"
        f"      - os: {facts.os}\n"
        "        environment: {variables: [{name: IMPORTSPY_T_A, value: '1'}]}\n"
        f"      - os: {facts.os}\n"
        "        environment: {variables: [{name: IMPORTSPY_T_B}]}\n"
    )
    host = project / "host.py"
    host.write_text("LIMIT = 5\n")
    caller = FakeCaller("host", str(host))
    entry = _compiled.contract_entry(str(contract))
    runs = _counting_holds(monkeypatch)
    monkeypatch.setenv("IMPORTSPY_T_A", "1")
    monkeypatch.delenv("IMPORTSPY_T_B", raising=False)
    _validate.validate("plugin", str(contract), caller)
    _validate.validate("plugin", str(contract), caller)
    assert len(runs) == 1
    assert entry.plan is None  # no plan: alternatives
    monkeypatch.setenv("IMPORTSPY_T_A", "2")  # the first system no longer holds ...
    with pytest.raises(ContractViolation):
        _validate.validate("plugin", str(contract), caller)
    monkeypatch.setenv("IMPORTSPY_T_B", "x")  # ... the second one does
    _validate.validate("plugin", str(contract), caller)
    assert len(runs) == 3


def test_a_value_only_the_live_module_holds_is_left_to_check(project: Path) -> None:
    contract = project / "plugin.contract.yml"
    contract.write_text("variables:\n  - name: LIMIT\n    value: 2\n")
    host = project / "host.py"
    host.write_text("def compute():\n    return 2\nLIMIT = compute()\n")
    module = types.ModuleType("host")
    module.LIMIT = 2  # type: ignore[attr-defined]
    caller = FakeCaller("host", str(host), module)
    entry = _compiled.contract_entry(str(contract))
    assert not admits(entry.program, _compiled.Run(caller))  # not provable statically
    _validate.validate("plugin", str(contract), caller)  # ... but _check admits it
    assert _compiled.verdict_key(entry.program, _compiled.Run(caller)) not in entry.verdicts
    module.LIMIT = 3  # type: ignore[attr-defined]
    with pytest.raises(ContractViolation, match="LIMIT = 2"):
        _validate.validate("plugin", str(contract), caller)


def test_a_simulation_bypasses_the_compiled_check(project: Path) -> None:
    from importspy_hook._simulation import simulate

    contract = project / "plugin.contract.yml"
    contract.write_text("runtime:\n  os: [linux, darwin, windows]\n")
    _validate.validate("plugin", str(contract), None)
    with simulate(os="freebsd"), pytest.raises(ContractViolation, match=r"runtime\.os"):
        _validate.validate("plugin", str(contract), None)


def test_a_refusal_runs_the_fast_check_once(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard asks ``admitted`` (fast check only), then ``validate`` on a decline: the fast
    check that just failed is not run a second time before the judge words the refusal (§11)."""
    contract = project / "plugin.contract.yml"
    contract.write_text("runtime:\n  environment: {IMPORTSPY_T_ONCE: null}\n")
    monkeypatch.delenv("IMPORTSPY_T_ONCE", raising=False)
    runs: list[int] = []
    original = _validate._proved_compliant

    def counting(entry: object, caller: object) -> bool:
        runs.append(1)
        return original(entry, caller)  # type: ignore[arg-type]

    monkeypatch.setattr(_validate, "_proved_compliant", counting)
    assert not _validate.admitted("plugin", str(contract), None)
    with pytest.raises(ContractViolation, match="IMPORTSPY_T_ONCE"):
        _validate.validate("plugin", str(contract), None)
    assert len(runs) == 1
    # A validate that no declined admission precedes still takes the fast path first.
    monkeypatch.setenv("IMPORTSPY_T_ONCE", "1")
    _validate.validate("plugin", str(contract), None)
    assert len(runs) == 2
    # A decline is used once, by the validate of the same import only.
    monkeypatch.delenv("IMPORTSPY_T_ONCE")
    assert not _validate.admitted("plugin", str(contract), None)
    monkeypatch.setenv("IMPORTSPY_T_ONCE", "1")
    _validate.validate("other", str(contract), None)
    assert len(runs) == 4
