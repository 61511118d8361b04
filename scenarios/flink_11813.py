"""FLINK-11813, as a scenario of the general faults and checkers: in application mode, a job that
already FINISHED must not run again when another JobManager takes over; releases before the job
result store (1.15.0) did not record the end where the next leader looks, and ran it again.

    .venv/bin/python scenarios/flink_11813.py --flink-version 1.14.6   # expected: invalid
    .venv/bin/python scenarios/flink_11813.py --flink-version 1.15.0   # expected: valid

Recipe: a standalone application cluster with ZooKeeper HA and two JobManagers, each started
with the job (a bounded allround job, about 30 s of records), job results kept after clean-up
(the spec: job-result-store.delete-on-commit false, what a standby JobManager needs to know of
a job that ended; 1.14 has no job result store). The schedule waits until a poll sees the job
FINISHED and kills the leading JobManager there, before it can clean up; when no poll sees the
end (the REST endpoint closes with it), the leader's own exit is the failover. The
finished-once checker judges: the job must finish, once (polls never see it scheduled after its
end, the JobManagers log one end). Nothing here names the bug: an Await, a kill, a checker."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flink_jepsen import api
from flink_jepsen.faults.ops import Await, Kill, Sleep

SIGNAL = "KILL"
SPEC = Path(__file__).resolve().parent.parent / "test-specs" / "application-keep-job-results.edn"


def leader_dies_as_the_job_finishes(schedule):
    yield Await("FINISHED", timeout=300)
    yield Kill("leader-jm", signal=SIGNAL)
    yield Sleep(600)   # the schedule's time limit ends it; the workload then waits for quiet


def main(argv: list[str] | None = None) -> int:
    global SIGNAL
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--flink-version", default="1.14.6")
    p.add_argument("--test-spec", default=str(SPEC))
    p.add_argument("--store", default="store")
    p.add_argument("--signal", default=SIGNAL, help="the signal for the leader (KILL, TERM)")
    p.add_argument("--time-limit", type=float, default=90.0)
    args = p.parse_args(argv)
    SIGNAL = args.signal
    result = api.standalone_application(
        test_spec=args.test_spec, flink_version=args.flink_version, store=args.store,
        seed=11813,
        name=f"flink-11813-{args.flink_version}", time_limit=args.time_limit,
        job_recovery_grace_period=120).run(schedule=leader_dies_as_the_job_finishes)
    print(result.verdict)
    print(f"store: {result.store}")
    return {True: 0, False: 1}.get(result.valid, 2)


if __name__ == "__main__":
    sys.exit(main())
