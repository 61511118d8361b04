"""Flink's start-script helper JVMs, run once per answer: a JAVA_HOME whose `java` remembers.

Before each Flink JVM, Flink's start scripts run helper JVMs (BashJavaUtils): in Flink 2 the
configuration is flattened twice (config.sh is sourced by jobmanager.sh and again by
flink-console.sh) and the memory options are computed once. Each is a JVM start, and with every
node's processes on the control machine's cores they were most of the time from `start` to a
Flink JVM (five nodes at once: 7 s of a 16 s start), and again every time a supervisor restarts
a killed process, which is the recovery the test waits for.

Their answer is a function of their arguments (command, classpath, dynamic options) and the
configuration file alone. So the start scripts get a JAVA_HOME of links to the real one whose
`bin/java` (resources/memo-java.sh) keys a BashJavaUtils run on its arguments and the
configuration file's bytes (the real JVM is the install's, fixed for the memo's life), and
replays a successful run's output (standard output and error together, as the scripts read
them) on the next run with that key; anything else, the Flink JVM included, is the real JVM
exec'd. A failed run is not kept. The memo is the node's (tmp/bash-java-utils), emptied at
install: a changed configuration is a new key, never a stale answer. Replayed log lines keep
the time of the run that made them.

Local nodes only, with the rest of the start-up tuning (systems/cds.py): `--no-cds` and hosts
over SSH run the scripts as shipped."""

from __future__ import annotations

import shlex
from importlib import resources

from flink_jepsen.nodes.node import Node


class HelperMemo:
    """The remembering JAVA_HOME of one node, for one real JVM."""

    def __init__(self, java_home: str) -> None:
        self.real = java_home.rstrip("/")

    @staticmethod
    def home(node: Node) -> str:
        """The JAVA_HOME the node's start scripts get."""
        return node.path("opt", "java-memo")

    @staticmethod
    def memo(node: Node) -> str:
        return node.path("tmp", "bash-java-utils")

    def script(self, node: Node) -> str:
        text = resources.files("flink_jepsen").joinpath("resources/memo-java.sh").read_text()
        return (text.replace("@REAL@", shlex.quote(f"{self.real}/bin/java"))
                .replace("@MEMO@", shlex.quote(self.memo(node))))

    def install(self, cluster, node: Node) -> str:
        """Makes the node's remembering JAVA_HOME, with an empty memo, in one round trip;
        returns its path."""
        home, real = shlex.quote(self.home(node)), shlex.quote(self.real)
        java = f"{home}/bin/java"
        cluster.remote(node).check(
            f"rm -rf {home} {shlex.quote(self.memo(node))} && mkdir -p {home}/bin && "
            f"for e in {real}/*; do [ \"${{e##*/}}\" = bin ] || ln -s \"$e\" {home}/; done && "
            f"for e in {real}/bin/*; do [ \"${{e##*/}}\" = java ] || ln -s \"$e\" {home}/bin/; "
            f"done && cat > {java} && chmod +x {java}", stdin=self.script(node), timeout=60)
        return self.home(node)
