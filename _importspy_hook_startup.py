# The start-up path of importspy-hook: the one module that ``importspy_hook.pth`` imports.
#
# Why a top-level module, and not a module of the package: a submodule needs its package imported
# first, and every module imported at start-up costs every process of the environment ~0.15 ms (find
# it, read and unmarshal its .pyc, run its body) on top of the line itself. SPEC §11 leaves room for
# the line plus one small module (setuptools' ``_distutils_hack`` is shipped the same way). So this
# file holds what every process needs from its first import on, and nothing else:
#
#   1. Mode (§3): IMPORTSPY_HOOK -> enforce / warn / off, and ``startup()``.
#   2. Scope (§4 "Targets skipped"): imports never looked at, decided from the name (one set lookup).
#   3. Directory listings (§4 "Sidecar location"): which module stems of a directory have a sidecar.
#   4. The finder and its per-import fast path.
#
# Whatever happens only once a contract applies (a sidecar was found, or a contract registered from
# Python) — the loader wrapper, the check, the contract engine — lives in the package
# (``importspy_hook._loader`` and what it imports) and is loaded the first time it is needed. The
# package never imports this module back (no import cycle): what its loader needs of it — the fork
# lock and its bounded wait — comes with the finder object it is given. The package's entry points
# (``_activation``, the CLI, the pytest plugin) import the names they need from here.
#
# Rules for this file: only ``os``, ``sys`` and ``_thread`` (loaded before site runs); no ``typing``,
# no ``from __future__`` (imports too), string annotations; explanations in comments rather than
# docstrings, because docstrings are part of the bytecode that every process reads and unmarshals.
# The one docstring is for pytest: it marks every module of a distribution that has a pytest11 entry
# point for assertion rewriting, and warns in every pytest run about one already imported, unless its
# docstring says PYTEST_DONT_REWRITE.

"""importspy-hook's start-up module. PYTEST_DONT_REWRITE: imported before pytest starts."""

import os
import sys

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs ~8 ms at start-up
if TYPE_CHECKING:
    from typing import Any

# Module name -> ``Contract`` registered from Python (``importspy_hook.register``); consulted on every
# import before deciding that a module without a sidecar needs no check.
REGISTRY: "dict[str, object]" = {}


# ---------------------------------------------------------------------------------------------------
# 1. Mode
# ---------------------------------------------------------------------------------------------------

ENFORCE = "enforce"
WARN = "warn"
_ON = ("", "1", "on", "true", "enforce")
_OFF = ("0", "off", "false", "no")
_started = False


# Map an IMPORTSPY_HOOK value to (mode, warning); mode None means "off". An unknown value enforces,
# with a warning: a typo must never switch protection off silently.
def parse_mode(value: "str | None") -> "tuple[str | None, str | None]":
    text = (value or "").strip().lower()
    if text in _OFF:
        return None, None
    if text == WARN:
        return WARN, None
    if text in _ON:
        return ENFORCE, None
    return ENFORCE, (
        f"importspy-hook: unknown IMPORTSPY_HOOK value {value!r}; expected one of "
        "1/on/true/enforce, warn, 0/off/false/no; enforcing contracts"
    )


# The importspy-hook finder on sys.meta_path, if any (found by its marker attribute, so that a finder
# created from another copy of this module is recognised too).
def active_finder() -> "ContractFinder | None":
    for finder in sys.meta_path:
        if getattr(finder, "_importspy_hook_finder", False):
            return finder  # type: ignore[return-value]
    return None


# Entry point of the start-up line (and of the PEP 829 ``importspy_hook.start``). Never raises: pip
# itself runs under this hook, so an internal error costs one line on stderr and nothing else. Site
# processes a virtual environment's .pth files twice: the flag makes the second call (and a second
# warning) a no-op.
def startup() -> "None":
    global _started
    if _started:
        return
    _started = True
    try:
        mode, warning = parse_mode(os.environ.get("IMPORTSPY_HOOK"))
        if warning:
            _warn(warning)  # a process without stderr (pythonw, a daemon) still gets its finder
        if mode is None or active_finder() is not None:
            return
        finder = ContractFinder(mode)
        sys.meta_path.insert(0, finder)
        if os.environ.get("IMPORTSPY_HOOK_AUDIT", "").strip().lower() in ("1", "on", "true", "yes"):
            # opt-in tamper evidence, not on the default path
            from importspy_hook._audit import install_audit_hook

            install_audit_hook(finder)
    except Exception as exc:
        # The text is kept here: it can only come from the hook's own start-up (no importer's code
        # or data has run yet), and it is what a broken installation needs to be repaired.
        _warn(f"importspy-hook: not active ({type(exc).__name__}: {exc})")


# One line straight to stderr; never raises (stderr may be None, closed, or a broken pipe).
def _warn(line: "str") -> "None":
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except Exception:
        pass


# ---------------------------------------------------------------------------------------------------
# 2. Scope. Decided from the top-level name against the standard library, the hook itself and what
#    it imports for its own work (guarding those would recurse into the hook): one set lookup per
#    import. Exclusion patterns (IMPORTSPY_HOOK_EXCLUDE, ``fnmatch`` on the full name) import fnmatch
#    only when set, and only then are verdicts cached per full name (in the finder).
# ---------------------------------------------------------------------------------------------------

OWN_TOP_LEVEL = frozenset(
    {
        "importspy_hook",
        "_importspy_hook_startup",
        "attr",
        "attrs",
        "ruamel",
        "_ruamel_yaml",
        "structlog",
        "packaging",
        "typing_extensions",
    }
)
_INTERPRETER = frozenset({"_frozen_importlib", "_frozen_importlib_external", "__future__"})
# Every skipped top-level name in one set: one lookup per import (two lookups, of the standard library's
# own set and of the rest, measured ~0.3% slower per uncontracted import than the union costs once at
# start-up). sys.stdlib_module_names is 3.10+ (the supported floor) and lists built-in and frozen
# modules too; builtin_module_names still counts for interpreters that embed modules of their own.
_SKIPPED_TOP: "frozenset[str]" = OWN_TOP_LEVEL.union(
    _INTERPRETER, sys.stdlib_module_names, sys.builtin_module_names
)


