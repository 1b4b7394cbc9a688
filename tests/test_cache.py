"""The cache beside bytecode: parsed contracts and caller structures that outlive the process (§11).

What a user relies on: an unchanged contract is not parsed again in a new process (and ruamel.yaml
is then not even imported); an edited one always is; a cache file that is damaged, stale, foreign
or unwritable never changes a verdict and never raises; ``PYTHONDONTWRITEBYTECODE`` and
``sys.pycache_prefix`` are honoured as they are for bytecode.
"""

from __future__ import annotations

import json
import marshal
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_python, write_files

from importspy_hook import _cache, _contract_parse, _structure
from importspy_hook._check import clear_cache, load_contract
from importspy_hook._errors import ContractError

CONTRACT = """\
runtime:
  python: ">=3.10"
variables:
  - name: LIMIT
    annotation: Optional[int]
    value: 5
"""
TAG = sys.implementation.cache_tag


@pytest.fixture
def writing(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Bytecode (and so the cache) may be written; records which contracts get parsed from YAML."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    parsed: list[str] = []
    original = _contract_parse.parse_plain

    def counting(text: str | bytes, path: str = "<string>") -> object:
        parsed.append(path)
        return original(text, path)

    monkeypatch.setattr(_contract_parse, "parse_plain", counting)
    clear_cache()
    yield parsed
    clear_cache()


def sidecar(directory: Path, text: str = CONTRACT, stem: str = "plugin") -> Path:
    path = directory / f"{stem}.contract.yml"
    path.write_text(text, encoding="utf-8")
    return path


def record_of(contract: Path) -> Path:
    return contract.parent / "__pycache__" / f"{contract.name[: -len('.yml')]}.{TAG}.marshal"


def fresh_process_load(path: Path) -> None:
    """Forget the process cache, as a new interpreter would start without it."""
    clear_cache()
    load_contract(path)


# --------------------------------------------------------------------------- contracts


def test_a_parsed_contract_is_written_beside_bytecode_and_read_back(
    tmp_path: Path, writing: list[str]
) -> None:
    path = sidecar(tmp_path)
    first = load_contract(path)
    assert record_of(path).is_file()
    fresh_process_load(path)
    assert writing == [str(path)]  # parsed once, then read from the record
    again = load_contract(path)
    assert again == first and again.line_of("variables") == first.line_of("variables")
    assert again.variables is not None and again.variables[0].value_text == "5"


def test_an_edited_contract_is_parsed_again_whatever_its_mtime(tmp_path: Path, writing: list[str]) -> None:
    path = sidecar(tmp_path)
    load_contract(path)
    before = path.stat()
    path.write_text(CONTRACT.replace("value: 5", "value: 7"), encoding="utf-8")  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the same mtime
    clear_cache()
    contract = load_contract(path)
    assert contract.variables is not None and contract.variables[0].value == 7
    assert len(writing) == 2
    fresh_process_load(path)  # the record was rewritten for the new content
    assert len(writing) == 2


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: b"", id="empty"),
        pytest.param(lambda data: b"\x00garbage" * 20, id="garbage"),
        pytest.param(lambda data: data[:-7] + b"\xff" * 7, id="corrupt-tail"),
    ],
)
def test_a_damaged_record_is_ignored_and_rewritten(
    tmp_path: Path, writing: list[str], damage: object
) -> None:
    path = sidecar(tmp_path)
    expected = load_contract(path)
    record = record_of(path)
    good = record.read_bytes()
    record.write_bytes(damage(good))  # type: ignore[operator]
    clear_cache()
    assert load_contract(path) == expected
    assert len(writing) == 2  # parsed again from YAML
    # and the record is whole again: the same data (marshal may share strings differently from one
    # parse to the next, so not always the same bytes), read by the next process instead of the YAML
    assert marshal.loads(record.read_bytes()[:-12]) == marshal.loads(good[:-12])
    fresh_process_load(path)
    assert len(writing) == 2


def test_a_sealed_record_whose_tree_is_not_a_contract_is_parsed_again_for_the_models(
    tmp_path: Path, writing: list[str]
) -> None:
    import marshal

    path = sidecar(tmp_path)
    load_contract(path)
    record = record_of(path)
    body = record.read_bytes()[:-12]
    layout, version, kind, key, (_plain, *rest) = marshal.loads(body)
    # Our envelope and a valid checksum (only someone writing it on purpose gets this far), but a
    # tree that is not a contract: the models are never built from it.
    forged = marshal.dumps((layout, version, kind, key, (("Contract", {"bogus": 1}), *rest)))
    record.write_bytes(forged + _cache.digest(forged))
    clear_cache()
    contract = load_contract(path)
    assert contract.variables is not None and contract.variables[0].name == "LIMIT"
    assert len(writing) == 2


