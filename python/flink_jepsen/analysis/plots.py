"""Static plots of a run: the availability timeline with the faults over it, and recovery
times per fault kind. Figures are drawn on Matplotlib's Agg canvas without pyplot, so nothing
here needs a display or changes a notebook's backend. Each returns its Figure and writes a PNG
when given a path."""

from __future__ import annotations

import io
import os

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from flink_jepsen.analysis.events import STATUSES, clock_offsets
from flink_jepsen.analysis.load import RunData
from flink_jepsen.analysis.recovery import fault_recoveries
from flink_jepsen.analysis.timeline import COLOURS, fault_colours, segments, short_job

BAR = 0.6  # a job's bar height, in rows
# boxplot's "horizontal" is spelled orientation= since Matplotlib 3.10, vert= before.
_MPL = tuple(int(x) for x in matplotlib.__version__.split(".")[:2])
HORIZONTAL = {"orientation": "horizontal"} if _MPL >= (3, 10) else {"vert": False}


def new_figure(width: float, height: float) -> Figure:
    """A figure on an Agg canvas (PNG without a display)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | os.PathLike | None) -> Figure:
    if path is not None:
        fig.savefig(path, format="png")
    return fig


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes (for inlining in a report)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _message(fig: Figure, text: str) -> Figure:
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=11)
    return fig


def draw_faults(ax, faults: pd.DataFrame, colours: dict[str, str]) -> list:
    """Lasting faults as shaded spans, instant ones as vertical lines; legend handles per kind."""
    handles = []
    for kind, g in faults.groupby("kind", sort=True):
        colour = colours[kind]
        lasting = g[~g["instant"]]
        instant = g[g["instant"]]
        if len(lasting):  # one collection per kind: hundreds of axvspans draw slowly
            spans = np.column_stack((lasting["start_s"], lasting["end_s"] - lasting["start_s"]))
            ax.broken_barh(spans, (0, 1), transform=ax.get_xaxis_transform(),
                           facecolors=colour, alpha=0.18, lw=0, zorder=0)
        if len(instant):
            ax.vlines(instant["start_s"], 0, 1, transform=ax.get_xaxis_transform(),
                      colors=colour, lw=1.1, alpha=0.85, zorder=3)
            handles.append(Line2D([], [], color=colour, lw=1.5, label=f"{kind} ({len(g)})"))
        else:
            handles.append(Patch(color=colour, alpha=0.35, label=f"{kind} ({len(g)})"))
    return handles


def _axes_message(ax, text: str):
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=11)
    return ax.figure


def plot_timeline(run: RunData, path: str | os.PathLike | None = None, *,
                  max_segments: int = 1500, width: float = 12.0, ax=None) -> Figure:
    """Each job's availability (running / not running / unreachable) over the run, with the
    faults over it. Polls are merged into spans of one status; a job with more than
    ``max_segments`` spans shows the worst status per time bucket instead. With ``ax`` (a
    matplotlib Axes of the caller's figure) it draws there, without the clock panel, and
    returns that figure."""
    jobs = run.jobs
    clocks = clock_offsets(run.history) if ax is None else pd.DataFrame()
    height = 1.6 + 0.55 * max(1, len(jobs))
    if ax is not None:
        fig, cx = ax.figure, None
        if run.polls.empty:
            return _save(_axes_message(ax, "no availability polls in this run's history"), path)
    else:
        fig = new_figure(width, height + (0 if clocks.empty else CLOCK_PANEL))
        if run.polls.empty:
            return _save(_message(fig, "no availability polls in this run's history"), path)
        if clocks.empty:
            ax, cx = fig.add_subplot(), None
        else:
            ax, cx = fig.subplots(2, 1, sharex=True, height_ratios=[height, CLOCK_PANEL])
    seg = segments(run.polls, max_per_job=max_segments)
    ax.add_collection(_status_bars(seg, {job: i for i, job in enumerate(jobs)}),
                      autolim=False)
    colours = fault_colours(run.faults["kind"])
    handles = [Patch(color=COLOURS[s], label=s) for s in STATUSES]
    handles += draw_faults(ax, run.faults, colours)
    ax.set_yticks(range(len(jobs)), [f"job {short_job(j)}" for j in jobs])
    ax.set_ylim(len(jobs) - 0.5, -0.5)
    t0 = min(run.polls["time_s"].min(), run.faults["start_s"].min() if len(run.faults) else np.inf)
    t1 = max(run.polls["time_s"].max(), run.faults["end_s"].max() if len(run.faults) else 0)
    pad = (t1 - t0) * 0.01 or 1.0
    ax.set_xlim(t0 - pad, t1 + pad)
    if cx is None:
        ax.set_xlabel("seconds since the run started")
    ax.grid(axis="x", alpha=0.3)
    down = " (downsampled)" if seg["downsampled"].any() else ""
    ax.set_title(f"{run.name}: availability{down}", fontsize=10, loc="left")
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
              frameon=False)
    if cx is not None:
        _draw_clocks(cx, clocks, t0 - pad, t1 + pad)
    return _save(fig, path)


CLOCK_PANEL = 1.8  # inches under the timeline for the clock offsets


def _status_bars(seg: pd.DataFrame, row: dict[str, int]) -> PolyCollection:
    """Every job's status spans as one collection of rectangles (a job per row, BAR high),
    drawn in status order as the legend lists them."""
    seg = seg.assign(rank=seg["status"].map({s: i for i, s in enumerate(STATUSES)}))
    seg = seg.sort_values("rank", kind="stable")
    x0, x1 = seg["start_s"].to_numpy(), seg["end_s"].to_numpy()
    y = seg["job"].map(row).to_numpy(dtype=float)
    y0, y1 = y - BAR / 2, y + BAR / 2
    verts = np.stack([np.column_stack(c) for c in ((x0, y0), (x0, y1), (x1, y1), (x1, y0))],
                     axis=1)
    colours = [COLOURS[s] for s in seg["status"]]
    return PolyCollection(verts, facecolors=colours, linewidths=0, zorder=2)


def _draw_clocks(cx, clocks: pd.DataFrame, x0: float, x1: float) -> None:
    """Each node's clock offset as the clock faults set it, under the timeline."""
    for node, g in clocks.groupby("node", sort=True):
        times = np.concatenate(([x0], g["time_s"].to_numpy(), [x1]))
        offsets = g["offset_s"].to_numpy()
        values = np.concatenate(([0.0], offsets, [offsets[-1]]))
        cx.plot(times, values, lw=1.2, label=str(node))
    cx.axhline(0, color="grey", lw=0.6)
    cx.set_ylabel("clock offset (s)", fontsize=8)
    cx.set_xlabel("seconds since the run started")
    cx.grid(alpha=0.3)
    cx.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)


