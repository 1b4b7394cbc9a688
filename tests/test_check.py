"""The matching rules of SPEC §6/§7, field by field, including what is *not* checked when absent."""

from __future__ import annotations

import textwrap
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from importspy_hook import _context
from importspy_hook._check import check, values_equal
from importspy_hook._context import current_context
from importspy_hook._contract_model import (
    Contract,
    Deployment,
    Environment,
    EnvVariable,
    Python,
    Runtime,
    System,
    Variable,
)
from importspy_hook._contract_parse import parse_contract

HOST = """\
__version__ = "1.2.0"
MODE = "production"
RATIO: float = 3.10
COUNT = 3
FLAG = True
NOTHING = None
SETTINGS = {"debug": False}
COMPUTED = compute()


def process(amount: int, currency: str = "EUR", *args, **kwargs) -> str:
    return currency


async def fetch(url: "Optional[str]" = None, retries=3) -> None:
    pass


class Base:
    pass


class Plugin(base.Plugin, Base):
    kind = "payments"

    def __init__(self):
        self.state = "idle"

    def run(self, request: str) -> str:
        return request
"""


class FakeCaller:
    """Same attributes as ``_caller.Caller``."""

    def __init__(self, name: str | None, file: str | None, module: types.ModuleType | None = None) -> None:
        self.name = name
        self.file = file
        self.module = module

    @property
    def module_name(self) -> str | None:
        return self.name


@pytest.fixture
def host(tmp_path: Path) -> FakeCaller:
    path = tmp_path / "host.py"
    path.write_text(HOST)
    return FakeCaller("app.host", str(path))


Row = tuple[str, str, str]


def judge(
    document: str,
    caller: Any = None,
    *,
    os: str = "linux",
    arch: str = "x86_64",
    python: str = "3.11.7",
    implementation: str = "CPython",
    env: Mapping[str, str | None] | None = None,
    distributions: Mapping[str, str] | None = None,
) -> list[Row]:
    contract = parse_contract(textwrap.dedent(document), "c.contract.yml")
    context = current_context(
        os=os,
        arch=arch,
        python=python,
        implementation=implementation,
        env=env or {},
        caller=caller,
        distributions=distributions if distributions is not None else {},
    )
    return [(v.field, v.expected, v.actual) for v in check(contract, context)]


# --------------------------------------------------------------------------- structure

