"""The systems a test deploys (ZooKeeper, HDFS and YARN, Kafka, Flink), composed from :dbs.

A system module registers a factory under the name a test spec's `:dbs` uses, with what it
needs before it (`requires`) and a one-line description; `compose` builds a run's systems in
dependency order. Adding a system is one module plus its import at the end of this file."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flink_jepsen.errors import UsageError
from flink_jepsen.systems.base import Deployment, Process, Role, System

Factory = Callable[[Deployment], System]


@dataclass(frozen=True)
class Registration:
    name: str
    factory: Callable[[Deployment], System]
    description: str
    requires: tuple[str, ...] = ()     # dbs that must be in the spec too (started first)
    after: tuple[str, ...] = ()        # dbs started first when present (optional dependencies)
    flink: bool = False                # a Flink deployment (exactly one per spec)
    provides: tuple[str, ...] = ()     # ${NAME}s job arguments may use (System.provides())
    mode: str | None = None            # a Flink deployment's --deployment-mode name
    check: Callable[[object, tuple[str, ...]], None] | None = None  # (options, dbs), at validate
    # dbs of requires/after this one may start beside: it starts once they have started and
    # they come up while it does (its clients retry). Any other dependency is ready first.
    overlaps: tuple[str, ...] = ()


REGISTRY: dict[str, Registration] = {}
# dbs the original knew that this project refuses, with the reason
REFUSED: dict[str, str] = {
    "mesos": "Mesos is not supported: Flink removed Mesos support in 1.14 and Apache Mesos is "
             "retired",
    "flink-mesos-session": "Mesos is not supported: Flink removed Mesos support in 1.14 and "
                           "Apache Mesos is retired",
}


def register(name: str, description: str, requires: tuple[str, ...] = (),
             after: tuple[str, ...] = (), flink: bool = False, provides: tuple[str, ...] = (),
             mode: str | None = None,
             check: Callable[[object, tuple[str, ...]], None] | None = None,
             overlaps: tuple[str, ...] = ()) -> Callable[[Factory], Factory]:
    """Decorator: `@register("kafka", "Kafka brokers", after=("zookeeper",))` on a factory
    `def make(d: Deployment) -> System`."""
    def add(factory: Factory) -> Factory:
        REGISTRY[name] = Registration(name, factory, description, requires, after, flink,
                                      provides, mode, check, overlaps)
        return factory
    return add


def check_dbs(dbs: tuple[str, ...] | list[str], source: str) -> None:
    """Refuses unknown dbs, a spec without exactly one Flink deployment, and a missing
    requirement, naming the spec."""
    for db in dbs:
        if db in REFUSED:
            raise UsageError(f"test spec {source}: :{db}: {REFUSED[db]}")
        if db not in REGISTRY:
            raise UsageError(f"test spec {source}: unknown db :{db}; known: "
                             f"{', '.join(':' + n for n in REGISTRY)}")
    flinks = [db for db in dbs if REGISTRY[db].flink]
    if len(flinks) != 1:
        raise UsageError(f"test spec {source}: needs exactly one Flink db "
                         f"({', '.join(n for n, r in REGISTRY.items() if r.flink)}), has "
                         f"{len(flinks)}")
    for db in dbs:
        for need in REGISTRY[db].requires:
            if need not in dbs:
                raise UsageError(f"test spec {source}: :{db} needs :{need} in :dbs")


def order(dbs: tuple[str, ...] | list[str]) -> list[str]:
    """The dbs in the order they are started: each after what it requires or follows."""
    out: list[str] = []

    def visit(db: str, path: tuple[str, ...]) -> None:
        if db in out:
            return
        if db in path:
            raise UsageError(f"systems depend on each other in a cycle: {' -> '.join(path)}")
        reg = REGISTRY[db]
        for dep in (*reg.requires, *reg.after):
            if dep in dbs:
                visit(dep, (*path, db))
        out.append(db)

    for db in dbs:
        visit(db, ())
    return out


def compose(dbs: tuple[str, ...] | list[str], deployment: Deployment
            ) -> Iterator[tuple[System, tuple[str, ...]]]:
    """The run's systems, built one at a time in start order (the caller starts each before
    the next is built), each with the dbs that must be ready before it starts; each factory
    sees the ones built before it in `deployment.systems`."""
    for db in order(dbs):
        system = REGISTRY[db].factory(deployment)
        deployment.systems[db] = system
        yield system, ready_before(db, dbs)


def ready_before(db: str, dbs: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """What `db` waits to be ready before it starts: its dependencies in the spec, less those it
    may start beside (`overlaps`)."""
    reg = REGISTRY[db]
    return tuple(d for d in (*reg.requires, *reg.after) if d in dbs and d not in reg.overlaps)


def flink_db(dbs: tuple[str, ...] | list[str]) -> str:
    return next(db for db in dbs if db in REGISTRY and REGISTRY[db].flink)


def modes() -> dict[str, str]:
    """--deployment-mode name -> the Flink db that deploys it."""
    return {r.mode: r.name for r in REGISTRY.values() if r.flink and r.mode}


def deployment(dbs: tuple[str, ...], source: str, mode: str | None
               ) -> tuple[str, tuple[str, ...]]:
    """The deployment mode and the dbs to deploy: the spec's own (as the original chose), or,
    when `mode` is given, the spec's Flink db swapped for that mode's."""
    check_dbs(dbs, source)
    named = REGISTRY[flink_db(dbs)].mode or flink_db(dbs)
    if mode is None or mode == named:
        return named, tuple(dbs)
    if mode not in modes():
        raise UsageError(f"--deployment-mode {mode!r} is unknown; must be one of: "
                         f"{', '.join(modes())}")
    swapped = tuple(modes()[mode] if db == flink_db(dbs) else db for db in dbs)
    check_dbs(swapped, source)
    return mode, swapped


def check(options: object, dbs: tuple[str, ...]) -> None:
    """Each system's own check of the options against the spec, before anything starts."""
    for db in dbs:
        if REGISTRY[db].check is not None:
            REGISTRY[db].check(options, dbs)


