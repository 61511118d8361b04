"""The line a running test prints every few seconds: phase, elapsed time, faults so far and
what the poller last saw of each job."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable


class Progress:
    def __init__(self, status: Callable[[], str], interval: float = 5.0) -> None:
        self.status = status
        self.interval = interval
        self.phase = "start"
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
        self._tty = sys.stderr.isatty()

    def set_phase(self, phase: str) -> None:
        self.phase = phase

    def line(self) -> str:
        elapsed = int(time.monotonic() - self.started)
        return f"[{self.phase}] {elapsed // 60:02d}:{elapsed % 60:02d} {self.status()}"

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                text = self.line()
            except Exception:  # noqa: BLE001 - a status probe must never break the run
                continue
            if self._tty:
                sys.stderr.write("\r\033[K" + text)
            else:
                sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
