"""Sweeps: one row per run (the grid point's parameters, the repetition and the run's result)
in a JSON Lines file that the sweep runner appends to. Here: reading it, verdicts per parameter
combination, and the distribution of recovery times per nemesis, version, mode..."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from flink_jepsen.analysis.load import NotARunError, load_run
from flink_jepsen.analysis.plots import HORIZONTAL, new_figure
from flink_jepsen.analysis.recovery import fault_recoveries as run_fault_recoveries
from flink_jepsen.errors import UsageError

# The columns the sweep runner adds to a grid point's parameters.
RESULT_COLUMNS = ("valid", "store", "error", "duration_s", "faults", "recovery_median_s",
                  "recovery_max_s", "anomalies")
BOOKKEEPING = ("repetition", "key", "run_dir", "run_exists")
VERDICTS = ("true", "false", "unknown")


class SweepError(UsageError, ValueError):
    """A sweep file that is missing or has no rows."""


def _verdict(v: object) -> str:
    if v is True or (isinstance(v, str) and v.lower() == "true"):
        return "true"
    if v is False or (isinstance(v, str) and v.lower() == "false"):
        return "false"
    return "unknown"


def load_sweep(path: str | os.PathLike) -> pd.DataFrame:
    """A sweep file (or a directory holding ``sweep.jsonl``) as a data frame, one row per run.
    ``valid`` becomes "true"/"false"/"unknown"; ``run_dir`` is the run's directory (a relative
    ``store`` is taken relative to the sweep file). Unreadable lines are skipped with a warning
    naming their line numbers, and listed in ``attrs["bad_lines"]``."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / "sweep.jsonl"
    if not p.is_file():
        raise SweepError(f"{p}: no such sweep file (a JSON Lines file with one row per run, "
                         "as `flink-jepsen sweep --out FILE` writes)")
    rows, bad = [], []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as e:
            bad.append((n, f"not JSON: {e}"))
            continue
        if not isinstance(row, dict):
            bad.append((n, "not a JSON object"))
            continue
        rows.append(row)
    if bad:
        warnings.warn(f"{p}: {len(bad)} line(s) skipped: " +
                      "; ".join(f"line {n}: {why}" for n, why in bad[:5]), stacklevel=2)
    if not rows:
        raise SweepError(f"{p}: no runs in this sweep file")
    frame = pd.DataFrame(rows)
    for c in RESULT_COLUMNS:
        if c not in frame:
            frame[c] = None
    frame["valid"] = [_verdict(v) for v in frame["valid"]]
    for c in ("duration_s", "faults", "recovery_median_s", "recovery_max_s", "anomalies"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce")
    frame["run_dir"] = [_run_dir(p.parent, s) for s in frame["store"]]
    frame["run_exists"] = [bool(d) and (Path(d) / "test.json").is_file() for d in frame["run_dir"]]
    frame.attrs["path"] = str(p)
    frame.attrs["bad_lines"] = bad
    return frame


def _run_dir(base: Path, store: object) -> str | None:
    if not isinstance(store, str) or not store:
        return None
    s = Path(store).expanduser()
    return str((s if s.is_absolute() else base / s).resolve())


def parameter_columns(sweep: pd.DataFrame) -> list[str]:
    """The grid's parameters: every column that is neither a result nor bookkeeping."""
    skip = set(RESULT_COLUMNS) | set(BOOKKEEPING)
    return [c for c in sweep.columns if c not in skip]


def varying_parameters(sweep: pd.DataFrame) -> list[str]:
    """The parameters that take more than one value in this sweep (all of them if none do)."""
    params = parameter_columns(sweep)
    varying = [c for c in params if sweep[c].astype(str).nunique(dropna=False) > 1]
    return varying or params


def _by(sweep: pd.DataFrame, by: str | list[str] | None) -> list[str]:
    cols = [by] if isinstance(by, str) else list(by) if by else varying_parameters(sweep)
    missing = [c for c in cols if c not in sweep]
    if missing:
        raise KeyError(f"not columns of this sweep: {', '.join(missing)}; parameters: "
                       f"{', '.join(parameter_columns(sweep))}")
    return cols


def _labels(frame: pd.DataFrame, cols: list[str]) -> pd.Series:
    if not cols:
        return pd.Series("all runs", index=frame.index)
    return frame[cols].astype(str).agg(" / ".join, axis=1)


def verdict_counts(sweep: pd.DataFrame, by: str | list[str] | None = None) -> pd.DataFrame:
    """Per parameter combination: runs, valid (true), invalid (false), unknown, and the
    anomalies found in all of them."""
    cols = _by(sweep, by)
    keyed = sweep.assign(_combo=_labels(sweep, cols))
    counts = pd.crosstab(keyed["_combo"], keyed["valid"]).reindex(columns=list(VERDICTS),
                                                                   fill_value=0)
    first = keyed.groupby("_combo", sort=True)[cols].first() if cols else None
    out = counts.rename_axis(None, axis=1)
    out.insert(0, "runs", counts.sum(axis=1))
    out["anomalies"] = keyed.groupby("_combo")["anomalies"].sum(min_count=1)
    if first is not None:
        out = first.join(out)
    return out.reset_index(drop=True)


def fault_recoveries(sweep: pd.DataFrame) -> pd.DataFrame:
    """Every fault of every run of the sweep that is still in the store, with the run's
    parameters, kind and recovery_s (results.json's, or computed from the history)."""
    params = parameter_columns(sweep)
    parts = []
    for _, row in sweep.iterrows():
        if not row.get("run_exists"):
            continue
        try:
            run = load_run(row["run_dir"])
        except NotARunError as e:
            warnings.warn(str(e), stacklevel=2)
            continue
        faults = run_fault_recoveries(run)
        if faults.empty:
            continue
        f = faults[["kind", "start_s", "end_s", "recovery_s"]].copy()
        for c in [*params, "repetition", "run_dir"]:
            if c in row:
                f[c] = row[c]
        parts.append(f)
    if not parts:
        return pd.DataFrame(columns=[*params, "kind", "start_s", "end_s", "recovery_s"])
    return pd.concat(parts, ignore_index=True)


def recovery_distribution(sweep: pd.DataFrame, by: str | list[str] | None = "nemesis_gen",
                          faults: pd.DataFrame | None = None) -> pd.DataFrame:
    """Recovery times per group and fault kind: faults, recovered, min, median, p90, max
    (seconds), over every fault of the group's runs that are still in the store. When none of
    the runs is at hand, over the rows' ``recovery_median_s`` instead (``kind`` is then
    "(run medians)")."""
    cols = _by(sweep, by) if by else []
    faults = fault_recoveries(sweep) if faults is None else faults
    if faults.empty:
        faults = sweep.assign(kind="(run medians)", recovery_s=sweep["recovery_median_s"])
    keys = [*cols, "kind"]
    g = faults.groupby(keys, sort=True, dropna=False)["recovery_s"]
    out = pd.DataFrame({"faults": g.size(), "recovered": g.count(), "min_s": g.min(),
                        "median_s": g.median(), "p90_s": g.quantile(0.9), "max_s": g.max()})
    return out.reset_index()


def plot_recovery_distribution(sweep: pd.DataFrame, by: str | list[str] | None = None,
                               path: str | os.PathLike | None = None,
                               faults: pd.DataFrame | None = None, *, ax=None) -> Figure:
    """Box plots of recovery times, one per parameter combination (``by``; default: the
    parameters that vary), with every fault as a dot; into the caller's ``ax`` if given."""
    cols = _by(sweep, by)
    faults = fault_recoveries(sweep) if faults is None else faults
    source = "every fault of the runs"
    if faults.empty:
        faults = sweep.assign(recovery_s=sweep["recovery_median_s"])
        source = "each run's median"
    data = faults.assign(_combo=_labels(faults, cols)).dropna(subset=["recovery_s"])
    groups = sorted(data["_combo"].unique()) if len(data) else []
    if ax is None:
        ax = new_figure(10, 1.4 + 0.45 * max(1, len(groups))).add_subplot()
    fig = ax.figure
    if not groups:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no recovery times in this sweep", ha="center", va="center",
                transform=ax.transAxes)
    else:
        values = [data.loc[data["_combo"] == g, "recovery_s"].to_numpy() for g in groups]
        ax.boxplot(values, positions=range(len(groups)), widths=0.55, showfliers=False,
                   medianprops={"color": "black"}, **HORIZONTAL)
        rng = np.random.default_rng(0)
        for i, v in enumerate(values):
            ax.scatter(v, i + rng.uniform(-0.18, 0.18, len(v)), s=10, alpha=0.7,
                       color="#1f77b4", zorder=3)
        ax.set_yticks(range(len(groups)), groups, fontsize=8)
        ax.set_xlabel("recovery (s)")
        ax.set_xlim(left=0)
        ax.grid(axis="x", alpha=0.3)
        ax.set_ylabel(" / ".join(cols), fontsize=8)
    ax.set_title(f"recovery time per {' / '.join(cols) or 'run'} ({source})", fontsize=10,
                 loc="left")
    if path is not None:
        fig.savefig(path, format="png")
    return fig


def plot_verdicts(sweep: pd.DataFrame, by: str | list[str] | None = None,
                  path: str | os.PathLike | None = None, *, ax=None) -> Figure:
    """Stacked bars of verdicts (valid, invalid, unknown) per parameter combination; into the
    caller's ``ax`` if given."""
    counts = verdict_counts(sweep, by)
    cols = _by(sweep, by)
    labels = _labels(counts, cols) if cols else pd.Series(["all runs"])
    if ax is None:
        ax = new_figure(10, 1.4 + 0.4 * len(counts)).add_subplot()
    fig = ax.figure
    left = np.zeros(len(counts))
    for v, colour, name in (("true", "#2ca02c", "valid"), ("false", "#d62728", "invalid"),
                            ("unknown", "#ff9f1c", "unknown")):
        ax.barh(range(len(counts)), counts[v], left=left, color=colour, label=name)
        left += counts[v].to_numpy()
    ax.set_yticks(range(len(counts)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("runs")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    ax.set_title(f"verdicts per {' / '.join(cols) or 'sweep'}", fontsize=10, loc="left")
    if path is not None:
        fig.savefig(path, format="png")
    return fig
