"""Signals during a run's teardown are held, not obeyed: a second Ctrl-C (or a SIGTERM or SIGHUP
from a closing terminal) while the nodes are being cleaned would otherwise leave namespaces,
rules and processes behind and lose the logs. The run still ends as interrupted (exit 130)."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator

log = logging.getLogger("flink_jepsen.run")

HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def _handling(handler) -> Iterator[None]:
    """`handler` for every signal in HELD within the block, the previous handlers after it."""
    previous = {s: signal.signal(s, handler) for s in HELD}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextlib.contextmanager
def held() -> Iterator[list[int]]:
    """Within the block, SIGINT, SIGTERM and SIGHUP are noted (the list yielded) and logged
    instead of interrupting; the previous handlers are back afterwards. Outside the main thread
    (where Python delivers signals) it holds nothing."""
    got: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return

    def note(signum: int, _frame: object) -> None:
        got.append(signum)
        log.warning("%s during teardown: finishing the teardown first (nodes, rules and logs "
                    "are cleaned up; the run then ends as interrupted)",
                    signal.Signals(signum).name)

    with _handling(note):
        yield got


@contextlib.contextmanager
def once() -> Iterator[list[int]]:
    """For a whole run: the first SIGINT, SIGTERM or SIGHUP interrupts it (KeyboardInterrupt),
    and every later one until the block ends is only noted (the list yielded) and logged. A
    second Ctrl-C a moment after the first (or `timeout` passing one on to its child) then
    cannot abort the teardown the first one started, even before `held` is entered. Outside
    the main thread it does nothing."""
    got: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return
    fired: list[int] = []

    def first_interrupts(signum: int, _frame: object) -> None:
        if not fired:
            fired.append(signum)
            raise KeyboardInterrupt(f"signal {signum}")
        got.append(signum)
        log.warning("%s while the run winds down: noted, the teardown goes on",
                    signal.Signals(signum).name)

    with _handling(first_interrupts):
        yield got
