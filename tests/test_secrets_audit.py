"""The secrets audit (issue 7, SPEC §6 "secrets", §8): one place that runs every printing path.

A secret's value must never appear in anything the hook or its command line prints or writes.
``test_violation_errors.py``, ``test_log.py`` and ``test_cli.py`` each check their own corner; this
file is the audit that walks *every* path with the same known value in the environment, so a new
path (a renderer, a format, a field) that forgets the rule fails here:

* the refused import: ``ContractViolation`` text and ``repr``, each ``Violation``'s fields and
  ``repr``, the exception pickled and unpickled, a ``ContractError`` from a malformed sidecar;
* every log renderer (console, json, stdlib) at debug level, in warn and in enforce mode;
* every command and format: ``status`` (human, json), ``context``, ``context --values``, ``init``
  (stdout and ``-o`` file), ``lint`` (human, json), ``check`` (human, json, sarif), with the value
  given through the environment and through ``--set env.NAME=value``.

Five ways a contract holds a secret: a name under ``secrets``, a variable marked ``secret: true``
with a ``value`` requirement the environment fails, a ``runtime.environment`` entry marked
secret, a plain name declared secret in *another* block than the one that compares its value, and
a name that looks like a credential and is declared secret nowhere (SPEC §6: one rule for every
output). The secret is the same string in all of them, and it is long and unlikely, so that any
appearance — even inside a larger text — is found. Usage errors of ``check --set``/``--unset``
(a forgotten ``env.``, a forgotten ``=``, a misspelt option) are audited too.
"""

from __future__ import annotations

import itertools
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Result, child_env, run_script, write_files

SECRET = "s3cr3t-Audit-Value-7f2c9e41"
# one per way a contract holds a secret
NAMES = ("AUDIT_TOKEN", "AUDIT_API_KEY", "AUDIT_PASSWORD", "AUDIT_MODE", "AUDIT_SESSION_ID")
ENV = dict.fromkeys(NAMES, SECRET)

CONTRACT = """\
runtime:
  environment:
    AUDIT_PASSWORD: {value: the-required-password, secret: true}
    AUDIT_MODE: the-required-mode
    AUDIT_SESSION_ID: the-required-session
deployments:
  - systems:
      - environment:
          variables:
            - {name: AUDIT_API_KEY, value: the-required-key, secret: true}
          secrets: [AUDIT_TOKEN, AUDIT_MISSING_TOKEN, AUDIT_MODE]
"""
# The same variables, required present only: a compliant check that still reads every secret
# (contract.checked at debug). It holds no value, so the project's files hold the secret nowhere
# unless the hook writes it there.
COMPLIANT = """\
runtime:
  environment:
    AUDIT_PASSWORD: {secret: true}
    AUDIT_SESSION_ID: null
deployments:
  - systems:
      - environment:
          variables: [{name: AUDIT_API_KEY, secret: true}]
          secrets: [AUDIT_TOKEN]
"""

HOST = """\
import logging
import pickle
import sys

from importspy_hook import ContractError, ContractViolation


class Everything(logging.Handler):  # every attribute of every record: the stdlib renderer's output
    def emit(self, record):
        print("RECORD", record.getMessage(), repr(vars(record)))


logging.getLogger().addHandler(Everything())
logging.getLogger().setLevel(logging.DEBUG)

import compliant  # contract met: only debug events

try:
    import refused
except ContractViolation as exc:
    print("TEXT", exc)
    print("REPR", repr(exc), exc.args, exc.target, exc.caller, exc.contract)
    for violation in exc.violations:
        print("VIOLATION", repr(violation), violation.field, violation.expected, violation.actual,
              violation.message, violation.line, violation.describe(exc.contract))
    copy = pickle.loads(pickle.dumps(exc))
    print("PICKLED", copy, repr(copy), pickle.dumps(exc))
    print("PICKLED VIOLATIONS", [repr(v) for v in copy.violations])
else:
    print("ADMITTED refused")  # warn mode

try:
    import broken
except ContractError as exc:
    print("ERROR", exc, repr(exc), exc.args, pickle.loads(pickle.dumps(exc)))
else:
    print("ADMITTED broken")
"""


@pytest.fixture
def audited(project: Path) -> Path:
    write_files(
        project,
        {
            "host.py": HOST,
            "compliant.py": "",
            "compliant.contract.yml": COMPLIANT,
            "refused.py": "",
            "refused.contract.yml": CONTRACT,
            "broken.py": "",
            # malformed next to a secret: the error quotes the line, never the environment
            "broken.contract.yml": CONTRACT + "  - systems: [{os: plan9}]\n",
            "caller.py": '__version__ = "1.0"\nMODE = "x"\n\ndef run(token: str = "") -> None:\n    pass\n',
        },
    )
    return project


def assert_no_secret(*texts: str | bytes) -> None:
    for text in texts:
        data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
        assert SECRET.encode() not in data, f"secret found in: {text!r:.3000}"


