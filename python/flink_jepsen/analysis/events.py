"""What a run shows, as small data frames: the availability polls' outcomes and the deliberate
cancellations read from the history, and the faults and outages as the availability checker
(cpp/check/availability.cpp) reported them, so that what the plots show is what was checked."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pandas as pd

POLL = "job-running?"
CANCEL = "cancel-job"
NEMESIS = "nemesis"
# A poll's outcome, worst last: the timeline's colours and the downsampling use this order.
STATUSES = ("running", "not running", "unreachable")

FAULT_COLUMNS = ("kind", "start_s", "end_s", "start", "end", "instant", "healed", "value",
                 "nodes", "detail", "recovery_s", "outage_start_s")
POLL_COLUMNS = ("index", "time", "time_s", "process", "job", "type", "ok", "running", "state",
                "error", "status")


def _detail(value: object) -> str:
    """A short description of a fault's value, for labels and tooltips."""
    if isinstance(value, dict):
        if isinstance(value.get("shape"), str):
            return value["shape"]
        if isinstance(value.get("nodes"), list):
            return "nodes " + ", ".join(map(str, value["nodes"]))
    if value is None:
        return ""
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."


def empty_faults() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
        FAULT_COLUMNS, ("object", "float64", "float64", "int64", "int64", "bool", "bool",
                        "object", "object", "object", "float64", "float64"))})


def faults_frame(faults: list[dict]) -> pd.DataFrame:
    """The availability checker's faults (results.json's ``faults``) as a data frame, one row
    per fault that had an effect: an instant fault (a kill) from its invoke to its completion,
    a lasting one from its start's invoke to its stop's completion; ``healed`` False for one
    never stopped; ``recovery_s`` NaN when the jobs never all ran again after it;
    ``outage_start_s`` when the outage it caused began (NaN: it caused none)."""
    if not faults:
        return empty_faults()
    rows = [(f["kind"], float(f["start_s"]), float(f["end_s"]), bool(f.get("instant", False)),
             bool(f.get("healed", True)), f.get("value"),
             math.nan if f.get("recovery_s") is None else float(f["recovery_s"]),
             math.nan if f.get("outage_start_s") is None else float(f["outage_start_s"]))
            for f in faults]
    frame = pd.DataFrame(rows, columns=["kind", "start_s", "end_s", "instant", "healed",
                                        "value", "recovery_s", "outage_start_s"])
    frame["start"] = np.round(frame["start_s"] * 1e9).astype(np.int64)
    frame["end"] = np.round(frame["end_s"] * 1e9).astype(np.int64)
    frame["nodes"] = [v.get("nodes") if isinstance(v, dict) else None for v in frame["value"]]
    frame["detail"] = [_detail(v) for v in frame["value"]]
    frame["kind"] = frame["kind"].astype(object)
    return frame[list(FAULT_COLUMNS)]


OUTAGE_COLUMNS = ("job", "since_s", "start_s", "end_s", "length_s", "polls", "first",
                  "anomalous", "faults", "after")


def outages_frame(outages: list[dict]) -> pd.DataFrame:
    """The availability checker's outages: per job, each stretch of polls that found it
    unavailable, its length (NaN: never over), the kinds of the faults inside it and the kind
    of the last fault before it (``after``: Flink may notice a kill only seconds later)."""
    rows = [(o["job"], math.nan if o.get("since_s") is None else o["since_s"], o["start_s"],
             math.nan if o.get("end_s") is None else o["end_s"],
             math.nan if o.get("length_s") is None else o["length_s"], o["polls"],
             o.get("first"), bool(o.get("anomalous")),
             [f["kind"] for f in o.get("faults") or []],
             (o.get("after") or {}).get("kind")) for o in outages]
    return pd.DataFrame(rows, columns=list(OUTAGE_COLUMNS))


def _job_of(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("job"), str):
        return value["job"]
    return None


def empty_polls() -> pd.DataFrame:
    return pd.DataFrame({
        "index": pd.Series(dtype="int64"), "time": pd.Series(dtype="int64"),
        "time_s": pd.Series(dtype="float64"), "process": pd.Series(dtype=object),
        "job": pd.Series(dtype=object), "type": pd.Series(dtype=object),
        "ok": pd.Series(dtype=bool), "running": pd.Series(dtype=bool),
        "state": pd.Series(dtype=object), "error": pd.Series(dtype=object),
        "status": pd.Categorical([], categories=STATUSES)})


