"""Fault schedules: their timing and the partitions they ask for, against a recording nemesis
(the real one is exercised on real clusters in test_flink.py)."""

from __future__ import annotations

import json
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
        self.roles = {"leader-jm": ("job-manager", [n for n in NODES if n.name == leader]),
                      "zk-leader": ("zookeeper", NODES[1:2])}
        self.calls: list[tuple[float, str, object]] = []
        self.clocks: dict[str, object] = {}
        self.t0 = time.monotonic()
        from flink_jepsen.systems.base import Process

        def start(_nodes):
            return None

        self.processes = {"job-manager": Process(lambda: NODES[:2], (), restarts=True),
                          "task-manager": Process(lambda: NODES[2:], (), restarts=True),
                          "zookeeper": Process(lambda: NODES[:3], (), start=start)}

    def _log(self, what: str, arg: object) -> None:
        self.calls.append((time.monotonic() - self.t0, what, arg))

    def kill_task_managers(self, kind, nodes):
        self._log(kind, [n.name for n in nodes])

    def kill_job_managers(self):
        self._log("kill-job-managers", None)

    def has(self, process):
        return process in self.where

    def target(self, spec):
        if spec in self.roles:
            return self.roles[spec]
        size, _, process = spec.partition(":")
        return process, self.where[process][:1] if size == "one" else self.where[process]

    def kill(self, kind, process, nodes, signal="KILL"):
        self._log(kind, (process, [n.name for n in nodes]))

    def kill_until_restart(self, kind, process, nodes):
        self._log(f"start-{kind}", (process, [n.name for n in nodes]))

    def restart_process(self, kind, value=None):
        self._log(f"stop-{kind}", None)

    def pause(self, kind, process, nodes):
        self._log(f"start-{kind}", (process, [n.name for n in nodes]))

    def resume(self, kind):
        self._log(f"stop-{kind}", None)

    def nodes(self, process):
        if process not in self.where:
            raise RuntimeError(f"no system of this run has {process} processes")
        return self.where[process]

    def start_partition(self, kind, shape):
        self._log(f"start-{kind}", grudge_of(shape))

    def stop_partition(self, kind):
        self._log(f"stop-{kind}", None)

    def packet_capabilities(self):
        return {n.name: ["duplicate", "loss"] for n in NODES}   # no netem, as on this machine

    def packets(self, kind, nodes, fault, peers=None):
        self._log(f"start-{kind}", ([n.name for n in nodes], fault))
        return {}

    def heal_packets(self, kind):
        self._log(f"stop-{kind}", None)

    def clock(self, kind, process, nodes, offset, rate=None):
        self._log(f"start-{kind}", (process, [n.name for n in nodes], offset, rate))
        self.clocks[kind] = nodes
        return {}

    def step_clock(self, kind, offset):
        self._log(f"step-{kind}", offset)

    def reset_clock(self, kind, value=None):
        self.clocks.pop(kind, None)
        self._log(f"stop-{kind}", value)


def grudge_of(shape: dict) -> dict:
    """The grudge the core computes from a schedule's shape (_core.plan_partition is what
    FaultInjector.partition applies)."""
    plan = _core.plan_partition(shape, [n.name for n in NODES])
    return {node: set(peers) for node, peers in plan["grudge"].items()}


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


def test_the_combined_nemesis_mixes_the_listed_packages_and_heals_each(monkeypatch) -> None:
    monkeypatch.setattr(nem, "COMBINED_INTERVAL", 0.02)
    n = RecordingNemesis(leader="n2")
    s = nem.Schedule("combined", n, 3.0, hold=0.05, packages=("pause", "partition"))
    s.start()
    s.thread.join(8)
    assert s.done() and s.error is None, s.error
    kinds = [what for _, what, _ in n.calls]
    assert len(kinds) > 10
    assert not any(k.startswith("kill") for k in kinds)           # only the listed packages
    starts = [k for k in kinds if k.startswith("start-")]
    assert {k.split("-")[1] for k in starts} == {"pause", "partition"}
    for a, b in zip(kinds[::2], kinds[1::2]):                     # each healed before the next
        assert a.startswith("start-") and b == "stop-" + a[len("start-"):], (a, b)
    pauses = [arg for _, what, arg in n.calls if what.startswith("start-pause")]
    assert ("job-manager", ["n2"]) in pauses                        # the leader, by role
    cuts = [arg for _, what, arg in n.calls if what == "start-partition-leader-jm-from-zookeeper"]
    for grudge in cuts:                                            # a cut between roles only
        assert grudge["n2"] == {"n1", "n3"} and grudge["n1"] == {"n2"} and not grudge.get("n4")


