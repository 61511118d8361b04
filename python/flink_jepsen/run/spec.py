"""Test specs: which systems to deploy (:dbs), which jobs to submit (:jobs) and Flink
configuration overrides (:flink-config). The original project's EDN specs are read unchanged;
YAML and JSON say the same with the same keys.

A job's jar is a path (relative paths are relative to the spec file) or `builtin:allround`, the
project's own test job, built for the Flink version under test."""

from __future__ import annotations

import difflib
import json
import re
import shlex
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from flink_jepsen import systems
from flink_jepsen.errors import UsageError
from flink_jepsen.run import edn

BUILTIN_PREFIX = "builtin:"
# The project's own jobs (jobs/<name>) and their default entry class.
BUILTIN_JOBS = {"allround": "org.flinkjepsen.jobs.AllroundJob",
                "exactly-once": "org.flinkjepsen.jobs.ExactlyOnceJob",
                "state-machine": "org.flinkjepsen.jobs.StateMachineJob"}


@dataclass(frozen=True)
class JobSpec:
    jar: str                      # a path, or builtin:<name>
    args: tuple[str, ...] = ()
    main_class: str | None = None
    parallelism: int | None = None

    @property
    def builtin(self) -> str | None:
        return self.jar[len(BUILTIN_PREFIX):] if self.jar.startswith(BUILTIN_PREFIX) else None


@dataclass(frozen=True)
class TestSpec:
    dbs: tuple[str, ...]
    jobs: tuple[JobSpec, ...]
    flink_config: dict = field(default_factory=dict)
    source: str = ""

    def to_json(self) -> dict:
        return {"dbs": list(self.dbs), "flink-config": self.flink_config, "source": self.source,
                "jobs": [{"job-jar": j.jar, "job-args": list(j.args), "main-class": j.main_class,
                          "parallelism": j.parallelism} for j in self.jobs]}


def _parse(path: Path) -> object:
    text = path.read_text()
    suffix = path.suffix.lower()
    try:
        if suffix == ".edn":
            return edn.loads(text)
        if suffix == ".json":
            return json.loads(text)
        if suffix in (".yaml", ".yml"):
            return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as e:
        raise UsageError(f"--test-spec {path}: not valid {suffix[1:].upper()}: {e}") from e
    raise UsageError(f"--test-spec {path}: unknown format {suffix!r} (use .edn, .yaml or .json)")


def load(path: str | Path, check_jars: bool = True) -> TestSpec:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"--test-spec {path}: no such file")
    return from_data(_parse(p), p.parent, str(p), check_jars)


def default(name: str = "standalone-session") -> TestSpec:
    """A spec that ships with the package: standalone-session (the default) or yarn-session."""
    ref = resources.files("flink_jepsen").joinpath(f"resources/specs/{name}.edn")
    return from_data(edn.loads(ref.read_text()), Path("."), f"default ({name}.edn)")


def default_name(mode: str, workload: str) -> str:
    """The shipped spec for a deployment mode run with a workload: `<mode>-<workload>` where
    the workload needs a job of another kind (a bounded job ends: judged by the availability
    workload it would be a job down at the end), else the mode's own."""
    ref = resources.files("flink_jepsen").joinpath(f"resources/specs/{mode}-{workload}.edn")
    return f"{mode}-{workload}" if ref.is_file() else mode


