"""Parsed contracts: once per process, and across processes in a cache beside bytecode (§11).

A fresh process that meets a contract would otherwise pay for ruamel.yaml (≈ 12 ms to import) and a
parse (0.6-5 ms) before the first contracted import can proceed, against a budget of 5 ms. So the
plain form of a parsed contract (``_plain``) is written next to the interpreter's own bytecode
cache, ``__pycache__/<stem>.contract.<cache tag>.marshal`` (or under ``sys.pycache_prefix``), and
read back with ``marshal`` — no ruamel.yaml, no attrs.

What makes a cache file trustworthy, in the order it is checked:

* it is ours: on POSIX, owned by this user or root and writable by neither its group nor everyone
  (a ``.pyc`` beside it is executed, so this is the same trust as bytecode, plus one check; a
  record is never written group-writable, so a group-writable one was made so by someone else);
* it is whole and of our making: a checksum of the whole record ends the file, then ``marshal``
  data of plain tuples, dicts and scalars (never ``pickle``, which runs code), in our format,
  written by this package version, for this kind of record, whose contract tree passes a shape
  check — a truncated or corrupt file fails one of these, is ignored, and is rewritten after the
  contract is parsed again;
* it describes this contract: it carries a digest of the contract's bytes — the interpreter's own
  keyed SipHash that validates hash-based ``.pyc`` files (PEP 552), plus the length — so an edit
  is noticed whatever happened to the file's mtime.

A record is never more readable than the file it was derived from (§7): it holds the contract's
expected values or the host's literals, so a 0600 contract or host gives a 0600 record. Its mode is
its owner's read and write, plus the group and world read bits the source has (the group's only
when the record got the source's group); no write bit for anyone else.

Writing honours ``sys.dont_write_bytecode`` (``PYTHONDONTWRITEBYTECODE``, ``-B``): existing files are
still read, none is written. Writes are atomic (a temporary file, then ``os.replace``), so a reader
never sees half a file; a directory that cannot be written (read-only install, zip archive) just
means no cache, silently. Sidecars read through a loader (inside a zip) are cached in the process
only, by content.

Within the process, parsed contracts are keyed by path, mtime, size, ctime and inode, so a
contracted import of an unchanged contract costs one ``stat``; failures are never cached.
"""

import marshal
import os
import sys

from . import __version__ as _PACKAGE_VERSION
from ._locks import ForkSafeLock

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: this module is on the contracted-import path
if TYPE_CHECKING:
    from typing import Any

    from ._contract_model import Contract
    from ._errors import ContractError
    from ._plain import Node

__all__ = [
    "MAX_CONTRACT_BYTES",
    "Entry",
    "cache_path",
    "clear",
    "contract_entry",
    "digest",
    "model_entry",
    "read_record",
    "too_large",
    "write_record",
]

MAX_CONTRACT_BYTES = 1 << 20
"""Contracts larger than this (1 MiB) are refused before any parsing (§6)."""

FORMAT = 3
"""Layout of a cache record; bump it when what a record holds changes meaning."""

_SUFFIX = ".marshal"
_CHECK_BYTES = 12  # the digest that ends every record
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO planted as a file must not block the import
_REGULAR = 0o100000  # stat.S_IFREG, without importing stat
_MAX_RECORD_BYTES = 16 << 20


def too_large(path: "str") -> "ContractError":
    from ._errors import ContractError  # errors only: a compliant import never loads _errors

    return ContractError(
        path, 0, 0, "", f"contract is larger than {MAX_CONTRACT_BYTES // 1024} KiB; refusing to parse it"
    )


# --------------------------------------------------------------------------- the store


_DIGEST_KEY = 0x1D5_C0DE  # any fixed key: what matters is that every process uses the same


def digest(data: "bytes") -> "bytes":
    """A 12-byte digest of ``data``: what a cache record is validated against.

    ``_imp.source_hash`` is the interpreter's SipHash for hash-based ``.pyc`` files (PEP 552),
    built in and already loaded, where ``hashlib``/``_blake2`` would load a shared library first
    (≈ 0.3 ms, a tenth of the budget). It detects changes, as it does for bytecode; a record is
    not a defence against someone who can write the files beside it (see the module docstring).
    """
    try:
        from _imp import source_hash
    except ImportError:  # pragma: no cover - interpreters without PEP 552 support
        from hashlib import blake2b

        return blake2b(data, digest_size=12).digest()
    return bytes(source_hash(_DIGEST_KEY, data)) + (len(data) & 0xFFFFFFFF).to_bytes(4, "little")


