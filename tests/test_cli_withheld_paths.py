"""The command line withholds a path that holds a secret, as the hook's own messages do (§6; red team n05).

Plugins kept in a directory named after a token (``PLUGINS_TOKEN=tok_...``, a per-tenant or per-key
plugin store) must not put the token in a CI log through ``lint`` or ``check``: every path the
command line prints — the contract, the caller, the files ``lint`` found, the output of ``init``,
SARIF's artifact URIs and its ``%SRCROOT%`` (the working directory) — is shown as
``<path withheld>/<file name>`` when it holds the value, exactly as a refusal at import shows it.
Each command runs as a user runs it: the real command line in a subprocess. A control pins that
an ordinary directory is still printed whole.
"""

from __future__ import annotations

import json
import os
import site
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Result, write_files
from test_cli import OTHER_OS, SARIF_SUBSET, THIS_OS, cli

TOKEN = "tok_9f8e7d6c5b4a3921"
ENV = {"PLUGINS_TOKEN": TOKEN}
WITHHELD = "<path withheld>"

REFUSING = f"runtime:\n  os: [{OTHER_OS}]\n"
MALFORMED = "runtime:\n  os: [windows\n"

# The artifactLocation object of SARIF 2.1.0 (sarif-schema-2.1.0.json, "artifactLocation"): no
# property is required, and these are all it may have. Used for the locations and for
# originalUriBaseIds, whose entries are artifactLocations too.
ARTIFACT_LOCATION = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "uri": {"type": "string"},
        "uriBaseId": {"type": "string"},
        "index": {"type": "integer", "minimum": -1},
        "description": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
        "properties": {"type": "object"},
    },
}


@pytest.fixture
def store(project: Path) -> Path:
    """``project/<TOKEN>/``: a refusing sidecar, a malformed one, an orphan and a caller."""
    write_files(
        project / TOKEN,
        {
            "dplug.py": "x = 1\n",
            "dplug.contract.yml": REFUSING,
            "bad.py": "x = 1\n",
            "bad.contract.yml": MALFORMED,
            "orphan.contract.yml": REFUSING,
            "host.py": "LIMIT = 4\n",
        },
    )
    return project / TOKEN


def assert_withheld(result: Result, *, code: int | None = None) -> None:
    """The token appears nowhere (in any case), and the command did say something about a file."""
    output = result.stdout + result.stderr
    assert TOKEN.casefold() not in output.casefold(), result
    assert "Traceback" not in output, result
    if code is not None:
        assert result.returncode == code, result


def test_lint_withholds_the_paths_it_found_and_was_given(project: Path, store: Path) -> None:
    for args in (["lint", "."], ["lint", TOKEN], ["lint", f"{TOKEN}/orphan.contract.yml"], ["lint"]):
        human = cli(*args, cwd=project, env=ENV)
        assert_withheld(human, code=1 if "orphan" not in args[-1] else 0)
        assert f"{WITHHELD}/orphan.contract.yml: warning:" in human.stdout, human
        if "orphan" not in args[-1]:
            assert f"{WITHHELD}/bad.contract.yml:3:" in human.stdout, human
        report = cli(*args, "--format", "json", cwd=project, env=ENV)
        assert_withheld(report)
        data = json.loads(report.stdout)
        assert f"{WITHHELD}/orphan.contract.yml" in data["files"]
        assert {problem["path"] for problem in data["problems"]} <= {
            f"{WITHHELD}/orphan.contract.yml",
            f"{WITHHELD}/bad.contract.yml",
        }
    missing = cli("lint", f"{TOKEN}/gone.contract.yml", cwd=project, env=ENV)
    assert_withheld(missing, code=2)
    assert f"{WITHHELD}/gone.contract.yml: no such file" in missing.stderr


