"""The nodes a test runs on, with their remotes: what every system (db) module is handed.

Local nodes share this machine's disk, so files are staged by hard-linking them into a node's
tree; real hosts get them uploaded. Processes are found per node by main class, restricted to
the node's own network namespace (local nodes share one PID namespace)."""

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


def _bracketed(pattern: str) -> str:
    """'TaskManagerRunner' -> '[T]askManagerRunner': pgrep -f then never matches the shell that
    runs it (whose command line contains the pattern)."""
    return f"[{pattern[0]}]{pattern[1:]}" if pattern and pattern[0].isalnum() else pattern


def pids_command(pattern: str) -> str:
    """A shell snippet printing the pids of this node's processes whose command line matches."""
    return (
        "me=$(readlink /proc/self/ns/net); "
        f"for p in $(pgrep -f -- {shlex.quote(_bracketed(pattern))}); do "
        "[ \"$(readlink /proc/$p/ns/net 2>/dev/null)\" = \"$me\" ] && echo $p; done; true"
    )


@dataclass
class Cluster:
    nodes: list[Node]
    remotes: dict[str, _core.Remote]
    shared_fs: bool                  # the nodes see the control machine's files (local nodes)
    shared_dir: Path | None = None   # a directory every node sees (HA storage, checkpoints)
    addresses: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.addresses = {n.name: n.address for n in self.nodes}
        self._archives: dict[Path, Path] = {}
        self._pack_lock = threading.Lock()

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def remote(self, node: Node | str) -> _core.Remote:
        return self.remotes[node if isinstance(node, str) else node.name]

    def on(self, nodes: list[Node], command: str, timeout: float = 120, **kw) -> list:
        """Runs a command on the nodes concurrently; raises naming the first node that failed."""
        return _core.fan_out_check([self.remote(n) for n in nodes], command, timeout=timeout,
                                   **kw)

    def each(self, nodes: list[Node], action: Callable[[Node], None]) -> None:
        """Runs action(node) for every node concurrently (installs on real hosts upload a lot);
        the first failure is raised once all are done."""
        if len(nodes) <= 1 or self.shared_fs:
            for n in nodes:
                action(n)
            return
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            futures = [pool.submit(action, n) for n in nodes]
        for f in futures:
            f.result()

    def pids(self, node: Node, pattern: str) -> list[int]:
        r = self.remote(node).check(pids_command(pattern), timeout=30)
        return [int(p) for p in r.out.split()]

    def signal(self, nodes: list[Node], pattern: str, sig: str = "KILL") -> dict[str, list[int]]:
        """Signals every process of the nodes matching pattern; node -> pids signalled."""
        script = f"pids=$({pids_command(pattern)}); [ -n \"$pids\" ] && kill -{sig} $pids; " \
                 "echo $pids"
        results = self.on(nodes, script, timeout=30)
        return {r.node: [int(p) for p in r.out.split()] for r in results}

    def stage_dir(self, node: Node, local_dir: Path, remote_dir: str, copy: tuple[str, ...] = ()
                  ) -> None:
        """Puts a directory of the control machine onto a node: hard links on a shared disk
        (instant, no space), an upload otherwise. Subdirectories in `copy` are real copies (they
        get modified per node, e.g. conf/)."""
        remote = self.remote(node)
        if self.shared_fs:
            parts = [f"rm -rf {shlex.quote(remote_dir)}", f"mkdir -p {shlex.quote(remote_dir)}"]
            for entry in sorted(local_dir.iterdir()):
                mode = "-r" if entry.name in copy else "-al"
                parts.append(f"cp {mode} {shlex.quote(str(entry))} {shlex.quote(remote_dir)}/")
            remote.check(" && ".join(parts), timeout=300)
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