@pytest.mark.parametrize(
    ("renderer", "mode"), list(itertools.product(["console", "json", "stdlib"], ["enforce", "warn"]))
)
def test_refusals_exceptions_and_every_log_renderer(audited: Path, renderer: str, mode: str) -> None:
    result = run_script(
        audited / "host.py",
        mode=mode,
        env={**ENV, "IMPORTSPY_HOOK_LOG": renderer, "IMPORTSPY_HOOK_LOG_LEVEL": "debug"},
    )
    assert result.returncode == 0, result
    output = result.stdout + result.stderr
    # Every path ran, so the absence below means something.
    assert "contract.checked" in output and "contract.violation" in output and "contract.invalid" in output
    if mode == "enforce":
        assert all(tag in result.stdout for tag in ("TEXT", "REPR", "VIOLATION", "PICKLED", "ERROR"))
        assert "secret, not shown" in result.stdout  # the mismatch is reported, without the value
        for name in ("AUDIT_PASSWORD", "AUDIT_API_KEY", "AUDIT_MODE", "AUDIT_SESSION_ID"):
            assert f"{name} set to another value" in result.stdout
    else:
        assert "ADMITTED refused" in result.stdout and "ADMITTED broken" in result.stdout
    if renderer == "stdlib":
        assert "RECORD" in result.stdout
    assert_no_secret(result.stdout, result.stderr)


def test_the_violation_objects_in_process(audited: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same objects, built in this process by the public API: every field, both reprs, the
    # pickle bytes themselves (a worker pool would send them over a pipe).
    from importspy_hook import ContractViolation, check, current_context, load_contract

    for name in NAMES:
        monkeypatch.setenv(name, SECRET)
    contract = load_contract(audited / "refused.contract.yml")
    violations = check(contract, current_context())
    assert len(violations) >= 5
    error = ContractViolation("refused", "app.host", contract.path, violations)
    texts: list[str | bytes] = [str(error), repr(error), repr(contract), pickle.dumps(error)]
    for violation in violations:
        texts += [repr(violation), violation.describe(contract.path), pickle.dumps(violation)]
        texts += [violation.field, violation.expected, violation.actual, violation.message]
    assert_no_secret(*texts)


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    completed = subprocess.run(
        [sys.executable, "-m", "importspy_hook", *args],
        cwd=cwd,
        env=child_env({**ENV, **(env or {})}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Result(completed)


COMMANDS: list[tuple[str, ...]] = [
    ("status",),
    ("status", "--format", "json"),
    ("context",),
    ("context", "--values"),
    ("init", "--caller", "caller.py"),
    ("lint", "."),
    ("lint", "--format", "json", "."),
    *[
        ("check", contract, "--caller", "caller.py", "--format", fmt, *extra)
        for contract in ("refused.contract.yml", "compliant.contract.yml", "broken.contract.yml")
        for fmt in ("human", "json", "sarif")
        for extra in ((), tuple(itertools.chain.from_iterable(("--set", f"env.{n}={SECRET}") for n in NAMES)))
    ],
    # usage errors (exit 2) quoting what was typed
    ("check", "refused.contract.yml", "--set", f"AUDIT_TOKEN={SECRET}"),
    ("check", "refused.contract.yml", "--set", f"env.AUDIT_TOKEN{SECRET}"),
    ("check", "refused.contract.yml", "--set", f"env.={SECRET}"),
    ("check", "refused.contract.yml", "--unset", f"AUDIT_TOKEN={SECRET}"),
    ("check", "refused.contract.yml", "--sett", f"env.AUDIT_TOKEN={SECRET}"),
    ("check", "refused.contract.yml", "--set", "env.AUDIT_TOKEN", SECRET),
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c)[:80] for c in COMMANDS])
def test_every_cli_command_and_format(audited: Path, command: tuple[str, ...]) -> None:
    result = cli(*command, cwd=audited, env={"IMPORTSPY_HOOK_LOG_LEVEL": "debug"})
    assert result.returncode in (0, 1, 2), result
    assert "Traceback" not in result.stderr, result
    if command[0] == "check":
        # The verdicts are real ones (a broken run would print nothing and pass the audit).
        expected = {"refused": 1, "compliant": 0, "broken": 2}[command[1].split(".")[0]]
        if "--format" not in command:  # a usage error
            expected = 2
        assert result.returncode == expected, result
        if "--format" in command and command[5] == "json" and expected == 1:
            assert json.loads(result.stdout)
    stdout = result.stdout
    if command[:2] == ("context", "--values"):
        assert all(name in stdout for name in NAMES), result  # listed, value withheld
        # With no contract, AUDIT_MODE (secret only in refused.contract.yml) is a plain name; its
        # value is withheld all the same, because it is also AUDIT_TOKEN's (one value, one rule).
        assert "    AUDIT_MODE:  # value withheld: it holds the value of a secret\n" in stdout, result
    assert_no_secret(stdout, result.stderr)


def test_init_writes_no_secret_to_its_file(audited: Path) -> None:
    result = cli("init", "--caller", "caller.py", "-o", "starter.contract.yml", cwd=audited)
    assert result.returncode == 0, result
    written = (audited / "starter.contract.yml").read_bytes()
    assert written.strip()
    assert_no_secret(result.stdout, result.stderr, written)
    # ... and nothing else the hook writes in the project: the caches beside bytecode (parsed
    # contracts, caller structures) are written by real imports with the secret in the environment.
    imported = run_script(audited / "host.py", env=ENV)
    assert imported.returncode == 0 and "TEXT" in imported.stdout, imported
    written_by_hook = [p for p in audited.rglob("__pycache__/*") if p.suffix != ".pyc"]
    assert written_by_hook, "no cache record was written: the scan below would prove nothing"
    for path in audited.rglob("*"):
        if path.is_file():
            assert_no_secret(path.read_bytes())
