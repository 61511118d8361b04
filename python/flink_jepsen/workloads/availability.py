"""The original's workload: every job polled over REST (the C++ poller records `job-running?`
ops), cancel-jobs cancelling them after 15 s, and the availability checker stepped live as the
stop rule."""

from __future__ import annotations

import logging
import threading
import time

from flink_jepsen import _core
from flink_jepsen.checks.availability import AvailabilityChecker
from flink_jepsen.run.options import CANCEL_AFTER, CANCEL_RETRY_DELAY, CANCEL_TRIES
from flink_jepsen.workloads import Part, Workload, register
from flink_jepsen.workloads.checkpoints import CheckpointWatch

log = logging.getLogger("flink_jepsen.workloads.availability")


class Availability(Part):
    name = "availability"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.poller = None
        self.monitor = None
        self.cancelled = False
        self._stop_discovery = threading.Event()

    def start(self) -> None:
        o, flink = self.ctx.options, self.ctx.flink
        params = o.checker_parameters(self.ctx.jobs)
        self.monitor = _core.AvailabilityMonitor(self.ctx.history, **params)
        self.endpoints = flink.rest_endpoints()
        self.poller = _core.AvailabilityPoller(self.ctx.history, self.endpoints,
                                               interval=1.0 / o.poll_rate, timeout=2.0)
        for j in self.ctx.jobs:
            self.poller.add_job(j)
        leader = flink.leader()
        if leader:
            self.poller.set_preferred(leader)
        self.poller.start()
        threading.Thread(target=self._discover, name="leader-discovery", daemon=True).start()

    def _discover(self) -> None:
        """Once a second: the JobManagers' REST endpoints (they move on YARN) and the leader's,
        which the poller asks first."""
        flink = self.ctx.flink
        while not self._stop_discovery.wait(1.0):
            try:
                eps = flink.rest_endpoints()
                if eps and eps != self.endpoints:
                    self.endpoints = eps
                    self.poller.set_endpoints(eps)
                ep = flink.leader()
                if ep:
                    self.poller.set_preferred(ep)
            except Exception as e:  # noqa: BLE001 - discovery is best effort
                log.debug("leader discovery: %s", e)

    def tick(self, elapsed: float) -> None:
        if self.ctx.options.client_gen == "cancel-jobs" and not self.cancelled and \
                elapsed >= CANCEL_AFTER:
            self.cancel_jobs()

    def stop(self) -> None:
        if self.ctx.options.client_gen == "cancel-jobs" and not self.cancelled:
            self.cancel_jobs()

    def cancel_jobs(self) -> None:
        """cancel-jobs, as the original's client did it: each job's cancel is retried until it
        succeeds, up to CANCEL_TRIES times. Every attempt is an op in the history; a job whose
        cancel never succeeded is not excused from any check, and the checker says so."""
        self.cancelled = True
        for j in self.ctx.jobs:
            for attempt in range(1, CANCEL_TRIES + 1):
                done = self.poller.cancel_job(j)
                if done.get("type") == "ok":
                    log.info("cancelled job %s (attempt %d)", j, attempt)
                    break
                log.warning("cancel of job %s, attempt %d of %d: %s %s", j, attempt,
                            CANCEL_TRIES, done.get("type"), done.get("error", ""))
                if attempt < CANCEL_TRIES:
                    time.sleep(CANCEL_RETRY_DELAY)

    def settle(self, deadline: float) -> None:
        """The original's stop rule, decided by the availability model itself: every job
        settled (running; after a successful cancel, answered and not running) for the healthy
        duration, counted only from polls invoked after the heal."""
        o = self.ctx.options
        self.monitor.observe_from(self.ctx.history.now_ns())
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("jobs not settled for %.0f s within 1.1 x the grace period (%.0f s)",
                            o.healthy_duration, 1.1 * o.job_recovery_grace_period)
                return
            # Short waits keep Ctrl-C responsive; the wait itself wakes on the deciding poll.
            if self.monitor.wait_settled(o.healthy_duration, min(left, 0.5)):
                log.info("every job settled for %.0f s after the heal: stopping",
                         o.healthy_duration)
                return

    def close(self) -> None:
        self._stop_discovery.set()
        if self.poller is not None:
            self.poller.stop()
        if self.monitor is not None:
            self.monitor.detach(self.ctx.history)

    def checkers(self) -> list:
        return [AvailabilityChecker(self.ctx.options.checker_parameters(self.ctx.jobs))]

    def status(self) -> str:
        if self.poller is None:
            return ""
        state = self.poller.last_state()
        return "jobs=[" + " ".join(
            f"{j[:8]}:{'unreachable' if s.get('last_error') else s.get('state') or 'unknown'}"
            for j, s in state.items()) + "]"


register(Workload("availability", (Availability, CheckpointWatch),
                  description="are the jobs running? (the original's), and did their "
                  "checkpoints outlive every change of leader?"))