STRUCTURE = [
    # (contract, expected violations)
    ("filename: host.py", []),
    ("filename: plugin.py", [("filename", "plugin.py", "host.py")]),
    ("version: 1.2.0", []),
    ("version: '1.2'", []),  # PEP 440 equality: 1.2 == 1.2.0
    ("version: '>=1.1,<2'", []),
    ("version: '1.3.0'", [("version", "1.3.0", "1.2.0")]),
    ("version: '>=1.3'", [("version", ">=1.3", "1.2.0")]),
    # variables: presence, value (tolerant of YAML typing), annotation
    ("variables: [{name: MODE}]", []),
    ("variables: [{name: MODE, value: production}]", []),
    (
        "variables: [{name: MODE, value: staging}]",
        [("variables[0].value", "MODE = 'staging'", "MODE = 'production'")],
    ),
    (
        "variables: [{name: MISSING}]",
        [("variables[0]", "variable MISSING", "no variable MISSING in app.host")],
    ),
    ("variables: [{name: RATIO, value: 3.10, annotation: float}]", []),
    (
        "variables: [{name: RATIO, annotation: int}]",
        [("variables[0].annotation", "RATIO: int", "RATIO: float")],
    ),
    (
        "variables: [{name: MODE, annotation: str}]",
        [("variables[0].annotation", "MODE: str", "MODE without annotation")],
    ),
    ("variables: [{name: COUNT, value: 3}]", []),
    ("variables: [{name: COUNT, value: '3'}]", []),  # source text "3" is str(3)
    ("variables: [{name: FLAG, value: true}]", []),
    ("variables: [{name: FLAG, value: 1}]", [("variables[0].value", "FLAG = 1", "FLAG = True")]),
    ("variables: [{name: NOTHING, value: None}]", []),
    ("variables: [{name: SETTINGS, value: {debug: false}}]", []),
    ("variables: [{name: COMPUTED}]", []),
    (
        "variables: [{name: COMPUTED, value: 1}]",
        [("variables[0].value", "COMPUTED = 1", "COMPUTED = a value that is not a literal")],
    ),
    ("variables: {MODE: production, COUNT: 4}", [("variables[1].value", "COUNT = 4", "COUNT = 3")]),
    # functions: presence, arguments by name in order, annotations, defaults, return annotation
    ("functions: [{name: process}]", []),
    (
        "functions: [{name: missing}]",
        [("functions[0]", "function missing", "no function missing in app.host")],
    ),
    ("functions: [{name: process, arguments: [{name: currency}]}]", []),  # a subset is enough
    ("functions: [{name: process, arguments: [{name: amount}, {name: kwargs}]}]", []),
    (
        "functions: [{name: process, arguments: [{name: amount, annotation: int}, "
        "{name: currency, annotation: str, value: EUR}], return_annotation: str}]",
        [],
    ),
    (
        "functions: [{name: process, arguments: [{name: currency}, {name: amount}]}]",
        [
            (
                "functions[0].arguments",
                "arguments in the order currency, amount",
                "process(amount, currency, args, kwargs)",
            )
        ],
    ),
    (
        "functions: [{name: process, arguments: [{name: total}]}]",
        [
            (
                "functions[0].arguments[0]",
                "argument total of process",
                "process(amount, currency, args, kwargs)",
            )
        ],
    ),
    (
        "functions: [{name: process, arguments: [{name: amount, annotation: float}]}]",
        [("functions[0].arguments[0].annotation", "amount: float", "amount: int")],
    ),
    (
        "functions: [{name: process, arguments: [{name: currency, value: USD}]}]",
        [("functions[0].arguments[0].value", "currency='USD'", "currency='EUR'")],
    ),
    (
        "functions: [{name: process, arguments: [{name: amount, default: 1}]}]",
        [("functions[0].arguments[0].value", "amount=1", "amount without default")],
    ),
    (
        "functions: [{name: fetch, arguments: [{name: url, annotation: 'str | None', value: None}, "
        "{name: retries, value: 3}], return_annotation: None}]",
        [],
    ),
    ("functions: [{name: fetch, arguments: [{name: url, annotation: 'Union[str, None]'}]}]", []),
    (
        "functions: [{name: fetch, arguments: [{name: retries, annotation: int}]}]",
        [("functions[0].arguments[0].annotation", "retries: int", "retries without annotation")],
    ),
    (
        "functions: [{name: process, return_annotation: bytes}]",
        [("functions[0].return_annotation", "process(...) -> bytes", "process(...) -> str")],
    ),
    # classes: attributes by kind, methods, superclasses
    ("classes: [{name: Plugin}]", []),
    ("classes: [{name: Missing}]", [("classes[0]", "class Missing", "no class Missing in app.host")]),
    (
        "classes: [{name: Plugin, attributes: [{name: kind, type: class, value: payments}, "
        "{name: state, type: instance, value: idle}, {name: state}]}]",
        [],
    ),
    (
        "classes: [{name: Plugin, attributes: [{name: kind, type: instance}]}]",
        [
            (
                "classes[0].attributes[0]",
                "instance attribute Plugin.kind",
                "only a class attribute Plugin.kind",
            )
        ],
    ),
    (
        "classes: [{name: Plugin, attributes: [{name: state, type: class}]}]",
        [
            (
                "classes[0].attributes[0]",
                "class attribute Plugin.state",
                "only an instance attribute Plugin.state",
            )
        ],
    ),
    (
        "classes: [{name: Plugin, attributes: [{name: color}]}]",
        [("classes[0].attributes[0]", "attribute Plugin.color", "no attribute color in class Plugin")],
    ),
    (
        "classes: [{name: Plugin, attributes: [{name: kind, value: other}]}]",
        [("classes[0].attributes[0].value", "Plugin.kind = 'other'", "Plugin.kind = 'payments'")],
    ),
    (
        "classes: [{name: Plugin, methods: [{name: run, arguments: [{name: self}, "
        "{name: request, annotation: str}], return_annotation: str}]}]",
        [],
    ),
    (
        "classes: [{name: Plugin, methods: [{name: stop}]}]",
        [("classes[0].methods[0]", "method Plugin.stop", "no method stop in class Plugin")],
    ),
    (
        "classes: [{name: Plugin, methods: [{name: run, return_annotation: int}]}]",
        [("classes[0].methods[0].return_annotation", "Plugin.run(...) -> int", "Plugin.run(...) -> str")],
    ),
    ("classes: [{name: Plugin, superclasses: [Base, Plugin, base.Plugin, {name: other.Base}]}]", []),
    (
        "classes: [{name: Plugin, superclasses: [Mixin]}]",
        [
            (
                "classes[0].superclasses[0]",
                "class Plugin to inherit from Mixin",
                "class Plugin(base.Plugin, Base)",
            )
        ],
    ),
    (
        "classes: [{name: Base, superclasses: [object]}]",
        [
            (
                "classes[0].superclasses[0]",
                "class Base to inherit from object",
                "class Base without base classes",
            )
        ],
    ),
]


