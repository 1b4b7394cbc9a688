"""The ``importspy-hook`` command line (SPEC §9; issue 5).

Every subcommand runs in a real subprocess: the installed console script when the package under
test is the installed one, ``python -m importspy_hook`` from a checkout. Tests assert what a user or
a CI script relies on: exit codes, the exact shape of error lines, machine-readable output (JSON,
SARIF 2.1.0) and the round trips between commands and the import hook itself.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import PACKAGE_PARENT, Result, child_env, run_python, run_script, write_files

from importspy_hook._simulation import parse_assignments

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
THIS_OS = platform.system().lower() or "linux"
OTHER_OS = "linux" if THIS_OS == "windows" else "windows"
ERROR_LINE = re.compile(r"^importspy-hook: error: \S.*$")


def _command() -> list[str]:
    """The console script if the package under test is installed, else ``python -m``."""
    installed = "site-packages" in PACKAGE_PARENT or "dist-packages" in PACKAGE_PARENT
    script = shutil.which("importspy-hook", path=os.path.dirname(sys.executable))
    return [script] if installed and script else [sys.executable, "-m", "importspy_hook"]


def cli(*args: str, cwd: Path | str | None = None, env: dict[str, str | None] | None = None) -> Result:
    import subprocess

    completed = subprocess.run(
        [*_command(), *args],
        cwd=cwd,
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Result(completed)


def assert_one_error_line(result: Result, *fragments: str) -> None:
    """Bad input: exit 2, exactly one line on stderr in the documented shape, no traceback."""
    assert result.returncode == 2, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and ERROR_LINE.match(lines[0]), result
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], result


# ------------------------------------------------------------------------------ help and usage


def test_help_lists_every_command_and_imports_nothing_heavy() -> None:
    result = cli("--help")
    assert result.returncode == 0
    for command in ("status", "context", "init", "lint", "check"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE), command
    probe = run_python(
        """
        import sys
        from importspy_hook._cli import main
        assert main(["--help"]) == 0
        print([m for m in ("attr", "attrs", "ruamel.yaml", "structlog", "packaging") if m in sys.modules])
        """
    )
    assert probe.stdout.strip().splitlines()[-1] == "[]", probe


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("status", ["--format"]),
        ("context", ["--values"]),
        ("init", ["--caller", "--output"]),
        ("lint", ["PATH", "--format", "--quiet"]),
        ("check", ["CONTRACT", "--caller", "--set", "--unset", "--format", "sarif"]),
    ],
)
def test_each_command_has_complete_help(command: str, options: list[str]) -> None:
    result = cli(command, "--help")
    assert result.returncode == 0, result
    assert result.stdout.startswith(f"usage: importspy-hook {command}")
    for option in options:
        assert option in result.stdout


def test_version() -> None:
    import importspy_hook

    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"importspy-hook {importspy_hook.__version__}"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["check"], "the following arguments are required: CONTRACT"),
        (["init"], "--caller"),
        (["lint", "--format", "xml"], "invalid choice: 'xml'"),
        (["status", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], fragment: str) -> None:
    assert_one_error_line(cli(*args), fragment)


def test_no_command_shows_help_and_fails() -> None:
    result = cli()
    assert result.returncode == 2 and "usage: importspy-hook" in result.stdout


# ------------------------------------------------------------------------------ status


def test_status_reports_mode_startup_file_and_log_settings() -> None:
    env: dict[str, str | None] = {
        "IMPORTSPY_HOOK": "warn",
        "IMPORTSPY_HOOK_LOG": "json",
        "IMPORTSPY_HOOK_LOG_LEVEL": "debug",
        "IMPORTSPY_HOOK_EXCLUDE": "vendored.*",
    }
    report = json.loads(cli("status", "--format", "json", env=env).stdout)
    import importspy_hook

    assert report["version"] == importspy_hook.__version__
    assert report["configured_mode"] == "warn"
    assert report["log"] == {"renderer": "json", "level": "debug"}
    assert report["settings"]["IMPORTSPY_HOOK_EXCLUDE"] == "vendored.*"
    pth = [path for path in report["startup_files"] if path.endswith("importspy_hook.pth")]
    # Installed: the start-up file ran and the hook is active in warn mode. From a checkout: neither.
    assert report["active"] is bool(pth)
    assert report["mode"] == ("warn" if pth else None)
    human = cli("status", env=env)
    assert human.returncode == 0
    assert "IMPORTSPY_HOOK:  'warn' -> warn" in human.stdout
    assert "log:             json, level debug" in human.stdout


def test_status_when_switched_off_and_with_a_typo() -> None:
    off = json.loads(cli("status", "--format", "json", env={"IMPORTSPY_HOOK": "0"}).stdout)
    assert off["active"] is False and off["mode"] is None and off["configured_mode"] == "off"
    typo = cli("status", env={"IMPORTSPY_HOOK": "enforc"})
    assert "-> enforce" in typo.stdout
    assert "warning:         unknown IMPORTSPY_HOOK value 'enforc'" in typo.stdout


# ------------------------------------------------------------------------------ context


def test_context_lists_variable_names_not_values(tmp_path: Path) -> None:
    env: dict[str, str | None] = {"SPY_PLAIN": "plain-value-123", "SPY_API_TOKEN": "token-value-456"}
    result = cli("context", env=env, cwd=tmp_path)
    assert result.returncode == 0, result
    assert re.search(r"^    SPY_PLAIN:$", result.stdout, re.MULTILINE)
    assert "plain-value-123" not in result.stdout and "token-value-456" not in result.stdout
    with_values = cli("context", "--values", env=env, cwd=tmp_path)
    assert '    SPY_PLAIN: "plain-value-123"' in with_values.stdout
    assert "SPY_API_TOKEN:  # value withheld" in with_values.stdout
    assert "token-value-456" not in with_values.stdout


def test_context_round_trip_lint_clean_and_check_compliant(project: Path) -> None:
    env: dict[str, str | None] = {"SPY_ODD": 'quote " backslash \\ tab \t é ☃', "SPY_NO": "no"}
    for values in ([], ["--values"]):
        context = cli("context", *values, env=env, cwd=project)
        assert context.returncode == 0, context
        write_files(project, {"mod.py": "X = 1\n"})
        (project / "mod.contract.yml").write_text(context.stdout, encoding="utf-8")
        lint = cli("lint", env=env, cwd=project)
        assert (lint.returncode, lint.stdout) == (0, "1 contract checked: no errors\n"), lint
        check = cli("check", "mod.contract.yml", env=env, cwd=project)
        assert check.returncode == 0, check
        assert check.stdout.startswith("compliant: mod.contract.yml")
        # The same contract through the import hook itself.
        imported = run_script(
            write_files(project, {"host.py": "import mod\nprint('ok')\n"}) / "host.py", env=env
        )
        assert imported.stdout.strip() == "ok", imported
        # ... and a change of context is refused.
        moved = cli(
            "check", "mod.contract.yml", "--set", f"os={OTHER_OS}", "--unset", "SPY_ODD", env=env, cwd=project
        )
        assert moved.returncode == 1
        assert "runtime.os" in moved.stdout and "runtime.environment.SPY_ODD" in moved.stdout


# ------------------------------------------------------------------------------ init

HOST_V1 = """\
import plugin  # imported before anything below exists: the structure is read from the source

