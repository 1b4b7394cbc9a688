"""Reading contract files (SPEC §6): what loads, what is refused, and where the error points."""

from __future__ import annotations

import os
import textwrap
import threading
from pathlib import Path

import pytest

from importspy_hook._check import clear_cache, load_contract
from importspy_hook._contract_model import (
    Argument,
    Attribute,
    Class,
    Contract,
    Dependency,
    EnvVariable,
    Function,
    Superclass,
    Variable,
)
from importspy_hook._contract_parse import MAX_CONTRACT_BYTES, contract_errors, parse_contract
from importspy_hook._errors import ContractError


def parse(text: str) -> Contract:
    return parse_contract(textwrap.dedent(text), "c.contract.yml")


def refuse(text: str | bytes) -> ContractError:
    source = textwrap.dedent(text) if isinstance(text, str) else text
    with pytest.raises(ContractError) as info:
        parse_contract(source, "c.contract.yml")
    return info.value


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    clear_cache()


# --------------------------------------------------------------------------- what loads


def test_empty_document_is_an_empty_contract() -> None:
    for text in ("", "# only a comment\n", "---\n", "~\n", "null\n"):
        assert parse(text) == Contract()


def test_every_section_is_read_into_the_models() -> None:
    contract = parse(
        """\
        schema_version: 1
        policy_id: payments
        filename: plugin.py
        version: "1.2.3"
        variables:
          - name: MODE
            annotation: str
            value: production
        functions:
          - name: process
            arguments:
              - name: amount
                annotation: int
              - name: currency
                value: EUR
            return_annotation: str
        classes:
          - name: Plugin
            attributes:
              - {name: kind, type: class, value: payments}
            methods:
              - name: run
                arguments: [{name: self}]
            superclasses: [BasePlugin, {name: base.Other}]
        importers: {allow: ["app.*"], deny: ["app.untrusted.*"]}
        dependencies:
          requests: {version: ">=2.32,<3", required: true}
          legacy-package: {allowed: false}
          anything:
        """
    )
    assert contract.schema_version == 1 and contract.policy_id == "payments"
    assert contract.filename == "plugin.py" and contract.version == "1.2.3"
    assert contract.variables == (Variable("MODE", annotation="str", value="production"),)
    assert contract.functions == (
        Function(
            "process",
            arguments=[Argument("amount", annotation="int"), Argument("currency", value="EUR")],
            return_annotation="str",
        ),
    )
    assert contract.classes == (
        Class(
            "Plugin",
            attributes=[Attribute("kind", type="class", value="payments")],
            methods=[Function("run", arguments=[Argument("self")])],
            superclasses=["BasePlugin", Superclass("base.Other")],
        ),
    )
    assert contract.importers is not None
    assert contract.importers.allow == ("app.*",) and contract.importers.deny == ("app.untrusted.*",)
    assert contract.dependencies == (
        Dependency("requests", version=">=2.32,<3", required=True),
        Dependency("legacy-package", allowed=False),
        Dependency("anything"),
    )


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("3.10", "3.10"),  # an unquoted float is read from its source text, never as 3.1
        ("3.1", "3.1"),
        ("3", "3"),
        ('"3.12.8"', "3.12.8"),
        ("'>=3.10,<3.14'", ">=3.10,<3.14"),
        ("3.13.0rc1", "3.13.0rc1"),
    ],
)
def test_python_versions_keep_their_source_text(written: str, read: str) -> None:
    contract = parse(f"deployments: [{{systems: [{{pythons: [{{version: {written}}}]}}]}}]\n")
    assert contract.deployments is not None
    systems = contract.deployments[0].systems
    assert systems is not None and systems[0].pythons is not None
    assert systems[0].pythons[0].version == read
    assert parse(f"runtime: {{python: {written}}}\n").runtime.python == read  # type: ignore[union-attr]


def test_values_keep_their_source_text_and_python_value() -> None:
    contract = parse(
        """\
        variables:
          - {name: A, value: 3.10}
          - {name: B, value: true}
          - {name: C, value: None}
          - {name: D, value: "1.0.0"}
          - {name: E, value: {}}
          - {name: F, value: [1, two]}
          - {name: G, value: 2024-01-31}
        """
    )
    assert contract.variables is not None
    values = [(v.value, v.value_text) for v in contract.variables]
    assert values == [
        (3.1, "3.10"),
        (True, "true"),
        ("None", "None"),
        ("1.0.0", "1.0.0"),
        ({}, None),
        ([1, "two"], None),
        ("2024-01-31", "2024-01-31"),
    ]


