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


def test_a_clock_fault_moves_a_faked_process_clock_and_the_heal_puts_it_back(tmp_path) -> None:
    from pathlib import Path

    from flink_jepsen.analysis.events import clock_offsets
    from flink_jepsen.analysis.load import read_history_frame

    if not Path(_core.FAKETIME_LIBRARY).exists():
        pytest.skip("libfaketime is not installed (bin/install.sh installs it)")

    class Clocked(OneNode):
        @staticmethod
        def clock_file(node, system):
            return str(tmp_path / "clock" / system)

    (tmp_path / "clock").mkdir()
    (tmp_path / "clock" / "flink").write_text("+0\n")
    history = _core.HistoryRecorder(str(tmp_path / "h.jsonl"), True)
    n = Nemesis(Clocked(), {"task-manager": Process(lambda: [NODE], ("x",), system="flink")},
                history, 1)  # type: ignore[arg-type]

    def faked_now() -> float:
        env = {"LD_PRELOAD": _core.FAKETIME_LIBRARY, "FAKETIME_DONT_FAKE_MONOTONIC": "1",
               "FAKETIME_TIMESTAMP_FILE": str(tmp_path / "clock" / "flink"),
               "PATH": "/usr/bin:/bin"}
        return float(subprocess.run(["date", "+%s.%N"], env=env, capture_output=True, text=True,
                                    check=True).stdout) - time.time()

    assert abs(faked_now()) < 1
    n.clock("clock-skew", "task-manager", [NODE], -120.5)
    assert faked_now() == pytest.approx(-120.5, abs=1)        # the process sees it moved
    n.heal_all()                                              # reset to true time
    assert abs(faked_now()) < 1
    history.flush()
    frame, _ = read_history_frame(tmp_path / "h.jsonl")
    offsets = clock_offsets(frame)
    assert list(offsets["offset_s"]) == [0.0, -120.5, -120.5, 0.0]
    assert set(offsets["node"]) == {"control"}
    ops = history.ops()
    assert [o["f"] for o in ops] == ["start-clock-skew"] * 2 + ["stop-clock-skew"] * 2
    assert ops[0]["value"]["offset"] == -120.5 and ops[3]["value"]["offset"] == 0.0
    # A process started without libfaketime has no clock file: the fault is a fail, says why.
    n2 = Nemesis(Clocked(), {"job-manager": Process(lambda: [NODE], ("x",), system="zk")},
                 history, 1)  # type: ignore[arg-type]
    out = n2.clock("clock-skew", "job-manager", [NODE], 5)
    assert "not started under libfaketime" in out["error"] and n2.faults == 0