# ``ruamel`` is a namespace package: other distributions add modules to it (ruamel.std.pathlib), and
# only ``ruamel.yaml`` is the hook's own.
def _ruamel_own(fullname: "str") -> "bool":
    return fullname == "ruamel" or fullname == "ruamel.yaml" or fullname.startswith("ruamel.yaml.")


# ---------------------------------------------------------------------------------------------------
# 3. Directory listings. Most imports come from directories with no sidecar, so each directory is
#    listed once and only the stems that have a sidecar are remembered: a module whose directory has
#    none costs two dict lookups and no string work.
#
#    A listing is never older than the import system's own (§4): each one is stamped with the
#    directory's st_mtime, the very value CPython's FileFinder compares to decide that it must list a
#    directory again. On every use the stamp is compared with the FileFinder's ``_path_mtime`` for that
#    directory, which the import in progress has just refreshed when that FileFinder found the module;
#    when there is no such finder, or it disagrees (it was not asked, or it was invalidated), one
#    ``stat`` decides. So a plugin and its sidecar written while the process runs are seen exactly
#    when the import system sees the plugin. ``importlib.invalidate_caches()`` also drops them all.
#
#    A directory that cannot be listed (a zip archive on sys.path, an execute-only directory) maps to
#    None, and its modules are probed by name or through their own loader (``probe_sidecar``).
# ---------------------------------------------------------------------------------------------------

SIDECAR_SUFFIXES = (".contract.yml", ".contract.yaml")
_SEP = os.sep
_ALTSEP = os.altsep
# directory -> (st_mtime when listed, {stem: sidecar file name} or None when it cannot be listed)
_listings: "dict[str, tuple[float, dict[str, str] | None]]" = {}
_module_suffixes: "tuple[str, ...]" = ()


# Module file suffixes, longest first, so that ``.cpython-311-x86_64-linux-gnu.so`` wins over ``.so``.
# (``_imp`` is imported at the top of this module, see there.)
def _suffixes() -> "tuple[str, ...]":
    global _module_suffixes
    if not _module_suffixes:
        every = {*_imp.extension_suffixes(), ".py", ".pyc", ".pyw"}
        _module_suffixes = tuple(sorted(every, key=len, reverse=True))
    return _module_suffixes


# ``foo.cpython-311-x86_64-linux-gnu.so`` -> ``foo``; an unknown suffix -> the text before the last dot.
def module_stem(filename: "str") -> "str":
    if filename.endswith(".py") and len(filename) > 3:  # the usual case; no other suffix ends so
        return filename[:-3]
    for suffix in _suffixes():
        if filename.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)]
    return filename.rpartition(".")[0] or filename


# ``origin`` -> (absolute directory, file name), with either separator on platforms that have two.
def split_origin(origin: "str") -> "tuple[str, str]":
    if not os.path.isabs(origin):  # a finder's own relative origin: relative to the working directory
        origin = os.path.abspath(origin)
    directory, _, filename = origin.rpartition(os.sep)
    if os.altsep and os.altsep in filename:
        directory, _, filename = origin.rpartition(os.altsep)
    return directory, filename


# The directory's st_mtime, as FileFinder reads it; -1.0 (FileFinder's "unknown") when it cannot.
def _mtime(directory: "str") -> "float":
    try:
        return os.stat(directory or ".").st_mtime
    except (OSError, ValueError):
        return -1.0


# The stamped listing of ``directory``: (st_mtime, {stem: file name} or None if it cannot be listed).
# When both exist, ``.contract.yml`` is the one used, whatever order the names come in. The stamp is
# read before the names, so a file added meanwhile makes the next use list again, never the reverse.
def list_sidecars(directory: "str") -> "tuple[float, dict[str, str] | None]":
    stamp = _mtime(directory)
    names = _names_known_to_path_finder(directory, stamp)
    if names is None:
        try:
            names = os.listdir(directory)
        except (OSError, ValueError):
            return stamp, None
    found: dict[str, str] = {}
    preferred, alternative = SIDECAR_SUFFIXES
    for name in names:
        if ".contract.y" not in name:
            continue
        if name.endswith(preferred):
            found[name[: -len(preferred)]] = name
        elif name.endswith(alternative):
            found.setdefault(name[: -len(alternative)], name)
    found.pop("", None)  # a file named just ".contract.yml" belongs to no module
    return stamp, found


# The sidecars of ``directory`` from a listing no older than the import system's (see above).
def sidecars_in(directory: "str") -> "dict[str, str] | None":
    entry = _listings.get(directory)
    if entry is None or not _fresh(directory, entry[0]):
        entry = _listings[directory] = list_sidecars(directory)
    return entry[1]


# sys.path_importer_cache, bound once for the per-import check below. Should a program rebind it, the
# old dict only stops answering and every check falls back to one stat: never a stale answer.
_importer_cache = sys.path_importer_cache


# Whether a listing stamped ``stamp`` is as new as what the import system knows of ``directory``.
# (ContractFinder.find_spec inlines this test, the one other place it is made: keep the two alike.)
def _fresh(directory: "str", stamp: "float") -> "bool":
    return getattr(_importer_cache.get(directory), "_path_mtime", None) == stamp or _mtime(directory) == stamp


# The import system's own modules, all loaded before site runs (builtin or frozen: importing them
# searches nothing), and imported here, once, rather than where they are used: an application that
# filters ``builtins.__import__`` later must not be able to make a sidecar look absent (red team m03).
# ``_frozen_importlib`` (importlib._bootstrap is the same object): its functions' globals tell the
# import system's frames from others', and its names word a missing module's error as the import
# system does. ``_frozen_importlib_external``: the loaders that read a real file at ``origin`` (stat
# can answer for its neighbours), looked up where they live. ``_imp``: the extension suffixes.
# ``zipimport``: which loader reads an archive.
import _frozen_importlib as _importlib  # noqa: E402
import _frozen_importlib_external as _external  # noqa: E402
import _imp  # noqa: E402
import zipimport  # noqa: E402

