"""Platform facts, normalisation and the context a contract is checked against (SPEC §5, §6)."""

from __future__ import annotations

import importlib.metadata
import os
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from importspy_hook import _context, _facts
from importspy_hook._context import (
    Context,
    PlatformFacts,
    current_context,
    normalise_arch,
    normalise_distribution_name,
    normalise_implementation,
    normalise_os,
    platform_facts,
)


class FakeCaller:
    def __init__(self, name: str | None, file: str | None, module: ModuleType | None) -> None:
        self.name = name
        self.file = file
        self.module = module


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("darwin", "darwin"),
        ("Darwin", "darwin"),
        ("macOS", "darwin"),
        ("mac", "darwin"),
        ("OSX", "darwin"),
        ("win32", "windows"),
        ("Windows", "windows"),
        ("nt", "windows"),
        ("linux", "linux"),
        ("linux2", "linux"),
        (" Linux ", "linux"),
        ("freebsd14", "freebsd"),
        ("FreeBSD", "freebsd"),
        ("SunOS", "sunos"),
        ("emscripten", "emscripten"),
        ("macintosh", "macintosh"),  # only the listed spellings are aliases
    ],
)
def test_normalise_os(given: str, expected: str) -> None:
    assert normalise_os(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("amd64", "x86_64"),
        ("AMD64", "x86_64"),
        ("x86-64", "x86_64"),
        ("x64", "x86_64"),
        ("x86_64", "x86_64"),
        ("arm64", "aarch64"),
        ("ARM64", "aarch64"),
        ("aarch64", "aarch64"),
        ("armv8l", "armv7l"),  # 32-bit ARM user space on an ARMv8 CPU (linux32): armv7l code
        ("ARMv8", "aarch64"),
        ("armv8-a", "aarch64"),
        ("i386", "i686"),
        ("i486", "i686"),
        ("i586", "i686"),
        ("i686", "i686"),
        ("x86", "i686"),
        ("armv7l", "armv7l"),
        ("armv7", "armv7l"),
        ("ppc64le", "ppc64le"),
        ("s390x", "s390x"),
        ("RISCV64", "riscv64"),
        ("armv6l", "armv6l"),
    ],
)
def test_normalise_arch(given: str, expected: str) -> None:
    assert normalise_arch(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("cpython", "CPython"),
        ("CPython", "CPython"),
        ("CPYTHON", "CPython"),
        ("pypy", "PyPy"),
        ("graalpy", "GraalPy"),
        ("graalpython", "GraalPy"),
        ("ironpython", "IronPython"),
        ("jython", "Jython"),
        ("micropython", "MicroPython"),
        ("  Pyston ", "Pyston"),
    ],
)
def test_normalise_implementation(given: str, expected: str) -> None:
    assert normalise_implementation(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Ruamel.YAML", "ruamel-yaml"),
        ("zope_interface", "zope-interface"),
        ("A--B__c", "a-b-c"),
        ("attrs", "attrs"),
    ],
)
def test_normalise_distribution_name(given: str, expected: str) -> None:
    assert normalise_distribution_name(given) == expected


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        ((3, 11, 7, "final", 0), "3.11.7"),
        ((3, 13, 0, "candidate", 1), "3.13.0rc1"),
        ((3, 14, 0, "beta", 2), "3.14.0b2"),
        ((3, 15, 0, "alpha", 5), "3.15.0a5"),
    ],
)
def test_python_version_text(info: tuple[int, int, int, str, int], expected: str) -> None:
    assert _context._python_version(info) == expected


def test_platform_facts_describe_this_process() -> None:
    facts = platform_facts()
    assert facts is platform_facts()  # computed once
    assert facts.os == normalise_os(sys.platform)
    major, minor, micro = sys.version_info[:3]
    assert facts.python_version.startswith(f"{major}.{minor}.{micro}")
    assert facts.implementation == normalise_implementation(sys.implementation.name)
    if hasattr(os, "uname") and sys.maxsize > 2**32:
        assert facts.arch == normalise_arch(os.uname().machine)
    with pytest.raises(AttributeError):
        facts.os = "plan9"
    assert facts == PlatformFacts(facts.os, facts.arch, facts.python_version, facts.implementation)
    assert "python_version=" in repr(facts)


def test_machine_is_read_without_the_platform_module(monkeypatch: pytest.MonkeyPatch) -> None:
    # `platform` is slow to import; on POSIX the machine comes from os.uname().
    if not hasattr(os, "uname"):
        pytest.skip("Windows reads the machine through `platform`")
    monkeypatch.setitem(sys.modules, "platform", None)  # any import of it now raises
    assert _context._machine() == platform_facts().arch


class _Uname:
    def __init__(self, machine: str) -> None:
        self.machine = machine