@pytest.mark.parametrize(("document", "expected"), STRUCTURE)
def test_structure_rules(host: FakeCaller, document: str, expected: list[Row]) -> None:
    assert judge(document + "\n", host) == expected


def test_absent_fields_are_not_checked(host: FakeCaller) -> None:
    # Everything below differs from the host except what the contract writes.
    assert (
        judge(
            """\
        variables: [{name: MODE}, {name: RATIO}]
        functions: [{name: process, arguments: [{name: amount}]}]
        classes: [{name: Plugin, attributes: [{name: kind}], methods: [{name: run}]}]
        """,
            host,
        )
        == []
    )


def test_all_violations_are_collected_in_contract_order(host: FakeCaller) -> None:
    rows = judge(
        """\
        filename: other.py
        variables: [{name: MODE, value: x}, {name: GONE}]
        runtime: {python: '>=3.12', os: windows}
        classes: [{name: Gone}]
        """,
        host,
    )
    assert [field for field, _, _ in rows] == [
        "filename",
        "variables[0].value",
        "variables[1]",
        "runtime.python",
        "runtime.os",
        "classes[0]",
    ]


def test_no_caller_fails_structure_but_not_the_environment() -> None:
    document = """\
        filename: host.py
        classes: [{name: Plugin}]
        runtime: {python: '>=3.10'}
        """
    rows = judge(document, None)
    assert len(rows) == 1
    field, _, actual = rows[0]
    assert field == "filename" and "no identifiable importing module" in actual
    assert judge("runtime: {python: '>=3.10'}\n", None) == []


def test_caller_without_source(tmp_path: Path) -> None:
    module = types.ModuleType("compiled")
    module.__version__ = "2.0"  # type: ignore[attr-defined]
    caller = FakeCaller("compiled", None, module)
    rows = judge("version: '2.0'\nfunctions: [{name: f}]\nclasses: [{name: C}]\n", caller)
    assert rows == [
        ("functions", "the source of compiled to check its structure", "caller source not available")
    ]
    assert judge("version: '2.0'\n", caller) == []  # known without source


def test_structure_is_read_only_when_asked(tmp_path: Path) -> None:
    class Exploding:
        name = "exploding"
        module_name = "exploding"
        module = None

        @property
        def file(self) -> str:
            raise AssertionError("the caller's structure was read")

    assert judge("runtime: {python: '>=3.10'}\nimporters: {allow: [expl*]}\n", Exploding()) == []


def test_distributions_are_read_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode() -> Mapping[str, str]:
        raise AssertionError("distributions were scanned")

    monkeypatch.setattr(_context, "installed_distributions", explode)
    contract = parse_contract("runtime: {python: '>=3.10'}\n")
    assert check(contract, current_context(python="3.11.7")) == []


# --------------------------------------------------------------------------- runtime & deployments