_FILE_LOADERS = (_external.SourceFileLoader, _external.SourcelessFileLoader, _external.ExtensionFileLoader)


# The sidecar of ``stem`` in ``directory`` by asking for the two names. A name that exists is a sidecar
# even when it cannot be followed (a dangling or looping link): ``lstat`` answers for the link itself,
# and reading it later refuses the import (§4: unreadable never reads as "no sidecar"). Only "no such
# file" means none; any other failure to look counts as present, so the read decides, and refuses.
def _sidecar_by_stat(directory: "str", stem: "str") -> "str | None":
    for suffix in SIDECAR_SUFFIXES:
        path = directory + _SEP + stem + suffix
        try:
            os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except (OSError, ValueError):
            return path
        return path
    return None


# The names the standard FileFinder holds for ``directory``, when they describe it as it is now
# (its ``_path_mtime`` equals ``stamp``, just read). The module being imported was usually just found
# there by that FileFinder, which lists each directory once and keeps the names in its private
# ``_path_cache`` set (CPython since 3.3): reading it saves one listdir per directory, most of what a
# first import from a new package would cost this hook. Anything unexpected (no finder for that path,
# another finder type, a stale or empty cache, a case-folding platform where the set holds lower-cased
# names) falls back to os.listdir.
def _names_known_to_path_finder(directory: "str", stamp: "float") -> "Any":
    finder = sys.path_importer_cache.get(directory)
    names = getattr(finder, "_path_cache", None)
    if names.__class__ is not set or not names or sys.platform.startswith(("win", "cygwin", "darwin")):
        return None
    if getattr(finder, "_path_mtime", None) != stamp or stamp == -1.0:
        return None
    return names


# ---------------------------------------------------------------------------------------------------
# 4. The finder.
#
# Invariants and the reasons for them:
# - find_spec never raises an error of its own: importlib.util.find_spec probes (and pkgutil) must keep
#   working on refused modules. Exceptions raised by the other finders are theirs and propagate
#   unchanged, as they would without the hook.
# - Never importlib.util.find_spec/import_module from in here: those take module locks and can deadlock
#   across threads. Only the other finders' find_spec methods are called, in sys.meta_path order, and
#   *their* spec object is returned (returning None instead would make the import system ask them all
#   a second time).
# - Fail closed once a contract applies (§7): when the slow path fails after a sidecar (or registered
#   contract) is known, the spec gets a loader that refuses every way of running the module. Only an
#   error before any contract is known fails open, with one line on stderr.
# - No per-thread "busy" exemption: the hook's own lazy imports (the package, attrs, ruamel.yaml,
#   structlog, packaging) are skipped by name (scope), and everything else that a check happens to
#   import is checked like any import (§7 "immune to the code it judges").
# - The package is loaded from beside this file, never searched on sys.path: an application that
#   narrows sys.path, or a directory named importspy_hook earlier on it, must not turn the check off.
# - A fork never happens in the middle of a check (``checking``, below): a child forked while another
#   thread was importing the hook's lazy modules would inherit that module's import lock held by a
#   thread that does not exist in the child. The finder's slow path runs under the import system's
#   global lock, which os.fork() takes before forking; its lazy imports let that lock go, so that
#   they never wait for a module's lock while holding the global one, and a child forked during one
#   imports the hook's modules afresh (``_unlocked``).
# ---------------------------------------------------------------------------------------------------


# Held (re-entrantly) around every check by the loader wrapper (``importspy_hook._loader``), and taken
# by os.fork() before it forks: a child forked while another thread was importing the hook's lazy
# modules (the engine, attrs, ruamel.yaml...) would inherit that module's import lock held by a thread
# that does not exist in the child, and hang on its first contracted import. Registered here, when the
# finder's module is first imported, and not when the loader module is: a fork that had already run
# its before-fork callbacks could otherwise go ahead while a check that started meanwhile holds the
# lock. Both waits are bounded (``FORK_WAIT``), so neither can hold the other up for good.
from _thread import RLock as _RLock  # noqa: E402
from _thread import get_ident as _get_ident  # noqa: E402

FORK_WAIT = 10.0
_CHECKING = _RLock()
_held_for_fork: "dict[int, bool]" = {}  # forking thread -> whether it got the fork lock (red team p11)
_importing: "list[None]" = []  # one item per thread in ``_unlocked``: a hook module may be half-imported


def checking() -> "Any":
    return _CHECKING


def _before_fork() -> "None":
    thread = _get_ident()
    _held_for_fork[thread] = False  # until the lock is got: an interrupted wait counts as given up
    _held_for_fork[thread] = _CHECKING.acquire(True, FORK_WAIT)


def _after_fork_in_parent() -> "None":
    if _held_for_fork.pop(_get_ident(), False):
        _CHECKING.release()


def _after_fork_in_child() -> "None":
    global _CHECKING
    _CHECKING = _RLock()
    gave_up = not _held_for_fork.get(_get_ident(), True)  # (the thread that forked goes on here)
    _held_for_fork.clear()
    if gave_up or _importing:
        _importing.clear()
        _forget_half_imported()


