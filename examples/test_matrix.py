"""An example test matrix with the flink-jepsen pytest plugin: every combination of deployment
mode and fault schedule is a real run on the local nodes (as root), or on real hosts with
--fj-nodes. A run that is not valid fails its test with the anomalies and the run's directory.

    pytest examples/test_matrix.py                            # Flink 2.3.0 on local nodes
    pytest examples/test_matrix.py --fj-flink-version 1.20.5 -k standalone
    pytest -n 2 examples/test_matrix.py    # pytest-xdist: two clusters side by side, each
                                           # worker on local nodes of its own (fjw0, fjw1)
    pytest examples/test_matrix.py --fj-nodes h1,h2,h3,h4,h5 \\
           --fj-ssh-private-key ~/.ssh/id_ed25519 --fj-ha-storage-dir hdfs:///flink/ha

Defaults may live in pytest.ini or pyproject.toml ([tool.pytest.ini_options]):
`fj_flink_version = 1.20.5`; the command line beats them, a test's parameters beat both.
"""

import pytest

NEMESES = ["kill-task-managers", "kill-job-managers", "partition-random-halves"]
MODES = ["standalone-session", "yarn-session"]


@pytest.mark.flink_jepsen
@pytest.mark.parametrize("nemesis", NEMESES)
@pytest.mark.parametrize("mode", MODES)
def test_jobs_stay_available(flink_jepsen, mode, nemesis):
    flink_jepsen.run(template=mode, nemesis_gen=nemesis, time_limit=60)


@pytest.mark.flink_jepsen
@pytest.mark.parametrize("nemesis", ["kill-task-managers", "kill-kafka-broker"])
def test_every_record_exactly_once(flink_jepsen, nemesis):
    result = flink_jepsen.run(template="exactly-once", nemesis_gen=nemesis, time_limit=60)
    assert result.exactly_once["lost"]["count"] == 0