def test_lint_withholds_a_wheel_path(project: Path, store: Path) -> None:
    import zipfile

    with zipfile.ZipFile(store / "pkg-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr("pkg/mod.contract.yml", MALFORMED)
    (store / "broken.whl").write_bytes(b"not a zip")
    found = cli("lint", f"{TOKEN}/pkg-1.0-py3-none-any.whl", cwd=project, env=ENV)
    assert_withheld(found, code=1)
    assert f"{WITHHELD}/mod.contract.yml:3:" in found.stdout, found
    broken = cli("lint", f"{TOKEN}/broken.whl", cwd=project, env=ENV)
    assert_withheld(broken, code=2)
    assert f"{WITHHELD}/broken.whl: not a readable wheel" in broken.stderr, broken


def test_lint_withholds_a_module_name_made_of_the_token(project: Path) -> None:
    """A sidecar *named* after the token: ``lint``'s warning about the module missing beside it
    names that module, which is the token."""
    import zipfile

    write_files(project / "plugins", {f"{TOKEN}.contract.yml": REFUSING})
    with zipfile.ZipFile(project / "pkg-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"pkg/{TOKEN}.contract.yml", REFUSING)
    for args in (["lint", "plugins"], ["lint", "pkg-1.0-py3-none-any.whl"]):
        for fmt in ("human", "json"):
            result = cli(*args, "--format", fmt, cwd=project, env=ENV)
            assert_withheld(result, code=0)
            assert f"no module '{WITHHELD}' next to this contract" in result.stdout, result


@pytest.mark.parametrize("fmt", ["human", "json", "sarif"])
def test_check_withholds_the_contract_and_caller_paths(project: Path, store: Path, fmt: str) -> None:
    refused = cli(
        "check", f"{TOKEN}/dplug.contract.yml", "--caller", f"{TOKEN}/host.py", "--format", fmt,
        cwd=project, env=ENV,
    )  # fmt: skip
    assert_withheld(refused, code=1)
    for name, code in (("bad.contract.yml", 2), ("gone.contract.yml", 2), ("", 2)):
        unusable = cli("check", f"{TOKEN}/{name}", "--format", fmt, cwd=project, env=ENV)
        assert_withheld(unusable, code=code)
        assert unusable.stderr.startswith(f"importspy-hook: error: {WITHHELD}"), unusable
    no_caller = cli(
        "check", f"{TOKEN}/dplug.contract.yml", "--caller", f"{TOKEN}/gone.py", "--format", fmt,
        cwd=project, env=ENV,
    )  # fmt: skip
    assert_withheld(no_caller, code=2)
    assert f"caller {WITHHELD}/gone.py: no such file" in no_caller.stderr
    if fmt == "human":
        assert refused.stdout.startswith(f"{WITHHELD}/dplug.contract.yml:2: runtime.os"), refused
        assert f"caller {WITHHELD}/host.py;" in refused.stdout
    elif fmt == "json":
        data = json.loads(refused.stdout)
        assert data["contract"] == f"{WITHHELD}/dplug.contract.yml"
        assert data["caller"]["file"] == f"{WITHHELD}/host.py"
        bad = cli("check", f"{TOKEN}/bad.contract.yml", "--format", "json", cwd=project, env=ENV)
        assert json.loads(bad.stdout)["error"]["path"] == f"{WITHHELD}/bad.contract.yml"
    else:
        (location,) = _locations(refused)
        # Under the working directory, but the way there holds the token: the file name alone,
        # relative to no base (a relative reference without uriBaseId is valid SARIF).
        assert location["uri"] == "dplug.contract.yml" and "uriBaseId" not in location
        assert WITHHELD in location["description"]["text"]
        assert _root(refused) == {"uri": project.resolve().as_uri() + "/"}


def test_check_sarif_withholds_the_working_directory(project: Path, store: Path) -> None:
    for name, code in (("dplug.contract.yml", 1), ("bad.contract.yml", 2)):
        result = cli("check", name, "--format", "sarif", cwd=store, env=ENV)
        assert_withheld(result, code=code)
        (location,) = _locations(result)
        # The contract's place in the repository is what code scanning needs, and it holds no
        # secret: kept. Only %SRCROOT%'s own URI (the working directory) is left out.
        assert location == {"uri": name, "uriBaseId": "%SRCROOT%"}
        root = _root(result)
        assert "uri" not in root and WITHHELD in root["description"]["text"]
    for fmt in ("human", "json"):  # relative to the working directory: nothing to withhold
        inside = cli("check", "dplug.contract.yml", "--format", fmt, cwd=store, env=ENV)
        assert_withheld(inside, code=1)
        assert "dplug.contract.yml" in inside.stdout and WITHHELD not in inside.stdout


def test_check_withholds_an_absolute_path_outside_the_working_directory(tmp_path: Path, store: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for fmt in ("human", "json", "sarif"):
        result = cli("check", str(store / "dplug.contract.yml"), "--format", fmt, cwd=elsewhere, env=ENV)
        assert_withheld(result, code=1)
        if fmt == "sarif":
            (location,) = _locations(result)
            assert location["uri"] == "dplug.contract.yml" and "uriBaseId" not in location


def test_init_withholds_the_caller_and_output_paths(project: Path, store: Path) -> None:
    wrote = cli(
        "init", "--caller", f"{TOKEN}/host.py", "-o", f"{TOKEN}/new.contract.yml", cwd=project, env=ENV
    )
    assert_withheld(wrote, code=0)
    assert wrote.stderr == f"wrote {WITHHELD}/new.contract.yml\n"
    again = cli(
        "init", "--caller", f"{TOKEN}/host.py", "-o", f"{TOKEN}/new.contract.yml", cwd=project, env=ENV
    )
    assert_withheld(again, code=2)
    assert f"{WITHHELD}/new.contract.yml already exists" in again.stderr
    gone = cli("init", "--caller", f"{TOKEN}/gone.py", cwd=project, env=ENV)
    assert_withheld(gone, code=2)


def test_status_and_context_withhold_the_interpreter_path(project: Path, store: Path) -> None:
    """An interpreter (or a virtual environment) kept under the token's directory: ``status`` and
    ``context`` name it, and ``status`` names the package's directory and start-up files."""
    python = store / "python"
    python.symlink_to(sys.executable)
    path = os.pathsep.join([*site.getsitepackages(), str(Path(__file__).resolve().parent.parent)])
    env = {**os.environ, **ENV, "IMPORTSPY_HOOK": "0", "PYTHONPATH": path}
    import subprocess

    for args in (["status"], ["status", "--format", "json"], ["context"]):
        completed = subprocess.run(
            [str(python), "-m", "importspy_hook", *args],
            cwd=store, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        result = Result(completed)
        assert_withheld(result, code=0)
        assert f"{WITHHELD}/python" in result.stdout, result


def test_an_ordinary_directory_is_printed_whole(project: Path) -> None:
    """The control: with the token set but not in any path, every output is as it always was."""
    write_files(project / "plugins", {"dplug.py": "", "dplug.contract.yml": REFUSING, "host.py": ""})
    lint = cli("lint", "--format", "json", ".", cwd=project, env=ENV)
    assert json.loads(lint.stdout)["files"] == [os.path.join("plugins", "dplug.contract.yml")]
    human = cli("check", "plugins/dplug.contract.yml", "--caller", "plugins/host.py", cwd=project, env=ENV)
    assert human.stdout.startswith(f"{os.path.join('plugins', 'dplug.contract.yml')}:2: runtime.os: "), human
    assert f"caller {os.path.join('plugins', 'host.py')};" in human.stdout
    sarif = cli("check", "plugins/dplug.contract.yml", "--format", "sarif", cwd=project, env=ENV)
    assert _locations(sarif) == [{"uri": "plugins/dplug.contract.yml", "uriBaseId": "%SRCROOT%"}]
    assert _root(sarif) == {"uri": project.resolve().as_uri() + "/"}
    assert THIS_OS in human.stdout and WITHHELD not in human.stdout + lint.stdout + sarif.stdout


def _sarif(result: Result) -> dict[str, Any]:
    jsonschema = pytest.importorskip("jsonschema")
    document: dict[str, Any] = json.loads(result.stdout)
    jsonschema.validate(document, SARIF_SUBSET)
    return document


def _locations(result: Result) -> list[dict[str, Any]]:
    """Every artifactLocation of a SARIF report (results and tool notifications), each validated."""
    jsonschema = pytest.importorskip("jsonschema")
    (run,) = _sarif(result)["runs"]
    notes = [n for i in run["invocations"] for n in i.get("toolExecutionNotifications", [])]
    locations = [
        where["physicalLocation"]["artifactLocation"]
        for item in (*run["results"], *notes)
        for where in item.get("locations", [])
    ]
    unique = [
        json.loads(text) for text in dict.fromkeys(json.dumps(loc, sort_keys=True) for loc in locations)
    ]
    for location in unique:
        jsonschema.validate(location, ARTIFACT_LOCATION)
        assert " " not in location["uri"] and "<" not in location["uri"]  # a URI reference
    return unique


def _root(result: Result) -> dict[str, Any]:
    jsonschema = pytest.importorskip("jsonschema")
    (run,) = _sarif(result)["runs"]
    root: dict[str, Any] = run["originalUriBaseIds"]["%SRCROOT%"]
    jsonschema.validate(root, ARTIFACT_LOCATION)
    return root
