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

Before the Flink JVM, Flink's start scripts run helper JVMs (BashJavaUtils: the configuration
flattened, the memory options computed; three per process in Flink 2), half a second of CPU each
and most of the time from `start` to a Flink JVM when five nodes start at once. They get options
for a JVM that lives half a second (the client compiler only, the serial collector) and an
archive of their own, recorded once per release on the control machine; the scripts pass no
options to them, so these come through JDK_JAVA_OPTIONS, which the Flink JVM reads too: its own
options (JVM_ARGS, after those) give it the default compiler and collector back and its role's
archive. A recording run leaves the helpers' archive out, so the role's dump is not stacked on it.

The Flink JVMs themselves run with the client compiler only (C1, -XX:TieredStopAtLevel=1). With
every node's JVMs on the control machine's few cores, the server compiler's work at start is
most of what a JVM costs before it answers (a JobManager's REST API in 5 s instead of 12 on two
cores, five JVMs at once), and a test's Flink does little steady-state computing. It stays a
choice of this module's, for local nodes only: on real hosts (no shared disk) Flink's JVMs run
as shipped, and `--no-cds` gives local nodes the shipped JVMs too.

An archive names the jars it was made from by path, and a JVM refuses it when one of those
paths is gone (even with the same jars at its own classpath's paths). So the Flink JVMs whose
archives are kept take their jars from the distribution in the cache (FLINK_LIB_DIR), a path
every node, run and test session shares, and that path is part of the archive's key. Where the
jars sit somewhere a run made (an application cluster's lib/ beside its usrlib/), the roles get
no archive of their own.

Only where the nodes share the control machine's disk (local nodes): there the cache is one
path every node sees. Java 11 (Flink before 1.18 here) has no dynamic archives: nothing is done.
`--no-cds` turns all of it off (the benchmark's cold peer)."""

from __future__ import annotations

import hashlib
import logging
import os
import shlex
import subprocess
from pathlib import Path

from flink_jepsen import _core, paths
from flink_jepsen.nodes.node import Node

log = logging.getLogger("flink_jepsen.systems.cds")

# Dynamic archives (ArchiveClassesAtExit) arrived in Java 13.
DYNAMIC_SINCE = 13
# A dump smaller than this is a JVM killed while writing it (a real one is tens of MB).
MIN_ARCHIVE_BYTES = 1 << 20
# The client compiler only: what a tuned JVM runs with (Flink's, ZooKeeper's).
C1_ONLY = "-XX:TieredStopAtLevel=1"
# The start scripts' helper JVMs: options for a JVM that runs half a second ...
HELPER_OPTIONS = f"{C1_ONLY} -XX:+UseSerialGC"
# ... and the Flink JVM's own (after those): the collector as shipped, the client compiler only.
FLINK_JVM_OPTIONS = f"{C1_ONLY} -XX:-UseSerialGC"
HELPER_CLASS = "org.apache.flink.runtime.util.bash.BashJavaUtils"


def tuned(asked: bool, cluster) -> bool:
    """Whether a system's JVMs get the start-up tuning (archives, C1_ONLY): asked for (`--cds`,
    the default) and on nodes sharing the control machine's disk and cores (local nodes)."""
    return asked and cluster.shared_fs


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
                 cache: Path | None = None, lib_dir: str | None = None) -> None:
        """`lib_dir`: where the Flink JVMs' jars are, for good (None: somewhere a run made, and
        the roles get no archives; the helpers still do)."""
        self.java_home = java_home
        self.enabled = enabled and java_feature(java_home) >= DYNAMIC_SINCE
        self.lib_dir = lib_dir
        self.roles = lib_dir is not None
        identity = "\n".join([os.path.realpath(java_home), _release_text(java_home), release,
                              deployment, f"lib={lib_dir}"])
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
        if not self.roles:
            # The JVM's default archive: not the helpers' one (its jars are not this JVM's).
            base = Path(self.java_home) / "lib" / "server" / "classes.jsa"
            keep = f" -XX:SharedArchiveFile={shlex.quote(str(base))}" if base.is_file() else ""
            return FLINK_JVM_OPTIONS + keep
        archive = self.archive(role)
        if archive.is_file():
            return (f"{FLINK_JVM_OPTIONS} -Xshare:auto "
                    f"-XX:SharedArchiveFile={shlex.quote(str(archive))}")
        # the dump warns of every class it skips, into the process's log: silenced
        return f"{FLINK_JVM_OPTIONS} -XX:+RecordDynamicDumpInfo -Xlog:cds=off"

    @property
    def helper_archive(self) -> Path:
        return self.dir / "helper.jsa"

    @property
    def flink_lib_dir(self) -> str | None:
        """FLINK_LIB_DIR for the Flink JVMs whose archives are kept (None: leave it be)."""
        return self.lib_dir if self.enabled else None

    def helper_env(self, role: str) -> dict[str, str]:
        """The environment for a role's start script: the helper JVMs' options, and their
        archive unless the role is recording (see the module's docstring)."""
        if not self.enabled:
            return {}
        options = HELPER_OPTIONS
        if self.helper_archive.is_file() and not self.wanted(role):
            archive = shlex.quote(str(self.helper_archive))
            options += f" -Xshare:auto -XX:SharedArchiveFile={archive}"
        return {"JDK_JAVA_OPTIONS": options}

    def record_helper(self, flink_home: Path) -> bool:
        """Records the helper JVMs' archive on the control machine, once per release: one
        BashJavaUtils run against the distribution's own configuration, with the classpath the
        scripts give it (the nodes' copies are links to the same files). Returns whether the
        cache has the archive now."""
        if not self.enabled:
            return False
        if self.helper_archive.is_file():
            return True
        helper_jar = flink_home / "bin" / "bash-java-utils.jar"
        dist = sorted((flink_home / "lib").glob("flink-dist*.jar"))
        if not helper_jar.is_file() or not dist:
            return False
        self.dir.mkdir(parents=True, exist_ok=True)
        partial = self.helper_archive.with_name(f".helper.jsa.{os.getpid()}")
        argv = [f"{self.java_home}/bin/java", *HELPER_OPTIONS.split(), "-Xlog:cds=off",
                f"-XX:ArchiveClassesAtExit={partial}", "-classpath", f"{helper_jar}:{dist[0]}",
                HELPER_CLASS, "GET_TM_RESOURCE_PARAMS", "--configDir", str(flink_home / "conf")]
        try:
            subprocess.run(argv, capture_output=True, timeout=120, check=False,
                           env={k: v for k, v in os.environ.items() if k != "JDK_JAVA_OPTIONS"})
            if partial.is_file() and partial.stat().st_size >= MIN_ARCHIVE_BYTES:
                os.replace(partial, self.helper_archive)
                log.info("class-data archive for Flink's helper JVMs recorded: %s",
                         self.helper_archive)
                return True
            log.info("no class-data archive for Flink's helper JVMs (the recording JVM wrote "
                     "none): they start without one")
        except (OSError, subprocess.SubprocessError) as e:
            log.warning("could not record the class-data archive of Flink's helper JVMs: %s", e)
        finally:
            partial.unlink(missing_ok=True)
        return self.helper_archive.is_file()

    def wanted(self, role: str) -> bool:
        """Whether this run records the role's archive (on, and the cache has none)."""
        return self.enabled and self.roles and not self.archive(role).is_file()

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
