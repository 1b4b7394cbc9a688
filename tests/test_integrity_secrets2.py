"""Third red-team review: secrets copied into the importer's own values, and host code run by annotations.

**A secret under another name (SPEC §6 "Which values may be printed").** The name rule hides the
value of ``API_TOKEN`` and of a caller's variable named like a credential; but an importer copies
secrets into names that say nothing (``DB = os.environ['DATABASE_URL']``, ``SERVERS = [REDIS_URL]``,
``{'X-Api': token}``, a class attribute ``broker``) and into argument defaults, which had no name
rule at all. The one rule now also covers what a violation shows of the caller: a text that
contains the value of a variable whose value may not be shown is not shown, and an argument
default, like a variable or an attribute, is not shown when its own name looks like a credential.
Each case runs a real refused import with the console and JSON log renderers, and looks for the
sentinel in everything printed.

**Annotations of live functions (SPEC §5: a check never runs application code).** A caller with
no source (shipped as bytecode only) is read from its live module: ``repr`` of an
``Annotated[str, Marker()]`` or a ``list[obj]`` ran the host's ``__repr__`` inside the check.

**Names.** ``DB_PW``, ``TWITTER_BEARER``, ``WALLET_MNEMONIC`` now look like credentials.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Result, child_env, write_files

from importspy_hook._errors import looks_like_credential

SENT = "SENTINELsecret-9f3a-c05"


def assert_not_printed(result: Result) -> None:
    output = result.stdout + result.stderr
    assert SENT not in output, f"the secret is printed: {output!r:.3000}"
    assert SENT.replace("-", "\\x2d") not in output


def cli(*args: str, cwd: Path, env: dict[str, str | None] | None = None) -> Result:
    completed = subprocess.run(
        [sys.executable, "-m", "importspy_hook", *args],
        cwd=cwd,
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Result(completed)


# ============================================================================== names


@pytest.mark.parametrize(
    "name", ["DB_PW", "pw", "TWITTER_BEARER", "WALLET_MNEMONIC", "BANK_PIN", "MFA_OTP", "WALLET_SEED"]
)
def test_more_credential_names(name: str) -> None:
    assert looks_like_credential(name)


@pytest.mark.parametrize("name", ["PWD", "OLDPWD", "PWM_CHIP", "PINNED", "SHOPPING_LIST", "PYTHONHASHSEED"])
def test_names_that_are_no_credentials(name: str) -> None:
    # PWD and OLDPWD are the shell's working directory, not MYSQL_PWD's password; a part of a word
    # (PWM, PINNED) is not the word.
    assert not looks_like_credential(name)


@pytest.mark.parametrize("name", ["DB_PW", "TWITTER_BEARER", "WALLET_MNEMONIC"])
def test_context_values_and_check_withhold_the_new_names(project: Path, name: str) -> None:
    listed = cli("context", "--values", env={name: SENT}, cwd=project)
    assert listed.returncode == 0 and f"{name}:" in listed.stdout, listed
    write_files(project, {"c.contract.yml": f"runtime:\n  environment:\n    {name}: expected\n"})
    for fmt in ("human", "json", "sarif"):
        checked = cli("check", "c.contract.yml", "--format", fmt, "--set", f"env.{name}={SENT}", cwd=project)
        assert checked.returncode == 1 and "another value" in checked.stdout, checked
        assert_not_printed(checked)
    assert_not_printed(listed)
