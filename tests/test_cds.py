"""Class-data archives: which JVM options a Flink process gets, and how a recorded archive
reaches the cache (only whole, only once, never from an earlier run's leftovers)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from flink_jepsen.nodes.node import Node
from flink_jepsen.systems import zookeeper
from flink_jepsen.systems.cds import (
    C1_ONLY,
    FLINK_JVM_OPTIONS,
    HELPER_CLASS,
    MIN_ARCHIVE_BYTES,
    ClassArchives,
    java_feature,
    tuned,
)

SYSTEM_JAVA = Path("/usr/lib/jvm/java-17-openjdk-amd64")
LIB = "/var/lib/flink-jepsen/cache/flink/x/home/lib"  # where the Flink JVMs' jars are for good


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
                             lib_dir=LIB,
                             cache=tmp_path / "cache")
    assert archives.wanted("jobmanager")
    assert archives.flink_lib_dir == LIB
    assert "-XX:+RecordDynamicDumpInfo" in archives.jvm_args("jobmanager")

    dumped = Path(ClassArchives.recording(node, "jobmanager"))
    dumped.parent.mkdir(parents=True)
    dumped.write_bytes(b"\0" * MIN_ARCHIVE_BYTES)
    assert archives.harvest(HostPaths(), node, "jobmanager")
    assert not dumped.exists()
    kept = archives.archive("jobmanager")
    assert kept.stat().st_size == MIN_ARCHIVE_BYTES
    assert not archives.wanted("jobmanager")
    assert archives.jvm_args("jobmanager") == (f"{FLINK_JVM_OPTIONS} -Xshare:auto "
                                               f"-XX:SharedArchiveFile={kept}")
    # the other role records its own
    assert "RecordDynamicDumpInfo" in archives.jvm_args("taskmanager")


def test_a_torn_dump_or_a_second_one_is_not_kept(tmp_path) -> None:
    node = Node("n1", "10.0.0.1", str(tmp_path / "n1"))
    archives = ClassArchives(jdk(tmp_path, "17.0.15"), "2.3.0 abc", "FlinkStandalone",
                             lib_dir=LIB,
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


@pytest.mark.parametrize("change", ["release", "deployment", "jdk", "jars"])
def test_archives_are_kept_apart_by_release_deployment_jvm_and_jars(tmp_path, change) -> None:
    java = jdk(tmp_path, "17.0.15")
    base = ClassArchives(java, "2.3.0 abc", "FlinkStandalone", cache=tmp_path, lib_dir=LIB)
    other = ClassArchives(jdk(tmp_path, "17.0.16") if change == "jdk" else java,
                          "1.20.5 def" if change == "release" else "2.3.0 abc",
                          "FlinkApplication" if change == "deployment" else "FlinkStandalone",
                          cache=tmp_path, lib_dir="/elsewhere/lib" if change == "jars" else LIB)
    assert base.dir != other.dir


def test_jars_at_a_path_of_the_run_mean_no_archive_for_the_roles(tmp_path) -> None:
    """An archive names its jars by path: the roles of a cluster whose jars sit where a run made
    them record nothing and map the JVM's default archive; the helpers keep their tuning."""
    archives = ClassArchives(jdk(tmp_path, "17.0.15"), "2.3.0 abc", "FlinkApplication",
                             cache=tmp_path / "cache")
    assert not archives.roles and not archives.wanted("jobmanager")
    assert archives.flink_lib_dir is None  # the run's own lib/ stays
    args = archives.jvm_args("jobmanager")
    assert args.startswith(FLINK_JVM_OPTIONS)
    assert "RecordDynamicDumpInfo" not in args and str(archives.dir) not in args
    archives.dir.mkdir(parents=True)
    archives.helper_archive.write_bytes(b"x" * MIN_ARCHIVE_BYTES)
    assert str(archives.helper_archive) in archives.helper_env("jobmanager")["JDK_JAVA_OPTIONS"]


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




@pytest.mark.skipif(not (SYSTEM_JAVA / "bin" / "jcmd").exists(), reason="needs the JDK 17")
def test_a_live_jvm_dumps_an_archive_a_later_jvm_maps(tmp_path) -> None:
    """The recording path end to end on a real JVM: started with the recording options in its
    own process group (as a daemon is), asked through the pidfile to dump, the dump kept, and a
    new JVM that insists on sharing (-Xshare:on) starts from it."""
    node = Node("n1", "10.0.0.1", str(tmp_path / "n1"))
    (tmp_path / "n1" / "tmp").mkdir(parents=True)
    archives = ClassArchives(str(SYSTEM_JAVA), "test", "Sleeper", cache=tmp_path / "cache",
                             lib_dir=LIB)
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


def flags(env: dict[str, str], *args: str) -> dict[str, str]:
    """The final values of the JVM flags a `java` with this environment and these options runs
    with."""
    out = subprocess.run([str(SYSTEM_JAVA / "bin" / "java"), *args, "-XX:+PrintFlagsFinal",
                          "-version"], capture_output=True, text=True, check=True,
                         env={**os.environ, **env}).stdout
    values = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[2] == "=":
            values[parts[1]] = parts[3]
    return values


