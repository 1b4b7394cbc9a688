"""Contracts judged through a real import, in a fresh interpreter (ImportSpy's plugin shape).

The host imports the plugin on its FIRST line, before its own variables and classes exist; the
contract's class/method/attribute requirements must still be judged on the complete host (§5).
Each test runs ``python -c "import importspy_hook; importspy_hook.install(mode=...); import host"``
with ``IMPORTSPY_HOOK=0`` (see ``conftest.child_env``) so no installed start-up file interferes.
"""

from __future__ import annotations

import json
import textwrap
import zipfile
from pathlib import Path

import pytest
from conftest import run_python, write_files

HOST = """\
    import plugin  # line 1: nothing below exists yet when the contract is checked

    __version__ = "2.1.0"
    ENGINE = "docker"


    class Base:
        pass


    class Extension(Base):
        extension_name = "extension_name"

        def __init__(self) -> None:
            self.instance_name = "instance_name"

        def add_extension(self, msg: str) -> str:
            return msg
    """

PLUGIN = """\
    print("PLUGIN BODY RAN")
    """

CONTRACT = """\
    filename: host.py
    version: ">=2"
    variables:
      - name: ENGINE
        value: docker
    classes:
      - name: Extension
        attributes:
          - {type: class, name: extension_name, value: extension_name}
          - {type: instance, name: instance_name, value: instance_name}
        methods:
          - name: add_extension
            arguments: [{name: self}, {name: msg, annotation: str}]
            return_annotation: str
        superclasses: [Base]
    deployments:
      - systems:
          - environment:
              secrets: [E2E_PLUGIN_TOKEN]
    """

SECRET = "e2e-S3CRET-value-7781"


def install(mode: str = "enforce") -> str:
    return f"import sys, importspy_hook; importspy_hook.install(mode={mode!r})\n"


def project_with(root: Path, **overrides: str) -> Path:
    files = {"host.py": HOST, "plugin.py": PLUGIN, "plugin.contract.yml": CONTRACT}
    files.update({name.replace("__", "."): text for name, text in overrides.items()})
    return write_files(root, files)


REPORT = textwrap.dedent(
    """\
    try:
        import host
    except importspy_hook.ContractViolation as error:
        print("REFUSED")
        print(error)
        print("IN_MODULES", "plugin" in sys.modules)
    else:
        print("IMPORTED")
    """
)


def test_compliant_host_imports_the_plugin(project: Path) -> None:
    project_with(project)
    result = run_python(install() + "import host\n", path=[str(project)], env={"E2E_PLUGIN_TOKEN": "x"})
    assert result.returncode == 0, result
    assert "PLUGIN BODY RAN" in result.stdout


def test_first_line_import_is_judged_on_the_complete_host(project: Path) -> None:
    project_with(project, host__py=HOST.replace("-> str:", "-> bytes:").replace('"docker"', '"podman"'))
    result = run_python(install() + REPORT, path=[str(project)], env={"E2E_PLUGIN_TOKEN": "x"})
    assert result.returncode == 0, result
    out = result.stdout
    assert "REFUSED" in out and "PLUGIN BODY RAN" not in out and "IN_MODULES False" in out
    assert "import of 'plugin' from 'host' refused by" in out and "(2 violations)" in out
    assert (
        "plugin.contract.yml:5: variables[0].value: expected ENGINE = 'docker', found ENGINE = 'podman'"
        in out
    )
    assert (
        "plugin.contract.yml:14: classes[0].methods[0].return_annotation: expected "
        "Extension.add_extension(...) -> str, found Extension.add_extension(...) -> bytes"
    ) in out


def test_traceback_ends_at_the_import_statement(project: Path) -> None:
    project_with(project)
    result = run_python(install() + "import host\n", path=[str(project)], env={"E2E_PLUGIN_TOKEN": None})
    assert result.returncode == 1
    assert "importspy_hook._errors.ContractViolation: import of 'plugin' from 'host'" in result.stderr
    assert 'host.py", line 1, in <module>' in result.stderr
    assert "E2E_PLUGIN_TOKEN to be set" in result.stderr