@pytest.mark.parametrize(
    ("kernel", "pointer_bits", "expected"),
    [
        ("aarch64", 64, "aarch64"),
        ("aarch64", 32, "armv7l"),  # armhf Python (Raspberry Pi OS) on a 64-bit kernel
        ("armv8l", 32, "armv7l"),  # the same under `linux32`
        ("armv7l", 32, "armv7l"),
        ("x86_64", 64, "x86_64"),
        ("x86_64", 32, "i686"),  # i686 Python on an x86_64 kernel
        ("AMD64", 32, "i686"),  # 32-bit Python on 64-bit Windows
        ("ARM64", 64, "aarch64"),
        ("ppc64le", 64, "ppc64le"),
    ],
)
def test_machine_is_the_interpreters_not_the_kernels(
    monkeypatch: pytest.MonkeyPatch, kernel: str, pointer_bits: int, expected: str
) -> None:
    # A contract (like a wheel tag) is about the code this interpreter runs: a 32-bit interpreter
    # on a 64-bit kernel runs 32-bit code, whatever os.uname() says about the kernel.
    if hasattr(os, "uname"):
        monkeypatch.setattr(_facts._os, "uname", lambda: _Uname(kernel))
    else:
        monkeypatch.setattr("platform.machine", lambda: kernel)
    monkeypatch.setattr(_facts.sys, "maxsize", 2 ** (pointer_bits - 1) - 1)
    arch = _context._machine()
    monkeypatch.undo()
    assert arch == expected


def test_current_context_defaults_to_this_process() -> None:
    ctx = current_context()
    facts = platform_facts()
    assert (ctx.os, ctx.arch, ctx.python_version, ctx.implementation) == (
        facts.os,
        facts.arch,
        facts.python_version,
        facts.implementation,
    )
    assert ctx.environ == dict(os.environ) and type(ctx.environ) is dict  # a snapshot (below)
    assert ctx.caller is None and ctx.caller_name is None
    assert ctx.structure() is None


def test_current_context_overrides_are_normalised() -> None:
    ctx = current_context(os="macOS", arch="AMD64", python=" 3.12.1 ", implementation="pypy")
    assert (ctx.os, ctx.arch, ctx.python_version, ctx.implementation) == (
        "darwin",
        "x86_64",
        "3.12.1",
        "PyPy",
    )


def test_the_hooks_own_context_reads_the_environment_at_check_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # What an import is judged against: a variable set after the context was built is seen
    # (failures are never cached, SPEC §7: set the variable, import again, and it works).
    monkeypatch.delenv("IMPORTSPY_TEST_LATE", raising=False)
    plain = _context.live_context()
    layered = _context.live_context(env={"IMPORTSPY_TEST_OTHER": "x"})
    assert "IMPORTSPY_TEST_LATE" not in plain.environ
    assert "IMPORTSPY_TEST_LATE" not in layered.environ
    monkeypatch.setenv("IMPORTSPY_TEST_LATE", "now")
    assert plain.environ["IMPORTSPY_TEST_LATE"] == "now"
    assert layered.environ.get("IMPORTSPY_TEST_LATE") == "now"


def test_current_context_is_a_snapshot_that_pickles(monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    monkeypatch.setenv("IMPORTSPY_TEST_SNAP", "before")
    monkeypatch.setenv("IMPORTSPY_TEST_GONE", "here")
    ctx = current_context(env={"IMPORTSPY_TEST_GONE": None, "IMPORTSPY_TEST_ADDED": "added"})
    monkeypatch.setenv("IMPORTSPY_TEST_SNAP", "after")
    monkeypatch.setenv("IMPORTSPY_TEST_LATER", "later")
    # What the caller got does not change under its feet...
    assert type(ctx.environ) is dict
    assert ctx.environ["IMPORTSPY_TEST_SNAP"] == "before"
    assert "IMPORTSPY_TEST_LATER" not in ctx.environ and "IMPORTSPY_TEST_GONE" not in ctx.environ
    assert ctx.environ["IMPORTSPY_TEST_ADDED"] == "added"
    # ...crosses a process boundary (a pool worker, a cache)...
    copy = pickle.loads(pickle.dumps(ctx))
    assert (copy.os, copy.arch, copy.python_version, copy.implementation) == (
        ctx.os,
        ctx.arch,
        ctx.python_version,
        ctx.implementation,
    )
    assert copy.environ == ctx.environ and copy.caller is None
    simulated = current_context(distributions={"Demo": "1.0"})
    assert pickle.loads(pickle.dumps(simulated)).distributions() == {"demo": "1.0"}
    # ...and its repr still shows no value.
    assert "before" not in repr(ctx) and "added" not in repr(copy)


def test_env_overrides_layer_over_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPORTSPY_TEST_KEEP", "kept")
    monkeypatch.setenv("IMPORTSPY_TEST_HIDE", "secret-value")
    monkeypatch.setenv("IMPORTSPY_TEST_REPLACE", "old")
    ctx = _context.live_context(
        env={"IMPORTSPY_TEST_HIDE": None, "IMPORTSPY_TEST_REPLACE": "new", "IMPORTSPY_TEST_ADD": "added"}
    )
    env = ctx.environ
    assert env["IMPORTSPY_TEST_KEEP"] == "kept"
    assert env["IMPORTSPY_TEST_REPLACE"] == "new"
    assert env["IMPORTSPY_TEST_ADD"] == "added"
    assert "IMPORTSPY_TEST_HIDE" not in env
    assert env.get("IMPORTSPY_TEST_HIDE") is None
    with pytest.raises(KeyError):
        env["IMPORTSPY_TEST_HIDE"]
    names = list(env)
    assert "IMPORTSPY_TEST_HIDE" not in names
    assert names.count("IMPORTSPY_TEST_REPLACE") == 1 and "IMPORTSPY_TEST_ADD" in names
    assert len(env) == len(names)
    assert "secret-value" not in repr(env) and "added" not in repr(env)
    assert os.environ["IMPORTSPY_TEST_HIDE"] == "secret-value"  # the process is not modified


def test_distributions_find_attrs_with_its_real_version() -> None:
    dists = current_context().distributions()
    assert dists["attrs"] == importlib.metadata.version("attrs")
    assert dists["packaging"] == importlib.metadata.version("packaging")


def test_distributions_agree_with_importlib_metadata() -> None:
    expected: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        expected.setdefault(normalise_distribution_name(dist.metadata["Name"]), dist.version)
    assert dict(current_context().distributions()) == expected


def test_distributions_in_egg_info_files_and_zip_archives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "old_style-0.9.egg-info").write_text("Metadata-Version: 1.0\nName: Old.Style\nVersion: 0.9\n")
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(
            "zipped_dist-3.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: zipped-dist\nVersion: 3.1\n"
        )
    monkeypatch.syspath_prepend(str(archive))
    monkeypatch.syspath_prepend(str(tmp_path))
    dists = current_context().distributions()
    assert dists["old-style"] == "0.9"
    assert dists["zipped-dist"] == "3.1"