RUNTIME = [
    # (contract, context overrides, expected violations)
    ("runtime: {python: '>=3.12'}", {}, [("runtime.python", ">=3.12", "3.11.7 (CPython)")]),
    ("runtime: {python: '3.11'}", {}, []),  # a bare release means 3.11.*
    ("runtime: {python: 3.10}", {"python": "3.10.4"}, []),
    ("runtime: {python: 3.10}", {"python": "3.1.4"}, [("runtime.python", "3.10", "3.1.4 (CPython)")]),
    ("runtime: {python: '3.12'}", {"implementation": "PyPy"}, [("runtime.python", "3.12", "3.11.7 (PyPy)")]),
    ("runtime: {os: [linux, darwin]}", {}, []),
    ("runtime: {os: [macOS]}", {"os": "darwin"}, []),
    ("runtime: {os: [darwin, windows]}", {}, [("runtime.os", "one of darwin, windows", "linux")]),
    ("runtime: {os: []}", {"os": "windows"}, []),  # an empty list accepts any
    ("runtime: {architecture: amd64}", {}, []),
    ("runtime: {architecture: [arm64]}", {"arch": "aarch64"}, []),
    ("runtime: {architecture: arm64}", {}, [("runtime.architecture", "arm64", "x86_64")]),
    ("runtime: {implementation: [cpython]}", {}, []),
    ("runtime: {implementation: [PyPy]}", {}, [("runtime.implementation", "PyPy", "CPython")]),
    ("runtime: {environment: {APP_MODE: production}}", {"env": {"APP_MODE": "production"}}, []),
    (
        "runtime: {environment: {APP_MODE: production}}",
        {"env": {"APP_MODE": "dev"}},
        [("runtime.environment.APP_MODE", "APP_MODE='production'", "APP_MODE='dev'")],
    ),
    ("runtime: {environment: {TOKEN: null}}", {"env": {"TOKEN": ""}}, []),
    (
        "runtime: {environment: {TOKEN: null}}",
        {"env": {"TOKEN": None}},
        [("runtime.environment.TOKEN", "TOKEN to be set", "TOKEN not set")],
    ),
    ("runtime: {environment: {DEBUG: true}}", {"env": {"DEBUG": "true"}}, []),
    ("deployments: [{arch: x86_64, systems: [{os: linux}]}]", {}, []),
    ("deployments: [{arch: AMD64}]", {}, []),
    ("deployments: [{arch: arm64}]", {}, [("deployments[0].arch", "arm64", "x86_64")]),
    ("deployments: []", {"os": "windows"}, []),
    ("deployments: [{systems: [{os: windows}, {os: linux}]}]", {}, []),
    (
        "deployments: [{systems: [{pythons: [{version: '3.12'}, {version: '3.11', interpreter: CPython}]}]}]",
        {},
        [],
    ),
    (
        "deployments: [{systems: [{pythons: [{version: '3.12.8'}]}]}]",
        {},
        [("deployments[0].systems[0].pythons[0].version", "3.12.8", "3.11.7 (CPython)")],
    ),
    (
        "deployments: [{systems: [{pythons: [{interpreter: IronPython}]}]}]",
        {},
        [("deployments[0].systems[0].pythons[0].interpreter", "IronPython", "CPython")],
    ),
    (
        "deployments: [{systems: [{environment: {variables: [{name: MODE, value: prod}]}}]}]",
        {"env": {"MODE": "prod"}},
        [],
    ),
    (
        "deployments: [{systems: [{environment: {variables: {MODE: prod}}}]}]",
        {"env": {"MODE": "test"}},
        [("deployments[0].systems[0].environment.variables[0]", "MODE='prod'", "MODE='test'")],
    ),
    (
        "deployments: [{systems: [{environment: {secrets: [KEY]}}]}]",
        {"env": {"KEY": None}},
        [("deployments[0].systems[0].environment.secrets[0]", "KEY to be set", "KEY not set")],
    ),
]