def test_null_means_not_required() -> None:
    # ImportSpy's own examples leave keys empty; they must read as "absent".
    contract = parse(
        """\
        filename: extension.py
        version:
        functions:
        classes:
          - name: Foo
            attributes:
            methods:
              - name: get_bar
                arguments:
                  - name: self
                    annotation:
                    value:
                return_annotation:
            superclasses:
        """
    )
    assert contract.version is None and contract.functions is None
    assert contract.classes == (Class("Foo", methods=[Function("get_bar", arguments=[Argument("self")])]),)


def test_importspy_older_forms() -> None:
    contract = parse(
        """\
        variables:
          engine: docker
          author:
        deployments:
          - arch: x86_64
            systems:
              - os: windows
                envs:
                  ENV: production
        """
    )
    assert contract.variables == (Variable("engine", value="docker"), Variable("author"))
    assert contract.deployments is not None and contract.deployments[0].systems is not None
    environment = contract.deployments[0].systems[0].environment
    assert environment is not None
    assert environment.variables == (EnvVariable("ENV", value="production"),)


def test_environment_secrets_and_secret_variables() -> None:
    contract = parse(
        """\
        deployments:
          - systems:
              - environment:
                  variables:
                    - {name: MODE, value: true, annotation: bool}
                    - {name: API_KEY, value: abc, secret: true}
                  secrets: [SERVICE_TOKEN]
        runtime:
          environment:
            APP_MODE: production
            TOKEN: null
            DB_PASSWORD: {value: hunter2, secret: true}
        """
    )
    assert contract.deployments is not None and contract.deployments[0].systems is not None
    environment = contract.deployments[0].systems[0].environment
    assert environment is not None
    # Environment values are text, as written: `true` is the text "true".
    assert environment.variables == (
        EnvVariable("MODE", value="true"),
        EnvVariable("API_KEY", value="abc", secret=True),
    )
    assert environment.secrets == (EnvVariable("SERVICE_TOKEN", secret=True),)
    assert contract.runtime is not None
    assert contract.runtime.environment == (
        EnvVariable("APP_MODE", value="production"),
        EnvVariable("TOKEN"),
        EnvVariable("DB_PASSWORD", value="hunter2", secret=True),
    )
    assert "hunter2" not in repr(contract) and "abc" not in repr(contract)


def test_runtime_lists_accept_the_short_form() -> None:
    runtime = parse("runtime: {os: Linux, architecture: [amd64, ARM64], implementation: cpython}\n").runtime
    assert runtime is not None
    assert runtime.os == ("Linux",)
    assert runtime.architecture == ("amd64", "ARM64")
    assert runtime.implementation == ("cpython",)


def test_merge_keys_are_resolved_and_explicit_keys_win() -> None:
    contract = parse(
        """\
        deployments:
          - &linux {arch: x86_64, systems: [{os: linux}]}
          - <<: *linux
            arch: aarch64
        """
    )
    assert contract.deployments is not None
    assert [d.arch for d in contract.deployments] == ["x86_64", "aarch64"]
    assert contract.deployments[0].systems == contract.deployments[1].systems


def test_positions_are_recorded_for_each_entry_and_key() -> None:
    contract = parse(
        """\
        # a comment on line 1
        filename: plugin.py
        deployments:
          - arch: x86_64
            systems:
              - os: linux
                pythons:
                  - version: "3.12"
        """
    )
    assert contract.line_of("filename") == 2
    assert contract.line_of("deployments") == 3
    assert contract.deployments is not None
    deployment = contract.deployments[0]
    assert deployment.line == 4 and deployment.line_of("arch") == 4
    assert deployment.systems is not None
    system = deployment.systems[0]
    assert system.line_of("os") == 6
    assert system.pythons is not None and system.pythons[0].line_of("version") == 8
    # positions and source text never take part in equality
    assert contract == parse(
        "filename: plugin.py\ndeployments: [{arch: x86_64, systems: "
        "[{os: linux, pythons: [{version: '3.12'}]}]}]\n"
    )


# --------------------------------------------------------------------------- what is refused

