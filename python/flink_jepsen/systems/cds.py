"""Class-data sharing for Flink's JVMs: a cheaper start, learned once per release.

A Flink JobManager loads some 9000 classes before its REST API answers; on a 2-core machine with
five Flink JVMs starting at once that is most of the setup phase. Java 13 and later can dump the
classes a JVM loaded into an archive when it exits (-XX:ArchiveClassesAtExit) and map that
archive into the next JVM (-XX:SharedArchiveFile), which then skips parsing and verifying them.

So the first run of a (JVM, release, deployment, role) records: its JVMs start with
-XX:+RecordDynamicDumpInfo, and before teardown stops them, one live JVM of each role is asked
to dump what it has loaded (`jcmd PID VM.cds dynamic_dump`; a dump at exit would be simpler,
but a TaskManager ends by halting the JVM, which writes nothing). The dump goes to the node's
tmp/ and the first whole one is moved into the cache. Every later run maps it. An archive the
JVM cannot use (another classpath, a damaged file) is ignored by the JVM (-Xshare:auto), so the
cost of a wrong archive is a slower start, never a failed one.

Only where the nodes share the control machine's disk (local nodes): there the cache is one
path every node sees. Java 11 (Flink before 1.18 here) has no dynamic archives: nothing is done.
`--no-cds` turns it off."""

from __future__ import annotations

import hashlib
import logging
import os
import shlex
from pathlib import Path

from flink_jepsen import _core, paths
from flink_jepsen.nodes.node import Node

log = logging.getLogger("flink_jepsen.systems.cds")

# Dynamic archives (ArchiveClassesAtExit) arrived in Java 13.
DYNAMIC_SINCE = 13
# A dump smaller than this is a JVM killed while writing it (a real one is tens of MB).
MIN_ARCHIVE_BYTES = 1 << 20


def java_feature(java_home: str) -> int:
    """The JVM's feature release (17) from its `release` file; 0 when unknown."""
    try:
        for line in (Path(java_home) / "release").read_text().splitlines():
            if line.startswith("JAVA_VERSION="):
                version = line.split("=", 1)[1].strip().strip('"')
                head = version.split(".")[0]
                return int(head if head != "1" else version.split(".")[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class ClassArchives:
    """The archives of one Flink deployment in one run: what each role's JVM is told, and the
    move of a recorded archive into the cache at teardown."""

    def __init__(self, java_home: str, release: str, deployment: str, enabled: bool = True,
                 cache: Path | None = None) -> None:
        self.java_home = java_home
        self.enabled = enabled and java_feature(java_home) >= DYNAMIC_SINCE
        identity = "\n".join([os.path.realpath(java_home), _release_text(java_home), release,
                              deployment])
        key = hashlib.sha256(identity.encode()).hexdigest()[:16]
        self.dir = (cache or paths.cache()) / "cds" / key

    def archive(self, role: str) -> Path:
        return self.dir / f"{role}.jsa"

    @staticmethod
    def recording(node: Node, role: str) -> str:
        """Where a recording JVM on this node dumps its archive (the node's own path)."""
        return node.path("tmp", f"cds-{role}.jsa")

    def jvm_args(self, role: str) -> str:
        """The JVM options for one process: map the archive when the cache has it, get ready to
        record one when it does not, nothing when class-data sharing is off or impossible."""
        if not self.enabled:
            return ""
        archive = self.archive(role)
        if archive.is_file():
            return f"-Xshare:auto -XX:SharedArchiveFile={shlex.quote(str(archive))}"
        # the dump warns of every class it skips, into the process's log: silenced
        return "-XX:+RecordDynamicDumpInfo -Xlog:cds=off"

    def wanted(self, role: str) -> bool:
        """Whether this run records the role's archive (on, and the cache has none)."""
        return self.enabled and not self.archive(role).is_file()

    def dump_command(self, node: Node, role: str, pidfile: str) -> str:
        """Shell, run on the node: asks the role's live JVM (in the process group the pidfile
        names) to dump its loaded classes to the node's recording path."""
        out = shlex.quote(self.recording(node, role))
        jcmd = shlex.quote(f"{self.java_home}/bin/jcmd")
        return (f"g=$(cat {shlex.quote(pidfile)} 2>/dev/null) && [ -n \"$g\" ] && "
                f"p=$(pgrep -g \"$g\" -x java | head -n 1) && [ -n \"$p\" ] && "
                f"rm -f {out} && {jcmd} \"$p\" VM.cds dynamic_dump {out} >/dev/null")

    def harvest(self, remote: _core.Remote, node: Node, role: str) -> bool:
        """After the role's process on the node has stopped: keeps its dump as the cached
        archive when the cache has none yet (renamed into place, so a concurrent run sees a
        whole file or none). Returns whether it did."""
        if not self.enabled:
            return False
        dumped = Path(remote.host_path(self.recording(node, role)))
        try:
            size = dumped.stat().st_size
        except OSError:
            return False
        kept = False
        target = self.archive(role)
        if size >= MIN_ARCHIVE_BYTES and not target.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{os.getpid()}")
            try:
                if _same_fs(dumped, self.dir):
                    os.replace(dumped, partial)
                else:
                    partial.write_bytes(dumped.read_bytes())
                os.replace(partial, target)
                kept = True
                log.info("class-data archive for %s recorded: %s (%.0f MB); later runs start "
                         "it faster", role, target, size / 1e6)
            except OSError as e:
                log.warning("could not keep the class-data archive %s: %s", dumped, e)
                partial.unlink(missing_ok=True)
        dumped.unlink(missing_ok=True)
        return kept


def _release_text(java_home: str) -> str:
    try:
        return (Path(java_home) / "release").read_text()
    except OSError:
        return ""


def _same_fs(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_dev == b.stat().st_dev
    except OSError:
        return False
