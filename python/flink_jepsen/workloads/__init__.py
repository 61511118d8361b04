"""What runs against the systems and records ops: the jobs polled (availability, always), and
records sent through Kafka and read back (exactly-once).

A workload part has a fixed life the runner drives without knowing what it is: `start` once the
jobs run, `stop` when the fault schedule ends, `settle` after the heal (the stop rule), `finish`
(e.g. drain what the jobs wrote), `close` in teardown; its `checkers` judge the history. A
`--workload` name is a list of parts; adding one is a module plus its `register` call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flink_jepsen.errors import UsageError


@dataclass
class Context:
    """What a workload part works with."""
    options: object          # run.options.TestOptions
    history: object          # _core.HistoryRecorder
    flink: object            # systems.flink.Flink
    jobs: list[str]
    systems: dict            # db name -> System
    phase: Callable[[str], None] = lambda _name: None


class Part:
    """One part of a workload; every hook but start is optional."""
    name = "part"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def start(self) -> None:
        """Begins once the jobs are submitted, before the first fault."""

    def tick(self, elapsed: float) -> None:
        """Called about five times a second while the fault schedule runs."""

    def stop(self) -> None:
        """The fault schedule has ended (raise SetupError if the part itself failed)."""

    def settle(self, deadline: float) -> None:
        """After the heal: returns once this part has seen what it needs, or at the deadline
        (time.monotonic())."""

    def finish(self) -> None:
        """After recovery (e.g. read back everything the jobs wrote)."""

    def close(self) -> None:
        """Teardown: stops threads; never raises for what already stopped."""

    def checkers(self) -> list:
        return []

    def status(self) -> str:
        return ""


@dataclass(frozen=True)
class Workload:
    name: str
    parts: tuple[type[Part], ...]
    requires: tuple[str, ...] = ()        # dbs the spec must have
    description: str = ""
    spec: str | None = None               # the default spec when no --test-spec is given
    extra: dict = field(default_factory=dict)


WORKLOADS: dict[str, Workload] = {}


def register(workload: Workload) -> Workload:
    WORKLOADS[workload.name] = workload
    return workload


def get(name: str) -> Workload:
    if name not in WORKLOADS:
        raise UsageError(f"--workload {name!r} is unknown; must be one of: "
                         f"{', '.join(WORKLOADS)}")
    return WORKLOADS[name]


from flink_jepsen.workloads import availability, bounded, exactly_once  # noqa: E402,F401 - registration