REFUSED = [
    # (document, key path, line, column, words of the reason)
    ("a: 1\n", "a", 1, 1, "unknown key 'a'"),
    ("filname: x.py\n", "filname", 1, 1, "did you mean 'filename'"),
    (
        "functions: [{name: f, return_annotations: str}]\n",
        "functions[0].return_annotations",
        1,
        23,
        "did you mean 'return_annotation'",
    ),
    ("filename: 1\n", "filename", 1, 11, "expected a string, found a number"),
    ("filename: ''\n", "filename", 1, 11, "must not be empty"),
    ("variables: [{value: 1}]\n", "variables[0]", 1, 13, "missing required key 'name'"),
    ("variables: [{name: null}]\n", "variables[0]", 1, 13, "missing required key 'name'"),
    ("variables: [null]\n", "variables[0]", 1, 13, "expected a mapping, found null"),
    ("classes: {name: A}\n", "classes", 1, 10, "expected a list, found a mapping"),
    (
        "deployments:\n  - systems:\n      - os: linux\n      - os: linx\n",
        "deployments[0].systems[1].os",
        4,
        13,
        "unknown operating system 'linx'",
    ),
    ("deployments: [{arch: x86}]\ndeployments: []\n", "deployments", 2, 1, "duplicate key"),
    ("deployments: [{arch: sparc}]\n", "deployments[0].arch", 1, 22, "unknown architecture"),
    (
        "deployments: [{systems: [{pythons: [{interpreter: CPyton}]}]}]\n",
        "deployments[0].systems[0].pythons[0].interpreter",
        1,
        51,
        "unknown interpreter",
    ),
    (
        "deployments: [{systems: [{pythons: [{version: 3.x}]}]}]\n",
        "deployments[0].systems[0].pythons[0].version",
        1,
        47,
        "invalid version",
    ),
    ("runtime: {python: '>=3.x'}\n", "runtime.python", 1, 19, "invalid version specifier"),
    ("runtime: {python: true}\n", "runtime.python", 1, 19, "expected a version"),
    ("version: '>=1.x'\n", "version", 1, 10, "invalid version specifier"),
    (
        "classes: [{name: A, attributes: [{name: b, type: klass}]}]\n",
        "classes[0].attributes[0].type",
        1,
        50,
        "expected 'class' or 'instance'",
    ),
    (
        "functions: [{name: f, arguments: [{name: a, value: 1, default: 2}]}]\n",
        "functions[0].arguments[0]",
        1,
        35,
        "not both",
    ),
    (
        "deployments: [{systems: [{envs: {A: b}, environment: {}}]}]\n",
        "deployments[0].systems[0].envs",
        1,
        33,
        "old name",
    ),
    (
        "dependencies: {'import:pickle': {allowed: false}}\n",
        "dependencies.import:pickle",
        1,
        16,
        "not a distribution name",
    ),
    (
        "dependencies: {x: {required: true, allowed: false}}\n",
        "dependencies.x",
        1,
        19,
        "both required and not allowed",
    ),
    (
        "dependencies: {requests: {declared: true}}\n",
        "dependencies.requests.declared",
        1,
        27,
        "not supported by importspy-hook",
    ),
    ("dependency_options: {unresolved: deny}\n", "dependency_options", 1, 1, "not supported"),
    ("schema_version: 2\n", "schema_version", 1, 17, "only 1 is known"),
    ("schema_version: '1'\n", "schema_version", 1, 17, "only 1 is known"),
    ("importers: {allow: app.*}\n", "importers.allow", 1, 20, "expected a list"),
    ("runtime: {environment: [A]}\n", "runtime.environment", 1, 24, "mapping of NAME: value"),
    (
        "deployments: [{systems: [{environment: {secrets: ['A=B']}}]}]\n",
        "deployments[0].systems[0].environment.secrets[0]",
        1,
        51,
        "cannot contain '='",
    ),
    ("filename: !!python/name:os.system\n", "filename", 1, 11, "tag '!!python/name:os.system'"),
    ("filename: !custom x\n", "filename", 1, 11, "tag '!custom' is not allowed"),
    ("variables: [{name: a, value: !!binary aGk=}]\n", "variables[0].value", 1, 30, "not allowed"),
    ("- filename: x\n", "", 1, 1, "must be a mapping, found a list"),
    ("just text\n", "", 1, 1, "must be a mapping, found a string"),
    ("{[a]: 1}\n", "", 1, 2, "keys must be names"),
]


@pytest.mark.parametrize(("document", "key", "line", "column", "reason"), REFUSED)
def test_refused_with_key_path_and_position(
    document: str, key: str, line: int, column: int, reason: str
) -> None:
    error = refuse(document)
    assert (error.key, error.line, error.column) == (key, line, column), str(error)
    assert reason in error.reason
    assert str(error).startswith(f"c.contract.yml:{line}:{column}:")


