"""Parsed contracts: once per process, and across processes in a cache beside bytecode (§11).

A fresh process that meets a contract would otherwise pay for ruamel.yaml's import and a parse before
the first contracted import can proceed: several times the §11 budget of that import (the figures
are in ``benchmarks/README.md``). So the
plain form of a parsed contract (``_schema``) is written next to the interpreter's own bytecode
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

This module is the bottom of the engine: it imports nothing of the package, so the parser, the
compiler (``_compiled``, which keeps the parsed contracts of this process) and the caller's source
records (``_structure``) can all build on it. The lock type every cache of the package uses
(:class:`ForkSafeLock`) lives here for the same reason: one module fewer to load on the way to the
first contracted import (§11).
"""

import marshal
import os
import sys
from _thread import allocate_lock

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: this module is on the contracted-import path
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType
    from typing import Any

    from ._errors import ContractError
    from ._structure import Parsed, Stamp

__all__ = [
    "MAX_CONTRACT_BYTES",
    "PACKAGE_VERSION",
    "SOURCES",
    "ForkSafeLock",
    "cache_path",
    "digest",
    "forget_sources",
    "read_record",
    "read_regular",
    "remember_source",
    "source_of",
    "source_path",
    "source_records",
    "too_large",
    "write_record",
]

PACKAGE_VERSION = "0.1.0"
"""The package's version (``importspy_hook.__version__`` is this): every record is stamped with it,
so a record written by another version is never read. It lives here, in the bottom module, so that
the store imports nothing above it."""

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


# --------------------------------------------------------------------------- the lock of every cache
#
# Why fork-safe: a process that forks while another of its threads holds a cache lock would give the
# child a lock that nobody will ever release, and the child's next guarded import would hang. Every
# lock made here is replaced by a fresh, unlocked one in the child (``os.register_at_fork``); the
# caches the locks protect hold only data that is valid in the child too. ``_thread`` rather than
# ``threading``, which the lazily loaded modules would otherwise import just for this.

_ALL_LOCKS: "list[ForkSafeLock]" = []  # module-level locks only: they live as long as the process


class ForkSafeLock:
    """A non-reentrant lock, used as ``with lock:``, handed to a forked child unlocked."""

    __slots__ = ("_lock",)

    def __init__(self) -> "None":
        self._lock = allocate_lock()
        _ALL_LOCKS.append(self)

    def __enter__(self) -> "ForkSafeLock":
        self._lock.acquire()
        return self

    def __exit__(
        self,
        exc_type: "type[BaseException] | None",
        exc: "BaseException | None",
        tb: "TracebackType | None",
    ) -> "None":
        self._lock.release()

    def locked(self) -> "bool":
        return self._lock.locked()


def _renew_locks_in_child() -> "None":
    for lock in _ALL_LOCKS:
        lock._lock = allocate_lock()


if hasattr(os, "register_at_fork"):  # POSIX; there is no fork to survive elsewhere
    os.register_at_fork(after_in_child=_renew_locks_in_child)


# --------------------------------------------------------------------------- the store


_DIGEST_KEY = 0x1D5_C0DE  # any fixed key: what matters is that every process uses the same


def digest(data: "bytes") -> "bytes":
    """A 12-byte digest of ``data``: what a cache record is validated against.

    ``_imp.source_hash`` is the interpreter's SipHash for hash-based ``.pyc`` files (PEP 552),
    built in and already loaded, where ``hashlib``/``_blake2`` would load a shared library first
    (a sizeable part of the §11 budget). It detects changes, as it does for bytecode; a record is
    not a defence against someone who can write the files beside it (see the module docstring).
    """
    try:
        from _imp import source_hash
    except ImportError:  # pragma: no cover - interpreters without PEP 552 support
        from hashlib import blake2b

        return blake2b(data, digest_size=12).digest()
    return bytes(source_hash(_DIGEST_KEY, data)) + (len(data) & 0xFFFFFFFF).to_bytes(4, "little")


def _cache_from_source() -> "Any":
    try:  # frozen and already loaded: no file is read, unlike importlib.util
        from _frozen_importlib_external import cache_from_source
    except ImportError:  # pragma: no cover - an interpreter without the frozen importlib
        from importlib.util import cache_from_source
    return cache_from_source


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
        data, _ = read_regular(path, _MAX_RECORD_BYTES, _refuse_untrusted)
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
    if layout != FORMAT or version != PACKAGE_VERSION or record_kind != kind or record_key != key:
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
        body = marshal.dumps((FORMAT, PACKAGE_VERSION, kind, key, payload))
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


def read_regular(path: "str", limit: "int", check: "Any" = None) -> "tuple[bytes, os.stat_result]":
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


# --------------------------------------------------------------------------- the caller's source records
#
# The records of a caller's source (``_structure``'s layout) are what the admitting run compares a
# contract's structural requirements with. They are kept in one table for the process, keyed by path
# and ``(st_mtime_ns, st_size)`` (an edited file is parsed again, an unchanged one never), and in a
# record beside bytecode (``<stem>.structure.<cache tag>.marshal``, keyed by the digest of the
# source's bytes, under every rule above). Both are looked up here, in the module the contracted-import
# path loads anyway, so that a fresh process whose caller is unchanged since an earlier run never
# loads the parser (``_structure``, ``ast``): parsing, on a miss only, is the ``parse`` function the
# caller passes (``_structure.records_of``).