@pytest.mark.parametrize(("document", "overrides", "expected"), RUNTIME)
def test_runtime_and_deployment_rules(document: str, overrides: dict[str, Any], expected: list[Row]) -> None:
    assert judge(document + "\n", None, **overrides) == expected


def test_no_alternative_matched_reports_the_closest() -> None:
    document = """\
        deployments:
          - arch: arm64
            systems: [{os: darwin}]
          - arch: x86_64
            systems:
              - os: linux
                environment: {variables: [{name: MODE, value: prod}]}
          - arch: x86_64
            systems: [{os: windows}]
        """
    rows = judge(document, None, env={"MODE": "dev"})
    # deployments[1] and [2] are both one violation away: the first of them is the closest.
    assert rows == [
        ("deployments", "one of 3 deployments to match", "none matched"),
        ("deployments[1].systems[0].environment.variables[0]", "MODE='prod'", "MODE='dev'"),
    ]
    contract = parse_contract(textwrap.dedent(document))
    head = check(contract, current_context(os="linux", arch="x86_64", env={"MODE": "dev"}))[0]
    assert head.line == 1 and "closest is deployments[1]" in head.message
    assert judge(document, None, env={"MODE": "prod"}) == []


def test_nested_alternatives_each_say_none_matched() -> None:
    rows = judge(
        """\
        deployments:
          - arch: x86_64
            systems:
              - os: linux
                pythons: [{version: '3.12'}, {version: '3.13', interpreter: PyPy}]
        """,
        None,
    )
    assert rows == [
        ("deployments[0].systems[0].pythons", "one of 2 Pythons to match", "none matched"),
        ("deployments[0].systems[0].pythons[0].version", "3.12", "3.11.7 (CPython)"),
    ]


def test_modules_inside_a_python_alternative(host: FakeCaller) -> None:
    document = """\
        deployments:
          - systems:
              - pythons:
                  - version: '3.12'
                    modules: [{filename: host.py}]
                  - version: '3.11'
                    modules: [{filename: host.py, variables: [{name: MODE, value: test}]}]
        """
    rows = judge(document, host)
    assert rows == [
        ("deployments[0].systems[0].pythons", "one of 2 Pythons to match", "none matched"),
        ("deployments[0].systems[0].pythons[0].version", "3.12", "3.11.7 (CPython)"),
    ]
    assert judge(document.replace("value: test", "value: production"), host) == []


# --------------------------------------------------------------------------- importers & dependencies


@pytest.mark.parametrize(
    ("document", "name", "expected"),
    [
        ("importers: {allow: ['app.*']}", "app.host", []),
        ("importers: {allow: ['tests.*', 'app.*']}", "app.host", []),
        (
            "importers: {allow: ['tests.*']}",
            "app.host",
            [("importers.allow", "an importer matching tests.*", "app.host")],
        ),
        (
            "importers: {deny: ['app.h*']}",
            "app.host",
            [("importers.deny[0]", "an importer not matching app.h*", "app.host")],
        ),
        ("importers: {deny: ['evil.*']}", "app.host", []),
        (
            "importers: {allow: ['app.*'], deny: ['app.host']}",
            "app.host",
            [("importers.deny[0]", "an importer not matching app.host", "app.host")],
        ),
        (
            "importers: {allow: ['App.*']}",
            "app.host",
            [("importers.allow", "an importer matching App.*", "app.host")],
        ),  # case-sensitive
    ],
)
def test_importers(document: str, name: str, expected: list[Row]) -> None:
    assert judge(document + "\n", FakeCaller(name, None)) == expected