def test_yaml_syntax_errors_carry_their_position() -> None:
    error = refuse("filename: x\nvariables: [a, b\n")
    assert error.line == 3 and "invalid YAML" in error.reason
    assert refuse("a: b: c\n").line == 1
    assert "single document" in refuse("filename: a\n---\nfilename: b\n").reason


@pytest.mark.parametrize(
    ("data", "line", "column", "reason"),
    [
        (b"filename: x\nversion: \xff\n", 2, 10, "not valid UTF-8"),
        (b"filename: x\x00\n", 1, 12, "NUL"),
        ("filename: x\x00\n", 1, 12, "NUL"),
        (b"\xff\xfef\x00i\x00", 1, 1, "UTF-8"),
        (b"\x7fELF\x02\x01\x01\x00\x00", 1, 8, "NUL"),
        ("filename: \x07\n", 1, 11, "invalid YAML"),
    ],
)
def test_binary_and_non_utf8_content(data: str | bytes, line: int, column: int, reason: str) -> None:
    error = refuse(data)
    assert (error.line, error.column) == (line, column)
    assert reason in error.reason


def test_utf8_bom_is_accepted() -> None:
    assert parse_contract("\ufefffilename: x.py\n".encode()).filename == "x.py"


def test_alias_expansion_is_bounded() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    document = "variables:\n  - name: v\n    value: {" + ", ".join(levels) + "}\n"
    error = refuse(document)
    assert "too many aliases" in error.reason and error.key.startswith("variables[0].value")
    # a few aliases are fine
    assert parse("deployments: [&d {arch: x86_64}, *d, *d]\n").deployments is not None


def test_recursive_alias_and_deep_nesting_are_errors() -> None:
    assert "nested too deeply" in refuse("variables: [{name: v, value: &r [*r]}]\n").reason
    assert (
        "nested too deeply" in refuse("variables: [{name: v, value: " + "[" * 60 + "]" * 60 + "}]\n").reason
    )
    assert "nested too deeply" in refuse("filename: " + "[" * 5000 + "]" * 5000 + "\n").reason


def test_size_cap_is_checked_before_parsing(tmp_path: Path) -> None:
    big = "# " + "x" * MAX_CONTRACT_BYTES + "\n"
    assert "larger than" in refuse(big).reason
    path = tmp_path / "big.contract.yml"
    path.write_text(big)
    with pytest.raises(ContractError, match="larger than"):
        load_contract(path)
    with pytest.raises(ContractError, match="larger than"):
        load_contract("inside.zip/x.contract.yml", data=big.encode())


# --------------------------------------------------------------------------- load_contract


def test_load_contract_reads_and_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "plugin.contract.yml"
    path.write_text("filename: host.py\n")
    contract = load_contract(path)
    assert contract.filename == "host.py" and contract.path == str(path)
    path.write_text("filename: [\n")
    with pytest.raises(ContractError) as info:
        load_contract(str(path))
    assert info.value.path == str(path)


def test_missing_file_is_a_contract_error(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="cannot read the contract"):
        load_contract(tmp_path / "absent.contract.yml")
    with pytest.raises(ContractError, match="cannot read the contract"):
        load_contract(tmp_path)  # a directory


def test_cache_is_keyed_on_mtime_and_size(tmp_path: Path) -> None:
    path = tmp_path / "p.contract.yml"
    path.write_text("filename: a.py\n")
    first = load_contract(path)
    assert load_contract(path) is first  # parsed once
    path.write_text("filename: b.py\n")
    os.utime(path, ns=(1, 1))
    assert load_contract(path).filename == "b.py"


def test_failures_are_never_cached(tmp_path: Path) -> None:
    path = tmp_path / "p.contract.yml"
    path.write_text("filename: [\n")
    stat = path.stat()
    with pytest.raises(ContractError):
        load_contract(path)
    path.write_text("filename: ok\n")  # same size, same mtime: only a cache would hide the fix
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert load_contract(path).filename == "ok"


def test_data_is_cached_by_content() -> None:
    first = load_contract("archive.zip/p.contract.yml", data=b"filename: a.py\n")
    assert load_contract("archive.zip/p.contract.yml", data=b"filename: a.py\n") is first
    assert load_contract("archive.zip/p.contract.yml", data=b"filename: b.py\n").filename == "b.py"
    with pytest.raises(ContractError) as info:
        load_contract("archive.zip/p.contract.yml", data=b"filename: [\n")
    assert info.value.path == "archive.zip/p.contract.yml"


