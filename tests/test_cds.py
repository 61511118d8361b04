"""Class-data archives: which JVM options a Flink process gets, and how a recorded archive
reaches the cache (only whole, only once, never from an earlier run's leftovers)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from flink_jepsen.nodes.node import Node
from flink_jepsen.systems.cds import MIN_ARCHIVE_BYTES, ClassArchives, java_feature


class HostPaths:
    """A local node's remote as far as harvest needs it: node paths are host paths."""

    def host_path(self, path: str) -> str:
        return path


def jdk(tmp_path: Path, version: str) -> str:
    home = tmp_path / f"jdk-{version}"
    home.mkdir()
    (home / "release").write_text(f'IMPLEMENTOR="x"\nJAVA_VERSION="{version}"\n')
    return str(home)


def test_the_feature_release_is_read_from_the_jdk(tmp_path) -> None:
    assert java_feature(jdk(tmp_path, "17.0.15")) == 17
    assert java_feature(jdk(tmp_path, "11.0.13")) == 11
    assert java_feature(jdk(tmp_path, "1.8.0_392")) == 8
    assert java_feature(str(tmp_path / "nowhere")) == 0


def test_a_first_run_records_and_a_later_run_maps(tmp_path) -> None:
    node = Node("n1", "10.0.0.1", str(tmp_path / "n1"))
    archives = ClassArchives(jdk(tmp_path, "17.0.15"), "2.3.0 abc", "FlinkStandalone",
                             cache=tmp_path / "cache")
    assert archives.wanted("jobmanager")
    assert "-XX:+RecordDynamicDumpInfo" in archives.jvm_args("jobmanager")

    dumped = Path(ClassArchives.recording(node, "jobmanager"))
    dumped.parent.mkdir(parents=True)
    dumped.write_bytes(b"\0" * MIN_ARCHIVE_BYTES)
    assert archives.harvest(HostPaths(), node, "jobmanager")
    assert not dumped.exists()
    kept = archives.archive("jobmanager")
    assert kept.stat().st_size == MIN_ARCHIVE_BYTES
    assert not archives.wanted("jobmanager")
    assert archives.jvm_args("jobmanager") == f"-Xshare:auto -XX:SharedArchiveFile={kept}"
    # the other role records its own
    assert "RecordDynamicDumpInfo" in archives.jvm_args("taskmanager")


def test_a_torn_dump_or_a_second_one_is_not_kept(tmp_path) -> None:
    node = Node("n1", "10.0.0.1", str(tmp_path / "n1"))
    archives = ClassArchives(jdk(tmp_path, "17.0.15"), "2.3.0 abc", "FlinkStandalone",
                             cache=tmp_path / "cache")
    dumped = Path(ClassArchives.recording(node, "taskmanager"))
    dumped.parent.mkdir(parents=True)
    dumped.write_bytes(b"\0" * 100)  # a JVM killed while it wrote
    assert not archives.harvest(HostPaths(), node, "taskmanager")
    assert not archives.archive("taskmanager").exists() and not dumped.exists()

    archives.dir.mkdir(parents=True)
    archives.archive("taskmanager").write_bytes(b"first")
    dumped.write_bytes(b"\1" * MIN_ARCHIVE_BYTES)
    assert not archives.harvest(HostPaths(), node, "taskmanager")
    assert archives.archive("taskmanager").read_bytes() == b"first"


@pytest.mark.parametrize("change", ["release", "deployment", "jdk"])
def test_archives_are_kept_apart_by_release_deployment_and_jvm(tmp_path, change) -> None:
    java = jdk(tmp_path, "17.0.15")
    base = ClassArchives(java, "2.3.0 abc", "FlinkStandalone", cache=tmp_path)
    other = ClassArchives(jdk(tmp_path, "17.0.16") if change == "jdk" else java,
                          "1.20.5 def" if change == "release" else "2.3.0 abc",
                          "FlinkApplication" if change == "deployment" else "FlinkStandalone",
                          cache=tmp_path)
    assert base.dir != other.dir


def test_java_11_and_off_mean_no_options_and_nothing_kept(tmp_path) -> None:
    node = Node("n1", "10.0.0.1", str(tmp_path / "n1"))
    for archives in (ClassArchives(jdk(tmp_path, "11.0.13"), "1.14.6 x", "FlinkStandalone",
                                   cache=tmp_path / "c"),
                     ClassArchives(jdk(tmp_path, "17.0.15"), "2.3.0 x", "FlinkStandalone",
                                   enabled=False, cache=tmp_path / "c")):
        assert archives.jvm_args("jobmanager") == "" and not archives.wanted("jobmanager")
        dumped = Path(ClassArchives.recording(node, "jobmanager"))
        dumped.parent.mkdir(parents=True, exist_ok=True)
        dumped.write_bytes(b"\0" * MIN_ARCHIVE_BYTES)
        assert not archives.harvest(HostPaths(), node, "jobmanager")


SYSTEM_JAVA = Path("/usr/lib/jvm/java-17-openjdk-amd64")


@pytest.mark.skipif(not (SYSTEM_JAVA / "bin" / "jcmd").exists(), reason="needs the JDK 17")
def test_a_live_jvm_dumps_an_archive_a_later_jvm_maps(tmp_path) -> None:
    """The recording path end to end on a real JVM: started with the recording options in its
    own process group (as a daemon is), asked through the pidfile to dump, the dump kept, and a
    new JVM that insists on sharing (-Xshare:on) starts from it."""
    node = Node("n1", "10.0.0.1", str(tmp_path / "n1"))
    (tmp_path / "n1" / "tmp").mkdir(parents=True)
    archives = ClassArchives(str(SYSTEM_JAVA), "test", "Sleeper", cache=tmp_path / "cache")
    src = tmp_path / "Sleep.java"
    src.write_text("public class Sleep { public static void main(String[] a) throws Exception "
                   "{ System.out.println(\"up\"); Thread.sleep(60000); } }")
    java = str(SYSTEM_JAVA / "bin" / "java")
    proc = subprocess.Popen([java, *archives.jvm_args("role").split(), str(src)],
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
        pidfile = tmp_path / "role.pid"
        pidfile.write_text(f"{proc.pid}\n")
        subprocess.run(["bash", "-c", archives.dump_command(node, "role", str(pidfile))],
                       check=True, timeout=120)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert archives.harvest(HostPaths(), node, "role")
    mapped = subprocess.run([java, *archives.jvm_args("role").split(), "-Xshare:on",
                             "-version"], capture_output=True, text=True)
    assert mapped.returncode == 0, mapped.stderr
    assert "sharing" in mapped.stderr
