"""Structured events (§8) through a private structlog logger.

The application's ``logging`` and structlog configuration are never touched: the hook builds its own
bound logger with ``structlog.wrap_logger`` and its own processor chain. The level filter runs before
structlog is imported, so a process in which nothing is logged at an enabled level never pays for
importing structlog (≈ 45 ms, it pulls in asyncio).

``IMPORTSPY_HOOK_LOG``: ``console`` (default), ``json``, ``stdlib`` or ``off``;
``IMPORTSPY_HOOK_LOG_LEVEL``: ``debug``/``info``/``warning`` (default)/``error``/``critical``.
Both are read once, on the first event.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

__all__ = ["LEVELS", "RENDERERS", "emit", "enabled", "reset", "settings"]

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
RENDERERS = ("console", "json", "stdlib", "off")

_lock = threading.Lock()
_settings: tuple[str, int] | None = None
_logger: Any = None


def settings() -> tuple[str, int]:
    """``(renderer, minimum level number)`` from the environment; bad values fall back to defaults."""
    global _settings
    if _settings is None:
        renderer = os.environ.get("IMPORTSPY_HOOK_LOG", "console").strip().lower() or "console"
        if renderer not in RENDERERS:
            renderer = "console"
        level_name = os.environ.get("IMPORTSPY_HOOK_LOG_LEVEL", "warning").strip().lower()
        _settings = (renderer, LEVELS.get(level_name, LEVELS["warning"]))
    return _settings


def reset() -> None:
    """Forget the settings and the logger (tests, and the CLI after changing the environment)."""
    global _settings, _logger
    with _lock:
        _settings = None
        _logger = None


def enabled(level: str) -> bool:
    renderer, minimum = settings()
    return renderer != "off" and LEVELS[level] >= minimum


class _StderrLogger:
    """Writes each rendered event to the *current* ``sys.stderr`` (it may be replaced after start-up)."""

    def _write(self, message: str) -> None:
        stream = sys.stderr
        if stream is not None:
            stream.write(message + "\n")
            stream.flush()

    debug = info = warning = error = critical = msg = _write


def _build() -> Any:
    import structlog

    renderer, _ = settings()
    processors: list[Any] = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if renderer == "stdlib":
        import logging

        processors.append(structlog.processors.KeyValueRenderer(key_order=["event"]))
        return structlog.wrap_logger(
            logging.getLogger("importspy_hook"),
            processors=processors,
            cache_logger_on_first_use=False,
        )
    if renderer == "json":
        processors.append(structlog.processors.JSONRenderer(sort_keys=False))
    else:
        colors = (
            bool(getattr(sys.stderr, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ
        )
        processors.append(structlog.dev.ConsoleRenderer(colors=colors))
    return structlog.wrap_logger(
        _StderrLogger(), processors=processors, cache_logger_on_first_use=False
    )


def emit(level: str, event: str, **fields: Any) -> None:
    """Log ``event`` at ``level`` with ``fields``; never raises (logging must not break an import)."""
    global _logger
    try:
        if not enabled(level):
            return
        if _logger is None:
            with _lock:
                if _logger is None:
                    _logger = _build()
        getattr(_logger, level)(event, **fields)
    except Exception:
        pass
