"""Controls: runs whose verdict is known before they start. A planted failure (a negative
control) must end "Analysis invalid!" with its anomaly named; a healthy Flink under faults it
survives (a healthy control) must end "Everything looks good!". A harness whose controls do not
come out as expected cannot be trusted with a verdict on a Flink it does not know.

    bin/run-controls.sh [--cheap] [--runs N] [--only NAME,...] [--store DIR]

prints scenario, expected, got and the anomalies of every run, and exits 1 on any mismatch."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from flink_jepsen import _core
from flink_jepsen.faults.schedules import Schedule, register_schedule
from flink_jepsen.run.options import TestOptions

PLANTED_GRACE = 60.0  # the smallest grace period the original allows: planted runs end sooner


@dataclass
class Outcome:
    scenario: str
    expected: bool
    anomaly: str | None
    got: bool | str
    anomalies: list[str]
    store: str
    seconds: float

    @property
    def ok(self) -> bool:
        if self.got != self.expected:
            return False
        return self.anomaly is None or self.anomaly in self.anomalies

    def line(self) -> str:
        def name(v: bool | str) -> str:
            return {True: "valid", False: "invalid"}.get(v, "unknown")  # type: ignore[arg-type]

        want = name(self.expected) + (f" ({self.anomaly})" if self.anomaly else "")
        found = ",".join(sorted(set(self.anomalies))) or "-"
        return (f"{self.scenario:34} expected {want:34} got {name(self.got):8} "
                f"{'ok' if self.ok else 'MISMATCH':8} {self.seconds:6.0f} s  anomalies {found}  "
                f"{self.store}")


@dataclass
class Control:
    name: str
    expected: bool
    anomaly: str | None   # the anomaly type the verdict must name (planted failures)
    cheap: bool           # run in CI
    run: Callable[[Path], tuple[bool | str, list[str], str]]
    what: str


def _types(results: dict) -> list[str]:
    return [a.get("type", "?") for a in results.get("anomalies") or []]


def _cluster_run(options: TestOptions, after_heal=None) -> tuple[bool | str, list[str], str]:
    from flink_jepsen.run.runner import TestRun

    r = TestRun(options, after_heal=after_heal).run()
    return r.valid, _types(r.results), str(r.store)


# ---- planted failures ------------------------------------------------------------------------

class _PartlyRunningFlink(BaseHTTPRequestHandler):
    """Flink's GET /jobs/<id> as a test double: the job and both its vertices say RUNNING, but
    one vertex runs only one of its two subtasks."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        job = self.path.rsplit("/", 1)[-1]
        vertices = [{"id": "source", "name": "source", "parallelism": 2, "status": "RUNNING",
                     "tasks": {"RUNNING": 2}},
                    {"id": "sink", "name": "sink", "parallelism": 2, "status": "RUNNING",
                     "tasks": {"RUNNING": 1, "DEPLOYING": 1}}]
        body = json.dumps({"jid": job, "state": "RUNNING", "vertices": vertices}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def subtasks_partly_running(store: Path) -> tuple[bool | str, list[str], str]:
    """The poller and checker against the REST double for 3 s; the grace period and healthy
    duration are scaled down to 1 s (the checker's rule is the same)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PartlyRunningFlink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = store / "control-subtasks-partly-running" / time.strftime("%Y%m%dT%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    job = "0123456789abcdef0123456789abcdef"
    try:
        history = _core.HistoryRecorder(str(out / "history.jsonl"), False)
        poller = _core.AvailabilityPoller(history, [f"127.0.0.1:{server.server_port}"],
                                          interval=0.1, timeout=2.0)
        poller.add_job(job)
        poller.start()
        time.sleep(3.0)
        poller.stop()
        history.close()
    finally:
        server.shutdown()
        server.server_close()
    results = _core.check_availability(str(out / "history.jsonl"), grace_period_s=1.0,
                                       healthy_duration_s=1.0, jobs=[job])
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return results["valid?"], _types(results), str(out)


def jobmanagers_gone_after_cancel(base: TestOptions) -> Callable[[Path], tuple]:
    """cancel-jobs, then the JobManagers killed with nobody to restart them: after the cancel
    a failed poll is still "Cluster is not running." once the grace period has passed."""
    return lambda store: _cluster_run(_with(base, store, nemesis_gen="kill-job-managers",
                                            client_gen="cancel-jobs", supervision=False,
                                            job_recovery_grace_period=PLANTED_GRACE,
                                            time_limit=10, name="control-jms-gone-after-cancel"))


def failure_after_heal(base: TestOptions) -> Callable[[Path], tuple]:
    """No faults, and every TaskManager stopped for good at the moment of the heal: only a
    stop rule that observes after the heal sees the job go down."""
    def stop_task_managers(run) -> None:
        tms = run.nemesis.processes["task-manager"]
        tms.stop(tms.nodes())

    return lambda store: _cluster_run(_with(base, store, nemesis_gen="utopia",
                                            job_recovery_grace_period=PLANTED_GRACE,
                                            name="control-failure-after-heal"),
                                      after_heal=stop_task_managers)


DOWNTIME_SCHEDULE = "control-downtime-between-faults"


def _downtime_between_faults(s: Schedule) -> None:
    """Kill every TaskManager (nothing restarts them), leave the job down for 25 s longer than
    the grace period, bring them back unannounced, then kill and bring them back once more: a
    grace period counted from the last fault of the run would excuse the first outage."""
    nemesis = s.nemesis
    tms = nemesis.nodes("task-manager")
    start = lambda: nemesis.processes["task-manager"].start(tms)  # noqa: E731
    if not s.sleep(5):
        return
    nemesis.kill_task_managers("kill-task-managers", tms)
    if not s.sleep(PLANTED_GRACE + 25):
        return
    start()
    if not s.sleep(25):
        return
    nemesis.kill_task_managers("kill-task-managers", tms)
    s.sleep(1)
    start()


def downtime_between_faults(base: TestOptions) -> Callable[[Path], tuple]:
    register_schedule(DOWNTIME_SCHEDULE, _downtime_between_faults)
    return lambda store: _cluster_run(_with(base, store, nemesis_gen=DOWNTIME_SCHEDULE,
                                            supervision=False, time_limit=200,
                                            job_recovery_grace_period=PLANTED_GRACE,
                                            name="control-downtime-between-faults"))


# ---- healthy controls ------------------------------------------------------------------------

def healthy(base: TestOptions, nemesis_gen: str) -> Callable[[Path], tuple]:
    return lambda store: _cluster_run(_with(base, store, nemesis_gen=nemesis_gen,
                                            name=f"control-healthy-{nemesis_gen}"))


def _with(base: TestOptions, store: Path, **changes) -> TestOptions:
    import dataclasses

    return dataclasses.replace(base, store=str(store), **changes)


def controls(base: TestOptions) -> list[Control]:
    return [
        Control("subtasks-partly-running", False, "job-not-running", True,
                subtasks_partly_running, "REST double: a vertex RUNNING with 1 of 2 subtasks"),
        Control("failure-after-heal", False, "job-not-running", True, failure_after_heal(base),
                "utopia; every TaskManager stopped for good at the heal"),
        Control("jobmanagers-gone-after-cancel", False, "cluster-not-running", False,
                jobmanagers_gone_after_cancel(base),
                "cancel-jobs + kill-job-managers, no supervision"),
        Control("downtime-between-faults", False, "job-not-running", False,
                downtime_between_faults(base),
                "two kills 110 s apart, the job down 85 s after the first (grace 60 s)"),
        Control("healthy-utopia", True, None, False, healthy(base, "utopia"),
                "default Flink, no faults"),
        Control("healthy-kill-task-managers", True, None, False,
                healthy(base, "kill-task-managers"), "default Flink, TaskManagers killed"),
    ]


def run_controls(selected: list[Control], store: Path, runs: int,
                 report: Callable[[str], None] = print) -> list[Outcome]:
    out: list[Outcome] = []
    for c in selected:
        for _ in range(runs if c.expected is True else 1):
            started = time.monotonic()
            got, anomalies, where = c.run(store)
            o = Outcome(c.name, c.expected, c.anomaly, got, anomalies, where,
                        time.monotonic() - started)
            report(o.line())
            out.append(o)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="run-controls",
                                description="Controls: runs whose verdict is known before "
                                "they start; exits 1 on any mismatch.")
    p.add_argument("--cheap", action="store_true", help="only the controls CI runs")
    p.add_argument("--runs", type=int, default=1, help="runs of each healthy control")
    p.add_argument("--only", default="", help="comma-separated control names")
    p.add_argument("--store", default="", help="store directory (default: a temporary one)")
    p.add_argument("--flink-version", default=None)
    args = p.parse_args(argv)
    from flink_jepsen import log as fjlog

    fjlog.setup("warn")
    base = TestOptions() if args.flink_version is None else TestOptions(
        flink_version=args.flink_version)
    every = controls(base)
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - {c.name for c in every})
    if unknown:
        p.error(f"unknown control(s) {', '.join(unknown)}; known: "
                f"{', '.join(c.name for c in every)}")
    selected = [c for c in every if (not names or c.name in names) and (c.cheap or not
                                                                        args.cheap)]
    store = Path(args.store) if args.store else Path(tempfile.mkdtemp(prefix="fj-controls-"))
    for c in selected:
        print(f"# {c.name}: {c.what}", flush=True)
    outcomes = run_controls(selected, store, args.runs, lambda line: print(line, flush=True))
    bad = [o for o in outcomes if not o.ok]
    print(f"{len(outcomes) - len(bad)} passed, {len(bad)} failed")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