def _merged(declared: list[dict], what: str) -> dict:
    out: dict = {}
    for names in declared:
        for name, value in names.items():
            if name in out:
                raise UsageError(f"two systems declare {what} {name!r}")
            out[name] = value
    return out


def processes(systems: list[System]) -> dict[str, Process]:
    """Every kind of process of the run's systems, by name, for the faults."""
    return _merged([{k: dataclasses.replace(p, system=s.name) for k, p in s.processes().items()}
                    for s in systems], "processes named")


def roles(systems: list[System]) -> dict[str, Role]:
    """Every named fault target of the run's systems."""
    return _merged([s.roles() for s in systems], "the role")


# The systems this project ships; a new one adds its import here.
from flink_jepsen.systems import (  # noqa: E402,F401 - imported for their registration
    flink_application,
    flink_standalone,
    flink_yarn,
    hadoop,
    kafka,
    zookeeper,
)


def stop_leftover_supervisors(cluster) -> list[str]:
    """Kills the supervisors (supervise.sh) an earlier run left on the nodes, before any
    system's own leftovers: a supervisor would start its process again a second after
    `stop_leftovers` killed it, into the middle of the new run. Called once per run, before
    this run starts anything, so every supervisor found is an earlier run's. Returns what was
    stopped, as 'node: supervisor (pids)'."""
    stopped: list[str] = []
    for node in cluster.nodes:
        pattern = re.escape(node.path("bin", "supervise.sh")) + " "
        pids = cluster.remote(node).signal_matching([pattern], "KILL")
        if pids:
            stopped.append(f"{node.name}: supervisor {pids}")
    return stopped


def stop_leftovers(system: System) -> list[str]:
    """Kills what an earlier run left of this system on its nodes (a run killed with kill -9
    leaves its processes and pidfiles): a new run never adopts another run's processes through
    a pidfile. Returns what was stopped, as 'node: kind (pids)'. Called with the run lock held,
    so no live run owns them."""
    stopped: list[str] = []
    for kind, p in system.processes().items():
        try:
            nodes = p.nodes()
        except Exception:  # noqa: BLE001 - not placed yet (YARN containers): nothing to find
            continue
        for node in nodes:
            pids = system.cluster.remote(node).signal_matching(list(p.patterns), "KILL")
            if pids:
                stopped.append(f"{node.name}: {kind} {pids}")
    for node in system.nodes():
        files = system.pidfiles(node)
        if files:
            system.cluster.remote(node).check("rm -f " + " ".join(files), timeout=30)
    return stopped