def test_fixing_the_cause_lets_the_next_import_succeed(project: Path) -> None:
    project_with(project)
    code = install() + REPORT + "import os\nos.environ['E2E_PLUGIN_TOKEN'] = 'now set'\n" + REPORT
    result = run_python(code, path=[str(project)], env={"E2E_PLUGIN_TOKEN": None})
    assert result.returncode == 0, result
    assert result.stdout.index("REFUSED") < result.stdout.index("IMPORTED")
    assert result.stdout.count("PLUGIN BODY RAN") == 1


def test_no_caller_fails_structural_requirements(project: Path) -> None:
    project_with(project)
    code = install() + REPORT.replace("import host", "import plugin")
    result = run_python(code, path=[str(project)], env={"E2E_PLUGIN_TOKEN": "x"})
    assert "REFUSED" in result.stdout, result
    assert "from no identifiable module" in result.stdout
    assert "no identifiable importing module" in result.stdout


def test_warn_mode_logs_and_imports_without_leaking_secrets(project: Path) -> None:
    contract = CONTRACT.replace(
        "secrets: [E2E_PLUGIN_TOKEN]",
        "secrets: [E2E_PLUGIN_TOKEN]\n              variables: [{name: E2E_PLUGIN_TOKEN, value: expected}]",
    )
    project_with(project, plugin__contract__yml=contract)
    result = run_python(
        install("warn") + REPORT,
        path=[str(project)],
        env={"E2E_PLUGIN_TOKEN": SECRET, "IMPORTSPY_HOOK_LOG": "json"},
    )
    assert result.returncode == 0, result
    assert "IMPORTED" in result.stdout and "PLUGIN BODY RAN" in result.stdout
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [event["event"] for event in events] == ["contract.violation"]
    assert "secret, not shown" in " ".join(events[0]["violations"])
    assert SECRET not in result.stdout + result.stderr


def test_malformed_contract_fails_only_that_import(project: Path) -> None:
    project_with(project, plugin__contract__yml="classes:\n  - name: Extension\n    methodz: []\n")
    code = install() + (
        "import json\n"  # unrelated imports keep working
        "try:\n    import host\n"
        "except importspy_hook.ContractError as error:\n    print('INVALID', error)\n"
    )
    result = run_python(code, path=[str(project)])
    assert result.returncode == 0, result
    assert "INVALID" in result.stdout and "PLUGIN BODY RAN" not in result.stdout
    assert "plugin.contract.yml:3:5: classes[0].methodz: unknown key 'methodz' (did you mean 'methods'?)" in (
        result.stdout
    )


def test_registered_contract_guards_a_module_without_sidecar(project: Path) -> None:
    project_with(project)
    (project / "plugin.contract.yml").unlink()
    code = (
        install()
        + (
            "from importspy_hook import Contract, register\n"
            "from importspy_hook._contract_model import Class, Function\n"
            "register('plugin', Contract(classes=[Class('Extension', methods=[Function('remove')])]))\n"
        )
        + REPORT
    )
    result = run_python(code, path=[str(project)])
    assert "REFUSED" in result.stdout, result
    assert "<registered contract for plugin>: classes[0].methods[0]: expected method Extension.remove" in (
        result.stdout
    )


def test_sidecar_inside_a_zip_archive(project: Path) -> None:
    archive = project / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("plugin.py", textwrap.dedent(PLUGIN))
        zipped.writestr("plugin.contract.yml", "runtime: {python: '<3'}\n")
    write_files(project, {"host.py": HOST})
    result = run_python(install() + REPORT, path=[str(project), str(archive)])
    assert "REFUSED" in result.stdout, result
    assert "plugin.contract.yml:1: runtime.python: expected <3, found" in result.stdout


@pytest.mark.parametrize("mode", ["enforce", "warn"])
def test_compliant_import_emits_no_event(project: Path, mode: str) -> None:
    project_with(project)
    result = run_python(
        install(mode) + "import host\n",
        path=[str(project)],
        env={"E2E_PLUGIN_TOKEN": "x", "IMPORTSPY_HOOK_LOG": "json"},
    )
    assert result.returncode == 0 and result.stderr == "", result
