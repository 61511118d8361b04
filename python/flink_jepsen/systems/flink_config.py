"""Flink configuration for one release: the harness speaks the newest key names (2.x), and this
module translates them into the names the release under test reads, and writes the file that
release reads. One place, so a renamed key is a table row here, not a run that fails with the
setting silently ignored (Flink ignores keys it does not know, and some renamed keys must never
be set twice: `high-availability` and `high-availability.type` nest into one YAML tree)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import yaml

Version = tuple[int, int]

# (modern key, the release that first reads it, the key releases before it read), oldest rename
# first. A key missing here reads the same in every release from 1.13 on. Sources: each
# release's configuration reference (the "deprecated keys" of the option classes).
RENAMES: tuple[tuple[str, Version, str], ...] = (
    ("high-availability.type", (1, 17), "high-availability"),
    ("restart-strategy.type", (1, 17), "restart-strategy"),
    ("state.backend.type", (1, 17), "state.backend"),
    ("env.java.opts.all", (1, 17), "env.java.opts"),
    ("execution.checkpointing.dir", (1, 20), "state.checkpoints.dir"),
    ("execution.checkpointing.savepoint-dir", (1, 20), "state.savepoints.dir"),
    ("execution.checkpointing.storage", (1, 20), "state.checkpoint-storage"),
    ("execution.checkpointing.incremental", (1, 20), "state.backend.incremental"),
    ("execution.state-recovery.from-local", (1, 20), "state.backend.local-recovery"),
)

# Old names a spec may still say (the original project's specs were written for 1.x), mapped to
# the modern name first so that every release gets the one name it reads.
ALIASES: dict[str, str] = {old: new for new, _since, old in RENAMES}
ALIASES.update({
    "slotmanager.taskmanager-timeout": "resourcemanager.taskmanager-timeout",
    "jobmanager.scheduler.type": "jobmanager.scheduler",
})

# Keys that only some releases know and that nothing older can take instead: dropped before
# `since`, so an old release is not handed a setting it would ignore anyway.
ONLY_SINCE: dict[str, Version] = {
    "jobmanager.bind-host": (1, 13),
    "taskmanager.bind-host": (1, 13),
}

# Values of `jobmanager.scheduler` each release accepts (the adaptive scheduler arrived in
# 1.13, adaptive-batch in 1.15); anything else would stop the JobManager at start.
SCHEDULERS_SINCE: dict[str, Version] = {"ng": (1, 13), "default": (1, 14),
                                        "adaptive": (1, 13), "adaptivebatch": (1, 15)}


def modern(conf: Mapping[str, object]) -> dict[str, object]:
    """Every key under its modern name (a later setting of one key wins, as in a file)."""
    out: dict[str, object] = {}
    for key, value in conf.items():
        out[ALIASES.get(key, key)] = value
    return out


def for_version(conf: Mapping[str, object], version: Version) -> dict[str, object]:
    """The configuration in the key names `version` reads; each setting under one name only."""
    out: dict[str, object] = {}
    for key, value in modern(conf).items():
        if version < ONLY_SINCE.get(key, (0, 0)):
            continue
        for new, since, old in RENAMES:
            if key == new and version < since:
                key = old
                break
        if key == "jobmanager.scheduler":
            value = _scheduler(str(value), version)
        out[key] = value
    return out


def _scheduler(value: str, version: Version) -> str:
    v = value.strip().lower().replace("-", "")
    if v == "default" and version < (1, 14):
        return "ng"  # 1.13 calls the default scheduler "ng"
    if v == "ng" and version >= (1, 14):
        return "default"
    if version < SCHEDULERS_SINCE.get(v, (0, 0)):
        raise ValueError(f"jobmanager.scheduler {value!r} needs Flink "
                         f"{'.'.join(map(str, SCHEDULERS_SINCE[v]))} or later")
    return value


def file_name(version: Version, shipped: set[str]) -> str:
    """The file a release reads: config.yaml (standard YAML) in 2.x, which reads nothing else;
    before 1.19, flink-conf.yaml (Flink's flat `key: value` lines); 1.19 and 1.20 read either
    and get what their distribution ships (config.yaml wins if it ships both)."""
    if version >= (2, 0):
        return "config.yaml"
    if version >= (1, 19) and "config.yaml" in shipped:
        return "config.yaml"
    return "flink-conf.yaml"


def render(conf: Mapping[str, object], file: str) -> str:
    """The file's text. flink-conf.yaml is not YAML: its parser splits each line at the first
    ': ' and keeps the rest verbatim (quotes too), so values are written bare; config.yaml is
    standard YAML, so values that YAML would misread are quoted."""
    lines = ["# written by flink-jepsen: the distribution's defaults, then the test's settings"]
    value = _legacy_value if file == "flink-conf.yaml" else yaml_value
    lines += [f"{k}: {value(v)}" for k, v in conf.items()]
    return "\n".join(lines) + "\n"


def yaml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return json.dumps([str(x) for x in v])
    text = str(v)
    return json.dumps(text) if (not text or any(c in text for c in ":#{}[],&*!|>'\"%@`")
                                or text.strip() != text) else text


def _legacy_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):  # lists in flink-conf.yaml are ';'-separated
        return ";".join(str(x) for x in v)
    text = str(v)
    if "\n" in text or "#" in text:  # the parser would cut it: refuse rather than mangle
        raise ValueError(f"flink-conf.yaml cannot hold the value {text!r} (a line break or #)")
    return text


def parse_legacy(text: str) -> dict[str, str]:
    """flink-conf.yaml's lines as Flink 1.x reads them: everything after '#' is a comment, the
    rest splits at the first ': '; a line without one is skipped."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        k, sep, v = line.split("#", 1)[0].strip().partition(": ")
        if sep and k.strip():
            out[k.strip()] = v.strip()
    return out


def flatten(tree: Mapping | None, prefix: str = "") -> dict[str, object]:
    """Nested YAML (config.yaml style) -> flat dotted keys."""
    out: dict[str, object] = {}
    for k, v in (tree or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def shipped(conf_dir: Path) -> tuple[dict[str, object], set[str]]:
    """The distribution's own configuration (config.yaml if it ships one, else
    flink-conf.yaml), keys under their modern names, and which of the two files it ships."""
    names = {n for n in ("config.yaml", "flink-conf.yaml") if (conf_dir / n).exists()}
    if "config.yaml" in names:
        conf = flatten(yaml.safe_load((conf_dir / "config.yaml").read_text()) or {})
    elif "flink-conf.yaml" in names:
        conf = dict(parse_legacy((conf_dir / "flink-conf.yaml").read_text()))
    else:
        conf = {}
    return modern(conf), names