# The fork went ahead while a thread of the parent may have been half-way through importing one of
# the hook's modules, or a library a check loads: without the fork lock (its wait is bounded, and a
# slow finder may hold the global import lock for longer while a check waits for it; red team o01),
# or while a thread was in ``_unlocked``. The child, which lacks that thread, would wait for ever on
# that module's lock at its first contracted import. Such modules are forgotten and imported afresh,
# and the locks of their names dropped (the import system makes a new one when it needs it; that
# thread may have held one for a module it had not yet created). Only the hook's own, by the scope's
# rule (``OWN_TOP_LEVEL``, and of ``ruamel`` only ``ruamel.yaml``): the application's are not ours to
# touch. Never one whose lock is this thread's: the thread that forked may itself be importing it,
# and goes on doing so in the child (red team p02, p04).
def _forget_half_imported() -> "None":
    try:
        me = _get_ident()
        locks = _importlib._module_locks  # type: ignore[attr-defined]
        mine = set()
        for name, reference in list(locks.items()):
            if _own(name):
                if getattr(reference(), "owner", None) == me:
                    mine.add(name)
                else:
                    del locks[name]
        half = []
        for name, module in list(sys.modules.items()):
            if not _own(name) or name in mine:
                continue  # (and nothing of the application's module is read: it may be a proxy)
            if getattr(getattr(module, "__spec__", None), "_initializing", False):
                half.append(name)
        # With a package, its submodules go too: the fresh package would lack the attributes that
        # only their own loading sets on it (red team q07: ``ruamel.yaml.resolver``).
        prefixes = tuple(name + "." for name in half)
        for name in list(sys.modules):
            if (name in half or name.startswith(prefixes)) and name not in mine:
                del sys.modules[name]
    except Exception:  # whatever this cannot mend, the child meets as it would have without it
        pass


# Whether ``name`` is one of the hook's own modules or its dependencies' (the scope's rule).
def _own(name: "str") -> "bool":
    top = name.partition(".")[0]
    return top in OWN_TOP_LEVEL and (top != "ruamel" or _ruamel_own(name))


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
    )


# The spec of the package ``importspy_hook`` beside this file, or None when it is not there (then the
# import system searches for it as usual).
def _own_package_spec() -> "Any":
    package = os.path.join(os.path.dirname(os.path.abspath(__file__)), "importspy_hook")
    init = os.path.join(package, "__init__.py")
    if not os.path.isfile(init):
        return None
    return _external.spec_from_file_location("importspy_hook", init, submodule_search_locations=[package])


# The absolute path of the file a spec without ``has_location`` loads, or None. A standard file
# loader's own ``path`` is the file it executes, whatever the spec's origin says (a registry may label
# it "registry:plug", or leave it None); any other loader is taken at its origin's word, when that
# names an existing file. Only such specs come here: the usual ones have has_location.
def _file_of(spec: "Any") -> "str | None":
    loader = spec.loader
    try:
        origin = os.fspath(loader.path) if isinstance(loader, _external.FileLoader) else spec.origin
        if not isinstance(origin, str) or not os.path.isfile(origin):
            return None
        return os.path.abspath(origin)
    except (OSError, ValueError, TypeError, AttributeError):
        return None


# The sidecar of ``stem`` in a ``directory`` that cannot be listed, asked for without the package (so
# that nothing this process does to the package's import can make it read as "none"): (path, bytes
# read through the loader or None, the error that kept them from being read or None), or None when
# there is none. A real directory that only lacks read permission is asked by name (lstat, which sees
# a dangling link as present). Anything else (a zip archive) is read through the module's loader,
# under ``spelled``, the directory as the module's origin writes it: zipimport answers only for names
# under its own spelling of the archive, which stays relative when sys.path named it so. "Not found"
# (``FileNotFoundError``, ``NotADirectoryError``, an ``OSError`` without an error number; zipimport's
# ``OSError(0, '', name)``) is a loader's word for "no such member"; any other error of zipimport's,
# and any other ``OSError`` of a loader (permission, timeout, connection, I/O), refuses. Another
# loader that fails otherwise has not said whether the sidecar exists: that propagates, and the
# finder fails open, loudly.
def probe_sidecar(
    directory: "str", stem: "str", loader: "Any", spelled: "str | None" = None
) -> "tuple[str, Any, Any] | None":
    if os.path.isdir(directory):
        path = _sidecar_by_stat(directory, stem)
        return None if path is None else (path, None, None)
    get_data = getattr(loader, "get_data", None)
    if get_data is None:
        return None
    zipped = isinstance(loader, zipimport.zipimporter)
    for suffix in SIDECAR_SUFFIXES:
        path = directory + _SEP + stem + suffix
        try:
            data = get_data((spelled or directory) + _SEP + stem + suffix)
        except OSError as exc:
            # "No such member": zipimport's OSError(0, '', name); another loader's FileNotFoundError,
            # NotADirectoryError, or a plain OSError without an error number. A permission, timeout,
            # connection or I/O error (EIO, EMFILE: a plain OSError with its number), or a member
            # zipimport cannot read, says nothing of whether the sidecar is there: it refuses (red
            # team m04, n01).
            kind = exc.__class__
            if (
                exc.errno == 0
                if zipped
                else (
                    kind is FileNotFoundError
                    or kind is NotADirectoryError
                    or (kind is OSError and not exc.errno)
                )
            ):
                continue
            return path, None, exc
        except Exception as exc:
            if zipped:
                return path, None, exc
            raise
        if data.__class__ is not bytes:
            return path, None, TypeError(f"the loader returned {type(data).__name__}, not bytes")
        return path, data, None
    return None


# ``work(*args)`` without the import system's global lock, which it holds around every finder's
# ``find_spec``; for the hook's own lazy imports (the loader, the rare paths) and a failure's
# refusal and event, which import too. Such an import waits for its module's lock. Another thread
# importing that module meanwhile (``install()``, ``check()``, a host importing the package) holds
# it and waits for the global lock for its own searches, and Python detects deadlocks between
# module locks only: with the global lock kept, neither would go on (red team k07, k14). Without it,
# the import waits for that thread's and nothing more: not for the fork lock either, which a check
# in another thread may hold for long (red team o03, o04). os.fork() took the global lock before it
# forked, so it could not split one of these imports; now a child forked meanwhile finds
# ``_importing`` set and imports the hook's modules afresh (``_after_fork_in_child``). (A thread
# that holds the global lock twice, a finder importing from its own ``find_spec``, keeps it.) Never
# around another finder: they are called with the lock held, as the import system calls them.
def _unlocked(work: "Any", *args: "Any") -> "Any":
    released = False
    _importing.append(None)
    try:  # (an interrupt raised anywhere in here still gives the lock back: red team o02)
        try:
            _imp.release_lock()
            released = True
        except RuntimeError:  # not this thread's (a finder called directly, or on a tracer's thread)
            pass
        return work(*args)
    finally:
        _importing.pop()
        if released:
            _imp.acquire_lock()


