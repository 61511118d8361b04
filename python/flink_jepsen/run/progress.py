"""The line a running test shows every few seconds: phase, elapsed time, faults so far and
what the poller last saw of each job.

On a terminal it is a status line on the terminal's last row, kept out of the way of the log:
the rows above it are made the terminal's scrolling region (DECSTBM, as apt's progress bar
does), so every line written to the terminal, by Python or by the C++ core's logger writing
to the file descriptor directly, scrolls above the status line and never over it. Without a
terminal (CI, a file, a pipe, TERM=dumb) there is no redraw at all: the status is a plain line
every few seconds."""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

SAVE, RESTORE = "\0337", "\0338"      # DECSC / DECRC: the cursor, saved and restored
CLEAR_LINE = "\033[2K"

_active: set[Progress] = set()   # status lines on screen, given back at exit whatever happens


def is_terminal(stream: TextIO) -> bool:
    """A terminal that understands cursor movement: a TTY, and TERM not dumb."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and os.environ.get("TERM", "") not in ("", "dumb")


class Progress:
    def __init__(self, status: Callable[[], str], interval: float = 5.0,
                 stream: TextIO | None = None) -> None:
        self.status = status
        self.interval = interval
        self.phase = "start"
        self.started = time.monotonic()
        self.stream = stream if stream is not None else sys.stderr
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
        self._lock = threading.Lock()
        self._tty = is_terminal(self.stream)
        self._rows = 0  # the terminal's height when the scrolling region was last set

    def set_phase(self, phase: str) -> None:
        self.phase = phase

    def line(self) -> str:
        elapsed = int(time.monotonic() - self.started)
        return f"[{self.phase}] {elapsed // 60:02d}:{elapsed % 60:02d} {self.status()}"

    # ---- the terminal -----------------------------------------------------------------------
    def _size(self) -> tuple[int, int]:
        try:
            size = os.get_terminal_size(self.stream.fileno())
            return size.lines, size.columns
        except (OSError, ValueError, AttributeError):
            return 0, 0

    def _write(self, text: str) -> None:
        """One write(2) of the whole sequence: a terminal never interleaves another write
        into it, so a log line cannot land between the cursor's save and its restore."""
        try:
            self.stream.flush()
            data = text.encode(getattr(self.stream, "encoding", None) or "utf-8", "replace")
            fd = self.stream.fileno()
            while data:
                data = data[os.write(fd, data):]
        except (OSError, ValueError, AttributeError):
            pass

    def _region(self, rows: int) -> str:
        """Rows 1..rows-1 scroll; the cursor is put back where it was."""
        self._rows = rows
        return f"{SAVE}\033[1;{rows - 1}r{RESTORE}"

    def _reserve(self) -> None:
        rows, _ = self._size()
        if rows < 3:  # too small to spare a row: plain lines instead
            self._tty = False
            return
        # A new line first, then back up: the cursor ends inside the region even when it was
        # on the last row.
        self._write("\n" + self._region(rows) + "\033[1A")
        _active.add(self)

    def _draw(self, text: str) -> None:
        rows, cols = self._size()
        if rows < 3:
            return
        region = self._region(rows) if rows != self._rows else ""
        self._write(f"{region}{SAVE}\033[{rows};1H{CLEAR_LINE}{text[:max(cols - 1, 0)]}"
                    f"{RESTORE}")

    def _release(self) -> None:
        if self not in _active:
            return
        _active.discard(self)
        rows, _ = self._size()
        rows = rows or self._rows
        self._write(f"{SAVE}\033[r{RESTORE}{SAVE}\033[{rows};1H{CLEAR_LINE}{RESTORE}")

    # ---- the thread ------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                text = self.line()
            except Exception:  # noqa: BLE001 - a status probe must never break the run
                continue
            with self._lock:
                if self._stop.is_set():
                    return
                if self._tty:
                    self._draw(text)
                else:
                    try:
                        self.stream.write(text + "\n")
                        self.stream.flush()
                    except (OSError, ValueError):
                        pass

    def start(self) -> None:
        if self._tty:
            self._reserve()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            if self._tty:
                self._release()


@atexit.register
def _give_back_the_terminal() -> None:
    for p in list(_active):
        p._release()
