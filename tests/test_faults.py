"""The nemesis carries faults out through the core and records what they hit: real processes on
this machine (the control machine is a node here: LocalRemote), no doubles."""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest

from flink_jepsen import _core
from flink_jepsen.faults.nemesis import Nemesis
from flink_jepsen.nodes.node import Node
from flink_jepsen.systems.base import Process

NODE = Node("control", "127.0.0.1", "/tmp/fj-control")


class OneNode:
    nodes = [NODE]
    remotes = {"control": _core.LocalRemote("control")}
    addresses = {"control": "127.0.0.1"}


def marker_process(marker: str) -> subprocess.Popen:
    return subprocess.Popen(["bash", "-c", f"exec -a {marker} sleep 600"])


def nemesis(tmp_path, processes: dict[str, Process]) -> tuple[Nemesis, object]:
    history = _core.HistoryRecorder(str(tmp_path / "h.jsonl"), True)
    return Nemesis(OneNode(), processes, history, 1), history  # type: ignore[arg-type]


def test_a_kill_hits_the_declared_processes_and_records_their_pids(tmp_path) -> None:
    marker = f"fjtest-{uuid.uuid4().hex[:10]}"
    proc = marker_process(marker)
    other = marker_process(f"fjother-{uuid.uuid4().hex[:10]}")
    try:
        time.sleep(0.2)
        n, history = nemesis(tmp_path, {"task-manager": Process(lambda: [NODE], (marker,))})
        n.kill_task_managers("kill-task-managers", [NODE])
        assert proc.wait(timeout=5) == -9            # SIGKILL delivered
        assert other.poll() is None                  # a process not declared survives
        n.kill_task_managers("kill-task-managers", [NODE])  # nothing left to hit
        ops = history.ops()
        assert [(o["type"], o["f"]) for o in ops] == [
            ("invoke", "kill-task-managers"), ("info", "kill-task-managers"),
            ("invoke", "kill-task-managers"), ("fail", "kill-task-managers")]
        assert ops[1]["value"]["killed"] == {"control": [proc.pid]}
        assert ops[3]["error"] == "the kill matched no process"
        assert n.faults == 1
        checked = _core.check_availability(ops)
        assert len(checked["faults"]) == 1 and len(checked["ineffective_faults"]) == 1
    finally:
        for p in (proc, other):
            p.kill()
            p.wait()


def test_a_process_stopped_on_purpose_is_started_again_at_the_heal(tmp_path) -> None:
    calls = []
    p = Process(lambda: [NODE], ("nothing",), stop=lambda nodes: calls.append("stop"),
                start=lambda nodes: calls.append("start"))
    n, history = nemesis(tmp_path, {"namenode": p})
    n.stop_process("fail-name-node", "namenode", [NODE])
    n.heal_all()
    assert calls == ["stop", "start"]
    assert [(o["type"], o["f"]) for o in history.ops()] == [
        ("invoke", "start-fail-name-node"), ("info", "start-fail-name-node"),
        ("invoke", "stop-fail-name-node"), ("info", "stop-fail-name-node")]
    with pytest.raises(RuntimeError, match="no system of this run has kafka-broker"):
        n.nodes("kafka-broker")


def test_a_fault_that_throws_is_not_a_fault_and_a_failed_restart_ends_the_run(tmp_path) -> None:
    def broken(nodes):
        raise RuntimeError("n3 unreachable")

    p = Process(lambda: [NODE], ("nothing",), stop=broken, start=broken)
    n, history = nemesis(tmp_path, {"namenode": p})
    n.stop_process("fail-name-node", "namenode", [NODE])
    assert n.faults == 0
    with pytest.raises(RuntimeError, match="n3 unreachable"):
        n.restart_process("fail-name-node")
    assert [(o["type"], o.get("error")) for o in history.ops() if o["type"] != "invoke"] == [
        ("fail", "n3 unreachable"), ("fail", "n3 unreachable")]


def proc_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_a_paused_process_is_stopped_until_resumed_or_healed(tmp_path) -> None:
    marker = f"fjpause-{uuid.uuid4().hex[:10]}"
    proc = marker_process(marker)
    try:
        time.sleep(0.2)
        n, history = nemesis(tmp_path, {"job-manager": Process(lambda: [NODE], (marker,))})
        n.pause("pause-leader-jm", "job-manager", [NODE])
        time.sleep(0.1)
        assert proc_state(proc.pid) == "T"          # stopped: answers nothing
        n.resume("pause-leader-jm")
        time.sleep(0.1)
        assert proc_state(proc.pid) == "S"          # running (sleeping) again
        n.pause("pause-leader-jm", "job-manager", [NODE])
        n.heal_all()                                # the heal resumes what is still paused
        time.sleep(0.1)
        assert proc_state(proc.pid) == "S"
        fs = [(o["type"], o["f"]) for o in history.ops() if o["type"] != "invoke"]
        assert fs == [("info", "start-pause-leader-jm"), ("info", "stop-pause-leader-jm")] * 2
        assert history.ops()[1]["value"]["signalled"] == {"control": [proc.pid]}
        checked = _core.check_availability(history.ops())
        assert [f["kind"] for f in checked["faults"]] == ["pause-leader-jm"] * 2
    finally:
        proc.kill()
        proc.wait()


def test_target_sizes_follow_jepsen() -> None:
    import random

    from flink_jepsen.faults.targets import pick

    nodes = [Node(f"n{i}", f"10.0.0.{i}", f"/x/{i}") for i in range(1, 6)]
    rng = random.Random(3)
    assert [len(pick(s, nodes, rng)) for s in ("one", "minority", "majority", "all")] == \
        [1, 2, 3, 5]
    assert [len(pick(s, nodes[:3], rng)) for s in ("one", "minority", "majority", "all")] == \
        [1, 1, 2, 3]
    with pytest.raises(ValueError, match="target size 'most' is unknown"):
        pick("most", nodes, rng)