# ``importspy_hook._finder``, the finder's rare paths (failures, exclusion patterns, another finder in
# front, legacy finders, finders changed during a miss), loaded the first time one is taken
# and kept: every process unmarshals this module at start-up, and only some ever need those.
_rare_module: "Any" = None


def _rare() -> "Any":
    return _rare_module or _unlocked(_load_rare)


def _load_rare() -> "Any":
    global _rare_module
    from importspy_hook import _finder

    _rare_module = _finder
    return _finder


# Python 3.10 and 3.11 still let a meta-path finder with only the legacy ``find_module`` serve imports
# (3.12 ignores it): such a finder is asked through ``importspy_hook._finder.Legacy``.
_LEGACY_FINDERS = sys.version_info < (3, 12)


# The first spec the finders' ``methods`` find for ``fullname``, asked in order as the import system
# asks them, or None.
def _first(methods: "tuple[Any, ...]", fullname: "str", path: "Any", target: "Any") -> "Any":
    for find_spec in methods:
        spec = find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None


# Every finder, for a ContractFinder that is not itself on sys.meta_path: called directly, or through
# a finder that wraps it (an import tracer's). Such a wrapper is among "every finder" and calls this
# finder back, which would ask it again, for ever: a call that comes, through wrappers, from this
# module's own search (one of its frames before any of importlib's) is answered None. An import of
# the same name made meanwhile by one of the finders (an installer that imports what it installs)
# starts from importlib, and is searched and checked like any.
class _Everyone:
    __slots__ = ("busy", "methods")

    def __init__(self, methods: "tuple[Any, ...]") -> "None":
        self.methods = methods
        self.busy: dict[str, int] = {}  # name -> searches of it under way, in any thread

    def find_spec(self, fullname: "str", path: "Any" = None, target: "Any" = None) -> "Any":
        if _called_back(fullname, self.busy):
            return None
        busy = self.busy
        busy[fullname] = busy.get(fullname, 0) + 1
        try:
            return _first(self.methods, fullname, path, target)
        finally:
            if busy[fullname] > 1:
                busy[fullname] -= 1
            else:
                del busy[fullname]


# Whether this call of the finder is, through wrappers, this module's own search calling back (see
# ``_Everyone``): above the frames of this call (this module's, from the caller up), one of this
# module's frames comes before any of importlib's. A thread with neither (a tracer that asks each
# finder on a worker thread of its own) is one when the name is being searched for already; so is
# any call where frames cannot be read (an audit hook refuses). A real import of the same name, from
# this thread or another, starts from importlib's frames.
def _called_back(fullname: "str", busy: "dict[str, int]") -> "bool":
    try:
        frame: Any = sys._getframe(1)
    except Exception:
        return fullname in busy
    own, importlib_globals = globals(), _importlib.__dict__
    while frame is not None and frame.f_globals is own:  # this call: find_spec, _nobody_has, _first...
        frame = frame.f_back
    while frame is not None:
        if frame.f_globals is own:
            return True
        if frame.f_globals is importlib_globals:
            return False
        frame = frame.f_back
    return fullname in busy


# The module appeared in sys.modules while the finders were asked (one of them loaded it, or put a
# placeholder there). The import system then loads that module's own spec instead of the one a finder
# found (``_find_spec``: "the parent import may have already imported this module"), with whatever
# loader it holds now (the real one, once an earlier import was admitted), so it is that spec the
# hook must check: the same choice, made the same way (no ``__spec__``, or None: the found one).
def _loaded_spec(fullname: "str", found: "Any") -> "Any":
    try:
        loaded = sys.modules[fullname].__spec__
    except Exception:  # gone meanwhile, a None placeholder, an object without __spec__
        return found
    return found if loaded is None else loaded