def plot_recovery(run: RunData, path: str | os.PathLike | None = None, *,
                  ax=None) -> Figure:
    """Recovery time of every fault: over the run (left) and per fault kind (right). Faults
    that never recovered are marked with a cross at the top. With ``ax``, a pair of the
    caller's Axes (over the run, per kind), it draws there and returns their figure."""
    faults = fault_recoveries(run)
    if ax is not None:
        if len(ax) != 2:
            raise ValueError("plot_recovery: ax must be two Axes (over the run, per kind)")
        over, dist = ax
        fig = over.figure
        if faults.empty:
            return _save(_axes_message(over, "no faults in this run's history"), path)
    else:
        fig = new_figure(12, 3.6)
        if faults.empty:
            return _save(_message(fig, "no faults in this run's history"), path)
        over, dist = fig.subplots(1, 2, width_ratios=(3, 2))
    colours = fault_colours(faults["kind"])
    kinds = sorted(colours)
    top = faults["recovery_s"].max()
    top = 1.0 if pd.isna(top) or top <= 0 else top * 1.08
    for i, kind in enumerate(kinds):
        g = faults[faults["kind"] == kind]
        ok = g["recovery_s"].notna()
        over.scatter(g.loc[ok, "end_s"], g.loc[ok, "recovery_s"], s=18, color=colours[kind],
                     label=kind, zorder=3)
        over.scatter(g.loc[~ok, "end_s"], np.full((~ok).sum(), top), marker="x", s=30,
                     color=colours[kind], zorder=3)
        r = g.loc[ok, "recovery_s"].to_numpy()
        if len(r):
            dist.boxplot(r, positions=[i], widths=0.5, showfliers=False,
                         medianprops={"color": "black"}, **HORIZONTAL)
            jitter = np.random.default_rng(i).uniform(-0.15, 0.15, len(r))
            dist.scatter(r, i + jitter, s=12, color=colours[kind], alpha=0.8, zorder=3)
        missing = int((~ok).sum())
        if missing:
            dist.annotate(f"{missing} not recovered", (top, i), fontsize=8, ha="right",
                          va="bottom", color="#d62728")
    over.set_xlabel("fault end (s since the run started)")
    over.set_ylabel("recovery (s)")
    over.set_ylim(bottom=0, top=top * 1.05)
    over.grid(alpha=0.3)
    over.legend(fontsize=8, loc="best")
    dist.set_yticks(range(len(kinds)), kinds, fontsize=8)
    dist.set_xlabel("recovery (s)")
    dist.set_xlim(left=0, right=top * 1.05)
    dist.grid(axis="x", alpha=0.3)
    title = f"{run.name}: recovery after each fault ({faults.attrs.get('source', '')})"
    if ax is None:
        fig.suptitle(title, fontsize=10, x=0.01, ha="left")
    else:
        over.set_title(title, fontsize=10, loc="left")
    return _save(fig, path)