def test_the_combined_kill_starts_again_what_no_supervisor_restarts(monkeypatch) -> None:
    # Found by a hunt: the NameNode, killed by the combined mix, stayed dead to the end (no
    # supervisor restarts it), and every JobManager after it failed: a run invalid by
    # construction. Jepsen's kill package starts such a process again after the hold.
    monkeypatch.setattr(nem, "COMBINED_INTERVAL", 0.02)
    monkeypatch.setattr(nem, "PROCESS_TARGETS", ("zk-leader", "one:task-manager",
                                                 "standby-jm"))
    n = RecordingNemesis(leader="n2")
    n.roles["standby-jm"] = ("job-manager", NODES[:1])
    s = nem.Schedule("combined", n, 2.0, hold=0.05, packages=("kill",))
    s.start()
    s.thread.join(8)
    assert s.done() and s.error is None, s.error
    kinds = [what for _, what, _ in n.calls]
    assert "start-kill-zk-leader" in kinds and "kill-one-task-manager" in kinds
    zk = [k for k in kinds if k.endswith("kill-zk-leader")]
    assert zk[::2] == ["start-kill-zk-leader"] * len(zk[::2])       # killed, then started
    assert zk[1::2] == ["stop-kill-zk-leader"] * len(zk[1::2]) and len(zk) % 2 == 0
    assert "start-kill-one-task-manager" not in kinds                # supervised: one kill


def test_a_python_generator_schedule_runs_its_ops_in_order_and_heals_each() -> None:
    from flink_jepsen.faults.ops import Kill, Partition, Pause, Sleep, run_generator

    closed = []

    def zombie_leader(schedule):
        try:
            while True:
                yield Pause("leader-jm", hold=0.05)
                yield Sleep(0.02)
                yield Partition("components", hold=0.05,
                                params={"components": ["majority:zookeeper", "rest"]})
                yield Kill("one:task-manager")
        finally:
            closed.append(True)

    n = RecordingNemesis(leader="n2")
    s = nem.Schedule("python-zombie", n, 0.5)
    s.nemesis = n
    started = time.monotonic()
    run_generator(s, zombie_leader)
    assert time.monotonic() - started < 1.5 and closed == [True]   # closed at the time limit
    kinds = [what for _, what, _ in n.calls]
    assert kinds[:5] == ["start-pause-leader-jm", "stop-pause-leader-jm",
                         "start-partition-components", "stop-partition-components",
                         "kill-one-task-manager"]
    assert n.calls[0][2] == ("job-manager", ["n2"])
    grudge = n.calls[2][2]
    assert grudge["n4"] == {"n1", "n2", "n3"} and grudge["n1"] == {"n4", "n5"}  # zk majority


def test_a_users_checker_is_composed_into_the_verdict(tmp_path) -> None:
    from flink_jepsen.checks import OpsChecker, compose
    from flink_jepsen.checks.availability import AvailabilityChecker

    path = tmp_path / "h.jsonl"
    h = _core.HistoryRecorder(str(path))
    for _ in range(3):
        h.record(0, "invoke", "job-running?", "j1")
        h.record(0, "ok", "job-running?", {"job": "j1", "running": True, "state": "RUNNING"})
    h.record("nemesis", "invoke", "kill-task-managers", None)
    h.record("nemesis", "info", "kill-task-managers", {"killed": {"n3": [1]}})
    h.close()

    class NoKills(OpsChecker):
        name = "no-kills"

        def check_ops(self, ops):
            kills = [o["index"] for o in ops if o["f"].startswith("kill") and o["type"] == "info"]
            return {"valid?": not kills,
                    "anomalies": [{"type": "kill-seen", "ops": kills}] if kills else []}

    params = {"grace_period_s": 60.0, "healthy_duration_s": 0.0, "jobs": ["j1"]}
    results = compose([AvailabilityChecker(params), NoKills()], path)
    assert results["checks"]["availability"]["valid?"] is True
    assert results["checks"]["no-kills"]["valid?"] is False
    assert results["valid?"] is False
    assert results["anomalies"] == [{"type": "kill-seen", "ops": [7], "checker": "no-kills"}]


def test_the_combined_nemesis_carries_packet_and_clock_faults_and_heals_each(monkeypatch) -> None:
    monkeypatch.setattr(nem, "COMBINED_INTERVAL", 0.02)
    n = RecordingNemesis(leader="n2")
    s = nem.Schedule("combined", n, 4.0, hold=1.2, packages=("packet", "clock"))
    s.start()
    s.thread.join(10)
    assert s.done() and s.error is None, s.error
    starts = [(what, arg) for _, what, arg in n.calls if what.startswith("start-")]
    packets = [arg[1] for what, arg in starts if what.startswith("start-packet")]
    clocks = [what for what, _ in starts if what.startswith("start-clock")]
    assert packets and clocks
    # Only what the nodes can do: loss and duplication, never netem's delay or reordering.
    assert all(set(f) <= {"loss", "duplicate"} for f in packets)
    steps = [arg for _, what, arg in n.calls if what.startswith("step-clock-drift")]
    drifts = [arg for what, arg in starts if what.startswith("start-clock-drift")]
    if drifts:   # a drift steps its offset by rate - 1 every second
        assert steps and all(a[3] in nem.CLOCK_RATES for a in drifts)
    jumps = [w for w in clocks if w.startswith("start-clock-jump")]
    kinds = [what for _, what, _ in n.calls if not what.startswith("step-")]
    for w in kinds:                        # every lasting fault but a jump is healed in place
        if w.startswith("start-") and not w.startswith("start-clock-jump"):
            assert "stop-" + w[len("start-"):] in kinds, w
    assert all(w.startswith(("start-clock-skew", "start-clock-jump", "start-clock-drift"))
               for w in clocks), clocks
    assert not jumps or all("stop-" + w[len("start-"):] not in kinds for w in jumps)


