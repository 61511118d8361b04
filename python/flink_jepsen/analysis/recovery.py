"""Recovery times: for each fault, how long from its end until every job ran again, and per
fault kind their count, min, median and max. results.json has them when the availability
checker ran; for a run without them (older runs, partial results) they are computed here from
the data frames, by the checker's rule: the first poll at which every job's latest poll, all
of them completed after the fault ended, says running."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flink_jepsen.analysis.load import RunData

NEVER = np.iinfo(np.int64).max
KIND_COLUMNS = ("kind", "count", "recovered", "min_s", "median_s", "max_s")


def recovery_moments(polls: pd.DataFrame, cancels: pd.DataFrame | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The moments at which every job runs, as two arrays (m, t): t is the completion time of
    the poll that made it so (ns) and m the oldest of the jobs' latest polls then; m never
    decreases. A job stops counting once it is (maybe) cancelled."""
    if polls.empty:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = np.lexsort((polls["index"].to_numpy(), polls["time"].to_numpy()))
    t = polls["time"].to_numpy()[order]
    running = polls["running"].to_numpy(dtype=bool)[order]
    codes, jobs = pd.factorize(polls["job"].to_numpy(dtype=object)[order])
    n, k = len(t), len(jobs)
    cancel_at = np.full(k, NEVER, dtype=np.int64)
    if cancels is not None and not cancels.empty:
        c = cancels[cancels["type"].isin(["ok", "info"])]
        first = c.assign(at=np.minimum(c["invoke_time"], c["time"])).groupby("job")["at"].min()
        for j, job in enumerate(jobs):
            if job in first.index:
                cancel_at[j] = int(first[job])
    # last[i, j]: the row of job j's latest poll at row i (-1 before its first poll).
    rows = np.arange(n)
    last = np.full((n, k), -1, dtype=np.int64)
    last[rows, codes] = rows
    np.maximum.accumulate(last, axis=0, out=last)
    seen = last >= 0
    latest_t = np.where(seen, t[np.maximum(last, 0)], NEVER)
    latest_running = np.where(seen, running[np.maximum(last, 0)], True)
    active = seen & (cancel_at[None, :] > t[:, None])
    every = running & np.all(~active | latest_running, axis=1)
    m = np.where(active, latest_t, NEVER).min(axis=1)
    moment = every & (m != NEVER)
    return m[moment], t[moment]


def compute_fault_recoveries(faults: pd.DataFrame, polls: pd.DataFrame,
                             cancels: pd.DataFrame | None = None) -> pd.Series:
    """Each fault's recovery time in seconds (NaN: never recovered, or never healed)."""
    m, t = recovery_moments(polls, cancels)
    out = np.full(len(faults), np.nan)
    if len(faults) and len(m):
        ends = faults["end"].to_numpy(dtype=np.int64)
        at = np.searchsorted(m, ends, side="right")  # the first moment whose m is after the end
        found = (at < len(m)) & faults["healed"].to_numpy(dtype=bool)
        out[found] = (t[at[found]] - ends[found]) / 1e9
    return pd.Series(out, index=faults.index, name="recovery_s")


def summarise(faults: pd.DataFrame) -> pd.DataFrame:
    """Per fault kind (from faults with a ``recovery_s`` column): count, recovered, min, median
    and max recovery in seconds."""
    rows = []
    for kind, g in faults.groupby("kind", sort=True):
        r = g["recovery_s"].dropna()
        rows.append((kind, len(g), len(r), r.min() if len(r) else None,
                     r.median() if len(r) else None, r.max() if len(r) else None))
    return pd.DataFrame(rows, columns=list(KIND_COLUMNS))


def fault_recoveries(run: RunData) -> pd.DataFrame:
    """The run's faults with their ``recovery_s``: results.json's when it lists the same faults,
    computed from the history otherwise."""
    faults = run.faults.copy()
    listed = run.results.get("faults")
    if isinstance(listed, list) and len(listed) == len(faults) and all(
            isinstance(x, dict) and x.get("kind") == k for x, k in zip(listed, faults["kind"])):
        faults["recovery_s"] = [np.nan if x.get("recovery_s") is None else float(x["recovery_s"])
                                for x in listed]
        faults.attrs["source"] = "results.json"
    else:
        faults["recovery_s"] = compute_fault_recoveries(faults, run.polls, run.cancels)
        faults.attrs["source"] = "computed from the history"
    return faults


def recovery_by_kind(run: RunData) -> pd.DataFrame:
    """Recovery per fault kind: results.json's ``recovery`` section when present, computed from
    the history otherwise. ``attrs["source"]`` says which."""
    section = run.results.get("recovery")
    if isinstance(section, dict) and section:
        rows = [(kind, int(r.get("count", 0)), int(r.get("recovered", 0)), r.get("min_s"),
                 r.get("median_s"), r.get("max_s")) for kind, r in sorted(section.items())]
        frame = pd.DataFrame(rows, columns=list(KIND_COLUMNS))
        frame.attrs["source"] = "results.json"
        return frame
    frame = summarise(fault_recoveries(run))
    frame.attrs["source"] = "computed from the history"
    return frame