def polls_from_history(history: pd.DataFrame, value_codes: np.ndarray | None = None
                       ) -> pd.DataFrame:
    """One row per completed ``job-running?`` poll, in time order: the job, whether it was
    ``ok`` (the REST API answered), ``running`` (state and every vertex RUNNING), Flink's job
    ``state``, the ``error`` of a failed poll, and ``status`` (running / not running /
    unreachable: a failed poll or one whose outcome is unknown). ``value_codes``, when the
    reader gave them (one per history row, equal codes for equal value texts), spare hashing
    every value again."""
    is_poll = _rows_where(history["f"], lambda f: f == POLL)
    completion = is_poll & _rows_where(history["type"], lambda t: t != "invoke")
    rows = np.flatnonzero(completion)
    if not len(rows):
        return empty_polls()
    values = history["value"].to_numpy(dtype=object)
    # Poll values repeat (a few jobs, endpoints and states): parse each distinct text once.
    if value_codes is not None and len(value_codes) == len(history):
        codes, uniques = _distinct(value_codes[rows], values, rows)
    else:
        codes, uniques = pd.factorize(values[rows])
    parsed = [json.loads(u) for u in uniques]
    job_u = np.array([_job_of(v) for v in parsed], dtype=object)
    running_u = np.array([isinstance(v, dict) and v.get("running") is True for v in parsed])
    state_u = np.array([v.get("state") if isinstance(v, dict) and isinstance(v.get("state"), str)
                        else None for v in parsed], dtype=object)
    jobs = job_u[codes]
    if any(j is None for j in job_u):
        jobs = _jobs_from_invokes(history, is_poll, jobs)
    typ = _texts_of(history["type"], rows)
    ok = _rows_where(history["type"], lambda t: t == "ok")[rows]
    running = ok & running_u[codes]
    status = np.where(running, 0, np.where(ok, 1, 2))
    state_u = np.append(state_u, None)   # the state of a poll that did not answer: None
    error = history["error"].to_numpy(dtype=object)[rows]
    error[ok] = None
    columns = {
        "index": history["index"].to_numpy()[rows], "time": history["time"].to_numpy()[rows],
        "time_s": history["time_s"].to_numpy()[rows],
        "process": _texts_of(history["process"], rows), "job": jobs, "type": typ,
        "ok": ok, "running": running, "state": state_u[np.where(ok, codes, len(state_u) - 1)],
        "error": error, "status": status}
    if pd.isna(job_u).any():   # polls whose job nothing names are left out
        keep = np.flatnonzero(pd.notna(jobs))
        columns = {k: v[keep] for k, v in columns.items()}
    columns["status"] = pd.Categorical.from_codes(columns["status"], categories=STATUSES)
    polls = pd.DataFrame(columns)
    if not polls["time"].is_monotonic_increasing:
        polls = polls.sort_values(["time", "index"], kind="stable")
    return polls.reset_index(drop=True)