def test_generator_packet_clock_and_one_way_ops() -> None:
    from flink_jepsen.faults.ops import Clock, Packet, Partition, run_generator, shape_of

    def schedule(_):
        yield Packet("leader-jm", hold=0.05, loss=0.3)
        yield Clock("one:task-manager", offset=-30, hold=0.05)
        yield Clock("zk-leader", offset=600)             # a jump: stays until the heal
        yield Clock("zk-leader", offset=0)               # ... or until set back
        yield Partition("one-way", hold=0.05, params={"from": "zk-leader", "to": "leader-jm"})

    n = RecordingNemesis(leader="n2")
    n.cluster = FakeCluster()
    s = nem.Schedule("python-x", n, 5.0)
    s.nemesis = n
    run_generator(s, schedule)
    kinds = [(what, arg) for _, what, arg in n.calls]
    assert kinds[0] == ("start-packet-leader-jm", (["n2"], {"loss": 0.3}))
    assert kinds[1] == ("stop-packet-leader-jm", None)
    assert kinds[2] == ("start-clock-skew-one-task-manager", ("task-manager", ["n3"], -30, None))
    assert kinds[3] == ("stop-clock-skew-one-task-manager", None)
    assert kinds[4] == ("start-clock-jump-zk-leader", ("zookeeper", ["n2"], 600, None))
    assert kinds[5] == ("stop-clock-jump-zk-leader", None)
    assert kinds[6][0] == "start-partition-one-way"

    # One-way: the `to` side drops what the `from` side sends, and nothing else.
    n.roles["zookeepers"] = ("zookeeper", NODES[:3])
    shape = shape_of(n, Partition("one-way", 1, {"from": "zookeepers", "to": "leader-jm"}))
    assert shape["shape"] == "grudge" and shape["grudge"] == {"n2": ["n1", "n3"]}
    both = shape_of(n, Partition("between", 1, {"from": "leader-jm", "to": ["n4", "n5"]}))
    assert {k: set(v) for k, v in both["grudge"].items()} == {
        "n4": {"n2"}, "n5": {"n2"}, "n2": {"n4", "n5"}}
    plan = _core.plan_partition(shape, [x.name for x in NODES])
    assert plan["grudge"]["n2"] == ["n1", "n3"] and not plan["grudge"].get("n1")
    with pytest.raises(ValueError, match="needs 'from'"):
        shape_of(n, Partition("one-way", 1, {"to": "leader-jm"}))


def test_await_places_the_next_fault_in_the_state_it_waits_for(tmp_path) -> None:
    from flink_jepsen.faults.ops import Await, Kill, Sleep, run_generator

    path = tmp_path / "h.jsonl"
    n = RecordingNemesis()
    n.history = _core.HistoryRecorder(str(path))
    s = nem.Schedule("python-await", n, 2.0)
    s.nemesis = n
    t0 = time.monotonic()
    # The job restarts 0.6 s in; a second wait for a state that never comes times out.
    s.job_states = lambda: {"j1": "RESTARTING" if time.monotonic() - t0 > 0.6 else "RUNNING"}

    def hit_the_restart(schedule):
        yield Await("RESTARTING", timeout=3)
        yield Kill("leader-jm")
        yield Await(("FINISHED", "FAILED"), timeout=0.3)
        yield Kill("one:task-manager")
        yield Sleep(600)          # cut at the time limit

    run_generator(s, hit_the_restart)
    assert time.monotonic() - t0 < 3.0
    n.history.close()
    kills = [(t, what) for t, what, _ in n.calls]
    assert [what for _, what in kills] == ["kill-leader-jm", "kill-one-task-manager"]
    assert 0.6 <= kills[0][0] < 1.2, kills       # not before the restart, soon after it
    assert kills[1][0] - kills[0][0] >= 0.3       # after the second wait ran out
    waits = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(w["process"], w["f"], w["value"]["state"]) for w in waits] == [
        ("schedule", "await", "RESTARTING"), ("schedule", "await", None)]
    assert waits[0]["value"]["job"] == "j1" and waits[1]["value"]["states"] == ["FINISHED",
                                                                                "FAILED"]
