"""Python's logging routed into the core's spdlog sinks: one console, one run log, one order."""

from __future__ import annotations

import logging

from flink_jepsen import _core

_LEVELS = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warn",
    logging.ERROR: "err",
    logging.CRITICAL: "critical",
}


class CoreHandler(logging.Handler):
    """Hands every record to the C++ logger, which writes the console and the run's jepsen.log."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = _LEVELS.get(record.levelno, "info")
            if record.levelno < logging.DEBUG:
                level = "trace"
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + self.formatException(record.exc_info)
            _core.log_write(level, record.name, message)
        except Exception:  # noqa: BLE001 - logging must never take the run down
            self.handleError(record)


_installed = False


def setup(console_level: str = "info") -> None:
    """Installs the handler on the root logger (once) and sets the console's level."""
    global _installed
    _core.log_configure(console_level)
    if not _installed:
        root = logging.getLogger()
        root.addHandler(CoreHandler())
        root.setLevel(logging.DEBUG)
        _installed = True


def open_run_log(path: str) -> None:
    """Everything logged from now on also goes to `path` (the run's jepsen.log)."""
    _core.log_open_file(path, "debug")


def close_run_log() -> None:
    _core.log_close_file()