class ContractFinder:
    # ``mode`` is "enforce" or "warn"; ``patterns`` the exclusion patterns of IMPORTSPY_HOOK_EXCLUDE.
    _importspy_hook_finder = True  # marker used to find it again without importing this module
    # The fork lock (``checking``, above) and its bounded wait, for the package's loader, which is
    # handed this finder rather than importing this module.
    checking = staticmethod(checking)
    fork_wait = FORK_WAIT

    def __init__(self, mode: "str" = "enforce", exclude: "str | None" = None) -> "None":
        self.mode = mode
        if exclude is None:
            exclude = os.environ.get("IMPORTSPY_HOOK_EXCLUDE")
        self.patterns: tuple[str, ...] = tuple(p.strip() for p in (exclude or "").split(",") if p.strip())
        # ``fnmatch.fnmatchcase`` decides the patterns: imported here (at start-up, or by
        # ``install()``) and kept, rather than imported from inside a search, where the import would
        # wait for its module lock holding the global one (``_unlocked``; red team p09: fnmatch
        # taken out of sys.modules meanwhile). Every process with patterns meets them at its first
        # import anyway.
        self.match: Any = None
        if self.patterns:
            try:
                from fnmatch import fnmatchcase

                self.match = fnmatchcase
            except ImportError:  # then ``excluded`` imports it, and fails, as before
                pass
        # full name -> skipped by scope?, kept only when exclusion patterns make deciding costly (a
        # cache of the plain set lookup would cost more than the lookup: most names are seen once)
        self.verdicts: dict[str, bool] = {}
        # The find_spec of the finders after this one, the finders themselves, and the sys.meta_path
        # they were taken from: worked out again only when sys.meta_path changes (two getattr per
        # finder per import saved), and checked again before answering "nobody has it".
        self._later: tuple[Any, ...] = ()
        self._finders: tuple[Any, ...] = ()
        self._seen: Any = ()
        self._ids: list[int] = []
        self._names: tuple[str, ...] = ()  # "find_spec" once per finder, for _stale's map
        self._everyone: _Everyone | None = None  # when this finder is not itself on sys.meta_path

    def __repr__(self) -> "str":
        return f"<importspy_hook.ContractFinder mode={self.mode!r}>"

    def find_spec(self, fullname: "str", path: "Any" = None, target: "Any" = None) -> "Any":
        # Written for the common case, an import with no contract: one set lookup for the name, the
        # other finders' own work, two dict lookups and one attribute read for the directory.
        top = fullname.partition(".")[0]
        skipped = (top in _SKIPPED_TOP and (top != "ruamel" or _ruamel_own(fullname))) or (
            self.patterns and _rare().excluded(self, fullname)
        )
        if skipped and fullname not in REGISTRY:
            if fullname == "importspy_hook":
                return _own_package_spec()
            return None
        meta_path = sys.meta_path
        try:  # == is identity first for each finder, so this costs ~20 ns when nothing changed
            stale = meta_path != self._seen
        except Exception:  # a finder's own __eq__ raised: whatever it meant, work them out again
            stale = True
        if stale:
            self._refresh(meta_path)
        for find_spec in self._later:  # _first(self._later, ...), inline: this runs on every import
            spec = find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            spec = self._nobody_has(fullname, path, target, meta_path)
            if spec is None or spec.__class__ is _not_found_spec:
                return spec
        if target is None and fullname in sys.modules:
            spec = _loaded_spec(fullname, spec)
        if spec.loader is None:
            return spec  # a namespace package: no file, no contract
        sidecar: Any = None  # the sidecar's path (or an archive's (path, data, error)) once known
        if not REGISTRY:
            origin = spec.origin
            if not spec.has_location:
                # A plugin registry's spec: its origin, or its file loader's path, may still be a
                # real file (relative or not), and is then looked up like any other (§4).
                origin = _file_of(spec)
                if origin is None:
                    return spec  # no file of its own ("built-in", a made-up name): no sidecar
            if origin.__class__ is not str:
                if not isinstance(origin, str):
                    return spec  # not a path (a str subclass is one: the slow path handles it)
            else:
                # Inline rather than split_origin() and sidecars_in(): this runs on every import.
                directory, _, filename = origin.rpartition(_SEP)
                if directory[:1] != _SEP or (_ALTSEP is not None and _ALTSEP in filename):
                    directory, filename = split_origin(origin)  # relative, or not a POSIX path
                entry = _listings.get(directory)
                if entry is not None and (  # _fresh(directory, entry[0]), inline
                    getattr(_importer_cache.get(directory), "_path_mtime", None) == entry[0]
                    or _mtime(directory) == entry[0]
                ):
                    stems = entry[1]
                elif filename.startswith("__init__.") and spec.loader.__class__ in _FILE_LOADERS:
                    # A package's __init__, met before its directory is listed (or when its listing
                    # may be stale). Its first submodule import will list the directory (FileFinder),
                    # so listing it here too would read it twice: two lstat calls answer for
                    # __init__ alone, and the directory is listed later.
                    stems = None
                    sidecar = _sidecar_by_stat(directory, "__init__")
                    if sidecar is None:
                        return spec
                else:
                    entry = _listings[directory] = list_sidecars(directory)
                    stems = entry[1]
                if stems is not None:
                    if not stems:
                        return spec  # listed, and the directory holds no sidecar at all
                    sidecar = stems.get(module_stem(filename))
                    if sidecar is None:
                        return spec  # listed, and this module has none
                    sidecar = directory + _SEP + sidecar
                elif sidecar is None:  # a directory that cannot be listed (a zip archive, say)
                    try:
                        spelled = origin[: len(origin) - len(filename) - 1]  # as the loader wrote it
                        found = probe_sidecar(directory, module_stem(filename), spec.loader, spelled)
                    except Exception as exc:  # the loader would not say: no contract is known to apply
                        _failed(self, spec, fullname, None, exc, False)
                        return spec
                    if found is None:
                        return spec
                    sidecar = found
        # The slow path: a sidecar (its path, or for an archive (path, data, error)), or a registered
        # contract. (Not under the loader's fork lock: the import system calls find_spec holding its
        # global import lock, which a check takes after the fork lock; the other order could deadlock.)
        try:
            _guard(self, spec, sidecar, fullname)
        except Exception as exc:
            known = sidecar is not None or fullname in REGISTRY or getattr(spec, "name", None) in REGISTRY
            where = sidecar if sidecar.__class__ is not tuple else sidecar[0]
            _failed(self, spec, fullname, where, exc, known)  # known: fail closed; else open, loudly
        return spec

    # Whether the finders to ask are no longer those on ``meta_path``, by identity: ``==`` calls the
    # finders' own ``__eq__``, so a replacement that compares equal to the finder it replaced (a
    # dataclass finder rebuilt with other modules) would look like no change, and the new finder
    # would serve, unchecked, what the old one did not have. (``_seen`` holds the finders, so their
    # ids cannot be reused.) With ``rebound``, also whether one of them answers through another
    # ``find_spec`` now (its class was patched, a plugin store reloaded): bound methods are equal
    # when their function and object are. Checked before answering "nobody has it", so for every
    # module nobody has: C-level work only. Every import compares with ``==`` (identity first).
    def _stale(self, meta_path: "Any", rebound: "bool" = False) -> "bool":
        try:
            if list(map(id, meta_path)) != self._ids:  # one pass: another thread may change it meanwhile
                return True
            if not rebound:
                return False
            # PathFinder's too: a host may patch it to search a plugin directory
            return tuple(map(getattr, self._finders, self._names)) != self._later
        except Exception:  # a finder's find_spec or its __eq__ raised: whatever it meant, look again
            return True

    # Every finder after this one declined ``fullname``. Never answer None to the import system: it
    # would ask them all a second time, and a spec found then (a fallback finder that adds a plugin
    # directory on a miss, a plugin written meanwhile) would be loaded without this hook seeing it.
    def _nobody_has(self, fullname: "str", path: "Any", target: "Any", meta_path: "Any") -> "Any":
        everyone = self._everyone
        if everyone is not None and _called_back(fullname, everyone.busy):
            return None  # called back, through a wrapper, from its own search: that one answers
        # The finders asked must be those on sys.meta_path, by identity, asked the way they answer
        # now; when they are not (one was added during the search, replaced, or its class patched),
        # the package asks the ones not asked yet (``importspy_hook._finder.search_again``).
        if self._stale(meta_path, rebound=True):
            spec = _rare().search_again(self, meta_path, fullname, path, target)
            if spec is not None:
                return spec
        if _import_system_asks(fullname):
            # One search, as without the hook: the stand-in ends it with the import system's error.
            spec = (_not_found_spec or _make_not_found_spec())()
            spec.name = fullname
            if fullname in sys.modules:
                # The module appeared in sys.modules during the search (a host's fallback finder
                # that loads the plugin itself, or reserves its name): the import system would
                # take that module's own spec for the stand-in and load it, so the error is
                # raised here, the one it raises when no finder has the module.
                spec.loader.create_module(spec)  # raises ModuleNotFoundError
            return spec
        # A probe (importlib.util.find_spec, runpy, importlib.reload): it must get None for a module
        # nobody has, and then asks the finders after this one again itself, so this hook asks them
        # again first, and what turns up on that second search is checked like any spec. (A finder
        # that makes a module appear only on its second miss is not covered: SECURITY.md.)
        if self._stale(meta_path):
            self._refresh(meta_path)
        return _first(self._later, fullname, path, target)

    def invalidate_caches(self) -> "None":
        # importlib.invalidate_caches(): new sidecars become visible, as new modules do.
        _listings.clear()

    def _refresh(self, meta_path: "Any") -> "None":
        # Recompute the finders to ask after this one, after sys.meta_path changed.
        # Found by identity: ``index`` would call the other finders' ``__eq__``.
        position = next((index for index, finder in enumerate(meta_path) if finder is self), -1)
        if position < 0:  # called directly, not from the import system: ask everyone
            following = list(meta_path)
        else:
            if position and _rare().move_to_front(meta_path, position):  # another tool's finder in front
                position = 0
            following = list(meta_path[position + 1 :])
        finders = []
        for finder in following:
            if getattr(finder, "_importspy_hook_finder", False):
                continue
            if getattr(finder, "find_spec", None) is not None:
                finders.append(finder)
            elif _LEGACY_FINDERS and getattr(finder, "find_module", None) is not None:
                finders.append(_rare().Legacy(finder))
        self._everyone = None
        if position < 0:
            self._everyone = _Everyone(tuple(finder.find_spec for finder in finders))
            finders = [self._everyone]
        # _later before _seen: a thread that sees the new _seen also sees the new _later.
        self._finders = tuple(finders)
        self._names = ("find_spec",) * len(finders)
        self._later = tuple(finder.find_spec for finder in finders)
        seen = meta_path[:]
        self._ids = list(map(id, seen))
        self._seen = seen


