"""A bounded job (it ends by itself, e.g. the allround job with --max-records): the jobs are
polled as in the availability workload, but what is judged is that each one FINISHES and, once
ended, never runs again (checks/finished_once.py). The stop rule: every job has been seen in a
terminal state and no poll has seen one scheduled again for the healthy duration."""

from __future__ import annotations

import logging
import time

from flink_jepsen import _core
from flink_jepsen.checks.finished_once import FinishedOnceChecker
from flink_jepsen.workloads import Workload, register
from flink_jepsen.workloads.availability import Availability

log = logging.getLogger("flink_jepsen.workloads.bounded")


class Bounded(Availability):
    name = "bounded"

    def settle(self, deadline: float) -> None:
        o = self.ctx.options
        quiet_since: float | None = None
        reruns = -1
        while time.monotonic() < deadline:
            self.ctx.history.flush()
            r = _core.check_finished_once(self.ctx.history_path, self.ctx.jobs, 1)
            jobs = r.get("jobs") or {}
            ended = bool(jobs) and all(j.get("terminal_state") for j in jobs.values())
            again = sum(int(j.get("ran_again") or 0) for j in jobs.values())
            if not ended or again != reruns:
                quiet_since, reruns = (time.monotonic() if ended else None), again
            elif quiet_since is not None and time.monotonic() - quiet_since >= o.healthy_duration:
                log.info("every job ended, none seen again for %.0f s: stopping",
                         o.healthy_duration)
                return
            time.sleep(0.5)
        log.warning("jobs not all ended and quiet within 1.1 x the grace period (%.0f s)",
                    1.1 * o.job_recovery_grace_period)

    def checkers(self) -> list:
        return [FinishedOnceChecker(self.ctx.jobs)]


register(Workload("bounded", (Bounded,), description="a bounded job: does it finish, and only "
                  "once? (no run after its end)"))
