"""Faults on real local nodes, each shown by its effect: a paused process answers nothing and
answers again once resumed; a one-way cut blocks one direction only; a lossy link drops about the
asked share; a skewed JobManager reports a moved clock. Runs of the default scenario under the
combined nemesis and under a schedule written in Python (every fault kind) end with a verdict,
and their faults are in the history."""

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


# Counts UDP datagrams until the sender has been quiet for a second; prints the count.
RECEIVER = ("python3 -c 'import socket,sys\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind((sys.argv[1],7612))\n"
            "s.settimeout(1.5); n=0\n"
            "try:\n while True: s.recv(64); n+=1\n"
            "except socket.timeout: print(n)' {host}")
SENDER = ("python3 -c 'import socket,sys,time\n"
          "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
          "for i in range({count}):\n"
          " try: s.sendto(b\"x\",(sys.argv[1],7612))\n"
          " except PermissionError: pass\n"
          " time.sleep(0.0003)' {host}")


def delivered(remotes, src, dst, count: int) -> int:
    """How many of `count` datagrams from src reach dst (real packets between two nodes)."""
    import threading

    got: list[str] = []
    t = threading.Thread(target=lambda: got.append(
        remotes[dst.name].exec(RECEIVER.format(host=dst.address), timeout=60).out))
    t.start()
    # Sent only once the receiver is bound (ss lists the socket).
    remotes[dst.name].check("for i in $(seq 200); do ss -Hnlu 'sport = :7612' | grep -q . && "
                            "exit 0; sleep 0.05; done; exit 1", timeout=30)
    remotes[src.name].check(SENDER.format(count=count, host=dst.address), timeout=60)
    t.join(30)
    return int(got[0].strip())


def test_a_one_way_cut_blocks_one_direction_and_a_lossy_link_drops_its_share(local_nodes,
                                                                             tmp_path) -> None:
    from flink_jepsen.faults.ops import Partition, shape_of

    nodes = local_nodes.nodes()
    remotes = local_nodes.remotes("netns")
    n1, n2, n3 = nodes[0], nodes[1], nodes[2]
    history = _core.HistoryRecorder(str(tmp_path / "h.jsonl"), True)
    n = Nemesis(Cluster(nodes, remotes, True), {}, history, 1)
    n.setup()
    try:
        assert delivered(remotes, n1, n2, 300) == 300
        # n2 stops hearing n1; n1 still hears n2, and n3 is untouched.
        n.start_partition("partition-one-way", shape_of(n, Partition(
            "one-way", 5, {"from": n1.name, "to": n2.name})))
        assert delivered(remotes, n1, n2, 300) == 0
        assert delivered(remotes, n2, n1, 300) == 300
        assert delivered(remotes, n3, n2, 300) == 300
        n.stop_partition("partition-one-way")
        assert delivered(remotes, n1, n2, 300) == 300
        # 30% loss on n1's links, both ways: about 1400 of 2000 (sd ~20) arrive.
        out = n.packets("packet-n1", [n1], {"loss": 0.3})
        assert not out.get("error"), out
        assert abs(delivered(remotes, n2, n1, 2000) - 1400) < 120
        assert abs(delivered(remotes, n1, n3, 2000) - 1400) < 120
        assert delivered(remotes, n2, n3, 300) == 300            # other links untouched
        n.heal_all()
        assert delivered(remotes, n2, n1, 300) == 300
        infos = [o["f"] for o in history.ops() if o["type"] == "info"]
        assert infos == ["start-partition-one-way", "stop-partition-one-way",
                         "start-packet-n1", "stop-packet-n1"]
    finally:
        n.heal_all()
        n.teardown()


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


def test_a_schedule_written_in_python_runs_every_fault_kind_with_a_users_checker(
        local_nodes, tmp_path) -> None:
    import time
    import urllib.request

    from flink_jepsen import api
    from flink_jepsen.checks import OpsChecker
    from flink_jepsen.faults.ops import Clock, Kill, Packet, Partition, Pause, Sleep

    seen_skew: list[float] = []

    def jm_clock_offset(schedule) -> float:
        """The leading JobManager's clock as its REST API reports it ("now"), minus ours."""
        node = schedule.nemesis.cluster.node(schedule.nemesis.leader())
        base = f"http://{node.address}:8081"
        with urllib.request.urlopen(f"{base}/jobs", timeout=5) as r:
            job = json.load(r)["jobs"][0]["id"]
        with urllib.request.urlopen(f"{base}/jobs/{job}", timeout=5) as r:
            now = json.load(r)["now"] / 1000
        return now - time.time()

    def every_fault(schedule):
        yield Pause("leader-jm", hold=8)
        yield Sleep(2)
        yield Partition("one-way", hold=6, params={"from": "zookeepers", "to": "leader-jm"})
        yield Packet("one:task-manager", hold=6, loss=0.3, duplicate=0.2)
        yield Clock("leader-jm", offset=-300)           # a jump: it stays
        yield Sleep(3)                                  # libfaketime rereads within a second
        seen_skew.append(jm_clock_offset(schedule))
        yield Clock("leader-jm", offset=0)
        yield Kill("one:task-manager")

    class PausesResumed(OpsChecker):
        name = "pauses-resumed"

        def check_ops(self, ops):
            started = [o for o in ops if o["f"] == "start-pause-leader-jm" and o["type"] == "info"]
            stopped = [o for o in ops if o["f"] == "stop-pause-leader-jm" and o["type"] == "info"]
            ok = bool(started) and len(started) == len(stopped)
            return {"valid?": ok, "anomalies": [] if ok else [
                {"type": "pause-not-resumed", "ops": [o["index"] for o in started]}]}

    result = api.standalone_session(store=str(tmp_path / "store"), time_limit=60, seed=4,
                                    faketime=True, job_recovery_grace_period=90).run(
        schedule=every_fault, checkers=[PausesResumed()])
    assert result.valid in (True, False), result.error
    assert result.results["checks"]["pauses-resumed"]["valid?"] is True
    assert result.results["nemesis-gen"] == "python-every_fault"
    faults = faults_of(result.store)
    for kind in ("start-pause-leader-jm", "start-partition-one-way",
                 "start-packet-one-task-manager", "start-clock-jump-leader-jm",
                 "kill-one-task-manager"):
        assert kind in faults, (kind, faults)
    assert seen_skew and abs(seen_skew[0] + 300) < 5, seen_skew   # the JobManager's clock moved
    report = (result.store / "report.html")
    if report.exists():
        text = report.read_text()
        assert "start-clock-jump" in text or "clock-jump" in text


def test_nodes_faults_says_what_the_nodes_can_do(local_nodes) -> None:
    from conftest import cli

    r = cli("nodes", "faults", "--json")
    assert r.returncode == 0, r.stderr
    caps = json.loads(r.stdout)
    assert sorted(caps) == [n.name for n in local_nodes.nodes()]
    for node in caps.values():
        assert node["kill"] and node["partition"] and node["packet-loss"]
        assert node["clock"] == Path(_core.FAKETIME_LIBRARY).exists()
    text = cli("nodes", "faults").stdout
    if not any(c["packet-delay"] for c in caps.values()):   # tc netem is absent here
        assert "no node can do packet-delay: no tc netem qdisc" in text