# Whether the import system itself is searching, to load what it finds (an ``import`` statement,
# ``__import__``, ``importlib.import_module``), rather than a probe (``importlib.util.find_spec``,
# pkgutil, runpy, ``importlib.reload``) that must get None for a module nobody has. Decided from the
# calling frames: our caller is the import system's ``_find_spec``, whose one caller in importlib is
# ``_find_and_load_unlocked``; a probe calls ``_find_spec`` from elsewhere. Their globals tell them
# apart (reading ``f_code`` is an audit event).
#
# For such a search the import system is handed a spec whose loader's ``create_module``, the first
# thing it calls, raises ModuleNotFoundError from a function whose code carries importlib's file name.
# The search ends there, as it does without the hook: no finder is asked twice. CPython removes
# every such frame from the traceback of an ImportError that leaves an ``import`` statement or
# ``__import__`` (import.c, ``remove_importlib_frames``), so the user sees exactly what the import
# system's own raise shows: same type, text, ``name``, ``__context__`` (the exception being handled,
# set by that raise), traceback. Where CPython keeps importlib's frames (``importlib.import_module``,
# ``python -v``) the traceback shows three more of them: ``_load_unlocked``, ``module_from_spec`` and
# the raise.
def _import_system_asks(fullname: "str") -> "bool":
    importlib_globals = _importlib.__dict__
    try:
        frame: Any = sys._getframe(3)  # 0: here, 1: _nobody_has, 2: find_spec, 3: whoever asked
    except Exception:  # a host's audit hook may refuse frame inspection: then answer as to a probe
        return False
    if frame.f_globals is not importlib_globals:
        # A finder that wraps this one (an import tracer's) may stand between, however deep; it
        # may also ask for another name than the one the import system is looking for.
        while frame.f_globals is not importlib_globals:
            frame = frame.f_back
            if frame is None:
                return False
        if frame.f_locals.get("name") != fullname:  # _find_spec(name, path, target)
            return False
    # _find_spec <- _find_and_load_unlocked: in importlib (3.10 to 3.13), the only caller of
    # _find_spec is _find_and_load_unlocked, so a caller of it in importlib is that one.
    frame = frame.f_back
    return frame is not None and frame.f_globals is importlib_globals


# The spec handed to the import system for a module no finder has (see ``_import_system_asks``): a class made
# by the first failed import, whose loader raises from a copy of ``_not_found`` that carries
# importlib's file name (a code object's file name is fixed when it is made: ``replace`` copies it).
_not_found_spec: "Any" = None


def _not_found(spec: "Any") -> "Any":
    # What _find_and_load_unlocked raises when no finder has the module, word for word. Called as
    # create_module(spec), exec_module(module) or the legacy load_module(fullname).
    if isinstance(spec, str):
        name = spec
    else:
        name = spec.name if isinstance(getattr(spec, "name", None), str) else getattr(spec, "__name__", "")
    raise ModuleNotFoundError(_importlib._ERR_MSG_PREFIX + repr(name), name=name)  # type: ignore[attr-defined]


