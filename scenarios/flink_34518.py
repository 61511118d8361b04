"""FLINK-34518, as a scenario of the general faults and checkers: with the adaptive scheduler, a
JobManager that loses its leadership while the job is restarting must hand the job to the next
leader; affected releases instead end it CANCELED and delete its checkpoints, so the next leader
runs it from an empty state. Reported fixed in 1.19.0.

    .venv/bin/python scenarios/flink_34518.py --flink-version 1.18.1   # expected: invalid
    .venv/bin/python scenarios/flink_34518.py --flink-version 1.19.0   # expected: valid

Recipe (the issue's): the adaptive scheduler and a 30 s restart delay (the spec), the
TaskManagers killed so that the job restarts (one TaskManager may hold none of its tasks); as
soon as a poll sees the job RESTARTING, the leading JobManager is cut from ZooKeeper (both
ways). Its connection is suspended within seconds, so it loses its leadership inside the
restart delay; the cut heals after --hold s (20: before the 60 s session expires, so the old
leader can reach ZooKeeper again for its clean-up; a cut past the session timeout leaves the HA
data behind). The checkpoint-continuity checker sees the lost checkpoints (ids that start
again). Nothing here names the bug: a kill, an Await, a partition between roles, the general
checkers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flink_jepsen import api
from flink_jepsen.faults.ops import Await, Kill, Partition, Sleep

HERE = Path(__file__).resolve().parent
SPEC = HERE.parent / "test-specs" / "adaptive-scheduler-slow-restart.edn"


HOLD = 20.0   # shorter than the 60 s ZooKeeper session timeout (--hold changes it)


def leader_loses_zookeeper_while_restarting(schedule):
    yield Sleep(20)                                   # the job runs
    yield Kill("task-managers")                       # it restarts, 30 s until the next attempt
    yield Await("RESTARTING", timeout=30)
    yield Partition("between", hold=HOLD,
                    params={"from": "leader-jm", "to": "zookeepers"})


def main(argv: list[str] | None = None) -> int:
    global HOLD
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--flink-version", default="1.18.1")
    p.add_argument("--store", default="store")
    p.add_argument("--hold", type=float, default=HOLD,
                   help="seconds the leader stays cut from ZooKeeper")
    args = p.parse_args(argv)
    HOLD = args.hold
    result = api.standalone_session(
        test_spec=str(SPEC), flink_version=args.flink_version, store=args.store,
        name=f"flink-34518-{args.flink_version}-hold{int(args.hold)}", time_limit=150, seed=34518,
        job_recovery_grace_period=180).run(schedule=leader_loses_zookeeper_while_restarting)
    print(result.verdict)
    print(f"store: {result.store}")
    return {True: 0, False: 1}.get(result.valid, 2)


if __name__ == "__main__":
    sys.exit(main())
