"""Options declared once: a dataclass field carries its help, command-line flag, type, allowed
values, range and pytest flag, and the CLI, the scripting API and the pytest plugin are derived
from the fields (run/options.py's TestOptions, nodes/remotes.py's SshOptions)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import field
from typing import Any

from flink_jepsen.errors import UsageError


def option(default: object = None, help: str = "", *, flag: str | None = None,
           kind: type | None = None, choices: Callable[[], tuple] | tuple | None = None,
           lo: float | None = None, hi: float | None = None, pytest: str | None = None,
           factory: Callable[[], object] | None = None, cli: bool = True,
           refuse_at_parse: bool | None = None, unit: str = "") -> Any:
    """One test parameter, declared once: its default, help, command-line flag (default
    --name-with-dashes), type, allowed values (a tuple, or a function for registries users add
    to), range, and the pytest plugin's flag when a pytest run may set it. The CLI, the API and
    the pytest plugin are all derived from these declarations. A value outside `choices` is
    refused by the parser (exit 254) when `refuse_at_parse` (default: fixed choices), else
    recorded as a run with verdict unknown (what the original's users expect of an unknown
    --nemesis-gen)."""
    meta = {"help": help, "flag": flag, "kind": kind, "choices": choices, "lo": lo, "hi": hi,
            "pytest": pytest, "cli": cli, "unit": unit,
            "refuse_at_parse": (not callable(choices)) if refuse_at_parse is None
            else refuse_at_parse}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def flag(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def choices(f: dataclasses.Field) -> tuple | None:
    c = f.metadata.get("choices")
    return c() if callable(c) else c


def check_value(f: dataclasses.Field, value: object) -> None:
    """A declared option's value against its declaration; the error names the option."""
    if not f.metadata or value is None:
        return
    name, kind = flag(f), f.metadata.get("kind")
    if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))
                          or not math.isfinite(value)):
        raise UsageError(f"{name} must be a finite number, not {value!r}")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise UsageError(f"{name} must be an integer, not {value!r}")
    allowed = choices(f)
    if allowed is not None and value not in allowed:
        raise UsageError(f"{name} {value!r} is unknown; must be one of: {', '.join(allowed)}")
    lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
    if lo is not None and value < lo or hi is not None and value > hi:
        unit = f" {f.metadata['unit']}" if f.metadata.get("unit") else ""
        if hi is not None:
            bounds = f"between {_num(lo)} and {_num(hi)}{unit}"
        elif lo < 1e-6:
            bounds = "positive"
        else:
            bounds = f"at least {_num(lo)}{unit}"
        raise UsageError(f"{name} must be {bounds}, not {_num(value)}")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