def _make_not_found_spec() -> "Any":
    global _not_found_spec
    bootstrap: Any = _importlib  # typed as Any: the class below is made from its ModuleSpec
    code = _not_found.__code__.replace(co_filename=bootstrap._find_spec.__code__.co_filename)
    function: Any = type(_not_found)
    raises = function(code, globals(), "_not_found")
    namespace: Any = type(sys.implementation)  # types.SimpleNamespace, without importing types

    # A ModuleSpec without a location, as far as anyone but the import system can tell. Its loader
    # raises the error when the module would be made or run (``module_from_spec`` calls
    # ``create_module`` first); reading it raises nothing, so a tracer that wraps the finders may
    # read the loader, wrap it, tag the spec or type-check it. (One class, made by the first failed
    # import of every process: the loader is a namespace, so that no second class is made.)
    class NotFound(bootstrap.ModuleSpec):  # type: ignore[misc]
        __init__ = object.__init__  # made on every failed import: no Python __init__ to call
        loader = namespace(create_module=raises, exec_module=raises, load_module=raises)
        origin = submodule_search_locations = loader_state = _cached = None
        _set_fileattr = False

    _not_found_spec = NotFound
    return NotFound


# The sidecar of the module whose file is ``origin``: ``(path, bytes or None, error or None)`` (see
# ``probe_sidecar``), or None when it has none. From the directory's listing, never older than the
# import system's, or asked for by name when the directory cannot be listed. A sidecar that exists is
# returned even when it cannot be read: reading it refuses the import (§4).
def find_sidecar(origin: "str", loader: "Any") -> "tuple[str, Any, Any] | None":
    directory, filename = split_origin(origin)
    stems = sidecars_in(directory)
    if stems is None:
        spelled = origin[: len(origin) - len(filename) - 1]  # as the loader wrote it
        return probe_sidecar(directory, module_stem(filename), loader, spelled)
    name = stems.get(module_stem(filename)) if stems else None
    return None if name is None else (directory + _SEP + name, None, None)


# The slow path: when a contract applies to ``spec`` (its sidecar, one registered from Python, or both,
# which must then both admit), its loader is replaced by the package's ``GuardedLoader``. ``path`` is the
# sidecar when the fast path found it (its path, or an archive's ``(path, data, error)``). A spec without
# ``has_location`` whose origin (or file loader) names an existing file is looked up too (plugin registries
# build such specs, §4). The contract goes to the loader as a registered ``Contract``, a sidecar ``(path,
# data, error)``, or a list of the two.
def _guard(finder: "ContractFinder", spec: "Any", path: "Any", fullname: "str") -> "None":
    # Registered under the name imported, or the spec's own (a finder may answer one with the other)
    registered = REGISTRY.get(fullname)
    if registered is None and spec.name != fullname:
        registered = REGISTRY.get(spec.name)
    # The module's file: where its sidecar is looked for, and a registered contract's internal-import
    # rule compares the importer with it.
    origin: Any = None
    if path is None or registered is not None:
        origin = spec.origin if spec.has_location else _file_of(spec)
    sidecar: Any
    if path.__class__ is tuple:
        sidecar = path
    elif path is not None:
        sidecar = (path, None, None)
    else:
        sidecar = find_sidecar(origin, spec.loader) if isinstance(origin, str) else None
    file = None
    if registered is None:
        if sidecar is None:
            return
        contract: Any = sidecar
    else:  # a module that ships its own contract keeps it: both must admit
        contract = registered if sidecar is None else [registered, sidecar]
        file = os.path.abspath(origin) if isinstance(origin, str) else None
    spec.loader = (_wrap or _unlocked(_load_wrap))(spec.loader, contract, finder, spec.name, file)


# ``importspy_hook._loader.wrap``, imported by the first import a contract applies to and kept (a
# ``from ... import`` statement costs ~1.5 µs even when the module is loaded), without the global
# import lock (``_unlocked``). The package never imports this module back: what its loader needs of
# it comes with the finder (``ContractFinder``).
_wrap: "Any" = None


def _load_wrap() -> "Any":
    global _wrap
    # An import statement, not importlib's ``_gcd_import``: for a module already loaded (``install()``
    # loads this one) the statement takes no lock, where 3.10's ``_find_and_load`` takes the global
    # one, which a tracer's worker thread cannot get while the importing thread holds it.
    from importspy_hook._loader import wrap

    _wrap = wrap
    return wrap


# A check could not be set up for ``spec``: ``known`` when a contract is known to apply (a sidecar at
# ``where``, or one registered from Python). The package decides and words it
# (``importspy_hook._finder.failed``: fail closed where a contract applies, open and loudly where none
# is known to). Should the package itself not load, this still refuses in enforce mode where a
# contract applies (a ValueError naming the cause), and says so on stderr otherwise.
def _failed(
    finder: "ContractFinder",
    spec: "Any",
    fullname: "str",
    where: "str | None",
    exc: "BaseException",
    known: "bool",
) -> "None":
    try:
        _unlocked(_rare().failed, finder, spec, fullname, where, exc, known)  # it imports, and logs
        return
    except Exception:
        pass
    cause = f"{type(exc).__name__}; the importspy_hook package could not be loaded"
    if not (known and finder.mode == ENFORCE):
        line = f"importspy-hook: internal error while looking for a contract of {fullname!r}, not checked"
        _warn(f"{line} ({cause})")
        return
    # Only the sidecar's file name: without the package, nothing can tell whether its directory's
    # name holds a secret (red team n03).
    label = os.path.basename(where) if where else spec.name
    message = f"{label}: import of {spec.name!r} refused ({cause})"

    def refuse(*args: "Any") -> "Any":
        raise ValueError(message)

    # Every loader method that can run the module raises; the rest of the protocol is forwarded
    # (copied: a namespace, so that no class is made, or kept in this module's bytecode, for it).
    real = spec.loader
    methods = {name: getattr(real, name) for name in dir(real) if not name.startswith("_")}
    methods.update(create_module=refuse, exec_module=refuse, load_module=refuse, get_code=refuse)
    namespace: Any = type(sys.implementation)  # types.SimpleNamespace, without importing types
    spec.loader = namespace(real_loader=real, **methods)