def _distinct(codes: np.ndarray, values: np.ndarray, rows: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """The reader's value codes of some rows renumbered 0.. in order of first appearance, and
    the value text of each: pd.factorize's answer without hashing a text per row."""
    seen = np.full(int(codes.max()) + 1, -1, dtype=np.int64)
    first = np.unique(codes, return_index=True)[1]
    order = np.sort(first)
    seen[codes[order]] = np.arange(len(order))
    return seen[codes], values[rows[order]]


def _texts_of(column: pd.Series, rows: np.ndarray) -> np.ndarray:
    """Some rows of a (categorical) text column as an object array of str."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        texts = np.empty(len(column.cat.categories) + 1, dtype=object)
        texts[:-1] = [str(t) for t in column.cat.categories]
        return texts[column.cat.codes.to_numpy()[rows]]
    return column.to_numpy(dtype=object)[rows]


def _jobs_from_invokes(history: pd.DataFrame, is_poll: np.ndarray, jobs: np.ndarray
                       ) -> np.ndarray:
    """Fills in the job of completions whose value does not name it from their invoke (the
    latest invoke of the same process), as the checker does."""
    rows = history.loc[is_poll, ["process", "type", "value"]].copy()
    invoke = (rows["type"] == "invoke").to_numpy()
    job = np.full(len(rows), None, dtype=object)
    job[invoke] = [_job_of(json.loads(v)) for v in rows["value"].to_numpy()[invoke]]
    rows["job"] = pd.Series(job, index=rows.index, dtype=object)
    rows["job"] = rows.groupby("process", observed=True)["job"].ffill()
    from_invoke = rows["job"].to_numpy()[~invoke]
    return np.where(pd.isna(jobs), from_invoke, jobs)


def cancels_from_history(history: pd.DataFrame) -> pd.DataFrame:
    """Deliberate cancellations (``cancel-job`` completions): job, type (ok: cancelled; info:
    maybe), invoke and completion times. A cancelled job is no longer expected to run."""
    rows = history[(history["f"] == CANCEL).to_numpy()]
    out = []
    pending: dict[str, tuple[int, str | None]] = {}
    for process, typ, t, text in zip(rows["process"].astype(object), rows["type"].astype(object),
                                     rows["time"].to_numpy(), rows["value"]):
        job = _job_of(json.loads(text))
        if typ == "invoke":
            pending[process] = (int(t), job)
            continue
        invoked, invoked_job = pending.pop(process, (int(t), None))
        out.append((job or invoked_job, typ, invoked, int(t)))
    frame = pd.DataFrame(out, columns=["job", "type", "invoke_time", "time"])
    frame["time_s"] = frame["time"] / 1e9
    return frame[frame["job"].notna()].reset_index(drop=True)


def _rows_where(column: pd.Series, keep: Callable[[str], bool]) -> np.ndarray:
    """Which rows' text satisfies ``keep``, asked once per distinct text of a categorical column
    (the history's are): a million rows cost what their few texts cost."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        texts = column.cat.categories
        wanted = np.fromiter((keep(str(t)) for t in texts), dtype=bool, count=len(texts))
        return np.append(wanted, False)[column.cat.codes.to_numpy()]  # code -1: missing
    return np.fromiter((keep(str(v)) for v in column), dtype=bool, count=len(column))


def clock_offsets(history: pd.DataFrame) -> pd.DataFrame:
    """Each node's clock offset over the run as the clock faults set it (the nemesis's
    ``start-clock-*`` and ``stop-clock-*`` completions that took effect), as polyline vertices:
    node, time_s, offset_s. A skew or jump is a step; a drift (its start carries ``rate``) a
    ramp to the offset it reached (the reset's ``drifted``), then back to 0."""
    columns = ["node", "time_s", "offset_s"]
    is_clock = _rows_where(history["f"], lambda f: f.startswith(("start-clock", "stop-clock")))
    rows = history[is_clock & _rows_where(history["process"], lambda p: p == NEMESIS)]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    points: list[tuple[str, float, float]] = []
    current: dict[str, float] = {}
    drifting: dict[str, float] = {}   # node -> rate of the drift under way
    invokes: dict[str, dict] = {}
    for f, typ, t, text in zip(rows["f"].astype(str), rows["type"].astype(str),
                               rows["time_s"].to_numpy(), rows["value"]):
        value = json.loads(text) if isinstance(text, str) else text
        if typ == "invoke":
            invokes[f] = value if isinstance(value, dict) else {}
            continue
        if typ != "info" or not isinstance(value, dict):
            continue
        asked = invokes.pop(f, {})
        failed = set((value.get("errors") or {}).keys())
        offset = float(value.get("offset", 0.0))
        for node in value.get("nodes") or []:
            if node in failed:
                continue
            before = current.get(node, 0.0)
            if node in drifting and "drifted" in asked:
                before = float(asked["drifted"])
            points.append((node, float(t), before))
            points.append((node, float(t), offset))
            current[node] = offset
            drifting.pop(node, None)
            if asked.get("rate") not in (None, 1, 1.0):
                drifting[node] = float(asked["rate"])
    frame = pd.DataFrame(points, columns=columns)
    return frame.sort_values(["node", "time_s"], kind="stable").reset_index(drop=True)
