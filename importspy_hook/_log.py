"""Structured events (§8) through a private structlog logger.

Three promises shape this module:

* **Nothing is paid for silence.** The level filter runs before structlog is imported, so a process
  in which no event reaches an enabled level never imports structlog (≈ 45 ms: it pulls in asyncio).
  The settings are read from the environment once, on the first event.
* **The application's logging is not ours to touch.** No ``structlog.configure``, no
  ``logging.basicConfig``, no handler added anywhere: the hook builds one ``structlog.BoundLogger``
  directly from its own processor chain, so neither structlog's global configuration (wrapper class,
  context class, processors) nor the application's filters apply to it or are changed by it. With
  the ``stdlib`` renderer the records go to the ``importspy_hook`` logger, where the application's own
  ``logging`` configuration decides what happens to them.
* **Every event has the same shape.** ``target``, ``caller``, ``contract`` and ``mode`` are always
  present (``None`` when not applicable), so a JSON consumer can index them without guessing.

``IMPORTSPY_HOOK_LOG``: ``console`` (default: human-readable lines on stderr, coloured only on a
terminal, never with ``NO_COLOR``), ``json`` (one object per line on stderr), ``stdlib`` or ``off``.
``IMPORTSPY_HOOK_LOG_LEVEL``: ``debug``, ``info``, ``warning`` (default), ``error``, ``critical``.
An unknown value of either prints one warning line and falls back to the default.

Secret values are never logged, at any level and by any renderer: the fields come from the guard,
whose violation texts the checker builds under the one rule of §6 (``_errors.value_may_be_shown``:
no value of a variable secret anywhere in the contract or named like a credential), and this module
adds nothing taken from the environment.
"""

import os
import sys

from ._cache import ForkSafeLock

# typing, collections.abc and threading cost ~8 ms together on a first contracted import that logs;
# they are needed by type checkers only (the lock comes from _thread, which is always loaded). Every
# contracted import loads this module (the guard's events): its annotations are strings, not
# ``from __future__ import annotations``, which imports the ``__future__`` module (≈ 0.1 ms).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, MutableMapping
    from typing import Any

__all__ = ["COMMON_FIELDS", "LEVELS", "RENDERERS", "emit", "enabled", "level_name", "reset", "settings"]

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
_LEVEL_ALIASES = {"warn": "warning", "fatal": "critical"}
RENDERERS = ("console", "json", "stdlib", "off")
COMMON_FIELDS = ("target", "caller", "contract", "mode")
"""Carried by every event, in this order after ``event``/``level``/``timestamp``."""

_lock = ForkSafeLock()
_settings: "tuple[str, int] | None" = None
_logger: "Any" = None


def _warn(text: "str") -> "None":
    try:
        stream = sys.stderr
        if stream is not None:
            stream.write(f"importspy-hook: {text}\n")
    except Exception:
        pass


def settings() -> "tuple[str, int]":
    """``(renderer, minimum level number)`` from the environment, read once.

    A misspelt value falls back to the default with one warning: logging must keep working, and a
    typo must not go unnoticed.
    """
    global _settings
    current = _settings
    if current is None:
        renderer = _setting("IMPORTSPY_HOOK_LOG", RENDERERS, "console")
        current = _settings = (renderer, LEVELS[_setting("IMPORTSPY_HOOK_LOG_LEVEL", LEVELS, "warning")])
    return current


def _setting(variable: "str", names: "Iterable[str]", default: "str") -> "str":
    """One of ``names`` as ``variable`` spells it (any case; the level aliases ``warn`` and ``fatal``
    name no renderer), or ``default`` with a warning."""
    raw = os.environ.get(variable, "")
    value = raw.strip().lower() or default
    value = _LEVEL_ALIASES.get(value, value)
    if value not in names:
        _warn(f"unknown {variable} value {raw!r}; expected one of {', '.join(names)}; using {default}")
        value = default
    return value


def level_name(number: "int") -> "str":
    """``30`` → ``"warning"`` (for ``importspy-hook status``)."""
    for name, value in LEVELS.items():
        if value == number:
            return name
    return str(number)


def reset() -> "None":
    """Forget the settings and the logger (tests, and the CLI after changing the environment)."""
    global _settings, _logger
    with _lock:
        _settings = None
        _logger = None


def enabled(level: "str") -> "bool":
    """Whether an event at ``level`` would be emitted; never imports structlog."""
    renderer, minimum = _settings or settings()  # asked on every contracted import: one call, not two
    return renderer != "off" and LEVELS.get(level, 0) >= minimum


