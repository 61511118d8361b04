"""The nodes a test runs on, with their remotes: what every system (db) module is handed.

Local nodes are on this machine's disk, so files are staged by hard-linking them into a node's
tree, on the host's side (a node sees the cache through a read-only bind mount, and hard links
never cross mounts); real hosts get them uploaded. Faults find and signal processes through the core
(faults/nemesis.py, cpp/nemesis/faults.cpp), not here."""

from __future__ import annotations

import logging
import shlex
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from flink_jepsen import _core
from flink_jepsen.nodes.node import Node

log = logging.getLogger("flink_jepsen.nodes.cluster")


@dataclass
class Cluster:
    nodes: list[Node]
    remotes: dict[str, _core.Remote]
    shared_fs: bool                  # the nodes' files are on the control machine (local nodes)
    shared_dir: Path | None = None   # a directory every node sees (HA storage, checkpoints)
    addresses: dict[str, str] = field(default_factory=dict)
    faketime: bool = False           # system processes start under libfaketime (clock faults)

    def __post_init__(self) -> None:
        self.addresses = {n.name: n.address for n in self.nodes}
        self._archives: dict[Path, Path] = {}
        self._pack_lock = threading.Lock()

    def faketime_env(self, node: Node, system: str) -> dict[str, str]:
        """The environment that starts a system's process under libfaketime, its offset read
        from the node's clock file for that system (made at +0 now; clock faults rewrite it).
        Only the wall clock moves: the monotonic clock keeps the JVM's timers sane."""
        clock = self.clock_file(node, system)
        self.remote(node).check(
            f"test -r {_core.FAKETIME_LIBRARY} || {{ echo 'libfaketime is not installed on "
            f"{node.name} ({_core.FAKETIME_LIBRARY}): apt-get install libfaketime' >&2; "
            f"exit 3; }}; mkdir -p {shlex.quote(str(Path(clock).parent))} && "
            f"{{ [ -e {shlex.quote(clock)} ] || echo +0 > {shlex.quote(clock)}; }}", timeout=30)
        # File times stay true (faking stat() slows a JVM's start several-fold), and the
        # monotonic fix is off (Java's timed waits already use the monotonic clock).
        return {"LD_PRELOAD": _core.FAKETIME_LIBRARY, "FAKETIME_TIMESTAMP_FILE": clock,
                "FAKETIME_CACHE_DURATION": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                "NO_FAKE_STAT": "1", "FAKETIME_FORCE_MONOTONIC_FIX": "0"}

    @staticmethod
    def clock_file(node: Node, system: str) -> str:
        return node.path("clock", system)

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def remote(self, node: Node | str) -> _core.Remote:
        return self.remotes[node if isinstance(node, str) else node.name]

    def on(self, nodes: list[Node], command: str, timeout: float = 120, **kw) -> list:
        """Runs a command on the nodes concurrently; raises naming the first node that failed."""
        return _core.fan_out_check([self.remote(n) for n in nodes], command, timeout=timeout,
                                   **kw)

    def each(self, nodes: list[Node], action: Callable[[Node], None]) -> None:
        """Runs action(node) for every node concurrently (installs on real hosts upload a lot;
        on local nodes each is a few round trips, and the nodes' setup is on the path to the
        verdict); the first failure is raised once all are done."""
        if len(nodes) <= 1:
            for n in nodes:
                action(n)
            return
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            futures = [pool.submit(action, n) for n in nodes]
        for f in futures:
            f.result()

    def stage_dir(self, node: Node, local_dir: Path, remote_dir: str, copy: tuple[str, ...] = ()
                  ) -> None:
        """Puts a directory of the control machine onto a node: hard links on a shared disk
        (instant, no space), an upload otherwise. Subdirectories in `copy` are real copies (they
        get modified per node, e.g. conf/)."""
        remote = self.remote(node)
        if self.shared_fs:
            target = shlex.quote(remote.host_path(remote_dir))
            parts = [f"rm -rf {target}", f"mkdir -p {target}"]
            for entry in sorted(local_dir.iterdir()):
                mode = "-r" if entry.name in copy else "-al"
                parts.append(f"cp {mode} {shlex.quote(str(entry))} {target}/")
            _core.LocalRemote().check(" && ".join(parts), timeout=300)
            return
        # One archive upload per node beats hundreds of small ones.
        archive = self._packed(local_dir)
        target = shlex.quote(remote_dir)
        remote.check(f"rm -rf {target} && mkdir -p {target}")
        remote.upload(str(archive), f"{remote_dir}.stage.tgz")
        remote.check(f"tar xzf {target}.stage.tgz -C {target} && rm -f {target}.stage.tgz",
                     timeout=600)

    def _packed(self, local_dir: Path) -> Path:
        with self._pack_lock:
            if local_dir not in self._archives:
                out = Path(tempfile.mkdtemp(prefix="fj-stage-")) / "stage.tgz"
                with tarfile.open(out, "w:gz", compresslevel=1) as t:
                    for entry in sorted(local_dir.iterdir()):
                        t.add(entry, arcname=entry.name)
                self._archives[local_dir] = out
            return self._archives[local_dir]

    def close(self) -> None:
        """Removes the archives made for staging."""
        for archive in self._archives.values():
            shutil.rmtree(archive.parent, ignore_errors=True)
        self._archives.clear()

    def write_file(self, node: Node, path: str, text: str) -> None:
        self.remote(node).check(f"mkdir -p \"$(dirname {shlex.quote(path)})\" && "
                                f"cat > {shlex.quote(path)}", stdin=text, timeout=60)

    def install_supervisor(self, node: Node) -> str:
        """The supervise script on the node; returns its path there."""
        text = resources.files("flink_jepsen").joinpath("resources/supervise.sh").read_text()
        path = node.path("bin", "supervise.sh")
        self.write_file(node, path, text)
        self.remote(node).check(f"chmod +x {path}")
        return path
