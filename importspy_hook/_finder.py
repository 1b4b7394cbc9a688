"""The finder's slow path — what happens once a module may have a contract — and its public names.

The finder itself (mode, scope, directory listings, ``ContractFinder`` and its per-import fast path)
is defined in the top-level module ``_importspy_hook_startup``, because it is what the start-up line
imports in every process and a submodule would need this package imported first (SPEC §11: the
start-up path is the line plus one small module). This module is imported by that finder only when
an import leaves the fast path — a sidecar was found for it (beside it, or through an archive's
loader), or a contract was registered from Python — and by the rest of the package, which
imports every finder name from here so that there is one place to look them up.

What it adds (§4 "Sidecar location"):

- ``find_sidecar``: the sidecar of a module file, from the directory listing cache, or asked for by
  name (``probe_sidecar``) when the directory cannot be listed — which is also how a sidecar inside a
  zip archive is read;
- ``guard``: swap a ``GuardedLoader`` (``_loader.py``) into the spec when a contract applies.
"""

import os

from _importspy_hook_startup import (
    ENFORCE,
    FORK_WAIT,
    OWN_TOP_LEVEL,
    REGISTRY,
    SIDECAR_SUFFIXES,
    WARN,
    ContractFinder,
    _file_of,
    active_finder,
    checking,
    describe_error,
    list_sidecars,
    module_stem,
    parse_mode,
    probe_sidecar,
    sidecars_in,
    split_origin,
    startup,
)

TYPE_CHECKING = False  # typing is not needed at run time
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ENFORCE",
    "FORK_WAIT",
    "OWN_TOP_LEVEL",
    "REGISTRY",
    "SIDECAR_SUFFIXES",
    "WARN",
    "ContractFinder",
    "Sidecar",
    "active_finder",
    "checking",
    "describe_error",
    "find_sidecar",
    "guard",
    "list_sidecars",
    "module_stem",
    "parse_mode",
    "sidecars_in",
    "startup",
]


class Sidecar:
    """A sidecar that was found: its path and, when it had to be read through a loader, its bytes.

    ``error`` is set when the sidecar exists but could not be read through its loader (a damaged
    archive member): the check then refuses with it, as it does for an unreadable file (§4).
    """

    __slots__ = ("data", "error", "path")

    def __init__(self, path: "str", data: "bytes | None" = None, error: "Exception | None" = None) -> "None":
        self.path = path
        self.data = data
        self.error = error

    def __repr__(self) -> "str":
        return f"Sidecar({self.path!r})"


def find_sidecar(origin: "str", loader: "Any") -> "Sidecar | None":
    """The sidecar of the module whose file is ``origin``, or None when it has none.

    From the directory's listing (never older than the import system's), or through the module's
    own loader when the directory cannot be listed. A sidecar that exists is returned even when it
    cannot be read: reading it later refuses the import (§4).
    """
    directory, filename = split_origin(origin)
    stems = sidecars_in(directory)
    if stems is not None:
        if not stems:
            return None
        name = stems.get(module_stem(filename))
        return None if name is None else Sidecar(directory + os.sep + name)
    found = probe_sidecar(directory, module_stem(filename), loader)
    return None if found is None else Sidecar(*found)


def guard(finder: "Any", spec: "Any", path: "Any" = None) -> "None":
    """Wrap ``spec``'s loader when a contract applies to the module (registered first, then sidecar).

    ``path`` is the sidecar when the finder already found it: its path, or ``(path, data, error)``
    for one read through an archive's loader (``probe_sidecar``). A spec
    without ``has_location`` whose origin (or file loader) names an existing file is looked up too
    (plugin registries build such specs, §4). A loader that only has the legacy
    ``load_module`` gets a wrapper that only offers ``load_module``, so the import system keeps
    using the protocol the real loader speaks.
    """
    sidecar: object | None = REGISTRY.get(spec.name)
    if sidecar is None:
        if path.__class__ is tuple:  # read through the loader of an archive: (path, data, error)
            sidecar = Sidecar(*path)
        elif path is not None:
            sidecar = Sidecar(path)
        else:
            origin = spec.origin if spec.has_location else _file_of(spec)
            if not isinstance(origin, str):
                return
            sidecar = find_sidecar(origin, spec.loader)
        if sidecar is None:
            return
    loader_class = _GUARDED_LOADER[0] if _GUARDED_LOADER else _guarded_loader()
    spec.loader = loader_class(spec.loader, sidecar, finder, spec.name)


_GUARDED_LOADER: "list[Any]" = []


def _guarded_loader() -> "Any":
    """``_loader.wrap``, imported once: an import statement per contracted import costs ~1.5 µs."""
    from ._loader import wrap

    _GUARDED_LOADER.append(wrap)
    return wrap