def test_helper_archive_is_left_out_while_a_role_records(tmp_path) -> None:
    archives = ClassArchives(jdk(tmp_path, "17.0.15"), "2.3.0 abc", "FlinkStandalone",
                             lib_dir=LIB,
                             cache=tmp_path / "cache")
    archives.dir.mkdir(parents=True)
    archives.helper_archive.write_bytes(b"x" * MIN_ARCHIVE_BYTES)
    recording = archives.helper_env("jobmanager")["JDK_JAVA_OPTIONS"]
    assert "SharedArchiveFile" not in recording and "TieredStopAtLevel=1" in recording
    archives.archive("jobmanager").write_bytes(b"x" * MIN_ARCHIVE_BYTES)
    mapped = archives.helper_env("jobmanager")["JDK_JAVA_OPTIONS"]
    assert f"SharedArchiveFile={archives.helper_archive}" in mapped
    off = ClassArchives(jdk(tmp_path, "17.0.16"), "2.3.0 abc", "FlinkStandalone",
                        enabled=False, cache=tmp_path / "cache")
    assert off.helper_env("jobmanager") == {}


@pytest.mark.skipif(not (SYSTEM_JAVA / "bin" / "java").exists(), reason="needs the JDK 17")
def test_helper_jvms_get_their_options_and_the_flink_jvm_its_collector_back(tmp_path) -> None:
    """What the start scripts' JVMs run with: the helpers (the environment only) with the
    client compiler and the serial collector; the Flink JVM (JVM_ARGS after it) with the
    collector it would have had, and the client compiler."""
    archives = ClassArchives(str(SYSTEM_JAVA), "test", "Flink", cache=tmp_path / "cache",
                             lib_dir=LIB)
    env = archives.helper_env("jobmanager")
    helper = flags(env)
    assert helper["TieredStopAtLevel"] == "1" and helper["UseSerialGC"] == "true"
    plain = flags({})
    assert plain["TieredStopAtLevel"] == "4"
    flink = flags(env, *archives.jvm_args("jobmanager").split())
    for flag in ("UseSerialGC", "UseG1GC", "UseParallelGC"):
        assert flink[flag] == plain[flag], flag
    assert flink["TieredStopAtLevel"] == "1"
    # TaskManagers get -XX:+UseG1GC from Flink's script, after ours: one collector still.
    tm = flags(env, *archives.jvm_args("taskmanager").split(), "-XX:+UseG1GC")
    assert tm["UseG1GC"] == "true" and tm["UseSerialGC"] == "false"


@pytest.mark.skipif(not (SYSTEM_JAVA / "bin" / "java").exists(), reason="needs the JDK 17")
def test_helper_archive_is_recorded_once_and_maps_into_a_nodes_copy(tmp_path, fj_home) -> None:
    """The archive recorded from the cached distribution is taken (-Xshare:on fails otherwise)
    by a helper JVM running from another directory of links to it, as a node's is."""
    from flink_jepsen.systems import dist

    home = dist.resolve(flink_version="2.3.0").home
    archives = ClassArchives(str(SYSTEM_JAVA), "test", "Flink", cache=tmp_path / "cache",
                             lib_dir=LIB)
    assert archives.record_helper(home)
    recorded = archives.helper_archive.stat().st_mtime_ns
    assert archives.record_helper(home)  # once: the second call keeps the first archive
    assert archives.helper_archive.stat().st_mtime_ns == recorded
    copy = tmp_path / "node" / "flink"
    copy.parent.mkdir()
    subprocess.run(["cp", "-al", f"{home}/.", str(copy)], check=True)
    dist = sorted((copy / "lib").glob("flink-dist*.jar"))[0]
    for role in ("jobmanager", "taskmanager"):
        archives.archive(role).write_bytes(b"x" * MIN_ARCHIVE_BYTES)  # not a recording run
    env = archives.helper_env("taskmanager")
    run = subprocess.run([str(SYSTEM_JAVA / "bin" / "java"), "-Xshare:on", "-classpath",
                          f"{copy}/bin/bash-java-utils.jar:{dist}", HELPER_CLASS,
                          "GET_TM_RESOURCE_PARAMS", "--configDir", str(copy / "conf")],
                         capture_output=True, text=True, env={**os.environ, **env})
    assert run.returncode == 0, run.stderr + run.stdout
    assert "BASH_JAVA_UTILS_EXEC_RESULT:" in run.stdout
    # Without the recording the same JVM could not insist on sharing that archive.
    archives.helper_archive.unlink()
    archives.helper_archive.write_bytes(b"not an archive" * 100000)
    broken = subprocess.run([str(SYSTEM_JAVA / "bin" / "java"), "-Xshare:on", "-classpath",
                             f"{copy}/bin/bash-java-utils.jar:{dist}", HELPER_CLASS,
                             "GET_TM_RESOURCE_PARAMS", "--configDir", str(copy / "conf")],
                            capture_output=True, text=True,
                            env={**os.environ, **archives.helper_env("taskmanager")})
    assert broken.returncode != 0


def test_start_up_tuning_is_for_local_nodes_when_asked_and_zookeeper_follows_it(tmp_path) -> None:
    local, hosts = SimpleNamespace(shared_fs=True), SimpleNamespace(shared_fs=False)
    assert tuned(True, local)
    assert not tuned(False, local) and not tuned(True, hosts) and not tuned(False, hosts)
    nodes = [Node(f"n{i}", f"10.0.0.{i}", str(tmp_path / f"n{i}")) for i in (1, 2, 3)]
    for shared_fs in (True, False):
        cluster = SimpleNamespace(shared_fs=shared_fs, nodes=nodes)
        d = SimpleNamespace(cluster=cluster, options=SimpleNamespace(cds=True))
        command = zookeeper.make(d).command(nodes[0])
        assert (C1_ONLY in command) == shared_fs, command
