"""Structured events (SPEC §8; issue 5).

What a user of the hook notices about logging, each observed in a child interpreter that imports
guarded modules for real: which renderer they get and what it prints, that nothing is logged (and
structlog is not even imported) when nothing reaches the level, that their own ``logging`` and
structlog configuration is left exactly as they made it, and that a secret's value is never printed.
The shape of single events (common fields, ordering, never raising) is checked in process.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Result, child_env, run_script, write_files

from importspy_hook import _log

THIS_OS = platform.system().lower() or "linux"
OTHER_OS = "linux" if THIS_OS == "windows" else "windows"
SECRET_VALUE = "sekrit-Value-0042-do-not-print"

# A host that imports one compliant and one refused module, and prints what it observed.
HOST = """\
import sys
import good
try:
    import bad
except ValueError as exc:
    print("REFUSED", exc)
"""

FILES = {
    "good.py": "X = 1\n",
    "good.contract.yml": f"runtime:\n  os: [{THIS_OS}]\n",
    "bad.py": "raise SystemExit('bad ran')\n",
    "bad.contract.yml": f"runtime:\n  os: [{OTHER_OS}]\n",
}


def run_host(project: Path, host: str = HOST, **env: str | None) -> Result:
    write_files(project, {**FILES, "host.py": host})
    return run_script(project / "host.py", env=env)


def json_events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


# ------------------------------------------------------------------------------ renderers


def test_json_renderer_one_object_per_line_with_the_common_fields(project: Path) -> None:
    result = run_host(project, IMPORTSPY_HOOK_LOG="json", IMPORTSPY_HOOK_LOG_LEVEL="debug")
    assert "REFUSED" in result.stdout, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # every line is one JSON object
    by_name = {event["event"]: event for event in events}
    assert set(by_name) == {"contract.checked", "contract.violation"}
    for event in events:
        assert {"timestamp", "level", "event", "target", "caller", "contract", "mode"} <= set(event)
        assert event["caller"] == "__main__"
        assert event["mode"] == "enforce"
    checked = by_name["contract.checked"]
    assert checked["level"] == "debug" and checked["target"] == "good"
    assert checked["contract"] == str(project / "good.contract.yml")
    assert checked["outcome"] == "compliant"
    assert isinstance(checked["duration_us"], int) and 0 <= checked["duration_us"] < 10_000_000
    violation = by_name["contract.violation"]
    assert violation["level"] == "error" and violation["target"] == "bad"
    assert violation["violations"] == [
        f"bad.contract.yml:2: runtime.os: expected {OTHER_OS}, found {THIS_OS}"
    ]


def test_console_renderer_is_the_default_and_plain_when_not_a_terminal(project: Path) -> None:
    result = run_host(project, IMPORTSPY_HOOK_LOG=None, IMPORTSPY_HOOK_LOG_LEVEL=None)
    assert "REFUSED" in result.stdout, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1  # default level warning: the violation only, not contract.checked
    assert "contract.violation" in lines[0] and "[error" in lines[0]
    assert "target=bad" in lines[0] and "caller=__main__" in lines[0] and "mode=enforce" in lines[0]
    assert "\x1b[" not in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
@pytest.mark.parametrize(("no_color", "coloured"), [(None, True), ("1", False)])
def test_console_colours_only_on_a_terminal_and_never_with_no_color(
    project: Path, no_color: str | None, coloured: bool
) -> None:
    import pty
    import subprocess

    write_files(project, {**FILES, "host.py": HOST})
    controller, terminal = pty.openpty()
    bootstrap = (
        "import sys, runpy, importspy_hook; importspy_hook.install(); "
        f"sys.path.insert(0, {str(project)!r}); "
        f"runpy.run_path({str(project / 'host.py')!r}, run_name='__main__')"
    )
    env = child_env({"NO_COLOR": no_color, "IMPORTSPY_HOOK_LOG": "console"})
    completed = subprocess.run(
        [sys.executable, "-c", bootstrap], stderr=terminal, stdout=subprocess.PIPE, env=env, timeout=60
    )
    os.close(terminal)
    output = b""
    try:
        while chunk := os.read(controller, 65536):
            output += chunk
    except OSError:  # EIO once the terminal side is closed and drained
        pass
    os.close(controller)
    assert completed.returncode == 0
    assert b"contract.violation" in output
    assert (b"\x1b[" in output) is coloured


def test_stdlib_renderer_hands_records_to_the_applications_logging(project: Path) -> None:
    host = """\
    import json, logging

    class Keep(logging.Handler):
        records = []
        def emit(self, record):
            self.records.append(record)

    logging.getLogger().addHandler(Keep())
    logging.getLogger().setLevel(logging.DEBUG)
    import good
    try:
        import bad
    except ValueError:
        pass
    print(json.dumps([
        {"logger": r.name, "level": r.levelname, "message": r.getMessage(), "event": r.event,
         "target": r.target, "contract": r.contract, "mode": r.mode, "caller": r.caller}
        for r in Keep.records
    ]))
    """
    result = run_host(project, host, IMPORTSPY_HOOK_LOG="stdlib", IMPORTSPY_HOOK_LOG_LEVEL="debug")
    assert result.returncode == 0, result
    records = json.loads(result.stdout.splitlines()[-1])
    assert [(r["logger"], r["level"], r["event"]) for r in records] == [
        ("importspy_hook", "DEBUG", "contract.checked"),
        ("importspy_hook", "ERROR", "contract.violation"),
    ]
    assert records[1]["target"] == "bad" and records[1]["mode"] == "enforce"
    assert records[1]["contract"] == str(project / "bad.contract.yml")
    assert records[1]["message"].startswith("contract.violation: target='bad'")
    assert "contract.violation" not in result.stderr  # the application's handler decides; none on stderr


def test_off_prints_nothing_but_still_refuses(project: Path) -> None:
    result = run_host(project, IMPORTSPY_HOOK_LOG="off", IMPORTSPY_HOOK_LOG_LEVEL="debug")
    assert "REFUSED" in result.stdout
    assert result.stderr == ""


def test_an_unknown_setting_warns_once_and_falls_back(project: Path) -> None:
    result = run_host(project, IMPORTSPY_HOOK_LOG="jsno", IMPORTSPY_HOOK_LOG_LEVEL="verbose")
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "importspy-hook: unknown IMPORTSPY_HOOK_LOG value 'jsno'; expected one of console, json, "
        "stdlib, off; using console"
    )
    assert lines[1].startswith("importspy-hook: unknown IMPORTSPY_HOOK_LOG_LEVEL value 'verbose'")
    assert len(lines) == 3 and "contract.violation" in lines[2]


# ------------------------------------------------------------------------------ cost


STRUCTLOG_PROBE = HOST + "print('structlog imported:', 'structlog' in sys.modules)\n"


@pytest.mark.parametrize(
    ("env", "imported"),
    [
        ({}, True),  # control: the violation is logged at error, so structlog is needed
        ({"IMPORTSPY_HOOK_LOG": "off"}, False),
        ({"IMPORTSPY_HOOK_LOG_LEVEL": "critical"}, False),
    ],
)
def test_structlog_is_imported_only_when_an_event_is_emitted(
    project: Path, env: dict[str, str], imported: bool
) -> None:
    result = run_host(project, STRUCTLOG_PROBE, **env)
    assert "REFUSED" in result.stdout, result
    assert f"structlog imported: {imported}" in result.stdout


def test_compliant_imports_at_the_default_level_never_import_structlog(project: Path) -> None:
    host = "import sys\nimport good\nprint('structlog imported:', 'structlog' in sys.modules)\n"
    result = run_host(project, host, IMPORTSPY_HOOK_LOG=None, IMPORTSPY_HOOK_LOG_LEVEL=None)
    assert result.stdout.strip() == "structlog imported: False", result


# ------------------------------------------------------------------------- the application's configuration


def test_the_applications_structlog_and_logging_configuration_is_untouched(project: Path) -> None:
    host = """\
    import json, logging, sys
    import structlog

    def app_renderer(logger, method, event_dict):
        return "APP|" + event_dict["event"] + "|" + ",".join(sorted(k for k in event_dict if k != "event"))

    logging.basicConfig(level=logging.INFO, format="ROOT %(message)s", stream=sys.stdout)
    structlog.configure(
        processors=[structlog.processors.add_log_level, app_renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=False,
    )
    before = dict(structlog.get_config())
    root_before = (list(logging.getLogger().handlers), logging.getLogger().level)
    app = structlog.get_logger()
    app.error("app.before", n=1)

    import good
    try:
        import bad
    except ValueError:
        pass

    app.error("app.after", n=2)
    app.info("app.filtered")  # the app's wrapper filters info: it must still do so
    after = dict(structlog.get_config())
    print("CONFIG_SAME", before == after and all(before[k] is after[k] for k in before))
    print("ROOT_SAME", root_before == (list(logging.getLogger().handlers), logging.getLogger().level))
    print("HOOK_HANDLERS", logging.getLogger("importspy_hook").handlers)
    """
    result = run_host(project, host, IMPORTSPY_HOOK_LOG="json", IMPORTSPY_HOOK_LOG_LEVEL="debug")
    assert result.returncode == 0, result
    out = result.stdout.splitlines()
    assert "APP|app.before|level,n" in out and "APP|app.after|level,n" in out
    assert not any("app.filtered" in line for line in out)
    assert "CONFIG_SAME True" in out and "ROOT_SAME True" in out and "HOOK_HANDLERS []" in out
    # ... and the hook's own events were emitted meanwhile, in its own format, on stderr.
    events = [event["event"] for event in json_events(result.stderr)]
    assert events == ["contract.checked", "contract.violation"]
    assert not any(line.startswith("ROOT ") for line in out)  # nothing leaked into the app's logging


# ------------------------------------------------------------------------------ secrets

SECRET_FILES = {
    # a value mismatch on a secret, in each place a contract can require one
    "wants.py": "",
    "wants.contract.yml": (
        "runtime:\n"
        "  environment:\n"
        "    SPY_TOKEN: {value: the-expected-one, secret: true}\n"
        "deployments:\n"
        "  - systems:\n"
        "      - environment:\n"
        "          variables:\n"
        "            - {name: SPY_TOKEN, value: another-one}\n"
        "          secrets: [SPY_TOKEN]\n"
    ),
    # a compliant check that reads the secret (contract.checked at debug)
    "present.py": "",
    "present.contract.yml": (
        "deployments:\n  - systems:\n      - environment:\n          secrets: [SPY_TOKEN]\n"
    ),
}

SECRET_HOST = """\
import logging


class Dump(logging.Handler):  # every attribute of every record, for the stdlib renderer
    def emit(self, record):
        print("RECORD", record.getMessage(), vars(record))


logging.getLogger().addHandler(Dump())
logging.getLogger().setLevel(logging.DEBUG)
import present
try:
    import wants
except ValueError as exc:
    print("REFUSED", exc, repr(exc), exc.violations)
"""


@pytest.mark.parametrize("renderer", ["console", "json", "stdlib"])
def test_no_renderer_prints_a_secrets_value_even_at_debug(project: Path, renderer: str) -> None:
    write_files(project, {**SECRET_FILES, "host.py": SECRET_HOST})
    result = run_script(
        project / "host.py",
        env={"IMPORTSPY_HOOK_LOG": renderer, "IMPORTSPY_HOOK_LOG_LEVEL": "debug", "SPY_TOKEN": SECRET_VALUE},
    )
    assert "REFUSED" in result.stdout, result
    output = result.stdout + result.stderr
    assert "contract.checked" in output and "contract.violation" in output  # events were emitted
    assert "SPY_TOKEN" in output
    assert SECRET_VALUE not in output


# ------------------------------------------------------------------------------ single events, in process


@pytest.fixture
def log_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Let a test choose IMPORTSPY_HOOK_LOG*; the module's cached settings are reset around it."""
    monkeypatch.delenv("IMPORTSPY_HOOK_LOG", raising=False)
    monkeypatch.delenv("IMPORTSPY_HOOK_LOG_LEVEL", raising=False)
    _log.reset()
    yield monkeypatch
    _log.reset()


def test_events_always_carry_the_common_fields_first(
    log_settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log_settings.setenv("IMPORTSPY_HOOK_LOG", "json")
    _log.emit("warning", "hook.internal_error", error="KeyError: 'x'", target="pkg.mod")
    (event,) = json_events(capsys.readouterr().err)
    assert list(event)[:7] == ["timestamp", "level", "event", "target", "caller", "contract", "mode"]
    assert event["target"] == "pkg.mod" and event["caller"] is None and event["mode"] is None
    assert event["error"] == "KeyError: 'x'"


def test_the_level_filter_comes_first(
    log_settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log_settings.setenv("IMPORTSPY_HOOK_LOG", "json")
    log_settings.setenv("IMPORTSPY_HOOK_LOG_LEVEL", "error")
    assert not _log.enabled("warning") and _log.enabled("error") and _log.enabled("critical")
    _log.emit("warning", "hook.internal_error", target="a")
    _log.emit("error", "contract.invalid", target="b")
    assert [e["target"] for e in json_events(capsys.readouterr().err)] == ["b"]


def test_emit_never_raises(log_settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

        __str__ = __repr__

    log_settings.setenv("IMPORTSPY_HOOK_LOG", "console")
    _log.emit("error", "contract.invalid", target="x", error=Hostile())  # must not raise
    _log.emit("nonsense-level", "x")  # an unknown level is simply not emitted
    capsys.readouterr()


def test_settings_are_read_once(log_settings: pytest.MonkeyPatch) -> None:
    log_settings.setenv("IMPORTSPY_HOOK_LOG", "off")
    assert _log.settings() == ("off", 30)
    log_settings.setenv("IMPORTSPY_HOOK_LOG", "json")
    assert _log.settings() == ("off", 30)  # cached until reset()
    _log.reset()
    assert _log.settings() == ("json", 30)
