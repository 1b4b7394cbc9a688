"""One lock type for every cache of the hook, safe across ``os.fork()``.

Why: a process that forks while another of its threads holds a cache lock would give the child a
lock that nobody will ever release, and the child's next guarded import would hang. Every lock made
here is replaced by a fresh, unlocked one in the child (``os.register_at_fork``); the caches the
locks protect hold only data that is valid in the child too. Standard library only, and ``_thread``
rather than ``threading``, which the lazily loaded modules would otherwise import just for this.
"""

from __future__ import annotations

import os
from _thread import allocate_lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["ForkSafeLock"]

_ALL: list[ForkSafeLock] = []  # module-level locks only: they live as long as the process


class ForkSafeLock:
    """A non-reentrant lock, used as ``with lock:``, handed to a forked child unlocked."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = allocate_lock()
        _ALL.append(self)

    def __enter__(self) -> ForkSafeLock:
        self._lock.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()


def _renew_in_child() -> None:
    for lock in _ALL:
        lock._lock = allocate_lock()


if hasattr(os, "register_at_fork"):  # POSIX; there is no fork to survive elsewhere
    os.register_at_fork(after_in_child=_renew_in_child)
