"""Cache records beside bytecode are never more readable than their source, nor trusted when others
could have written them (§7 last bullet; issue 11 item 12).

A contract's record holds the values the contract expects; a caller's structure record holds the
host's literals (a private host may hold a private URL or a token). So a record gets at most the read
bits of the file it was derived from — a 0600 contract or host gives a 0600 record — and never a
write bit for anyone but its owner. A record the group or the world could write is not read (it
would decide a verdict), whatever the umask that made it so.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from importspy_hook import _cache, _contract_parse, _structure
from importspy_hook._check import clear_cache, load_contract

pytestmark = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX modes and ownership")

CONTRACT = 'runtime:\n  python: ">=3.10"\nvariables:\n  - name: TOKEN_URL\n    value: "https://internal"\n'
HOST = 'TOKEN_URL = "https://internal"\n'
TAG = sys.implementation.cache_tag


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Bytecode (and so the cache) may be written, under umask 022; records which contracts get
    parsed from YAML (a record that is read back spares the parse)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(sys, "pycache_prefix", None)
    found: list[str] = []
    original = _contract_parse.parse_plain

    def counting(text: str | bytes, path: str = "<string>") -> object:
        found.append(path)
        return original(text, path)

    monkeypatch.setattr(_contract_parse, "parse_plain", counting)
    previous = os.umask(0o022)
    clear_cache()
    _cache.forget_sources()
    try:
        yield found
    finally:
        os.umask(previous)
        clear_cache()
        _cache.forget_sources()


def contract_at(directory: Path, mode: int) -> Path:
    path = directory / "plugin.contract.yml"
    path.write_text(CONTRACT, encoding="utf-8")
    os.chmod(path, mode)
    return path


def contract_record(contract: Path) -> Path:
    return contract.parent / "__pycache__" / f"plugin.contract.{TAG}.marshal"


def host_record(host: Path) -> Path:
    return host.parent / "__pycache__" / f"{host.stem}.structure.{TAG}.marshal"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def parse_host(path: Path) -> object:
    """What a contracted import does with its caller's source: parse it (or read its record)."""
    info = os.stat(path)
    readable, records = _cache.source_records(
        str(path), (info.st_mtime_ns, info.st_size), _structure.records_of
    )
    assert readable and records is not None
    return records


@pytest.mark.parametrize(("source_mode", "record_mode"), [(0o600, 0o600), (0o640, 0o640), (0o644, 0o644)])
def test_a_contract_record_is_no_more_readable_than_the_contract(
    tmp_path: Path, parsed: list[str], source_mode: int, record_mode: int
) -> None:
    path = contract_at(tmp_path, source_mode)
    load_contract(path)
    assert mode_of(contract_record(path)) == record_mode
    clear_cache()
    load_contract(path)
    assert parsed == [str(path)], "the record was not read back"


@pytest.mark.parametrize(("source_mode", "record_mode"), [(0o600, 0o600), (0o400, 0o600), (0o644, 0o644)])
def test_a_structure_record_is_no_more_readable_than_the_host(
    tmp_path: Path, parsed: list[str], source_mode: int, record_mode: int
) -> None:
    host = tmp_path / "private_host.py"
    host.write_text(HOST, encoding="utf-8")
    os.chmod(host, source_mode)
    first = parse_host(host)
    assert mode_of(host_record(host)) == record_mode
    _cache.forget_sources()
    assert _cache.read_record(str(host_record(host)), "structure", _cache.digest(host.read_bytes())) == first


def test_a_group_writable_source_under_umask_002_gives_a_record_that_is_still_trusted(
    tmp_path: Path, parsed: list[str]
) -> None:
    """Shared project directories (umask 002, files 0664) keep a working cache: the record drops the
    group write bit instead of being written group-writable and then ignored."""
    os.umask(0o002)
    path = contract_at(tmp_path, 0o664)
    load_contract(path)
    assert mode_of(contract_record(path)) == 0o644
    clear_cache()
    load_contract(path)
    assert parsed == [str(path)]


@pytest.mark.parametrize("writable", [0o020, 0o002])
def test_a_record_the_group_or_the_world_could_write_is_ignored(
    tmp_path: Path, parsed: list[str], writable: int
) -> None:
    path = contract_at(tmp_path, 0o644)
    load_contract(path)
    record = contract_record(path)
    os.chmod(record, 0o644 | writable)
    clear_cache()
    load_contract(path)
    assert parsed == [str(path), str(path)], "an untrusted record decided the contract"
    # ...and the record parsed again replaces it with a trusted one.
    assert mode_of(record) == 0o644


def test_a_group_writable_structure_record_is_ignored(tmp_path: Path, parsed: list[str]) -> None:
    host = tmp_path / "host.py"
    host.write_text(HOST, encoding="utf-8")
    parse_host(host)
    record = host_record(host)
    os.chmod(record, 0o664)
    assert _cache.read_record(str(record), "structure", _cache.digest(host.read_bytes())) is None
