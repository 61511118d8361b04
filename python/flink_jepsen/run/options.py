"""A test's parameters: one dataclass shared by the CLI, the scripting API and stored runs
(test.json), validated before anything starts."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field

from flink_jepsen import versions
from flink_jepsen.errors import UsageError
from flink_jepsen.nodes.remotes import SshOptions

DEPLOYMENT_MODES = ("standalone-session", "yarn-session", "yarn-application", "yarn-job")
CLIENT_GENS = ("poll-job-running", "cancel-jobs")
WORKLOADS = ("availability", "exactly-once")
ORIGINAL_POLL_INTERVAL = 5.0  # the original polled every 5 s: thresholds are in those polls
CANCEL_AFTER = 15.0           # cancel-jobs: the original cancelled after 15 s of polling
CANCEL_TRIES = 11             # ... one attempt and 10 retries, requiring one to succeed
CANCEL_RETRY_DELAY = 2.0      # seconds between two attempts (the original's retry defaults)
CANCEL_GRACE = 10.0           # a cancelled job still running this long after is an anomaly
FLOAT_OPTIONS = ("job_recovery_grace_period", "time_limit", "poll_rate", "ready_timeout",
                 "nemesis_interval", "producer_rate")


@dataclass
class TestOptions:
    __test__ = False  # not a pytest test class, despite its name
    test_spec: str | None = None
    tarball: str | None = None
    flink_version: str = versions.FLINK_DEFAULT
    deployment_mode: str = "standalone-session"
    ha_storage_dir: str | None = None
    nemesis_gen: str = "kill-task-managers"
    client_gen: str = "poll-job-running"
    job_running_healthy_threshold: int = 5
    job_recovery_grace_period: float = 180.0
    time_limit: float = 60.0
    test_count: int = 1
    nodes: list[str] = field(default_factory=list)   # real hosts (--remote ssh)
    node_count: int = 5                               # local nodes
    remote: str = "netns"
    ssh: SshOptions = field(default_factory=SshOptions)
    node_root: str = "/opt/flink-jepsen"              # a real host's directory for the test
    store: str = "store"
    leave_running: bool = False
    supervision: bool = True
    poll_rate: float = 10.0                           # polls per second per job
    seed: int | None = None
    name: str | None = None
    ready_timeout: float = 180.0                      # how long a system may take to be ready
    nemesis_interval: float | None = None             # mean s between faults (None: schedule's)
    workload: str = "availability"                    # or exactly-once (needs :kafka)
    producer_rate: float = 500.0                      # exactly-once: records per second
    keys: int = 16                                    # exactly-once: distinct record keys

    @property
    def healthy_duration(self) -> float:
        """The original's 'N consecutive running polls', 5 s apart, as a duration."""
        return self.job_running_healthy_threshold * ORIGINAL_POLL_INTERVAL

    @property
    def test_name(self) -> str:
        return self.test_name_for(self.deployment_mode)

    def test_name_for(self, mode: str) -> str:
        """--name, or one made of the deployment mode (the spec's, when it names one), the
        nemesis schedule and any workload other than availability."""
        workload = "" if self.workload == "availability" else f"-{self.workload}"
        raw = self.name or f"flink-{mode}-{self.nemesis_gen}{workload}"
        return re.sub(r"[^A-Za-z0-9._-]", "_", raw).lstrip(".") or "test"

    def validate(self) -> None:
        from flink_jepsen.faults.nemesis import SCHEDULES

        for name in FLOAT_OPTIONS:
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(
                    value, (int, float)) or not math.isfinite(value)):
                raise UsageError(f"--{name.replace('_', '-')} must be a finite number, not "
                                 f"{value!r}")
        for name in ("test_count", "job_running_healthy_threshold", "node_count", "keys"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise UsageError(f"--{name.replace('_', '-')} must be an integer, not {value!r}")

        if self.nemesis_gen not in SCHEDULES:
            raise UsageError(f"--nemesis-gen {self.nemesis_gen!r} is unknown; must be one of: "
                             f"{', '.join(SCHEDULES)}")
        if self.client_gen not in CLIENT_GENS:
            raise UsageError(f"--client-gen {self.client_gen!r} is unknown; must be one of: "
                             f"{', '.join(CLIENT_GENS)}")
        if self.deployment_mode not in DEPLOYMENT_MODES:
            raise UsageError(f"--deployment-mode {self.deployment_mode!r} is unknown; must be "
                             f"one of: {', '.join(DEPLOYMENT_MODES)}")
        if self.job_recovery_grace_period < 60:
            raise UsageError("--job-recovery-grace-period must be at least 60 seconds, not "
                             f"{self.job_recovery_grace_period:g}")
        if self.job_running_healthy_threshold < 1:
            raise UsageError("--job-running-healthy-threshold must be positive")
        if self.time_limit <= 0:
            raise UsageError(f"--time-limit must be positive, not {self.time_limit:g}")
        if self.test_count < 1:
            raise UsageError(f"--test-count must be at least 1, not {self.test_count}")
        if not 0.2 <= self.poll_rate <= 100:
            raise UsageError(f"--poll-rate must be between 0.2 and 100 per second, not "
                             f"{self.poll_rate:g}")
        if self.ready_timeout < 10:
            raise UsageError(f"--ready-timeout must be at least 10 s, not {self.ready_timeout:g}")
        if self.nemesis_interval is not None and not 0.1 <= self.nemesis_interval <= 3600:
            raise UsageError(f"--nemesis-interval must be between 0.1 and 3600 seconds, not "
                             f"{self.nemesis_interval:g}")
        if self.workload not in WORKLOADS:
            raise UsageError(f"--workload {self.workload!r} is unknown; must be one of: "
                             f"{', '.join(WORKLOADS)}")
        if not 1 <= self.producer_rate <= 1_000_000:
            raise UsageError(f"--producer-rate must be between 1 and 1000000 records per "
                             f"second, not {self.producer_rate:g}")
        if not 1 <= self.keys <= 1_000_000:
            raise UsageError(f"--keys must be between 1 and 1000000, not {self.keys}")
        if self.remote not in ("netns", "ssh"):
            raise UsageError(f"--remote must be netns or ssh, not {self.remote!r}")
        if self.remote == "ssh":
            if len(self.nodes) < 3:
                raise UsageError("--remote ssh needs at least 3 hosts in --nodes/--nodes-file")
            if not self.ha_storage_dir:
                raise UsageError("--remote ssh needs --ha-storage-dir: a directory every host "
                                 "shares (NFS, or hdfs:// with the hadoop db)")
            self.ssh.validate()
        elif not 3 <= self.node_count <= 50:
            raise UsageError(f"--node-count must be between 3 and 50 for a test, not "
                             f"{self.node_count}")
        m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", str(self.flink_version))
        if not m or not ((1, 17) <= (int(m[1]), int(m[2])) < (3, 0)):
            raise UsageError(f"--flink-version {self.flink_version!r} is not a Flink release this "
                             "harness deploys (X.Y.Z, 1.17 or newer, or 2.x)")
        if self.tarball and self.flink_version != versions.FLINK_DEFAULT:
            raise UsageError("give either --tarball or --flink-version, not both")

    def checker_parameters(self, jobs: list[str] | None = None) -> dict:
        """The availability checker's parameters for this test (jobs: the submitted ones), the
        same for the live stop rule, the final check and a re-check of a stored run."""
        from flink_jepsen.faults.nemesis import expects_faults

        return {"grace_period_s": float(self.job_recovery_grace_period),
                "healthy_duration_s": float(self.healthy_duration),
                "cancel_grace_s": CANCEL_GRACE, "jobs": list(jobs or []),
                "expect_faults": expects_faults(self.nemesis_gen)}

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["ssh"].pop("password", None)
        return d

    @classmethod
    def from_json(cls, d: dict) -> TestOptions:
        d = dict(d)
        ssh = SshOptions(**d.pop("ssh", {}))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(ssh=ssh, **{k: v for k, v in d.items() if k in known})