SOURCES: "dict[str, tuple[Stamp, Parsed | None]]" = {}
"""source path -> (stamp, records or None when the source does not parse); also source only a loader
can give, under ``<loader name>`` (see ``_structure._source_from_loader``)."""
_sources_lock = ForkSafeLock()


def remember_source(key: "str", stamp: "Stamp", parsed: "Parsed | None") -> "None":
    with _sources_lock:
        SOURCES[key] = (stamp, parsed)


def forget_sources() -> "None":
    """Forget every parsed source of this process (tests); the records beside bytecode stay."""
    with _sources_lock:
        SOURCES.clear()


_SOURCE_SUFFIXES = (".py", ".pyw")


def source_path(file: "str | None") -> "str | None":
    """The ``.py`` that belongs to ``file`` (itself, or the source of a ``__pycache__`` entry)."""
    if not file:
        return None
    if file.endswith(_SOURCE_SUFFIXES):
        return file
    if file.endswith(".pyc"):
        import _frozen_importlib_external  # the interpreter's importlib: loaded before any user code

        try:
            candidate: str = _frozen_importlib_external.source_from_cache(file)
        except ValueError:  # a legacy ``foo.pyc`` next to where ``foo.py`` would be
            candidate = file[:-1]
        return candidate
    return None


def source_of(
    file: "str | None", parse: "Callable[[bytes, str], Parsed | None]"
) -> "tuple[str, Stamp, Parsed | None] | None":
    """``(source path, stamp, records or None)`` of the source behind a module's ``__file__``, None
    when it has none that can be read; one ``stat`` when the source was parsed before in this
    process (the admitting run's usual case: unchanged since)."""
    path = file
    if path.__class__ is not str or not path.endswith(".py"):
        path = source_path(file)
        if path is None:
            return None
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
    entry = SOURCES.get(path)  # a dict read: no lock needed
    if entry is not None and entry[0] == stamp:
        return (path, stamp, entry[1])
    readable, parsed = source_records(path, stamp, parse)
    return (path, stamp, parsed) if readable else None


def source_records(
    path: "str", stamp: "Stamp", parse: "Callable[[bytes, str], Parsed | None]"
) -> "tuple[bool, Parsed | None]":
    """``(readable, records)`` of the source at ``path`` whose ``(st_mtime_ns, st_size)`` is ``stamp``.

    ``records`` is None when the source does not parse. Parses (``parse(data, path)``, which raises
    ``SyntaxError``, ``UnicodeDecodeError`` or ``LookupError`` for a source it cannot decode: then it
    is not readable) only when neither this process nor the record beside bytecode knows this
    content; then writes the record, no more readable than the host's source (§7).
    """
    entry = SOURCES.get(path)
    if entry is not None and entry[0] == stamp:
        return True, entry[1]
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return False, None
    key, record = digest(data), _structure_record_path(path)
    parsed = read_record(record, "structure", key)
    if parsed is None or not _records_ok(parsed):
        try:
            parsed = parse(data, path)
        except (SyntaxError, UnicodeDecodeError, LookupError):
            return False, None
        if parsed is not None:
            try:
                write_record(record, "structure", key, parsed, os.stat(path))
            except OSError:
                pass
    remember_source(path, stamp, parsed)
    return True, parsed


def _structure_record_path(path: "str") -> "str | None":
    directory, name = os.path.split(path)
    stem = name.rpartition(".")[0] or name
    return cache_path(directory, stem + ".structure")


def _records_ok(payload: "object") -> "bool":
    """A structure record read back from disk has the shape the checks index into."""
    if type(payload) is not tuple or len(payload) != 5:
        return False
    variables, functions, classes, imported, norms = payload
    if type(norms) is not dict or not all(type(k) is str and type(v) is str for k, v in norms.items()):
        return False
    if type(variables) is not dict or type(functions) is not dict or type(classes) is not dict:
        return False
    if type(imported) is not tuple or not all(type(name) is str for name in imported):
        return False
    try:
        for name, (own, known, _value, annotation) in variables.items():
            if own != name or type(known) is not bool or not _text_or_none(annotation):
                return False
        if not all(_function_ok(name, record) for name, record in functions.items()):
            return False
        for name, (own, attributes, methods, bases) in classes.items():
            if own != name or type(bases) is not tuple or not all(type(b) is str for b in bases):
                return False
            if type(methods) is not tuple or not all(_function_ok(m[0], m) for m in methods):
                return False
            if type(attributes) is not tuple:
                return False
            for attribute, kind, known, _value, annotation in attributes:
                if type(attribute) is not str or kind not in ("class", "instance"):
                    return False
                if type(known) is not bool or not _text_or_none(annotation):
                    return False
    except (TypeError, ValueError):  # a record of the wrong length does not unpack
        return False
    return True


def _text_or_none(value: "object") -> "bool":
    return value is None or type(value) is str


def _function_ok(name: "object", record: "object") -> "bool":
    if type(record) is not tuple or len(record) != 4:
        return False
    own, arguments, returns, is_async = record
    if own != name or type(own) is not str or type(is_async) is not bool or not _text_or_none(returns):
        return False
    if type(arguments) is not tuple:
        return False
    for argument in arguments:
        if type(argument) is not tuple or len(argument) != 5:
            return False
        arg_name, annotation, default, is_literal, _value = argument
        if type(arg_name) is not str or type(is_literal) is not bool:
            return False
        if not _text_or_none(annotation) or not _text_or_none(default):
            return False
    return True
