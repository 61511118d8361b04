"""Watches the jobs' checkpoints: once a second, each job's latest completed and restored
checkpoint ids from the leading JobManager's REST API (`/jobs/<id>/checkpoints`), recorded as
`checkpoints` ops for the checkpoint-continuity checker. Once a second is enough: a wiped HA
store shows as ids that start again, and they stay low for as long as the job runs."""

from __future__ import annotations

import logging
import threading

from flink_jepsen.checks.checkpoints import CheckpointChecker
from flink_jepsen.workloads import Part

log = logging.getLogger("flink_jepsen.workloads.checkpoints")

PROCESS_BASE = 500   # history process numbers of the watcher (the poller's are 0, 1, ...)
INTERVAL_S = 1.0


def _id(entry: object) -> int | None:
    return entry.get("id") if isinstance(entry, dict) and isinstance(entry.get("id"), int) \
        else None


class CheckpointWatch(Part):
    name = "checkpoints"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="checkpoint-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        flink, history = self.ctx.flink, self.ctx.history
        while not self._stop.wait(INTERVAL_S):
            client = getattr(flink, "client", None)
            ep = flink.leader() if client is not None else None
            for i, job in enumerate(list(self.ctx.jobs)):
                process = PROCESS_BASE + i
                history.record(process, "invoke", "checkpoints", job)
                if ep is None:
                    history.record(process, "fail", "checkpoints", {"job": job},
                                   {"error": "no leader"})
                    continue
                try:
                    latest = client.get(ep, f"/jobs/{job}/checkpoints", timeout=3).get(
                        "latest") or {}
                except Exception as e:  # noqa: BLE001 - a failed read is an op, not a crash
                    history.record(process, "fail", "checkpoints", {"job": job, "endpoint": ep},
                                   {"error": str(e)[:200]})
                    continue
                history.record(process, "ok", "checkpoints", {
                    "job": job, "endpoint": ep, "completed": _id(latest.get("completed")),
                    "restored": _id(latest.get("restored"))})

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def checkers(self) -> list:
        return [CheckpointChecker(self.ctx.jobs)]