# --------------------------------------------------------------------------------- building


class _StderrLogger:
    """Writes each rendered event to the *current* ``sys.stderr`` (it may be replaced after start-up,
    e.g. by pytest's capture), one line per event."""

    def _write(self, message: "str") -> "None":
        stream = sys.stderr
        if stream is not None:
            stream.write(message + "\n")
            stream.flush()

    debug = info = warning = error = critical = msg = _write


def _ordered(_logger: "Any", _method: "str", event_dict: "MutableMapping[str, Any]") -> "Mapping[str, Any]":
    """Put the fields every event carries first, in a fixed order, filling absent ones with None."""
    head = ("timestamp", "level", "event", *COMMON_FIELDS)
    ordered: dict[str, Any] = {}
    for key in head:
        if key in event_dict or key in COMMON_FIELDS:
            ordered[key] = event_dict.get(key)
    for key, value in event_dict.items():
        if key not in ordered:
            ordered[key] = value
    return ordered


# Attributes of ``logging.LogRecord``: an event field of the same name is renamed, because
# ``extra`` may not overwrite them (``logging`` raises KeyError).
_RECORD_ATTRIBUTES = frozenset(
    {
        "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
        "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated",
        "thread", "threadName", "processName", "process", "message", "asctime", "taskName",
    }
)  # fmt: skip


def _to_record(_logger: "Any", _method: "str", event_dict: "MutableMapping[str, Any]") -> "Any":
    """Last processor of the ``stdlib`` renderer: a readable message, and every field as a record
    attribute (``record.target``, ``record.contract``…) for the application's filters and formatters."""
    fields = {key: value for key, value in event_dict.items() if key not in ("level", "timestamp")}
    event = fields.pop("event", "")
    text = " ".join(f"{key}={value!r}" for key, value in fields.items())
    extra = {
        (f"importspy_{key}" if key in _RECORD_ATTRIBUTES else key): value for key, value in fields.items()
    }
    extra["event"] = event
    return (), {"msg": f"{event}: {text}" if text else str(event), "extra": extra}


def _colours_wanted() -> "bool":
    """Colours only on a terminal, never with ``NO_COLOR`` (no-color.org), never on Windows.

    On Windows structlog colours through colorama, which rewraps ``sys.stdout``/``sys.stderr``:
    a change to the application's streams that an import guard has no business making.
    """
    if os.environ.get("NO_COLOR") or sys.platform == "win32":
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except Exception:
        return False


def _build(renderer: "str") -> "Any":
    """The private bound logger for ``renderer``; imports structlog (the only place that does)."""
    import structlog
    from structlog.processors import JSONRenderer, TimeStamper, add_log_level

    processors: list[Any] = [add_log_level]
    if renderer == "stdlib":
        import logging

        processors += [_ordered, _to_record]
        target: Any = logging.getLogger("importspy_hook")
    elif renderer == "json":
        processors += [TimeStamper(fmt="iso", utc=True), _ordered, JSONRenderer(ensure_ascii=False)]
        target = _StderrLogger()
    else:
        from structlog.dev import ConsoleRenderer

        processors += [
            TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
            _ordered,
            ConsoleRenderer(colors=_colours_wanted(), sort_keys=False, pad_event_to=20),
        ]
        target = _StderrLogger()
    # A BoundLogger built directly, not through wrap_logger/get_logger: those consult structlog's
    # global configuration (the application's wrapper and context classes).
    return structlog.BoundLogger(target, processors, {})


def _logger_for(renderer: "str") -> "Any":
    global _logger
    logger = _logger
    if logger is None:
        # structlog and what it imports are the hook's own dependencies, skipped by the finder's
        # scope; anything else they import is checked like any import (§7).
        built = _build(renderer)
        with _lock:
            if _logger is None:
                _logger = built
            logger = _logger
    return logger


def emit(level: "str", event: "str", **fields: "Any") -> "None":
    """Log ``event`` at ``level`` with ``fields``; never raises (logging must not break an import).

    ``target``, ``caller``, ``contract`` and ``mode`` are added as ``None`` when not given.
    """
    try:
        renderer, minimum = settings()
        if renderer == "off" or LEVELS.get(level, 0) < minimum:
            return
        for key in COMMON_FIELDS:
            fields.setdefault(key, None)
        getattr(_logger_for(renderer), level)(event, **fields)
    except Exception:
        pass