API_VERSION = 2
NAME: str = "host"
_PRIVATE = 1
__version__ = "1.4.0"


class Base:
    pass


class PluginHost(Base):
    kind = "main"

    def __init__(self) -> None:
        self.plugins: dict[str, object] = {}

    def register(self, name: str, plugin: object, *, replace: bool = False) -> None:
        self.plugins[name] = plugin


def main(argv: list[str] | None = None) -> int:
    return 0
"""


def test_init_contract_admits_the_host_and_refuses_it_once_changed(project: Path) -> None:
    write_files(project, {"host.py": HOST_V1, "plugin.py": "print('plugin ran')\n"})
    result = cli("init", "--caller", "host.py", "-o", "plugin.contract.yml", cwd=project)
    assert result.returncode == 0, result
    text = (project / "plugin.contract.yml").read_text(encoding="utf-8")
    for fragment in (
        "filename: host.py",
        'version: "1.4.0"',
        "  - name: API_VERSION\n    value: 2",
        '  - name: NAME\n    annotation: str\n    value: "host"',
        "superclasses: [Base]",
        "          - name: replace\n            annotation: bool",
        "  - name: main",
        f"  os: [{THIS_OS}]",
    ):
        assert fragment in text, fragment
    assert "_PRIVATE" not in text
    assert cli("lint", cwd=project).returncode == 0
    # Host admitted: by `check` and by the import hook itself.
    assert cli("check", "plugin.contract.yml", "--caller", "host.py", cwd=project).returncode == 0
    admitted = run_script(project / "host.py")
    assert admitted.returncode == 0 and admitted.stdout == "plugin ran\n", admitted
    # Host changed: a method signature and a constant.
    changed = HOST_V1.replace("API_VERSION = 2", "API_VERSION = 3").replace(", *, replace: bool = False", "")
    (project / "host.py").write_text(changed, encoding="utf-8")
    check = cli("check", "plugin.contract.yml", "--caller", "host.py", cwd=project)
    assert check.returncode == 1, check
    assert "API_VERSION = 2, found API_VERSION = 3" in check.stdout
    assert "argument replace of PluginHost.register" in check.stdout
    refused = run_script(project / "host.py")
    assert "ContractViolation" in refused.stderr and "plugin ran" not in refused.stdout


def test_init_never_runs_the_caller_and_never_overwrites(project: Path) -> None:
    write_files(project, {"caller.py": "open('ran.txt', 'w').close()\nVALUE = 1\n"})
    first = cli("init", "--caller", "caller.py", cwd=project)
    assert first.returncode == 0 and "  - name: VALUE\n    value: 1" in first.stdout
    assert not (project / "ran.txt").exists()
    (project / "out.contract.yml").write_text("# mine\n", encoding="utf-8")
    again = cli("init", "--caller", "caller.py", "-o", "out.contract.yml", cwd=project)
    assert_one_error_line(again, "out.contract.yml already exists")
    assert (project / "out.contract.yml").read_text(encoding="utf-8") == "# mine\n"


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        ({}, "caller missing.py: no such file"),
        ({"missing.py": "def broken(:\n"}, "not readable Python source"),
    ],
)
def test_init_with_an_unusable_caller(project: Path, files: dict[str, str], fragment: str) -> None:
    write_files(project, files)
    assert_one_error_line(cli("init", "--caller", "missing.py", cwd=project), fragment)


# ------------------------------------------------------------------------------ lint

GOOD = f"runtime:\n  os: [{THIS_OS}]\n"
BAD = "runtime:\n  os: [linux]\n  pyhton: '>=3.10'\n"


def test_lint_reports_path_line_column_and_exits_1(project: Path) -> None:
    write_files(
        project,
        {
            "good.py": "",
            "good.contract.yml": GOOD,
            "pkg/__init__.py": "",
            "pkg/bad.py": "",
            "pkg/bad.contract.yaml": BAD,
            # never searched
            ".venv/lib/x.contract.yml": BAD,
            ".git/x.contract.yml": BAD,
            "node_modules/x.contract.yml": BAD,
            "pkg/__pycache__/x.contract.yml": BAD,
        },
    )
    result = cli("lint", cwd=project)
    assert result.returncode == 1, result
    bad = os.path.join("pkg", "bad.contract.yaml")
    assert result.stdout.splitlines() == [
        f"{bad}:3:3: runtime.pyhton: unknown key 'pyhton' (did you mean 'python'?)",
        "2 contracts checked: 1 error",
    ]
    # An explicit file is linted whatever its name; a clean one exits 0.
    assert cli("lint", "good.contract.yml", cwd=project).returncode == 0
    listed = json.loads(cli("lint", ".", "--format", "json", cwd=project).stdout)
    assert listed["error_count"] == 1 and listed["warning_count"] == 0
    assert sorted(listed["files"]) == sorted(["good.contract.yml", bad])
    (problem,) = listed["problems"]
    assert problem == {
        "path": bad,
        "line": 3,
        "column": 3,
        "key": "runtime.pyhton",
        "message": "unknown key 'pyhton' (did you mean 'python'?)",
        "severity": "error",
    }


def test_lint_warns_about_a_sidecar_that_guards_nothing(project: Path) -> None:
    write_files(
        project,
        {"plugin.py": "", "plugni.contract.yml": GOOD, "pkg/__init__.py": "", "pkg.contract.yml": GOOD},
    )
    result = cli("lint", "-q", cwd=project)
    assert result.returncode == 0  # warnings do not fail the run
    assert result.stdout.splitlines() == [
        "pkg.contract.yml: warning: 'pkg' is a package: its contract must be pkg/__init__.contract.yml; "
        "this file guards nothing",
        "plugni.contract.yml: warning: no module 'plugni' next to this contract (e.g. plugni.py): "
        "it guards nothing",
    ]


def test_lint_unusable_input(project: Path) -> None:
    assert_one_error_line(cli("lint", "nowhere", cwd=project), "nowhere: no such file or directory")
    empty = cli("lint", cwd=project)
    assert (empty.returncode, empty.stdout) == (0, "no contract files found\n")


# ------------------------------------------------------------------------------ check


def test_check_the_examples(tmp_path: Path) -> None:
    if not EXAMPLES.is_dir():
        pytest.skip("examples/ is not part of this tree")
    greeter = cli(
        "check", str(EXAMPLES / "plugins" / "greeter.contract.yml"), "--caller", str(EXAMPLES / "host.py")
    )
    assert greeter.returncode == 0 and greeter.stdout.startswith("compliant: "), greeter
    exporter = cli(
        "check",
        "plugins/exporter.contract.yml",
        "--caller",
        "host.py",
        cwd=EXAMPLES,
        env={"EXPORTER_TOKEN": None},
    )
    assert exporter.returncode == 1
    lines = exporter.stdout.splitlines()
    assert lines[-1].startswith("refused: 4 violations (caller host.py; ")
    where = os.path.join("plugins", "exporter.contract.yml")
    assert lines[0] == f"{where}:5: variables[0].value: expected API_VERSION = 3, found API_VERSION = 2"


def test_check_json(project: Path) -> None:
    write_files(
        project, {"c.contract.yml": f"runtime:\n  os: [{THIS_OS}]\n  environment:\n    NEED: 'yes'\n"}
    )
    result = cli("check", "c.contract.yml", "--format", "json", "--set", "env.NEED=no", cwd=project)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["compliant"] is False and report["caller"] is None
    assert report["context"]["os"] == THIS_OS
    assert report["context"]["simulated"] == {"env": {"NEED": "set"}}
    assert report["violations"] == [
        {
            "field": "runtime.environment.NEED",
            "expected": "NEED='yes'",
            "actual": "NEED='no'",
            "message": "",
            "line": 4,
        }
    ]
    ok = json.loads(
        cli("check", "c.contract.yml", "--format", "json", "--set", "env.NEED=yes", cwd=project).stdout
    )
    assert ok["compliant"] is True and ok["violations"] == []


# The parts of the SARIF 2.1.0 schema (sarif-schema-2.1.0.json) that code-scanning consumers read.
SARIF_SUBSET = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string", "format": "uri"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {"type": "object", "required": ["id"]},
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message", "ruleId", "level", "locations"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {
                                    "type": "object",
                                    "required": ["text"],
                                    "properties": {"text": {"type": "string"}},
                                },
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation", "region"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                        "properties": {"uri": {"type": "string"}},
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "required": ["startLine"],
                                                        "properties": {
                                                            "startLine": {"type": "integer", "minimum": 1}
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_check_sarif_points_at_contract_lines(project: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    contract = (
        "# plugin contract\n"
        "importers:\n"
        "  deny: ['host*']\n"
        "runtime:\n"
        f"  os: [{THIS_OS}]\n"
        "  python: '>=3.10'\n"
        "  environment:\n"
        "    NEED:\n"
        "variables:\n"
        "  - name: LIMIT\n"
        "    value: 5\n"
    )
    write_files(project, {"sub/plugin.contract.yml": contract, "host.py": "LIMIT = 4\n"})
    result = cli(
        "check", "sub/plugin.contract.yml", "--caller", "host.py", "--format", "sarif",
        "--set", f"os={OTHER_OS}", "--unset", "NEED", cwd=project,
    )  # fmt: skip
    assert result.returncode == 1, result
    sarif = json.loads(result.stdout)
    jsonschema.validate(sarif, SARIF_SUBSET)
    run = sarif["runs"][0]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    found = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run["results"]
    }
    assert found == {("importers", 3), ("platform", 5), ("environment", 8), ("structure", 11)}
    for item in run["results"]:
        assert rules[item["ruleIndex"]] == item["ruleId"]
        assert item["level"] == "error"
        assert (
            item["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "sub/plugin.contract.yml"
        )
    texts = [item["message"]["text"] for item in run["results"]]
    assert f"runtime.os: expected {THIS_OS}, found {OTHER_OS}" in texts
    compliant = json.loads(cli("check", "sub/plugin.contract.yml", "--format", "sarif", cwd=project).stdout)
    jsonschema.validate(compliant, SARIF_SUBSET)


def test_check_never_prints_a_secret_value(project: Path) -> None:
    secret = "sekrit-cli-value-77"
    write_files(
        project,
        {"c.contract.yml": "runtime:\n  environment:\n    TOKEN: {value: expected-secret, secret: true}\n"},
    )
    for fmt in ("human", "json", "sarif"):
        result = cli("check", "c.contract.yml", "--format", fmt, "--set", f"env.TOKEN={secret}", cwd=project)
        assert result.returncode == 1 and "TOKEN" in result.stdout
        assert secret not in result.stdout + result.stderr
        env_result = cli("check", "c.contract.yml", "--format", fmt, env={"TOKEN": secret}, cwd=project)
        assert env_result.returncode == 1 and secret not in env_result.stdout + env_result.stderr


@pytest.mark.parametrize(
    ("args", "files", "fragment"),
    [
        (["missing.contract.yml"], {}, "missing.contract.yml: no such file"),
        (
            ["c.contract.yml"],
            {"c.contract.yml": "runtime:\n  os: linux\n  bogus: 1\n"},
            "c.contract.yml:3:3: runtime.bogus: unknown key",
        ),
        (["c.contract.yml"], {"c.contract.yml": "runtime: [\n"}, "c.contract.yml:"),
        (["c.contract.yml", "--caller", "nope.py"], {"c.contract.yml": GOOD}, "caller nope.py: no such file"),
        (["c.contract.yml", "--set", "os"], {"c.contract.yml": GOOD}, "--set expects KEY=VALUE"),
        (["c.contract.yml", "--set", "colour=blue"], {"c.contract.yml": GOOD}, "unknown key 'colour'"),
        (["."], {}, ".: is a directory"),
    ],
)
def test_check_unusable_input(project: Path, args: list[str], files: dict[str, str], fragment: str) -> None:
    write_files(project, files)
    assert_one_error_line(cli("check", *args, cwd=project), fragment)


def test_check_without_caller_fails_structural_requirements_clearly(project: Path) -> None:
    write_files(project, {"c.contract.yml": "filename: host.py\n"})
    result = cli("check", "c.contract.yml", cwd=project)
    assert result.returncode == 1
    assert "no identifiable importing module" in result.stdout


# ------------------------------------------------------------------------------ --set parsing


def test_set_assignments_map_to_context_keywords() -> None:
    parsed: dict[str, Any] = parse_assignments(
        ["os=Windows", "arch=arm64", "python=3.9.1", "interpreter=pypy", "env.A=x=y", "env.EMPTY="], ["GONE"]
    )
    assert parsed == {
        "os": "Windows",
        "arch": "arm64",
        "python": "3.9.1",
        "implementation": "pypy",
        "env": {"A": "x=y", "EMPTY": "", "GONE": None},
    }
    for bad in (["os"], ["=x"], ["env.=1"], ["os="], ["shell=bash"]):
        with pytest.raises(ValueError):
            parse_assignments(bad)


def test_check_names_a_packaged_caller_by_its_dotted_module_name(project: Path) -> None:
    write_files(
        project,
        {
            "c.contract.yml": "importers:\n  allow: ['app.*']\n",
            "app/__init__.py": "",
            "app/host.py": "",
            "other.py": "",
        },
    )
    inside = cli("check", "c.contract.yml", "--caller", os.path.join("app", "host.py"), cwd=project)
    assert inside.returncode == 0, inside
    outside = cli("check", "c.contract.yml", "--caller", "other.py", cwd=project)
    assert outside.returncode == 1
    assert "importers.allow: expected an importer matching app.*, found other" in outside.stdout


# ------------------------------------------------------------------------------ pre-commit


def test_pre_commit_hook_runs_lint_on_contract_files(project: Path) -> None:
    from ruamel.yaml import YAML

    manifest = Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml"
    if not manifest.is_file():
        pytest.skip(".pre-commit-hooks.yaml is not part of this tree")
    (hook,) = YAML(typ="safe").load(manifest.read_text(encoding="utf-8"))
    assert hook["id"] == "importspy-hook-lint" and hook["language"] == "python"
    files = re.compile(hook["files"])
    assert files.search("pkg/plugin.contract.yml") and files.search("plugin.contract.yaml")
    assert not files.search("plugin.yml") and not files.search("contract.yml.bak")
    program, *args = hook["entry"].split()
    assert program == "importspy-hook"
    write_files(project, {"ok.py": "", "ok.contract.yml": GOOD, "bad.py": "", "bad.contract.yml": BAD})
    # pre-commit appends the matching staged files to the entry.
    assert cli(*args, "ok.contract.yml", cwd=project).returncode == 0
    failed = cli(*args, "ok.contract.yml", "bad.contract.yml", cwd=project)
    assert failed.returncode == 1 and failed.stdout.startswith("bad.contract.yml:3:3: runtime.pyhton")


# ------------------------------------------------------------------------------ ecosystem rough edges


@pytest.mark.parametrize(
    ("assignment", "fragment"),
    [
        ("python=banana", "--set python=banana: not a Python version"),
        ("os=plan9", "--set os=plan9: unknown operating system"),
        ("arch=z80", "--set arch=z80: unknown architecture"),
        ("interpreter=cobol", "--set interpreter=cobol: unknown interpreter"),
    ],
)
def test_check_set_with_a_value_no_context_can_have_is_unusable_input(
    project: Path, assignment: str, fragment: str
) -> None:
    # A simulated context that cannot exist is a mistake in the command, not a violation of the
    # contract: exit 2 with one line, never "refused" (exit 1) that a CI would read as a verdict.
    write_files(project, {"c.contract.yml": "runtime:\n  python: '>=3.10'\n  os: [linux, windows, darwin]\n"})
    assert_one_error_line(cli("check", "c.contract.yml", "--set", assignment, cwd=project), fragment)


def test_check_set_accepts_every_spelling_a_contract_accepts(project: Path) -> None:
    write_files(project, {"c.contract.yml": "runtime:\n  os: [darwin]\n  architecture: [arm64]\n"})
    result = cli(
        "check", "c.contract.yml", "--set", "os=macOS", "--set", "arch=aarch64",
        "--set", "python=3.13.0rc1", "--set", "interpreter=PyPy", cwd=project,
    )  # fmt: skip
    assert result.returncode == 0, result


MALFORMED = "runtime:\n  os: [linux]\n  pyhton: '>=3.10'\n"


def test_check_json_on_a_malformed_contract_prints_an_error_document(project: Path) -> None:
    write_files(project, {"c.contract.yml": MALFORMED})
    result = cli("check", "c.contract.yml", "--format", "json", cwd=project)
    assert_one_error_line(result, "c.contract.yml:3:3: runtime.pyhton: unknown key")
    report = json.loads(result.stdout)
    assert report["compliant"] is False and report["violations"] == []
    assert report["error"] == {
        "path": "c.contract.yml",
        "line": 3,
        "column": 3,
        "key": "runtime.pyhton",
        "message": "unknown key 'pyhton' (did you mean 'python'?)",
    }
    # Other unusable input is reported the same way (no location): a CI step always gets JSON.
    missing = cli("check", "c.contract.yml", "--format", "json", "--set", "os=plan9", cwd=project)
    assert missing.returncode == 2
    assert "plan9" in json.loads(missing.stdout)["error"]["message"]


def test_check_sarif_on_a_malformed_contract_carries_a_tool_notification(project: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    write_files(project, {"sub dir/c.contract.yml": MALFORMED})
    result = cli("check", "sub dir/c.contract.yml", "--format", "sarif", cwd=project)
    assert result.returncode == 2, result
    sarif = json.loads(result.stdout)
    jsonschema.validate(sarif, SARIF_SUBSET)
    (run,) = sarif["runs"]
    assert run["results"] == []
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert "unknown key 'pyhton'" in note["message"]["text"]
    (location,) = note["locations"]
    assert location["physicalLocation"]["artifactLocation"] == {
        "uri": "sub%20dir/c.contract.yml",
        "uriBaseId": "%SRCROOT%",
    }
    assert location["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 3}


def test_check_sarif_uris_are_percent_encoded(project: Path, tmp_path: Path) -> None:
    from urllib.parse import unquote, urlsplit

    contract = "runtime:\n  environment:\n    NEED:\n"
    write_files(project, {"my plugins/ü#1.contract.yml": contract})
    outside = write_files(tmp_path / "else where", {"c.contract.yml": contract})
    for path, expected in (
        ("my plugins/ü#1.contract.yml", "my%20plugins/%C3%BC%231.contract.yml"),
        (str(outside / "c.contract.yml"), (outside / "c.contract.yml").as_uri()),
    ):
        result = cli("check", path, "--format", "sarif", "--unset", "NEED", cwd=project)
        assert result.returncode == 1, result
        (item,) = json.loads(result.stdout)["runs"][0]["results"]
        uri = item["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri == expected
        assert " " not in uri and "#" not in urlsplit(uri).path + unquote(urlsplit(uri).fragment)


def test_lint_reports_every_error_of_a_file(project: Path) -> None:
    write_files(
        project,
        {
            "plugin.py": "",
            "plugin.contract.yml": (
                "runtime:\n"
                "  os: [linux, plan9]\n"
                "  pyhton: '>=3.10'\n"
                "  architecture: [x86_64]\n"
                "variables:\n"
                "  - name: A\n"
                "    valeu: 1\n"
                "  - nmae: B\n"
                "colour: blue\n"
            ),
        },
    )
    result = cli("lint", "-q", cwd=project)
    assert result.returncode == 1, result
    assert result.stdout.splitlines() == [
        "plugin.contract.yml:2:15: runtime.os[1]: unknown operating system 'plan9' (expected one of: "
        "aix, android, cygwin, darwin, emscripten, freebsd, ios, linux, mac, macos, macosx, netbsd, "
        "nt, openbsd, osx, sunos, wasi, win32, windows)",
        "plugin.contract.yml:3:3: runtime.pyhton: unknown key 'pyhton' (did you mean 'python'?)",
        "plugin.contract.yml:7:5: variables[0].valeu: unknown key 'valeu' (did you mean 'value'?)",
        "plugin.contract.yml:8:5: variables[1].nmae: unknown key 'nmae' (did you mean 'name'?)",
        "plugin.contract.yml:9:1: colour: unknown key 'colour' (expected one of: schema_version, "
        "policy_id, filename, version, variables, functions, classes, deployments, runtime, "
        "dependencies, importers)",
    ]
    summary = cli("lint", cwd=project).stdout.splitlines()[-1]
    assert summary == "1 contract checked: 5 errors"


def test_status_warns_about_patterns_naming_a_package_without_a_wildcard() -> None:
    # Patterns are fnmatch on full module names: 'pluggy' matches the module 'pluggy' and none of
    # pluggy._hooks, pluggy._callers (where a plugin loader's frames are), so it silently does nothing.
    env: dict[str, str | None] = {
        "IMPORTSPY_HOOK_LOADERS": "pluggy, stevedore.*",
        "IMPORTSPY_HOOK_EXCLUDE": "plugins,vendored,vendored.*",
    }
    human = cli("status", env=env)
    assert human.returncode == 0
    warnings = [line.strip() for line in human.stdout.splitlines() if line.strip().startswith("warning:")]
    assert warnings == [
        "warning:         IMPORTSPY_HOOK_EXCLUDE: 'plugins' matches the module named exactly 'plugins', "
        "not its submodules (patterns are fnmatch on full module names): write 'plugins.*' "
        "for a package (and keep 'plugins' for the package itself)",
        "warning:         IMPORTSPY_HOOK_LOADERS: 'pluggy' matches the module named exactly 'pluggy', "
        "not its submodules (patterns are fnmatch on full module names): write 'pluggy.*' "
        "for a package",
    ]
    report = json.loads(cli("status", "--format", "json", env=env).stdout)
    named = [warning.split(":")[0] for warning in report["warnings"]]
    assert named == ["IMPORTSPY_HOOK_EXCLUDE", "IMPORTSPY_HOOK_LOADERS"]
    clean = json.loads(cli("status", "--format", "json", env={"IMPORTSPY_HOOK_LOADERS": "pluggy.*"}).stdout)
    assert clean["warnings"] == []


def _wheel(path: Path, files: dict[str, str]) -> Path:
    import zipfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def test_lint_a_wheel_checks_the_contracts_it_really_ships(project: Path) -> None:
    _wheel(
        project / "dist" / "acme_plugin-1.0-py3-none-any.whl",
        {
            "acme_plugin/__init__.py": "",
            "acme_plugin/greeter.py": "",
            "acme_plugin/greeter.contract.yml": "runtime:\n  os: [plan9]\n  pyhton: '3.12'\n",
            "acme_plugin/fast.cpython-311-x86_64-linux-gnu.so": "",
            "acme_plugin/fast.contract.yml": GOOD,
            "acme_plugin/gone.contract.yml": GOOD,
            "acme_plugin-1.0.dist-info/METADATA": "Name: acme-plugin\nVersion: 1.0\n",
        },
    )
    result = cli("lint", "dist/acme_plugin-1.0-py3-none-any.whl", cwd=project)
    assert result.returncode == 1, result
    inside = "dist/acme_plugin-1.0-py3-none-any.whl/acme_plugin/"
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        f"{inside}greeter.contract.yml:2:8: runtime.os[0]: unknown operating system 'plan9'"
    )
    assert lines[1:] == [
        f"{inside}greeter.contract.yml:3:3: runtime.pyhton: unknown key 'pyhton' (did you mean 'python'?)",
        f"{inside}gone.contract.yml: warning: no module 'gone' next to this contract in the wheel: "
        "it guards nothing",
        "3 contracts checked: 2 errors, 1 warning",
    ]


def test_lint_a_wheel_without_contracts_fails(project: Path) -> None:
    # What setuptools builds when the sidecars are not declared package data (see the README).
    _wheel(project / "plain-1.0-py3-none-any.whl", {"plain/__init__.py": "", "plain/greeter.py": ""})
    result = cli("lint", "plain-1.0-py3-none-any.whl", cwd=project)
    assert result.returncode == 1, result
    assert result.stdout.splitlines()[-1] == "no contract files found: 1 error"
    assert result.stdout.splitlines()[0] == (
        "plain-1.0-py3-none-any.whl: no *.contract.yml in this wheel: its modules are unguarded once "
        "installed (setuptools ships sidecars only when declared as package data; see the README)"
    )
    (project / "broken.whl").write_text("not a zip")
    assert_one_error_line(cli("lint", "broken.whl", cwd=project), "broken.whl: not a readable wheel")
