"""Symlinked sidecars (issue 7): the rule, with real symlinks and real imports in child interpreters.

The rule (README, "Symlinked sidecars"):

* a sidecar may be a symlink, also to a file outside the package: it is read like the module
  itself, which may be a symlink too (deployments that link shared policy files are common, and
  refusing links would push people to copies that drift);
* the sidecar is looked for next to the module's path as the import system found it (the link,
  not its target), and messages name the path where the sidecar was found, not the link target;
* a sidecar that is present but cannot be read — a dangling link, a link loop, a link to a
  directory or to something that is not a regular file — refuses that module with a
  ``ContractError``, never admits it: a contract that is there but unreadable must not silently
  pass. Other imports are unaffected.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import Result, run_script, write_files

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="POSIX symlinks")

HOST = """\
import sys
from importspy_hook import ContractError, ContractViolation

try:
    import plugin
except ContractViolation as error:
    print("VIOLATION|" + error.contract)
    print("TEXT|" + str(error).replace("\\n", " // "))
except ContractError as error:
    print(f"ERROR|{error.path}|{error.reason}")
else:
    print("ADMITTED|" + plugin.__file__)
import other
print(f"OTHER|{other.VALUE}|{'plugin' in sys.modules}")
"""


def run(project: Path, timeout: float = 30) -> dict[str, str]:
    result: Result = run_script(project / "host.py", timeout=timeout)
    assert result.returncode == 0, result
    assert "Traceback" not in result.stderr and "internal_error" not in result.stderr, result
    found = dict(line.split("|", 1) for line in result.stdout.splitlines() if "|" in line)
    assert found.get("OTHER", "").startswith("1|"), result  # an unrelated import keeps working
    return found


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """An application directory and a policy directory outside it (where linked contracts live)."""
    project = tmp_path / "app"
    policies = tmp_path / "policies"
    policies.mkdir()
    write_files(project, {"host.py": HOST, "plugin.py": "VALUE = 'ran'\n", "other.py": "VALUE = 1\n"})
    return project, policies


def test_a_sidecar_linked_from_outside_the_package_is_enforced(layout: tuple[Path, Path]) -> None:
    project, policies = layout
    (policies / "shared.yml").write_text("filename: not_the_host.py\n")
    (project / "plugin.contract.yml").symlink_to(policies / "shared.yml")
    found = run(project)
    assert "VIOLATION" in found, found
    # The message names where the sidecar was found, not the link target.
    assert found["VIOLATION"] == str(project / "plugin.contract.yml")
    assert "plugin.contract.yml" in found["TEXT"] and "shared.yml" not in found["TEXT"]


def test_a_linked_sidecar_the_host_meets_admits(layout: tuple[Path, Path]) -> None:
    project, policies = layout
    (policies / "shared.yml").write_text("filename: host.py\n")
    (project / "plugin.contract.yml").symlink_to(policies / "shared.yml")
    assert "ADMITTED" in run(project)


def test_a_relative_link_chain_is_followed(layout: tuple[Path, Path]) -> None:
    project, policies = layout
    (policies / "real.yml").write_text("filename: not_the_host.py\n")
    (policies / "alias.yml").symlink_to("real.yml")
    (project / "plugin.contract.yml").symlink_to(os.path.relpath(policies / "alias.yml", project))
    assert run(project)["VIOLATION"] == str(project / "plugin.contract.yml")


def test_a_symlinked_module_uses_the_sidecar_beside_the_link(layout: tuple[Path, Path]) -> None:
    project, policies = layout
    # The module itself is a link into the policy directory, which holds a contract the host meets;
    # the contract beside the *link* is the one that applies (found where the import found the module).
    (project / "plugin.py").unlink()
    (policies / "plugin.py").write_text("VALUE = 'ran'\n")
    (policies / "plugin.contract.yml").write_text("filename: host.py\n")
    (project / "plugin.py").symlink_to(policies / "plugin.py")
    (project / "plugin.contract.yml").write_text("filename: not_the_host.py\n")
    assert run(project)["VIOLATION"] == str(project / "plugin.contract.yml")


def test_a_symlinked_module_without_a_sidecar_beside_the_link_is_not_checked(
    layout: tuple[Path, Path],
) -> None:
    project, policies = layout
    (project / "plugin.py").unlink()
    (policies / "plugin.py").write_text("VALUE = 'ran'\n")
    (policies / "plugin.contract.yml").write_text("filename: not_the_host.py\n")
    (project / "plugin.py").symlink_to(policies / "plugin.py")
    assert "ADMITTED" in run(project)


def test_a_symlinked_package_directory_carries_its_sidecars(tmp_path: Path) -> None:
    project = tmp_path / "app"
    vendor = tmp_path / "vendor" / "plugin"
    write_files(project, {"host.py": HOST, "other.py": "VALUE = 1\n"})
    write_files(vendor, {"__init__.py": "", "__init__.contract.yml": "filename: not_the_host.py\n"})
    (project / "plugin").symlink_to(vendor, target_is_directory=True)
    found = run(project)
    assert found["VIOLATION"] == str(project / "plugin" / "__init__.contract.yml")


@pytest.mark.parametrize("kind", ["dangling", "loop", "directory", "fifo", "dev-null"])
def test_a_present_but_unreadable_sidecar_refuses_only_its_module(
    layout: tuple[Path, Path], kind: str
) -> None:
    project, policies = layout
    sidecar = project / "plugin.contract.yml"
    if kind == "dangling":
        sidecar.symlink_to(policies / "removed.yml")
    elif kind == "loop":
        (policies / "a.yml").symlink_to(policies / "b.yml")
        (policies / "b.yml").symlink_to(policies / "a.yml")
        sidecar.symlink_to(policies / "a.yml")
    elif kind == "directory":
        sidecar.symlink_to(policies, target_is_directory=True)
    elif kind == "fifo":  # opening a FIFO blocks until a writer appears: it must not hang the import
        os.mkfifo(policies / "pipe")
        sidecar.symlink_to(policies / "pipe")
    else:  # an empty character device would read as an empty contract, which accepts everyone
        sidecar.symlink_to(os.devnull)
    found = run(project, timeout=10)
    assert "ERROR" in found, found  # never ADMITTED: a present contract that cannot be read refuses
    path, reason = found["ERROR"].split("|", 1)
    assert path == str(sidecar), found
    assert reason, found


def test_fixing_a_dangling_link_fixes_the_next_process(layout: tuple[Path, Path]) -> None:
    project, policies = layout
    (project / "plugin.contract.yml").symlink_to(policies / "later.yml")
    assert "ERROR" in run(project)
    (policies / "later.yml").write_text("filename: host.py\n")
    assert "ADMITTED" in run(project)