def test_concurrent_loads_agree(tmp_path: Path) -> None:
    path = tmp_path / "p.contract.yml"
    path.write_text("runtime: {python: '>=3.10'}\nfilename: host.py\n")
    results: list[Contract] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(20):
                results.append(load_contract(path))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 160 and all(result == results[0] for result in results)


def test_models_compare_hash_and_pickle_by_content() -> None:
    import pickle

    text = "filename: a.py\nruntime: {os: [linux], environment: {K: {value: v, secret: true}}}\n"
    first, second = parse_contract(text, "one.yml"), parse_contract("\n\n" + text, "two.yml")
    assert first == second and hash(first) == hash(second)  # positions and path do not count
    assert first != parse_contract(text.replace("a.py", "b.py"))
    assert first != Variable("x") and Variable("x") != Argument("x")  # type matters
    assert len({Variable("x"), Variable("x", line=3), Variable("y")}) == 2
    copy = pickle.loads(pickle.dumps(first))
    assert copy == first and copy.line_of("runtime") == first.line_of("runtime") == 2
    assert repr(Variable("x", value=1, line=9)) == "Variable(name='x', annotation=None, value=1)"
    assert "'v'" not in repr(first) and "value=<not shown>" in repr(first)


# ------------------------------------------------------------------------------ every error (lint)


def every_error(text: str) -> list[tuple[int, int, str, str]]:
    return [
        (e.line, e.column, e.key, e.reason) for e in contract_errors(textwrap.dedent(text), "c.contract.yml")
    ]


def test_every_unknown_key_and_every_bad_value_is_reported_in_document_order() -> None:
    found = every_error(
        """\
        runtime:
          os: [linux, plan9]
          pyhton: '>=3.10'
          python: banana
        functions:
          - name: run
            arguments: [{name: x, anotation: int}]
          - {nmae: stop}
        dependencies:
          requests: {version: ">=2", required: maybe}
        importers: {allow: ["app.*"], deny: "tests.*"}
        """
    )
    assert [(line, key) for line, _, key, _ in found] == [
        (2, "runtime.os[1]"),
        (3, "runtime.pyhton"),
        (4, "runtime.python"),
        (7, "functions[0].arguments[0].anotation"),
        (8, "functions[1].nmae"),
        (10, "dependencies.requests.required"),
        (11, "importers.deny"),
    ]
    # The misspelt key says it all: not also "missing required key 'name'" for the same entry.
    assert found[4][3] == "unknown key 'nmae' (did you mean 'name'?)"


def test_the_first_error_is_the_one_an_import_raises() -> None:
    text = "runtime:\n  os: [plan9]\nclasses: 3\n"
    first = refuse(text)
    errors = contract_errors(text, "c.contract.yml")
    assert len(errors) == 2
    assert str(first) in {str(error) for error in errors}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n",
        "runtime:\n  os: [linux]\n",
        "a: [\n",  # bad YAML: one error, nothing to walk
        "- 1\n- 2\n",  # not a mapping
        "x: &a [*a, *a]\n" + "y: &b [*a, *a, *a, *a]\n" * 1,
    ],
)
def test_every_error_agrees_with_loading(text: str) -> None:
    try:
        parse_contract(text, "c.contract.yml")
    except ContractError as exc:
        errors = contract_errors(text, "c.contract.yml")
        assert errors and str(exc) in [str(e) for e in errors]
    else:
        assert contract_errors(text, "c.contract.yml") == []


def test_a_resource_limit_ends_the_walk_with_one_error() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
    bomb += "variables:\n  - {name: v, value: *h}\n  - {name: w, value: *h}\n"
    errors = contract_errors(bomb, "c.contract.yml")
    assert sum("too many aliases" in e.reason for e in errors) == 1, errors
    assert all("too many aliases" in e.reason or "unknown key" in e.reason for e in errors), errors


def test_every_error_agrees_with_loading_on_mutated_contracts() -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from test_contract_fuzz import KEYS, documents, dump, mutations

    random_documents = st.dictionaries(st.sampled_from(KEYS), documents, max_size=6).map(dump)

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(mutations(), random_documents))
    def agree(text: str) -> None:
        errors = contract_errors(text, "fuzz.contract.yml")
        try:
            parse_contract(text, "fuzz.contract.yml")
        except ContractError as exc:
            # The import path's error is the walk's first; lint shows it among the others.
            assert str(exc) in [str(error) for error in errors]
        else:
            assert errors == []

    agree()