def from_data(data: object, base: Path, source: str, check_jars: bool = True) -> TestSpec:
    if not isinstance(data, dict):
        raise UsageError(f"test spec {source}: expected a map with :dbs and :jobs")
    unknown = set(data) - {"dbs", "jobs", "flink-config"}
    if unknown:
        raise UsageError(f"test spec {source}: unknown key(s) {', '.join(sorted(unknown))} "
                         "(allowed: dbs, jobs, flink-config)")
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        raise UsageError(f"test spec {source}: keys must be names, not {bad_keys[0]!r}")
    raw_dbs = data.get("dbs") or []
    if not isinstance(raw_dbs, (list, tuple)) or not all(isinstance(d, str) for d in raw_dbs):
        raise UsageError(f"test spec {source}: :dbs must be a list of names, not {raw_dbs!r}")
    dbs = tuple(raw_dbs)
    for d in dbs:
        if d in systems.REFUSED:
            raise UsageError(f"test spec {source}: {d}: {systems.REFUSED[d]}")
        if d not in systems.REGISTRY:
            raise UsageError(f"test spec {source}: unknown db {d!r}; known: "
                             f"{', '.join(sorted(systems.REGISTRY))}")
    if not dbs:
        raise UsageError(f"test spec {source}: :dbs is empty")
    jobs = []
    raw_jobs = data.get("jobs") or []
    if not isinstance(raw_jobs, (list, tuple)):
        raise UsageError(f"test spec {source}: :jobs must be a list of job maps, not "
                         f"{raw_jobs!r}")
    for i, j in enumerate(raw_jobs):
        _check_job(j, f"test spec {source}: job {i + 1}")
        jar = j["job-jar"]
        main_class = j.get("main-class")
        if jar.startswith(BUILTIN_PREFIX):
            name = jar[len(BUILTIN_PREFIX):]
            if name not in BUILTIN_JOBS:
                raise UsageError(f"test spec {source}: unknown builtin job {name!r}; known: "
                                 f"{', '.join(BUILTIN_JOBS)}")
            main_class = main_class or BUILTIN_JOBS[name]
        else:
            jar_path = (base / jar) if not Path(jar).is_absolute() else Path(jar)
            if check_jars and not jar_path.is_file():
                raise UsageError(f"test spec {source}: job {i + 1}: jar {jar_path} does not exist")
            jar = str(jar_path)
        raw_args = j.get("job-args", "")
        try:
            args = tuple(shlex.split(raw_args)) if isinstance(raw_args, str) else tuple(
                str(a) for a in raw_args)
        except ValueError as e:
            raise UsageError(f"test spec {source}: job {i + 1}: :job-args {raw_args!r}: {e}"
                             ) from e
        par = j.get("parallelism")
        jobs.append(JobSpec(jar, args, main_class, par))
    if not jobs:
        raise UsageError(f"test spec {source}: :jobs is empty")
    config = data.get("flink-config") or {}
    if not isinstance(config, dict):
        raise UsageError(f"test spec {source}: :flink-config must be a map")
    for k, v in config.items():
        if not isinstance(k, str) or not k:
            raise UsageError(f"test spec {source}: :flink-config keys must be Flink option "
                             f"names, not {k!r}")
        if not _scalar(v) and not (isinstance(v, (list, tuple)) and all(map(_scalar, v))):
            raise UsageError(f"test spec {source}: :flink-config {k}: a value must be a "
                             f"string, number, boolean or a list of them, not {v!r}")
    return TestSpec(dbs, tuple(jobs), dict(config), source)


JOB_KEYS = ("job-jar", "job-args", "main-class", "parallelism")


def _scalar(v: object) -> bool:
    return isinstance(v, (str, int, float, bool))


def _check_job(j: object, where: str) -> None:
    """A job map's keys and the type of each value, named when wrong (a typo like :main-clas
    would otherwise be ignored and the job run with the jar's default class)."""
    if not isinstance(j, dict):
        raise UsageError(f"{where}: expected a map with :job-jar, not {j!r}")
    for k in j:
        if k not in JOB_KEYS:
            near = difflib.get_close_matches(str(k), JOB_KEYS, n=1)
            raise UsageError(f"{where}: unknown key {k!r}" + (
                f" (did you mean :{near[0]}?)" if near else "") + f"; known: {', '.join(JOB_KEYS)}")
    if "job-jar" not in j:
        raise UsageError(f"{where} needs a :job-jar")
    if not isinstance(j["job-jar"], str) or not j["job-jar"]:
        raise UsageError(f"{where}: :job-jar must be a path, not {j['job-jar']!r}")
    if j.get("main-class") is not None and not isinstance(j["main-class"], str):
        raise UsageError(f"{where}: :main-class must be a class name, not {j['main-class']!r}")
    args = j.get("job-args", "")
    if not isinstance(args, str) and not (isinstance(args, (list, tuple))
                                          and all(map(_scalar, args))):
        raise UsageError(f"{where}: :job-args must be a string or a list of strings, not "
                         f"{args!r}")
    par = j.get("parallelism")
    if par is not None and (isinstance(par, bool) or not isinstance(par, int) or par < 1):
        raise UsageError(f"{where}: :parallelism must be a whole number of at least 1, not "
                         f"{par!r}")


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders(job: JobSpec) -> set[str]:
    """The ${NAME}s a job's arguments use (filled in from what the spec's systems provide)."""
    return {m for a in job.args for m in _PLACEHOLDER.findall(a)}


def fill(arg: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), arg)
