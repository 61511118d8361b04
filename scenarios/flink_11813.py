"""FLINK-11813, as a scenario of the general faults and checkers: in application mode, a job that
already FINISHED must not run again when another JobManager takes over; releases before the job
result store (1.15.0) did not record the end where the next leader looks, and ran it again.

    .venv/bin/python scenarios/flink_11813.py --flink-version 1.14.6   # expected: invalid
    .venv/bin/python scenarios/flink_11813.py --flink-version 1.15.4   # expected: valid

Recipe: a standalone application cluster with ZooKeeper HA and two JobManagers, each started
with the job (a bounded allround job, about 30 s of records); the fault schedule waits until a
poll sees the job FINISHED and kills the leading JobManager there (before it can clean up and
shut the cluster down). The finished-once checker judges: the job must finish, and never be seen
scheduled again after it ended. Nothing here names the bug: an Await, a kill, a checker."""

from __future__ import annotations

import argparse
import sys

from flink_jepsen import api
from flink_jepsen.faults.ops import Await, Kill, Sleep

SIGNAL = "KILL"


def leader_dies_as_the_job_finishes(schedule):
    yield Await("FINISHED", timeout=300)
    yield Kill("leader-jm", signal=SIGNAL)
    yield Sleep(600)   # the schedule's time limit ends it; the workload then waits for quiet


def main(argv: list[str] | None = None) -> int:
    global SIGNAL
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--flink-version", default="1.14.6")
    p.add_argument("--store", default="store")
    p.add_argument("--signal", default=SIGNAL, help="the signal for the leader (KILL, TERM)")
    p.add_argument("--time-limit", type=float, default=90.0)
    args = p.parse_args(argv)
    SIGNAL = args.signal
    result = api.standalone_application(
        flink_version=args.flink_version, store=args.store, seed=11813,
        name=f"flink-11813-{args.flink_version}", time_limit=args.time_limit,
        job_recovery_grace_period=120).run(schedule=leader_dies_as_the_job_finishes)
    print(result.verdict)
    print(f"store: {result.store}")
    return {True: 0, False: 1}.get(result.valid, 2)


if __name__ == "__main__":
    sys.exit(main())
