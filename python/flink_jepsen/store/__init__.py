"""The store: one directory per run, ``store/<test-name>/<YYYYMMDDTHHMMSS.mmm>/``, holding the run's
log, parameters, history, results and every node's logs, with ``latest`` links beside them."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from flink_jepsen import log as fjlog

# Names the store uses itself beside the tests' directories: a test may not be called that.
RESERVED = frozenset({"latest"})


def check_test_name(name: str) -> None:
    """A test's name is a directory of the store: one path component, not hidden, not one of
    the store's own links (a test called `latest` would break every later run's link)."""
    if not name or "/" in name or name.startswith(".") or name in RESERVED:
        raise ValueError(f"bad test name {name!r}: one path component, not starting with '.', "
                         f"not {', '.join(sorted(RESERVED))}")


def write_atomically(path: Path, text: str) -> None:
    """Written beside, fsynced, then renamed over: a crash leaves the old file or the new one,
    never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _relink(link: Path, target: Path) -> None:
    """Points `link` at `target` atomically. The temporary link's name is this process's own:
    runs side by side (sweep --parallel, pytest-xdist) relink the same `latest` at once."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(target, link.parent))
    os.replace(tmp, link)


class Run:
    """One run's directory. Opening it starts its jepsen.log; close() ends it."""

    def __init__(self, store: Path, test_name: str) -> None:
        check_test_name(test_name)
        self.store = Path(store).resolve()
        self.test_name = test_name
        (self.store / test_name).mkdir(parents=True, exist_ok=True)
        while True:  # two runs in the same millisecond: the second takes the next one
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%f")[:-3]
            self.dir = self.store / test_name / stamp
            try:
                self.dir.mkdir()
                break
            except FileExistsError:
                time.sleep(0.002)
        _relink(self.store / test_name / "latest", self.dir)
        _relink(self.store / "latest", self.dir)
        self.log_path = self.dir / "jepsen.log"
        fjlog.open_run_log(str(self.log_path))

    def path(self, *parts: str) -> Path:
        return self.dir.joinpath(*parts)

    def node_dir(self, node: str) -> Path:
        d = self.dir / "nodes" / node
        d.mkdir(parents=True, exist_ok=True)
        return d

    def write_json(self, name: str, data: object) -> Path:
        p = self.dir / name
        write_atomically(p, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
        return p

    def close(self) -> None:
        fjlog.close_run_log()


def collect_node_logs(run: Run, remotes: dict, nodes: list, subdirs: tuple[str, ...] = ("log",),
                      since: Callable[[object], str] | None = None) -> list[str]:
    """Copies every file under each node's log directories into ``nodes/<node>/`` of the run;
    with `since` (node -> a file on it), only files written after that file (an earlier run's
    logs on nodes that stayed up are not this run's). Failures are logged and skipped: a run
    that failed still keeps what could be collected."""
    import logging

    log = logging.getLogger("flink_jepsen.store")
    copied: list[str] = []
    for node in nodes:
        remote = remotes[node.name]
        for sub in subdirs:
            base = node.path(sub)
            newer = ""
            if since is not None:
                marker = shlex.quote(since(node))
                newer = f"$([ -e {marker} ] && echo -newer {marker})"
            r = remote.exec(f"[ -d {base} ] && find {base} -type f {newer}", timeout=60)
            for f in r.out.splitlines():
                rel = os.path.relpath(f, node.root)
                dest = run.node_dir(node.name) / rel
                try:
                    remote.download(f, str(dest))
                    copied.append(str(dest))
                except Exception as e:  # noqa: BLE001 - keep collecting the rest
                    log.warning("could not collect %s from %s: %s", f, node.name, e)
    return copied