def test_importers_without_a_caller() -> None:
    rows = judge("importers: {allow: ['app.*']}\n", None)
    assert rows and "no identifiable importing module" in rows[0][2]
    # An unidentified importer cannot prove it is not denied either (SPEC §5, issue 11 item 10).
    rows = judge("importers: {deny: ['app.*']}\n", None)
    assert rows == [("importers.deny", "an importer not matching app.*", rows[0][2])]
    assert "no identifiable importing module" in rows[0][2]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("dependencies: {packaging: {version: '>=24'}}", []),
        (
            "dependencies: {packaging: {version: '<24'}}",
            [("dependencies.packaging.version", "packaging <24", "packaging 24.1")],
        ),
        ("dependencies: {absent: {version: '>=1'}}", []),  # only checked when installed
        (
            "dependencies: {absent: {required: true}}",
            [("dependencies.absent.required", "absent installed", "absent not installed")],
        ),
        ("dependencies: {Ruamel.YAML: {required: true}}", []),  # PEP 503 names
        (
            "dependencies: {typer: {allowed: false}}",
            [("dependencies.typer.allowed", "typer not installed", "typer 0.9.0")],
        ),
        ("dependencies: {absent: {allowed: false}}", []),
        ("dependencies: {typer: }", []),
    ],
)
def test_dependencies(document: str, expected: list[Row]) -> None:
    installed = {"packaging": "24.1", "typer": "0.9.0", "ruamel-yaml": "0.18.6"}
    assert judge(document + "\n", None, distributions=installed) == expected


# --------------------------------------------------------------------------- secrets & built contracts

SECRET = "s3cr3t-Value-42"


def test_secret_values_are_compared_but_never_shown() -> None:
    # The required value is itself the secret; it is not the word "other", which the message
    # now uses ("set to another value", SPEC §6).
    documents = [
        "runtime: {environment: {DB_PASSWORD: {value: required-pw, secret: true}}}\n",
        "deployments: [{systems: [{environment: {variables: "
        "[{name: DB_PASSWORD, value: required-pw, secret: true}]}}]}]\n",
        "deployments: [{systems: [{environment: {variables: [{name: DB_PASSWORD, value: required-pw}], "
        "secrets: [DB_PASSWORD]}}]}]\n",
    ]
    for document in documents:
        contract = parse_contract(document)
        violations = check(contract, current_context(env={"DB_PASSWORD": SECRET}))
        assert len(violations) == 1
        text = repr(violations) + violations[0].describe("c.yml") + repr(contract)
        assert SECRET not in text and "required-pw" not in text
        assert "secret, not shown" in violations[0].expected
        assert check(contract, current_context(env={"DB_PASSWORD": "required-pw"})) == []


def test_a_contract_built_in_python() -> None:
    contract = Contract(
        variables=[Variable("MODE")],
        runtime=Runtime(python=">=3.12", os="linux"),
        deployments=[
            Deployment(arch="arm64"),
            Deployment(
                systems=[System(environment=Environment(secrets=["TOKEN"]), pythons=[Python("3.11")])]
            ),
        ],
    )
    violations = check(contract, current_context(os="linux", python="3.11.2", env={"TOKEN": None}))
    assert [(v.field, v.line) for v in violations] == [
        ("runtime.python", 0),
        ("deployments", 0),
        ("deployments[0].arch", 0),
        ("variables", 0),
    ]
    assert (
        check(Contract(runtime=Runtime(environment=[EnvVariable("X", "1")])), current_context(env={"X": "1"}))
        == []
    )


@pytest.mark.parametrize(
    ("expected", "text", "actual", "equal"),
    [
        ("1.0.0", "1.0.0", "1.0.0", True),
        (3.1, "3.10", "3.10", True),
        (3.1, "3.10", 3.1, True),
        (True, "true", True, True),
        (True, "true", 1, False),
        (1, "1", True, False),
        ("None", "None", None, True),
        ("True", "True", True, True),
        ([1, 2], None, [1, 2], True),
        ([1, 2], None, (1, 2), False),
        ("x", "x", "y", False),
    ],
)
def test_values_equal(expected: object, text: str | None, actual: object, equal: bool) -> None:
    assert values_equal(expected, text, actual) is equal


def test_version_falls_back_to_the_distribution_version(tmp_path: Path) -> None:
    # A module of an installed distribution that defines no __version__: its distribution's is used.
    from importlib.metadata import version

    installed = version("packaging")
    source = tmp_path / "markers.py"
    source.write_text("X = 1\n")
    caller = FakeCaller("packaging.markers", str(source))
    assert judge(f"version: '{installed}'\n", caller) == []
    assert judge("version: '<1'\n", caller) == [("version", "<1", installed)]
    unknown = FakeCaller("not_a_distribution_module", str(source))
    assert judge("version: '1.0'\n", unknown) == [("version", "1.0", "no __version__")]


