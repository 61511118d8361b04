"""One run at a time per set of nodes: a second `test` on nodes a run is using would adopt that
run's processes through their pidfiles, rewrite their configuration and remove their homes, and
both verdicts would be false. The lock is an flock on a file of the control machine (released by
the kernel when its holder dies, even by kill -9) that names its holder."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from pathlib import Path

from flink_jepsen.errors import UsageError


def lock_path(home: Path, remote: str, prefix: str, hosts: list[str]) -> Path:
    """Local nodes: one lock per name prefix; real hosts: one per set of hosts."""
    if remote == "netns":
        return home / f"run-{prefix}.lock"
    digest = hashlib.sha256(",".join(sorted(hosts)).encode()).hexdigest()[:16]
    return home / f"run-ssh-{digest}.lock"


class RunLock:
    """Held from the nodes phase to the end of the run's teardown."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self, holder: dict) -> None:
        """Takes the lock, or raises UsageError naming the run that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = _read(fd)
            os.close(fd)
            raise UsageError(
                "another run is using these nodes: "
                + ", ".join(f"{k} {v}" for k, v in other.items())
                + f" (lock {self.path}); wait for it to end or stop it") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({**holder, "pid": os.getpid(),
                                  "since": time.strftime("%Y-%m-%d %H:%M:%S")}).encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
            os.close(self.fd)   # the flock goes with it
            self.fd = None


def _read(fd: int) -> dict:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}
