"""The README's demo: the example host admits one plugin and refuses the other, as documented."""

from __future__ import annotations

from pathlib import Path

from conftest import run_script

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_demo_admits_greeter_and_refuses_exporter_before_its_code_runs() -> None:
    result = run_script(EXAMPLES / "host.py", env={"IMPORTSPY_HOOK_LOG": "off"})
    assert result.returncode == 0, result
    assert "ADMITTED plugins.greeter" in result.stdout
    assert "REFUSED  plugins.exporter" in result.stdout
    assert "1 plugin(s) loaded, 1 refused." in result.stdout
    # The refusal names every unmet requirement with its contract line...
    assert "exporter.contract.yml:5: variables[0].value: expected API_VERSION = 3" in result.stdout
    assert "classes[0].methods[0]: expected method PluginHost.export_all" in result.stdout
    assert "EXPORTER_TOKEN not set" in result.stdout
    # ...and the refused plugin's first line never ran.
    assert "must never run" not in result.stdout + result.stderr


def test_demo_in_warn_mode_logs_the_violation_and_loads_both() -> None:
    result = run_script(EXAMPLES / "host.py", mode="warn", env={"IMPORTSPY_HOOK_LOG": "json"})
    assert result.returncode == 0, result
    assert "2 plugin(s) loaded, 0 refused." in result.stdout
    assert "must never run" in result.stdout  # warn mode lets it through...
    assert '"event": "contract.violation"' in result.stderr  # ...and says so in the log