def _cache_from_source() -> "Any":
    external = sys.modules.get("_frozen_importlib_external")
    function = getattr(external, "cache_from_source", None)
    if function is None:  # pragma: no cover - an interpreter without the frozen importlib
        from importlib.util import cache_from_source as function
    return function


def cache_path(directory: "str", name: "str") -> "str | None":
    """Where the record ``name`` (``plugin.contract``, ``host.structure``) of ``directory`` goes.

    The interpreter's own rule for bytecode decides (``__pycache__`` or ``sys.pycache_prefix``, and
    the cache tag such as ``cpython-311``), so the record lives and dies with the bytecode beside
    it. None when the interpreter has no bytecode cache (``cache_tag`` is None).
    """
    try:
        pyc: str = _cache_from_source()(os.path.join(directory, name + ".py"), optimization="")
    except (NotImplementedError, ValueError, TypeError):
        return None
    return pyc[: -len(".pyc")] + _SUFFIX if pyc.endswith(".pyc") else None


def _trusted(stat: "os.stat_result") -> "bool":
    """A file another user could have written is not read: it would decide a contract's verdict."""
    if not hasattr(os, "geteuid"):
        return True  # Windows: directory ACLs decide, as they do for bytecode
    if stat.st_mode & 0o022:  # never written so (see _record_mode): someone else made it writable
        return False
    return stat.st_uid in (os.geteuid(), 0)


def read_record(path: "str | None", kind: "str", key: "bytes") -> "Any":
    """The payload of the record at ``path`` when it is ours, whole, and for ``key``; else None."""
    if path is None:
        return None
    try:
        data, _ = _read_regular(path, _MAX_RECORD_BYTES, _refuse_untrusted)
    except (OSError, ValueError):
        return None
    if len(data) > _MAX_RECORD_BYTES:
        return None
    body, check = data[:-_CHECK_BYTES], data[-_CHECK_BYTES:]
    if len(data) <= _CHECK_BYTES or digest(body) != check:
        return None  # truncated, or damaged anywhere
    try:
        record = marshal.loads(body)
    except Exception:  # EOFError, ValueError, TypeError: not ours
        return None
    if type(record) is not tuple or len(record) != 5:
        return None
    layout, version, record_kind, record_key, payload = record
    if layout != FORMAT or version != _PACKAGE_VERSION or record_kind != kind or record_key != key:
        return None
    return payload


def _refuse_untrusted(stat: "os.stat_result") -> "None":
    if not _trusted(stat) or stat.st_size > _MAX_RECORD_BYTES:
        raise OSError("not a record of ours")


def _record_mode(source: "os.stat_result", record: "os.stat_result") -> "int":
    """The mode of a record derived from ``source``, now that the new file's owner and group are
    known (``record``, its ``fstat``): readable by no one the source is not readable by."""
    mode = 0o600 | (source.st_mode & 0o004)
    if record.st_gid == source.st_gid:  # the same group bit means the same people
        mode |= source.st_mode & 0o040
    return mode


