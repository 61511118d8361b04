"""Test specs: the original project's EDN specs are read unchanged; YAML says the same; bad specs
name what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from flink_jepsen.errors import UsageError
from flink_jepsen.run import edn
from flink_jepsen.run import spec as testspec

ORIGINAL = """{:dbs          [:hadoop :zookeeper :flink-yarn-session]
 :jobs         [{:job-jar    "FlinkJobs.jar"
                 :job-args   "--parameter1 arg1 --parmeter2 arg2"
                 :main-class "org.apache.flink.streaming.tests.Job1"}

                 {:job-jar    "FlinkJobs.jar"
                  :job-args   "--parameter1 arg1 --parmeter2 arg2"
                  :main-class "org.apache.flink.streaming.tests.Job2"}]

 :flink-config {:jobmanager.execution.failover-strategy "region"}}
"""


def test_the_originals_complete_example_is_read_unchanged(tmp_path: Path) -> None:
    (tmp_path / "FlinkJobs.jar").write_bytes(b"PK")
    spec_file = tmp_path / "spec.edn"
    spec_file.write_text(ORIGINAL)
    spec = testspec.load(spec_file)
    assert spec.dbs == ("hadoop", "zookeeper", "flink-yarn-session")
    assert [j.main_class for j in spec.jobs] == ["org.apache.flink.streaming.tests.Job1",
                                                 "org.apache.flink.streaming.tests.Job2"]
    assert spec.jobs[0].args == ("--parameter1", "arg1", "--parmeter2", "arg2")
    assert spec.jobs[0].jar == str(tmp_path / "FlinkJobs.jar")
    assert spec.flink_config == {"jobmanager.execution.failover-strategy": "region"}


def test_yaml_says_the_same(tmp_path: Path) -> None:
    (tmp_path / "FlinkJobs.jar").write_bytes(b"PK")
    (tmp_path / "spec.edn").write_text(ORIGINAL)
    (tmp_path / "spec.yaml").write_text("""
dbs: [hadoop, zookeeper, flink-yarn-session]
jobs:
  - {job-jar: FlinkJobs.jar, job-args: "--parameter1 arg1 --parmeter2 arg2",
     main-class: org.apache.flink.streaming.tests.Job1}
  - {job-jar: FlinkJobs.jar, job-args: "--parameter1 arg1 --parmeter2 arg2",
     main-class: org.apache.flink.streaming.tests.Job2}
flink-config: {jobmanager.execution.failover-strategy: region}
""")
    a = testspec.load(tmp_path / "spec.edn")
    b = testspec.load(tmp_path / "spec.yaml")
    assert (a.dbs, a.jobs, a.flink_config) == (b.dbs, b.jobs, b.flink_config)


@pytest.mark.parametrize(("text", "needle"), [
    ('{:dbs [:zookeeper :flink-standalone-session] :jobs [{:job-jar "missing.jar"}]}',
     "missing.jar does not exist"),
    ("{:dbs [:mesos] :jobs []}", "Flink removed Mesos support in 1.14"),
    ('{:dbs [:cassandra] :jobs [{:job-jar "builtin:allround"}]}', "unknown db 'cassandra'"),
    ('{:dbs [:zookeeper] :jobs [{:job-jar "builtin:nope"}]}', "unknown builtin job 'nope'"),
    ('{:dbs [:zookeeper] :jobs [{:job-jar "builtin:allround"}] :color :red}', "unknown key"),
    ("{:dbs [:zookeeper] :jobs [{:job-jar", "not valid EDN"),
    ("{:dbs [:zookeeper :flink-standalone-session] :jobs []}", ":jobs is empty"),
])
def test_bad_specs_name_the_problem(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "bad.edn"
    f.write_text(text)
    with pytest.raises(UsageError, match=needle):
        testspec.load(f)


def test_default_spec_runs_the_builtin_job() -> None:
    spec = testspec.default()
    assert "flink-standalone-session" in spec.dbs and "zookeeper" in spec.dbs
    assert spec.jobs[0].builtin == "allround"
    assert spec.jobs[0].main_class == "org.flinkjepsen.jobs.AllroundJob"


def test_edn_reader_covers_the_forms_specs_use() -> None:
    value = edn.loads('{:a [1 -2 3.5 "s\\"q" nil true false] :b #{:x} :c (1 2) #_ :gone '
                      ':d {:e.f/g "h"} ; comment\n :i 7N}')
    assert value == {"a": [1, -2, 3.5, 's"q', None, True, False], "b": ["x"], "c": [1, 2],
                     "d": {"e.f/g": "h"}, "i": 7}
    with pytest.raises(edn.EdnError, match="line 2"):
        edn.loads("{:a\n ]")