def test_distributions_first_on_sys_path_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for folder, version in (("first", "1.0"), ("second", "2.0")):
        info = tmp_path / folder / f"Demo_Dist-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: Demo_Dist\nVersion: {version}\n\nVersion: 9.9 in the description\n"
        )
    monkeypatch.syspath_prepend(str(tmp_path / "second"))
    monkeypatch.syspath_prepend(str(tmp_path / "first"))
    assert current_context().distributions()["demo-dist"] == "1.0"


@pytest.mark.parametrize("listing", [sorted, lambda names: sorted(names, reverse=True)])
def test_two_versions_in_one_directory_read_as_importlib_metadata_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listing: Any
) -> None:
    # A botched upgrade can leave foo-1.0.dist-info and foo-2.0.dist-info side by side.
    # importlib.metadata.version("foo") takes the first in the directory's listing order (checked
    # on CPython 3.10 to 3.13); a contract must judge the version the application itself sees.
    for version in ("1.0", "2.0", "10.0"):
        info = tmp_path / f"two_versions-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: two-versions\nVersion: {version}\n")
    real_listdir = os.listdir

    def listdir(path: Any = ".") -> list[str]:
        names = real_listdir(path)
        return listing(names) if os.fspath(path) == str(tmp_path) else names

    monkeypatch.setattr(os, "listdir", listdir)  # the same order for importlib.metadata and the hook
    monkeypatch.syspath_prepend(str(tmp_path))
    expected = importlib.metadata.version("two-versions")
    assert expected == ("1.0" if listing is sorted else "2.0")
    assert current_context().distributions()["two-versions"] == expected


def test_distributions_notice_a_new_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "late-dist" not in current_context().distributions()
    info = tmp_path / "late_dist-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: late-dist\nVersion: 0.1\n")
    os.utime(tmp_path, ns=(0, 10**9))  # a different directory mtime, whatever the clock resolution
    assert current_context().distributions()["late-dist"] == "0.1"


def test_distributions_are_computed_once_per_context(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake() -> dict[str, str]:
        calls.append(1)
        return {"x": "1"}

    monkeypatch.setattr(_context, "installed_distributions", fake)
    ctx = current_context()
    assert calls == []  # nothing scanned until asked
    assert ctx.distributions() == {"x": "1"}
    assert ctx.distributions() == {"x": "1"}
    assert calls == [1]


def test_distribution_override_replaces_the_installed_set() -> None:
    ctx = current_context(distributions={"Ruamel.YAML": "0.1", "My_Lib": " 2.0 "})
    assert ctx.distributions() == {"ruamel-yaml": "0.1", "my-lib": "2.0"}


def test_structure_comes_from_the_caller_and_is_cached(tmp_path: Path) -> None:
    source = tmp_path / "host_ctx.py"
    source.write_text("LIMIT = 5\n")
    caller = FakeCaller("host_ctx", str(source), None)
    ctx = current_context(caller=caller)
    assert ctx.caller_name == "host_ctx"
    structure = ctx.structure()
    assert structure is not None and structure[4]["LIMIT"] == ("LIMIT", True, 5, None)  # variables
    assert ctx.structure() is structure


def test_context_is_immutable() -> None:
    ctx = Context(os="linux", arch="x86_64", python_version="3.11.7", implementation="CPython")
    with pytest.raises(AttributeError):
        ctx.os = "windows"  # type: ignore[misc]
    assert ctx.environ is os.environ
