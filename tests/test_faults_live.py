"""Faults on real local nodes, each shown by its effect: a paused process answers nothing and
answers again once resumed; runs of the default scenario under the combined nemesis and under a
schedule written in Python end with a verdict, and their faults are in the history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flink_jepsen import _core
from flink_jepsen.faults.nemesis import Nemesis
from flink_jepsen.nodes.cluster import Cluster
from flink_jepsen.run.options import TestOptions
from flink_jepsen.run.runner import TestRun
from flink_jepsen.systems.base import Process

pytestmark = pytest.mark.integration
PORT = 7611
# Answers "ok" to every connection: a stopped process still has its socket, so the kernel
# completes the handshake, but nothing is said.
ECHO = ("python3 -c 'import socket,sys\n"
        "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64)\n"
        "while True:\n c,_=s.accept(); c.sendall(b\"ok\"); c.close()' {host} {port} fjecho-{port}")


def answers(remote, host: str) -> bool:
    r = remote.exec(f"timeout 2 bash -c 'exec 3<>/dev/tcp/{host}/{PORT}; head -c 2 <&3'",
                    timeout=15)
    return r.out.strip() == "ok"


def test_a_paused_process_answers_nothing_until_resumed(local_nodes, tmp_path) -> None:
    nodes = local_nodes.nodes()
    remotes = local_nodes.remotes("netns")
    n1, n2 = nodes[0], nodes[1]
    _core.start_daemon(remotes[n1.name], ECHO.format(host=n1.address, port=PORT),
                       pidfile=n1.path("run", "echo.pid"), logfile=n1.path("log", "echo.log"))
    try:
        for _ in range(50):
            if answers(remotes[n2.name], n1.address):
                break
        assert answers(remotes[n2.name], n1.address)
        history = _core.HistoryRecorder(str(tmp_path / "h.jsonl"), True)
        cluster = Cluster(nodes, remotes, True)
        n = Nemesis(cluster, {"echo": Process(lambda: [n1], (f"fjecho-{PORT}",))}, history, 1)
        n.pause("pause-echo", "echo", [n1])
        assert not answers(remotes[n2.name], n1.address)
        n.resume("pause-echo")
        assert answers(remotes[n2.name], n1.address)
        ops = [o for o in history.ops() if o["type"] != "invoke"]
        assert [(o["type"], o["f"]) for o in ops] == [("info", "start-pause-echo"),
                                                      ("info", "stop-pause-echo")]
        assert len(ops[0]["value"]["signalled"][n1.name]) == 1
    finally:
        _core.stop_daemon(remotes[n1.name], n1.path("run", "echo.pid"), 2.0)


def faults_of(run_dir: Path) -> list[str]:
    ops = [json.loads(x) for x in (run_dir / "history.jsonl").read_text().splitlines()]
    return [o["f"] for o in ops if o["process"] == "nemesis" and o["type"] == "info"]


def test_the_default_scenario_under_the_combined_nemesis_ends_with_a_verdict(local_nodes,
                                                                            tmp_path) -> None:
    result = TestRun(TestOptions(store=str(tmp_path / "store"), nemesis="pause,partition",
                                 fault_duration=8, nemesis_interval=3, time_limit=40, seed=11,
                                 job_recovery_grace_period=90)).run()
    assert result.valid in (True, False), result.error
    faults = faults_of(result.store)
    assert any(f.startswith("start-pause-") for f in faults), faults
    assert any(f.startswith("start-partition-") for f in faults), faults
    assert not any(f.startswith("kill") for f in faults)
    assert result.results["nemesis"] == ["pause", "partition"]


def test_a_schedule_written_in_python_runs_with_a_users_checker(local_nodes, tmp_path) -> None:
    from flink_jepsen import api
    from flink_jepsen.checks import OpsChecker
    from flink_jepsen.faults.ops import Partition, Pause, Sleep

    def zombie_leader(schedule):
        while True:
            yield Pause("leader-jm", hold=15)
            yield Sleep(2)
            yield Partition("components", hold=8,
                            params={"components": ["majority:zookeeper", "rest"]})

    class PausesResumed(OpsChecker):
        name = "pauses-resumed"

        def check_ops(self, ops):
            started = [o for o in ops if o["f"] == "start-pause-leader-jm" and o["type"] == "info"]
            stopped = [o for o in ops if o["f"] == "stop-pause-leader-jm" and o["type"] == "info"]
            ok = bool(started) and len(started) == len(stopped)
            return {"valid?": ok, "anomalies": [] if ok else [
                {"type": "pause-not-resumed", "ops": [o["index"] for o in started]}]}

    result = api.standalone_session(store=str(tmp_path / "store"), time_limit=30, seed=4,
                                    job_recovery_grace_period=90).run(
        schedule=zombie_leader, checkers=[PausesResumed()])
    assert result.valid in (True, False), result.error
    assert result.results["checks"]["pauses-resumed"]["valid?"] is True
    assert result.results["nemesis-gen"] == "python-zombie_leader"
    faults = faults_of(result.store)
    assert "start-pause-leader-jm" in faults and "start-partition-components" in faults
