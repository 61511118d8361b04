"""Recovery times: for each fault, how long from its end until every job ran again after the
outage it caused (the first outage that began while it was active or after it, before the next
fault; ``outage_start_s``), and per fault kind their count, min, median and max. They are the
availability checker's figures (results.json's, or the checker run over the stored history when
a run has none): nothing here re-derives them."""

from __future__ import annotations

import pandas as pd

from flink_jepsen.analysis.load import RunData

KIND_COLUMNS = ("kind", "count", "recovered", "min_s", "median_s", "max_s")


def _source(run: RunData) -> str:
    return "results.json" if run.availability is run.results else "checked from the history"


def fault_recoveries(run: RunData) -> pd.DataFrame:
    """The run's faults with their ``recovery_s`` (NaN: never recovered, or never healed)."""
    faults = run.faults.copy()
    faults.attrs["source"] = _source(run)
    return faults


def recovery_by_kind(run: RunData) -> pd.DataFrame:
    """Recovery per fault kind, the checker's ``recovery`` section. ``attrs["source"]`` says
    where it came from."""
    section = run.availability.get("recovery") or {}
    rows = [(kind, int(r.get("count", 0)), int(r.get("recovered", 0)), r.get("min_s"),
             r.get("median_s"), r.get("max_s")) for kind, r in sorted(section.items())]
    frame = pd.DataFrame(rows, columns=list(KIND_COLUMNS))
    frame.attrs["source"] = _source(run)
    return frame
