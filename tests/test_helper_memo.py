"""The remembering JAVA_HOME for Flink's start scripts (systems/helper_memo.py), run with the
real JVM and a real Flink distribution's BashJavaUtils on this machine (the control machine as
the node)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from flink_jepsen import _core
from flink_jepsen.nodes.node import Node
from flink_jepsen.systems.cds import HELPER_CLASS
from flink_jepsen.systems.helper_memo import HelperMemo

SYSTEM_JAVA = Path("/usr/lib/jvm/java-17-openjdk-amd64")

pytestmark = pytest.mark.skipif(not (SYSTEM_JAVA / "bin" / "java").exists(),
                                reason="needs the JDK 17")


class HereCluster:
    """The control machine as the node: its shell runs the node's commands."""

    def __init__(self) -> None:
        self.shell = _core.LocalRemote("control")

    def remote(self, _node: Node) -> _core.LocalRemote:
        return self.shell


@pytest.fixture
def flink(tmp_path: Path, fj_home) -> tuple[Path, Path]:
    """A node's copy of the 2.3.0 distribution (links) with its own configuration."""
    from flink_jepsen.systems import dist

    home = dist.resolve(flink_version="2.3.0").home
    copy = tmp_path / "flink"
    subprocess.run(["cp", "-al", f"{home}/.", str(copy)], check=True)
    conf = copy / "conf"
    for f in conf.glob("*.yaml"):
        f.unlink()
    (conf / "config.yaml").write_text("taskmanager.memory.process.size: 1536m\n"
                                      "jobmanager.memory.process.size: 1024m\n")
    return copy, conf


def helper(java: str, copy: Path, *args: str) -> subprocess.CompletedProcess:
    """A BashJavaUtils run as the start scripts make it."""
    dist = sorted((copy / "lib").glob("flink-dist*.jar"))[0]
    return subprocess.run([java, "-classpath", f"{copy}/bin/bash-java-utils.jar:{dist}",
                           HELPER_CLASS, *args, "--configDir", str(copy / "conf")],
                          capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "JDK_JAVA_OPTIONS"})


def test_a_helper_run_is_answered_from_the_memo_until_the_configuration_changes(
        tmp_path, flink) -> None:
    copy, conf = flink
    node = Node("n1", "10.0.0.1", str(tmp_path / "n1"))
    memo = HelperMemo(str(SYSTEM_JAVA))
    java = f"{memo.install(HereCluster(), node)}/bin/java"
    real = helper(str(SYSTEM_JAVA / "bin" / "java"), copy, "GET_TM_RESOURCE_PARAMS")
    first = helper(java, copy, "GET_TM_RESOURCE_PARAMS")
    assert first.returncode == 0 and first.stdout == real.stdout + real.stderr
    assert "-Xmx" in first.stdout
    kept = list(Path(memo.memo(node)).iterdir())
    assert len(kept) == 1
    # The second run is the memo's: what it holds is what comes back (no JVM ran).
    kept[0].write_text("BASH_JAVA_UTILS_EXEC_RESULT:from the memo\n")
    assert helper(java, copy, "GET_TM_RESOURCE_PARAMS").stdout == \
        "BASH_JAVA_UTILS_EXEC_RESULT:from the memo\n"
    # Other arguments, or another configuration, are another key: a real run again.
    jm = helper(java, copy, "GET_JM_RESOURCE_PARAMS")
    assert jm.returncode == 0 and "from the memo" not in jm.stdout
    (conf / "config.yaml").write_text("taskmanager.memory.process.size: 2048m\n"
                                      "jobmanager.memory.process.size: 1024m\n")
    bigger = helper(java, copy, "GET_TM_RESOURCE_PARAMS")
    assert bigger.returncode == 0 and "from the memo" not in bigger.stdout
    assert bigger.stdout != first.stdout
    assert len(list(Path(memo.memo(node)).iterdir())) == 3


def test_a_failed_helper_run_is_not_kept_and_other_runs_are_the_real_jvm(tmp_path,
                                                                         flink) -> None:
    copy, conf = flink
    node = Node("n1", "10.0.0.1", str(tmp_path / "n1"))
    memo = HelperMemo(str(SYSTEM_JAVA))
    home = memo.install(HereCluster(), node)
    (conf / "config.yaml").write_text("jobmanager.memory.process.size: 1g\n")  # TM: no memory
    failed = helper(f"{home}/bin/java", copy, "GET_TM_RESOURCE_PARAMS")
    assert failed.returncode != 0
    assert not list(Path(memo.memo(node)).glob("*")), "a failed run was kept"
    # Not a helper run: the real JVM itself (its own version line, its home's files linked).
    version = subprocess.run([f"{home}/bin/java", "-XshowSettings:properties", "-version"],
                             capture_output=True, text=True)
    assert version.returncode == 0
    assert f"java.home = {SYSTEM_JAVA}" in version.stderr
    assert (Path(home) / "release").resolve() == (SYSTEM_JAVA / "release").resolve()
    assert (Path(home) / "bin" / "jcmd").resolve() == (SYSTEM_JAVA / "bin" / "jcmd").resolve()
    # A second install starts from an empty memo.
    helper(f"{home}/bin/java", copy, "GET_JM_RESOURCE_PARAMS")
    assert list(Path(memo.memo(node)).glob("*"))
    memo.install(HereCluster(), node)
    assert not Path(memo.memo(node)).exists()