def write_record(
    path: "str | None", kind: "str", key: "bytes", payload: "Any", source: "os.stat_result | None" = None
) -> "bool":
    """Write a record atomically; False (and nothing written) when it cannot or must not be.

    ``source`` is the ``stat`` of the file the record was derived from (the contract, the host's
    source): the record gets no read bit it lacks (see :func:`_record_mode`); without it the record
    is readable by its owner only. Never raises: a cache that cannot be written only costs the next
    process a parse.
    """
    if path is None or sys.dont_write_bytecode:
        return False
    try:
        body = marshal.dumps((FORMAT, _PACKAGE_VERSION, kind, key, payload))
    except ValueError:  # a value marshal cannot store (deeply nested data): no cache for this one
        return False
    data = body + digest(body)
    temporary = f"{path}.{os.getpid()}.{id(data)}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # Created owner-only; widened (never beyond the source) once its group is known.
        descriptor = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600
        )
    except OSError:
        return False
    try:
        with open(descriptor, "wb") as handle:
            handle.write(data)
            if source is not None and hasattr(os, "fchmod"):
                os.fchmod(descriptor, _record_mode(source, os.fstat(descriptor)))
        os.replace(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return False
    return True


# --------------------------------------------------------------------------- parsed contracts


class Entry:
    """One parsed contract: its plain form, its compiled check, and what was judged with it.

    ``verdicts`` holds the keys of compliant verdicts; failures are never added. For a program whose
    residual has a ``plan`` (``_compiled.plan``: environment checks and caller operations, AND-ed)
    a key is the caller's part only — names, source path and stamp — and the environment is read
    on every check; for any other program a key is ``_compiled.verdict_key``. The attrs models are
    built on first request only (the API's ``load_contract``); violations are explained from the
    program itself.
    """

    __slots__ = (
        "_checked",
        "_model",
        "digest",
        "memo",
        "path",
        "plain",
        "plan",
        "program",
        "residual",
        "verdicts",
    )

    def __init__(
        self, path: "str", key: "bytes", plain: "Node", program: "tuple[Any, ...]", checked: "bool" = True
    ) -> "None":
        self.path = path
        self.digest = key
        self.plain = plain
        self.program = program
        self.verdicts: set[object] = set()
        self.memo: dict[Any, bool] = {}  # structural operations proven per caller source (_compiled.Run)
        # The program specialised to this platform (``_compiled.specialise``), computed on first use;
        # ``False`` until then, None when the platform alone refuses.
        self.residual: tuple[Any, ...] | bool | None = False
        # ``_compiled.plan`` of the residual, computed on first use; ``False`` until then, None when
        # the residual has none (alternatives, distributions: the verdict cache decides).
        self.plan: tuple[Any, ...] | bool | None = False
        self._model: Contract | None = None
        self._checked = checked  # False for a tree read back from a cache record

    def model(self) -> "Contract":
        """The contract as attrs models (built once; ``load_contract`` returns the same object).

        A tree read from a cache record is shape-checked first; if it is not a sound contract
        tree after all, the contract file is parsed again (and the entry repaired), so a damaged
        record can never make the engine fail.
        """
        model = self._model
        if model is None:
            from ._plain import shape_ok, to_models

            if not self._checked:
                if not shape_ok(self.plain):
                    self._reparse()
                self._checked = True
            model = self._model = to_models(self.plain, self.path)
        return model

    def _reparse(self) -> "None":
        fresh = contract_entry(self.path, _read_all(self.path), remember=False)
        self.plain, self.program = fresh.plain, fresh.program
        self.residual = False
        self.plan = False
        self.verdicts.clear()
        self.memo.clear()

    def __repr__(self) -> "str":
        return f"<contract entry {self.path}>"


_entries: "dict[tuple[object, ...], Entry]" = {}
_lock = ForkSafeLock()
_ENTRY_LIMIT = 4096


def clear() -> "None":
    """Forget every contract parsed in this process (the files beside bytecode stay)."""
    with _lock:
        _entries.clear()


def _remember(key: "tuple[object, ...]", entry: "Entry") -> "Entry":
    with _lock:
        if len(_entries) >= _ENTRY_LIMIT:
            _entries.pop(next(iter(_entries)))
        _entries[key] = entry
    return entry


def _read_regular(path: "str", limit: "int", check: "Any" = None) -> "tuple[bytes, os.stat_result]":
    """``(bytes, stat)`` of the regular file at ``path``, at most ``limit + 1`` bytes.

    Anything but a regular file is refused (``OSError``): a sidecar (or cache record) that is a
    FIFO, a device or a directory is not a contract — opening a FIFO would block the import, and
    ``/dev/null`` would read as an empty contract, which accepts every importer. The file is opened
    non-blocking and checked on the descriptor itself (no race), then read with ``os.read``: no file
    object, and a buffer the size of the file rather than of the limit. ``check(stat)`` may refuse
    the file (raise ``OSError``) before anything is read.
    """
    descriptor = os.open(path, os.O_RDONLY | _NONBLOCK | getattr(os, "O_BINARY", 0))
    try:
        stat = os.fstat(descriptor)
        if stat.st_mode & 0o170000 != _REGULAR:
            import errno

            raise OSError(errno.EINVAL, "not a regular file", path)
        if check is not None:
            check(stat)
        size = min(stat.st_size, limit)
        data = os.read(descriptor, size + 1)
        if len(data) > size:  # growing, or a special file that reports no size
            while len(data) <= limit:
                more = os.read(descriptor, limit + 1 - len(data))
                if not more:
                    break
                data += more
        return data, stat
    finally:
        os.close(descriptor)


def _read_error(path: "str", exc: "OSError") -> "ContractError":
    from ._errors import ContractError

    reason = exc.strerror or type(exc).__name__
    return ContractError(path, 0, 0, "", f"cannot read the contract: {reason}")


def _sidecar_record_path(path: "str") -> "str | None":
    directory, name = os.path.split(path)
    for suffix in (".yml", ".yaml"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return cache_path(directory, name[: -len(suffix)])
    return cache_path(directory, name)


def _size_check(path: "str") -> "Any":
    def check(stat: "os.stat_result") -> "None":
        if stat.st_size > MAX_CONTRACT_BYTES:
            raise too_large(path)  # refused before reading: not an OSError, so not "unreadable"

    return check


def _read_all(path: "str") -> "bytes":
    try:
        return _read_regular(path, MAX_CONTRACT_BYTES)[0]
    except OSError as exc:
        raise _read_error(path, exc) from None


def _stamp(path: "str", stat: "os.stat_result") -> "tuple[object, ...]":
    """What identifies a contract file's content without reading it: the mtime and size a copy
    can keep (``cp -p``, ``rsync -t``, tar) are not enough, so the inode and the ctime — which no
    write or ``utime`` leaves unchanged — are part of it."""
    return ("file", path, stat.st_mtime_ns, stat.st_size, stat.st_ctime_ns, stat.st_ino)


def contract_entry(path: "str", data: "bytes | None" = None, *, remember: "bool" = True) -> "Entry":
    """The parsed contract at ``path`` (or in ``data``, its bytes read through a loader).

    Raises :class:`ContractError` for an unreadable, oversized or malformed contract.
    ``remember=False`` parses ``data`` without consulting or filling any cache.
    """
    if data is not None:
        if len(data) > MAX_CONTRACT_BYTES:
            raise too_large(path)
        raw = bytes(data)
        key = digest(raw)
        if not remember:
            return _parse(path, raw, key)
        memo: tuple[object, ...] = ("data", path, key)
        entry = _entries.get(memo)
        if entry is not None:
            return entry
        return _remember(memo, _parse(path, raw, key))
    try:
        # One stat answers the common case (parsed before, unchanged) without opening the file.
        stat = os.stat(path)
        entry = _entries.get(_stamp(path, stat))
        if entry is not None:
            return entry
        raw, stat = _read_regular(path, MAX_CONTRACT_BYTES, _size_check(path))
        memo = _stamp(path, stat)  # describes what was actually read
    except OSError as exc:
        raise _read_error(path, exc) from None
    if len(raw) > MAX_CONTRACT_BYTES:
        raise too_large(path)
    key = digest(raw)
    record_path = _sidecar_record_path(path)
    entry = _from_record(path, key, read_record(record_path, "contract", key))
    if entry is None:
        entry = _parse(path, raw, key)
        write_record(record_path, "contract", key, _record_of(entry), stat)
    return _remember(memo, entry)


def _from_record(path: "str", key: "bytes", payload: "Any") -> "Entry | None":
    """An entry from a cache record's payload; None when the payload is not a sound contract."""
    if payload is None:
        return None
    try:
        from ._facts import platform_facts

        plain, program, facts, residual = payload
        if type(plain) is not tuple or type(program) is not tuple or len(program) != 5:
            return None
        # The tree's full shape is checked when the models are built from it (Entry.model); the
        # admitting run reads the program defensively, and anything it cannot read sends it to
        # the explanation. The program specialised to the platform that wrote the record is kept when this
        # is the same platform, so a warm import does not even load the version evaluator.
        entry = Entry(path, key, plain, program, checked=False)
        if facts == platform_facts()._key() and (residual is None or type(residual) is tuple):
            entry.residual = residual
        return entry
    except Exception:  # anything odd in a record means "not ours": parse the contract again
        return None


def _parse(path: "str", raw: "bytes", key: "bytes") -> "Entry":
    from ._compiled import annotation_norms, compile_contract
    from ._contract_parse import parse_plain

    plain = parse_plain(raw, path)
    return Entry(path, key, plain, compile_contract(plain, annotation_norms(plain)))


def _record_of(entry: "Entry") -> "tuple[Any, ...]":
    """What a cache record holds: the plain tree, its program, and the program specialised to
    this platform (with the platform's facts, so that another platform ignores it)."""
    from ._compiled import specialise
    from ._facts import platform_facts

    residual = specialise(entry.program[3])
    entry.residual = residual
    return (entry.plain, entry.program, platform_facts()._key(), residual)


_models: "dict[int, tuple[object, Entry]]" = {}


def model_entry(contract: "Contract") -> "Entry":
    """The entry of a contract built in Python (``register``), compiled once per object.

    Keyed by identity (contracts are immutable), with the object kept alive in the value so that
    its id cannot be reused while the entry exists.
    """
    found = _models.get(id(contract))
    if found is not None and found[0] is contract:
        return found[1]
    from ._compiled import annotation_norms, compile_contract
    from ._plain import from_models

    plain = from_models(contract)
    entry = Entry(contract.path, b"", plain, compile_contract(plain, annotation_norms(plain)))
    entry._model = contract
    with _lock:
        if len(_models) >= 256:
            _models.clear()
        _models[id(contract)] = (contract, entry)
    return entry