def _install_by_hand(site: Path, project: str, version: str, files: Mapping[str, str]) -> None:
    """A distribution as flit/hatchling/pdm/poetry wheels install it: METADATA and RECORD, no
    ``top_level.txt`` (only setuptools writes that file)."""
    dist_info = site / f"{project.replace('-', '_')}-{version}.dist-info"  # as the wheel spec escapes it
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n")
    (dist_info / "WHEEL").write_text("Wheel-Version: 1.0\nGenerator: hatchling 1.25.0\n")
    record = [f"{name},," for name in files]
    record += [
        f"{dist_info.name}/METADATA,,",
        f"{dist_info.name}/WHEEL,,",
        f"{dist_info.name}/RECORD,,",
        f"../../../bin/{project}-cli,,",  # a console script: outside site-packages, not a module
        f"{project}.pth,,",  # a start-up file: not importable
    ]
    (dist_info / "RECORD").write_text("\n".join(record) + "\n")
    for name, text in files.items():
        target = site / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def test_version_falls_back_to_a_distribution_without_top_level_txt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 12: on Python 3.10 the distribution of a caller installed from a non-setuptools wheel
    # (no top_level.txt) was not found, so `version:` refused a compliant caller there only.
    site = tmp_path / "site-packages"
    _install_by_hand(
        site,
        "hatch-built-app",
        "2.3.1",
        {"hatch_built_app/__init__.py": "", "hatch_built_app/plugins/host.py": "X = 1\n"},
    )
    _install_by_hand(site, "flit-single", "0.9", {"flit_single_module.py": "X = 1\n"})
    monkeypatch.syspath_prepend(str(site))
    host = site / "hatch_built_app" / "plugins" / "host.py"
    package_caller = FakeCaller("hatch_built_app.plugins.host", str(host))
    assert judge("version: '>=2.3'\n", package_caller) == []
    assert judge("version: '<2'\n", package_caller) == [("version", "<2", "2.3.1")]
    module_caller = FakeCaller("flit_single_module", str(site / "flit_single_module.py"))
    assert judge("version: '0.9'\n", module_caller) == []
    # The RECORD's other lines name no module: nothing is installed under those names.
    for not_a_module in ("flit-single", "flit_single-0.9.dist-info", ".."):
        stray = FakeCaller(not_a_module, str(site / "flit_single_module.py"))
        assert judge("version: '0.9'\n", stray) == [("version", "0.9", "no __version__")], not_a_module


def test_a_callers_distribution_installed_while_the_process_runs_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "Never cache a failure": the version fallback once remembered "no distribution" for the
    # process, so a plugin host that pip-installed the caller's distribution meanwhile kept
    # refusing it until restart.
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    host = site / "late_installed_app" / "host.py"
    host.parent.mkdir()
    host.write_text("X = 1\n")
    caller = FakeCaller("late_installed_app.host", str(host))
    assert judge("version: '1.4.2'\n", caller) == [("version", "1.4.2", "no __version__")]
    _install_by_hand(site, "late-installed-app", "1.4.2", {"late_installed_app/__init__.py": ""})
    assert judge("version: '1.4.2'\n", caller) == []


def test_a_python_built_contract_with_a_non_string_environment_value_is_explained_not_crashed() -> None:
    # check() takes models built in Python as they are (register() is what validates them): an
    # environment value of another type is a requirement nothing meets, worded like any other.
    contract = Contract(runtime=Runtime(environment=(EnvVariable("CHECK_T_LEVEL", value=1),)))  # type: ignore[arg-type]
    context = current_context(env={"CHECK_T_LEVEL": "1"})
    assert [(v.field, v.expected, v.actual) for v in check(contract, context)] == [
        ("runtime.environment.CHECK_T_LEVEL", "CHECK_T_LEVEL=1", "CHECK_T_LEVEL='1'")
    ]