def test_a_record_damaged_anywhere_fails_its_checksum(tmp_path: Path, writing: list[str]) -> None:
    path = sidecar(tmp_path)
    load_contract(path)
    record = record_of(path)
    data = bytearray(record.read_bytes())
    data[len(data) // 3] ^= 0x01  # one bit, in the middle of the marshal data
    record.write_bytes(bytes(data))
    assert _cache.read_record(str(record), "contract", _cache.digest(path.read_bytes())) is None


def test_a_record_from_another_package_version_is_ignored(
    tmp_path: Path, writing: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = sidecar(tmp_path)
    load_contract(path)
    monkeypatch.setattr(_cache, "PACKAGE_VERSION", "999.0")
    fresh_process_load(path)
    assert len(writing) == 2
    fresh_process_load(path)  # rewritten for this version
    assert len(writing) == 2


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX ownership and modes")
def test_a_record_anyone_could_write_is_not_read(tmp_path: Path, writing: list[str]) -> None:
    path = sidecar(tmp_path)
    load_contract(path)
    record = record_of(path)
    record.chmod(0o666)
    os.chmod(record, 0o646)  # world-writable, whatever the umask
    fresh_process_load(path)
    assert len(writing) == 2


def test_dont_write_bytecode_reads_existing_records_but_writes_none(
    tmp_path: Path, writing: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    written = sidecar(tmp_path / "a", stem="one")
    load_contract(written)  # record written while allowed
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    fresh_process_load(written)
    assert writing == [str(written)]  # the existing record is used
    other = sidecar(tmp_path / "a", stem="two")
    load_contract(other)
    assert not record_of(other).exists()


def test_pycache_prefix_is_honoured(
    tmp_path: Path, writing: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = tmp_path / "prefix"
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))
    (tmp_path / "src").mkdir()
    path = sidecar(tmp_path / "src")
    load_contract(path)
    assert not (path.parent / "__pycache__").exists()
    records = list(prefix.rglob(f"plugin.contract.{TAG}.marshal"))
    assert len(records) == 1 and str(records[0].parent).endswith(str(path.parent).lstrip(os.sep))
    fresh_process_load(path)
    assert len(writing) == 1


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only directories"
)
def test_a_read_only_directory_means_no_cache_and_no_error(tmp_path: Path, writing: list[str]) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    path = sidecar(directory)
    directory.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert load_contract(path).variables is not None
        fresh_process_load(path)
    finally:
        directory.chmod(stat.S_IRWXU)
    assert not (directory / "__pycache__").exists()
    assert len(writing) == 2


def test_an_unwritable_directory_means_no_cache_and_no_error(
    tmp_path: Path, writing: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a read-only directory answers, for any user (root ignores permission bits).
    real_open = os.open
    denied = str(tmp_path / "__pycache__")

    def open_denied(path: str, flags: int, mode: int = 0o777) -> int:
        if str(path).startswith(denied) and flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", open_denied)
    path = sidecar(tmp_path)
    assert load_contract(path).variables is not None
    fresh_process_load(path)
    assert len(writing) == 2
    assert not record_of(path).exists()


def test_a_write_that_fails_midway_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    target = tmp_path / "__pycache__" / "x.contract.marshal"

    def failing_replace(source: str, destination: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    assert _cache.write_record(str(target), "contract", b"k", ("payload",)) is False
    assert list(target.parent.iterdir()) == []  # the temporary file is gone too


def test_records_of_the_wrong_kind_or_key_are_not_returned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    target = str(tmp_path / "r.marshal")
    assert _cache.write_record(target, "contract", b"key", {"a": 1})
    assert _cache.read_record(target, "contract", b"key") == {"a": 1}
    assert _cache.read_record(target, "structure", b"key") is None
    assert _cache.read_record(target, "contract", b"other") is None
    assert _cache.read_record(str(tmp_path / "absent.marshal"), "contract", b"key") is None


def test_malformed_contracts_are_never_cached(tmp_path: Path, writing: list[str]) -> None:
    path = sidecar(tmp_path, "runtime: {pyton: '3.11'}\n")
    with pytest.raises(ContractError):
        load_contract(path)
    assert not record_of(path).exists()
    with pytest.raises(ContractError):
        load_contract(path)
    assert len(writing) == 2


def test_sidecars_read_through_a_loader_are_cached_in_the_process_only(writing: list[str]) -> None:
    first = load_contract("archive.zip/p.contract.yml", data=CONTRACT.encode())
    assert load_contract("archive.zip/p.contract.yml", data=CONTRACT.encode()) is first
    assert writing == ["archive.zip/p.contract.yml"]


# --------------------------------------------------------------------------- caller structures


def test_a_callers_structure_is_cached_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    host = tmp_path / "host_cached.py"
    host.write_text("LIMIT: int = 5\n\ndef run(x: int = 3) -> None:\n    pass\n", encoding="utf-8")
    parses: list[str] = []
    original = _structure.parse_source

    def counting(source: str, filename: str) -> object:
        parses.append(filename)
        return original(source, filename)

    monkeypatch.setattr(_structure, "parse_source", counting)
    stamp = (host.stat().st_mtime_ns, host.stat().st_size)
    _cache.forget_sources()
    readable, records = _cache.source_records(str(host), stamp, _structure.records_of)
    assert readable and records is not None and records[0]["LIMIT"] == ("LIMIT", True, 5, "int")
    assert (tmp_path / "__pycache__" / f"host_cached.structure.{TAG}.marshal").is_file()
    _cache.forget_sources()  # a new process: only the record is left
    assert _cache.source_records(str(host), stamp, _structure.records_of) == (True, records)
    structure = _structure.read_structure(_Caller("host_cached", str(host)))
    assert structure[5]["run"][1][0][2] == "3"  # functions: run: arguments: x: its default
    assert parses == [str(host)]
    host.write_text("LIMIT: int = 6\n", encoding="utf-8")
    _cache.forget_sources()
    changed = _cache.source_records(
        str(host), (host.stat().st_mtime_ns, host.stat().st_size), _structure.records_of
    )
    assert changed[1] is not None and changed[1][0]["LIMIT"][2] == 6
    assert len(parses) == 2


class _Caller:
    def __init__(self, name: str, file: str) -> None:
        self.name = name
        self.file = file
        self.module = None


# --------------------------------------------------------------------------- a fresh process


PROBE = """
import json, sys, time
sys.path.insert(0, {lib!r})
import importspy_hook
importspy_hook.install()
started = time.perf_counter()
import plugin
print(json.dumps({{
    "heavy": sorted(m for m in ("attr", "attrs", "ruamel", "packaging", "structlog", "ast")
                    if m in sys.modules),
    "ran": plugin.RAN,
}}))
"""


def test_a_warm_cache_admits_without_yaml_attrs_or_packaging(tmp_path: Path) -> None:
    lib = write_files(
        tmp_path / "lib",
        {
            "plugin.py": "RAN = True\n",
            "plugin.contract.yml": CONTRACT.replace("variables:", "classes:\n  - name: Host\nvariables:"),
        },
    )
    host = tmp_path / "lib" / "host_probe.py"
    host.write_text(
        "import json, sys\nLIMIT: 'int | None' = 5\nclass Host: pass\nimport plugin\n", encoding="utf-8"
    )
    code = PROBE.format(lib=str(lib)).replace(
        "import plugin\n", "import host_probe\nplugin = host_probe.plugin\n"
    )
    first = run_python(code)
    assert first.returncode == 0, first
    # parsed, the usual shape without ruamel.yaml (_contract_parse._usual_shape): no attrs, no YAML
    assert json.loads(first.stdout.splitlines()[-1])["heavy"] == ["ast"]
    second = run_python(code)
    assert second.returncode == 0, second
    assert json.loads(second.stdout.splitlines()[-1]) == {"heavy": [], "ran": True}


def test_a_warm_cache_still_refuses_with_the_full_message(tmp_path: Path) -> None:
    lib = write_files(tmp_path / "lib", {"plugin.py": "RAN = True\n", "plugin.contract.yml": CONTRACT})
    code = PROBE.format(lib=str(lib))
    outputs = [run_python(code), run_python(code)]
    for result in outputs:
        assert result.returncode != 0
        assert "plugin.contract.yml:3: variables: expected an importing module whose structure" in (
            result.stderr
        ), result.stderr
    assert (lib / "__pycache__" / f"plugin.contract.{TAG}.marshal").is_file()
