"""Node groups: a hosts file may list several groups of real hosts, so a matrix grows past one
machine's worth of clusters. Each run takes a group no other run holds (a claim: an flock on the
control machine, released by the kernel when its holder dies) and keeps it until its teardown
ends; parallel runners (`sweep --parallel`, pytest-xdist workers) need nothing else: every run
asks for a free group, the first free one is its.

The file: `[name]` starts a group, every other line is one host, `#` starts a comment. A file
without any `[name]` line is one group (the plain --nodes-file of one host per line)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import time
from pathlib import Path

from flink_jepsen.errors import UsageError

SINGLE = "all"  # the name of the one group of a file without sections
_SECTION = re.compile(r"^\[\s*([A-Za-z0-9._-]+)\s*\]$")


def parse_groups(text: str, source: str) -> dict[str, list[str]]:
    """{group: hosts} in the file's order; a host in two groups, an empty group, a group named
    twice or a malformed section line is an error naming the line."""
    groups: dict[str, list[str]] = {}
    current: str | None = None
    seen: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#")[0].strip()
        if not line:
            continue
        if line.startswith("["):
            m = _SECTION.match(line)
            if not m:
                raise UsageError(f"{source}:{n}: {raw.strip()!r} is not a group line "
                                 "([name]: letters, digits, '.', '_', '-')")
            current = m.group(1)
            if current in groups:
                raise UsageError(f"{source}:{n}: group {current} is named twice")
            groups[current] = []
            continue
        if current is None:
            if groups:
                raise UsageError(f"{source}:{n}: host {line} outside a group")
            current = SINGLE
            groups[current] = []
        if line in seen:
            raise UsageError(f"{source}:{n}: host {line} is already in group {seen[line]}: "
                             "two runs would share it")
        seen[line] = current
        groups[current].append(line)
    if SINGLE in groups and len(groups) > 1:
        raise UsageError(f"{source}: hosts before the first [group] line")
    for name, hosts in groups.items():
        if not hosts:
            raise UsageError(f"{source}: group {name} lists no host")
    if not groups:
        raise UsageError(f"{source}: no hosts")
    return groups


def read_groups(path: str | os.PathLike) -> dict[str, list[str]]:
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise UsageError(f"--nodes-file {path}: {e.strerror}") from e
    return parse_groups(text, str(path))


def _digest(hosts: list[str]) -> str:
    return hashlib.sha256(",".join(sorted(hosts)).encode()).hexdigest()[:16]


def claim_path(home: Path, hosts: list[str]) -> Path:
    return home / f"group-{_digest(hosts)}.lock"


class GroupClaim:
    """A group held for one run; `release` (or the holder's death) frees it."""

    def __init__(self, name: str, hosts: list[str], fd: int, path: Path) -> None:
        self.name, self.hosts, self.path = name, list(hosts), path
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> GroupClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _try(path: Path) -> int | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _run_holds(run_lock: Path) -> bool:
    """Does a run (started on these hosts without a claim, e.g. `test --nodes ...`) hold them?"""
    if not run_lock.exists():
        return False
    fd = _try(run_lock)
    if fd is None:
        return True
    os.close(fd)
    return False


def claim(groups: dict[str, list[str]], home: Path, run_lock_of, holder: dict,
          wait_s: float = 0.0, poll_s: float = 2.0) -> GroupClaim:
    """The first group (in the file's order) that no run holds, claimed for `holder`. With
    `wait_s`, waits that long for one to come free; then refuses, naming who holds each.
    `run_lock_of(hosts)` is the run lock path of a host set (run/lock.py), checked too."""
    deadline = time.monotonic() + wait_s
    while True:
        for name, hosts in groups.items():
            path = claim_path(home, hosts)
            fd = _try(path)
            if fd is None:
                continue
            if _run_holds(run_lock_of(hosts)):
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({**holder, "group": name, "pid": os.getpid(),
                                      "since": time.strftime("%Y-%m-%d %H:%M:%S")}).encode(), 0)
            return GroupClaim(name, hosts, fd, path)
        if time.monotonic() >= deadline:
            break
        time.sleep(poll_s)
    held = []
    for name, hosts in groups.items():
        with contextlib.suppress(OSError, ValueError):
            who = json.loads(claim_path(home, hosts).read_text() or "{}")
            held.append(f"{name}: {who.get('run') or who.get('holder') or 'a run'} "
                        f"(pid {who.get('pid', '?')})" if who else f"{name}: a run")
    raise UsageError(f"no free node group among {len(groups)} ({'; '.join(held)})"
                     + (f" after waiting {wait_s:g} s" if wait_s else ""))
