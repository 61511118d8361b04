"""Fault schedules: their timing and the partitions they ask for, against a recording nemesis
(the real one is exercised on real clusters in test_flink.py)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import pytest

from flink_jepsen import _core
from flink_jepsen.faults import schedules as nem
from flink_jepsen.nodes.node import Node

NODES = [Node(f"n{i}", f"10.0.0.{10 + i}", f"/x/n{i}") for i in range(1, 6)]


@dataclass
class FakeCluster:
    nodes: list = field(default_factory=lambda: NODES)


class RecordingNemesis:
    """Records what a schedule asks for, with the time it asked."""

    def __init__(self, leader: str = "n2") -> None:
        self.rng = random.Random(1)
        self.cluster = FakeCluster()
        self.where = {"job-manager": NODES[:2], "task-manager": NODES[2:],
                      "zookeeper": NODES[:3]}
        self.leader = lambda: leader
        self.calls: list[tuple[float, str, object]] = []
        self.t0 = time.monotonic()

    def _log(self, what: str, arg: object) -> None:
        self.calls.append((time.monotonic() - self.t0, what, arg))

    def kill_task_managers(self, kind, nodes):
        self._log(kind, [n.name for n in nodes])

    def kill_job_managers(self):
        self._log("kill-job-managers", None)

    def nodes(self, process):
        if process not in self.where:
            raise RuntimeError(f"no system of this run has {process} processes")
        return self.where[process]

    def start_partition(self, kind, shape):
        self._log(f"start-{kind}", grudge_of(shape))

    def stop_partition(self, kind):
        self._log(f"stop-{kind}", None)


def grudge_of(shape: dict) -> dict:
    """The grudge the core computes from a schedule's shape, with the core's own functions."""
    names = [n.name for n in NODES]
    if shape["shape"] == "one":
        components = _core.split_one(shape["nodes"], shape["loner"])
    elif shape["shape"] == "random-halves":
        components = _core.random_halves(shape["nodes"], shape["seed"])
    else:
        components = shape["components"]
    assert sorted(n for c in components for n in c) == sorted(names), shape
    return _core.complete_grudge(components)


def run(name: str, time_limit: float, n: RecordingNemesis, wait: float) -> nem.Schedule:
    s = nem.Schedule(name, n, time_limit)  # type: ignore[arg-type]
    s.start()
    s.thread.join(wait)
    return s


def test_kill_schedules_stay_within_the_time_limit_and_pick_their_targets() -> None:
    for name, check in [
        ("kill-task-managers", lambda nodes: nodes == ["n3", "n4", "n5"]),
        ("kill-single-task-manager", lambda nodes: len(nodes) == 1 and nodes[0] in "n3n4n5"),
        ("kill-random-task-managers", lambda nodes: 1 <= len(nodes) <= 3),
    ]:
        n = RecordingNemesis()
        s = run(name, 5.0, n, 7)
        assert s.done() and s.error is None
        assert n.calls, f"{name} injected nothing in 5 s"
        assert all(t < 5.0 + 0.5 for t, _, _ in n.calls)
        assert all(check(arg) for _, _, arg in n.calls), (name, n.calls)
        gaps = [b[0] - a[0] for a, b in zip(n.calls, n.calls[1:])]
        assert all(g <= 6.5 for g in gaps), gaps  # stagger: 0 to 2 x 3 s


def test_partition_schedules_alternate_start_and_stop(monkeypatch) -> None:
    monkeypatch.setattr(nem, "PARTITION_HOLD", 0.2)
    monkeypatch.setattr(nem, "PARTITION_GAP", 0.1)
    n = RecordingNemesis(leader="n2")
    run("partition-leader-jm", 2.0, n, 5)
    kinds = [what for _, what, _ in n.calls]
    assert kinds and kinds[0] == "start-partition-leader-jm"
    assert kinds == [k for pair in zip(kinds[::2], kinds[1::2]) for k in pair]
    assert all(a.startswith("start-") and b.startswith("stop-")
               for a, b in zip(kinds[::2], kinds[1::2]))
    grudge = n.calls[0][2]
    assert grudge["n2"] == {"n1", "n3", "n4", "n5"} and grudge["n1"] == {"n2"}


def test_zookeeper_majority_cuts_a_majority_of_the_ensemble_off(monkeypatch) -> None:
    monkeypatch.setattr(nem, "PARTITION_HOLD", 0.1)
    monkeypatch.setattr(nem, "PARTITION_GAP", 0.05)
    n = RecordingNemesis()
    run("partition-zookeeper-majority", 1.0, n, 5)
    starts = [arg for _, what, arg in n.calls if what.startswith("start-")]
    assert starts
    for grudge in starts:
        cut_off = [z for z in ("n1", "n2", "n3") if grudge[z] >= {"n4", "n5"}]
        assert len(cut_off) == 2, grudge


def test_kill_job_managers_waits_for_the_submission_grace(monkeypatch) -> None:
    monkeypatch.setattr(nem, "JOB_SUBMIT_GRACE", 1.0)
    n = RecordingNemesis()
    run("kill-job-managers", 1.0, n, 5)
    times = [t for t, what, _ in n.calls if what == "kill-job-managers"]
    assert times and min(times) >= 1.0 and max(times) < 2.5


@pytest.mark.parametrize("name", sorted(nem.SCHEDULES))
def test_every_schedule_stops_promptly_when_asked(name: str, monkeypatch) -> None:
    n = RecordingNemesis()
    s = nem.Schedule(name, n, 600)  # type: ignore[arg-type]
    s.start()
    time.sleep(0.2)
    t = time.monotonic()
    s.stop()
    assert s.done() and time.monotonic() - t < 2.0


# ---- the real Nemesis: see tests/test_faults.py ----------------------------------------------
def test_register_schedule_adds_a_python_schedule_by_name() -> None:
    def mine(s: nem.Schedule) -> None:
        s.nemesis.kill_job_managers()

    nem.register_schedule("test-mine", mine)
    nem.register_schedule("test-quiet", lambda s: None, injects_faults=False)
    try:
        assert nem.SCHEDULES["test-mine"] is mine
        assert nem.expects_faults("test-mine") and not nem.expects_faults("test-quiet")
        assert not nem.expects_faults("utopia")
        with pytest.raises(ValueError, match="letters, digits"):
            nem.register_schedule("bad name!", mine)
    finally:
        for name in ("test-mine", "test-quiet"):
            nem.SCHEDULES.pop(name, None)
            nem.FAULT_FREE.discard(name)
