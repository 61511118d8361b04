"""A bounded job (it ends by itself, e.g. the allround job with --max-records): the jobs are
polled as in the availability workload, but what is judged is that each one FINISHES and, once
ended, never runs again (checks/finished_once.py). The stop rule: no poll has seen a job
scheduled or running for QUIET_S."""

from __future__ import annotations

import logging
import time

from flink_jepsen.checks.finished_once import FinishedOnceChecker
from flink_jepsen.workloads import Workload, register
from flink_jepsen.workloads.availability import Availability
from flink_jepsen.workloads.checkpoints import CheckpointWatch

log = logging.getLogger("flink_jepsen.workloads.bounded")


SCHEDULED = {"CREATED", "INITIALIZING", "RUNNING", "RESTARTING", "FAILING", "CANCELLING",
             "RECONCILING"}
# A standby JobManager takes over within the ZooKeeper session timeout the harness configures
# (60 s): a second run of an ended job starts within it, so the quiet wait is longer.
QUIET_S = 75.0


class Bounded(Availability):
    name = "bounded"

    def settle(self, deadline: float) -> None:
        """Until no poll has seen a job scheduled or running for QUIET_S (or the healthy
        duration, if longer): an application cluster closes its REST endpoint with the job, so
        'ended' is the absence of a running job, not a FINISHED seen by a poll."""
        quiet = max(QUIET_S, self.ctx.options.healthy_duration)
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            states = self.poller.last_state().values()
            active = any(s.get("state") in SCHEDULED and not s.get("last_error") for s in states)
            now = time.monotonic()
            if active:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= quiet:
                log.info("no job scheduled or running for %.0f s: stopping", quiet)
                return
            time.sleep(0.5)
        log.warning("a job was still scheduled or running within 1.1 x the grace period "
                    "(%.0f s)", 1.1 * self.ctx.options.job_recovery_grace_period)

    def checkers(self) -> list:
        return [FinishedOnceChecker(self.ctx.jobs)]


register(Workload("bounded", (Bounded, CheckpointWatch),
                  description="a bounded job: does it finish, and only once? (no run after its "
                  "end)"))
