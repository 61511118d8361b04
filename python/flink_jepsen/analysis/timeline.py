"""A job's availability over time as segments: runs of polls with the same outcome merged into
one span, so that a million polls draw as a few thousand shapes. Shared by the PNG and the
interactive HTML timelines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flink_jepsen.analysis.events import STATUSES

COLOURS = {"running": "#2ca02c", "not running": "#ff9f1c", "unreachable": "#d62728"}
SEGMENT_COLUMNS = ("job", "start_s", "end_s", "status", "polls", "downsampled")


def short_job(job: str) -> str:
    """Flink's job ids are 32 hex digits: the first 8 tell them apart in a legend."""
    return job[:8] if len(job) == 32 else job


def segments(polls: pd.DataFrame, max_per_job: int | None = None) -> pd.DataFrame:
    """Per job, the spans over which its polls had one status: a poll's status holds from its
    completion to the next poll's. With ``max_per_job``, a job with more spans than that is cut
    into that many equal time buckets showing the worst status in each (``downsampled``)."""
    parts = []
    if polls.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            SEGMENT_COLUMNS, ("object", "float64", "float64", "object", "int64", "bool"))})
    # Grouped by hand: one factorize and a stable sort beat groupby's per-group frames.
    job_codes, jobs = pd.factorize(polls["job"].to_numpy(dtype=object), sort=False)
    order = np.argsort(job_codes, kind="stable")
    bounds = np.searchsorted(job_codes[order], np.arange(len(jobs) + 1))
    times = polls["time_s"].to_numpy()
    statuses = polls["status"].cat.codes.to_numpy()
    for j, job in enumerate(jobs):
        rows = order[bounds[j]:bounds[j + 1]]
        t, code = times[rows], statuses[rows]
        seg = _runs(t, code)
        if max_per_job and len(seg[0]) > max_per_job:
            seg = _bucketed(t, code, max_per_job)
        start, end, status, count, down = seg
        parts.append(pd.DataFrame({"job": job, "start_s": start, "end_s": end,
                                   "status": np.asarray(STATUSES, dtype=object)[status],
                                   "polls": count, "downsampled": down}))
    return pd.concat(parts, ignore_index=True)


def _runs(t: np.ndarray, code: np.ndarray) -> tuple[np.ndarray, ...]:
    """Run-length encoding of statuses: starts, ends, status codes, polls per run."""
    change = np.flatnonzero(np.diff(code)) + 1
    first = np.concatenate(([0], change))
    ends = np.concatenate((t[change], [t[-1]]))
    count = np.diff(np.concatenate((first, [len(t)])))
    return t[first], ends, code[first], count, np.zeros(len(first), dtype=bool)


def _bucketed(t: np.ndarray, code: np.ndarray, buckets: int) -> tuple[np.ndarray, ...]:
    """Equal time buckets, each with its worst status (a short outage stays visible), then run-
    length encoded again."""
    lo, hi = t[0], t[-1]
    width = (hi - lo) / buckets or 1.0
    b = np.minimum(((t - lo) / width).astype(np.int64), buckets - 1)
    # The worst status per bucket, -1 for an empty one (np.maximum.at, without its slowness).
    levels = len(STATUSES)
    has = (np.bincount(b * levels + code, minlength=buckets * levels) > 0).reshape(buckets, levels)
    worst = np.where(has.any(axis=1), levels - 1 - np.argmax(has[:, ::-1], axis=1), -1)
    count = np.bincount(b, minlength=buckets)
    present = np.flatnonzero(worst >= 0)
    bt = lo + present * width
    start, _, status, _, _ = _runs(bt, worst[present])
    change = np.flatnonzero(np.diff(worst[present])) + 1
    first = np.concatenate(([0], change))
    polls = np.add.reduceat(count[present], first)
    ends = np.concatenate((bt[change], [hi]))
    return start, ends, status, polls, np.ones(len(start), dtype=bool)

# Fault kinds' colours: none of the statuses' green, orange and red.
FAULT_PALETTE = ("#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
                 "#393b79", "#637939", "#843c39")


def fault_colours(kinds) -> dict[str, str]:
    """A stable colour per fault kind (sorted by name, so two plots of a run agree)."""
    return {k: FAULT_PALETTE[i % len(FAULT_PALETTE)] for i, k in enumerate(sorted(set(kinds)))}
