"""A run's report: one self-contained HTML page (images inlined, no network) in the run's
directory with the verdict, the parameters, the timeline and recovery plots, the anomalies,
and links to every file of the run, so a run can be understood from its directory alone. A
section that cannot be drawn shows why instead of failing the whole report."""

from __future__ import annotations

import base64
import html
import json
import os
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from flink_jepsen.analysis import exactly_once
from flink_jepsen.analysis.html_timeline import timeline_html, write_timeline_html
from flink_jepsen.analysis.load import RunData, load_run
from flink_jepsen.analysis.plots import plot_recovery, plot_timeline, png_bytes
from flink_jepsen.analysis.recovery import fault_recoveries, recovery_by_kind
from flink_jepsen.analysis.timeline import short_job
from flink_jepsen.checks import verdict as verdicts
from flink_jepsen.checks.finished_once import LOG_NAME

# The colours `flink-jepsen serve` shows verdicts in.
VERDICT_STYLE = {True: ("valid", "#1a7f37"), False: ("invalid", "#cf222e"),
                 "unknown": ("unknown", "#d97706")}
RUN_FILES = ("jepsen.log", "test.json", "history.jsonl", "results.json",
             "results-reanalyzed.json", "timeline.png", "timeline.html", "recovery.png")
MAX_ROWS = 200
LOG_TAIL = 40
MAX_JOB_LINES = 300

CSS = """<style>
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;
 color:#222}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid
 #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.verdict{display:inline-block;color:#fff;font-weight:600;padding:.25em .8em;border-radius:4px;
 font-size:1.1em}
.error{background:#fdecea;border-left:4px solid #d62728;padding:.6em 1em;white-space:pre-wrap;
 font-family:ui-monospace,monospace;font-size:12.5px;overflow-x:auto}
.note{color:#666}pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:12px}
img{max-width:100%}
</style>"""


def _e(x: object) -> str:
    return html.escape("" if x is None else str(x))


def _fmt(x: object) -> str:
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return "&ndash;"
    if isinstance(x, bool):
        return _e(str(x).lower())
    if isinstance(x, float):
        text = f"{x:.3f}".rstrip("0").rstrip(".") if abs(x) >= 1e-3 or x == 0 else f"{x:.3g}"
        return _e(text)
    if isinstance(x, (dict, list)):
        return _e(json.dumps(x, sort_keys=True))
    return _e(x)


def _table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(f'<td class="n">{_fmt(v)}</td>' if isinstance(v, (int, float))
                        and not isinstance(v, bool) else f"<td>{_fmt(v)}</td>" for v in row)
        body.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _frame_table(frame: pd.DataFrame, limit: int = MAX_ROWS) -> str:
    rows = [[None if pd.isna(v) is True else v for v in r]
            for r in frame.head(limit).itertuples(index=False)]
    more = (f'<p class="note">{len(frame) - limit} more rows not shown.</p>'
            if len(frame) > limit else "")
    return _table(frame.columns, rows) + more


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for k, v in sorted(d.items()):
        if isinstance(v, dict) and v:
            out += _flatten(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", v))
    return out


def _verdict(run: RunData) -> str:
    valid = run.valid
    name, colour = VERDICT_STYLE[valid]
    out = [f'<p><span class="verdict" style="background:{colour}">{name}</span> '
           f"&nbsp;{_e(verdicts.line(valid))}</p>"]
    if not run.results:
        out.append('<div class="error">No results.json: the run has not been analysed (it may '
                   "still be running, or it crashed before its analysis).</div>")
    if run.results.get("error"):
        phase = run.results.get("phase")
        where = f"failed in phase {phase}: " if phase else ""
        out.append(f'<div class="error">{_e(where)}{_e(run.results["error"])}</div>')
    eo = exactly_once.section(run.results)
    if eo is not None:
        out.append(f'<p class="note">availability: {_fmt(run.availability.get("valid?"))}'
                   f'; exactly-once: {_fmt(eo.get("valid", eo.get("valid?")))}. The verdict is '
                   "the worse of the two.</p>")
    facts = [("test", run.results.get("test") or run.path.parent.name), ("run", run.path.name),
             ("nemesis", run.results.get("nemesis-gen") or run.options.get("nemesis_gen")),
             ("deployment mode", run.results.get("deployment-mode")
              or run.options.get("deployment_mode")),
             ("workload", run.options.get("workload", "availability")),
             ("history ops", len(run.history)), ("polls", len(run.polls)),
             ("faults", len(run.faults)),
             ("faults without effect", len(run.availability.get("ineffective_faults") or [])),
             ("availability anomalies", len(run.availability.get("anomalies") or []))]
    if exactly_once.section(run.results) is not None:
        found = int(exactly_once.counts(run.results)["count"].sum())
        facts.append(("exactly-once anomalies", found))
    return "\n".join(out) + _table(["", ""], facts)


def _parameters(run: RunData) -> str:
    parts = [_table(["option", "value"], _flatten(run.options))]
    spec = run.test.get("spec")
    if isinstance(spec, dict):
        parts.append("<h3>Test spec</h3>" + _table(["field", "value"], _flatten(spec)))
    versions = run.test.get("versions")
    if isinstance(versions, dict):
        parts.append("<h3>Versions</h3>" + _table(["component", "version"], _flatten(versions)))
    rest = {k: v for k, v in run.test.items() if k not in ("options", "spec", "versions")}
    if rest:
        parts.append(_table(["", ""], _flatten(rest)))
    return "\n".join(parts)


def _timeline(run: RunData, plots_dir: Path | None) -> str:
    if run.polls.empty:
        return '<p class="note">No availability polls in the history: nothing to plot.</p>'
    fig = plot_timeline(run)
    png = png_bytes(fig)
    if plots_dir is not None:
        (plots_dir / "timeline.png").write_bytes(png)
        write_timeline_html(run, plots_dir / "timeline.html")
    return (timeline_html(run) + "<details><summary>static image</summary>"
            + _img(png, "availability timeline") + "</details>")


def _recovery(run: RunData, plots_dir: Path | None) -> str:
    if run.faults.empty:
        return '<p class="note">No faults in the history.</p>'
    kinds = recovery_by_kind(run)
    faults = fault_recoveries(run)
    png = png_bytes(plot_recovery(run))
    if plots_dir is not None:
        (plots_dir / "recovery.png").write_bytes(png)
    per_fault = faults.assign(duration_s=faults["end_s"] - faults["start_s"])[
        ["kind", "start_s", "end_s", "duration_s", "outage_start_s", "recovery_s", "detail"]]
    return (f'<p class="note">Recovery: from a fault\'s end to the first poll at which every '
            "job runs again after the outage the fault caused (the first that began while it "
            "was active or after it, before the next fault: a lost TaskManager is noticed only "
            "at a heartbeat timeout); without one, to the next poll at which every job runs "
            f"(source: {_e(kinds.attrs.get('source'))}).</p>"
            + _frame_table(kinds) + _img(png, "recovery times")
            + "<details><summary>every fault</summary>" + _frame_table(per_fault)
            + "</details>")


def _outages(run: RunData) -> str:
    """Each stretch in which a job was unavailable, with the faults inside it: with faults
    every few seconds, one outage can span many faults, which recovery per fault hides."""
    o = run.outages
    if o.empty:
        return '<p class="note">No outage: every poll found every job available.</p>'
    table = o.assign(faults=[", ".join(f"{k} x{f.count(k)}" for k in dict.fromkeys(f))
                             for f in o["faults"]])
    longest = o["length_s"].max()
    open_ = int(o["end_s"].isna().sum())
    summary = (f"{len(o)} outage(s); longest {longest:.1f} s" if longest == longest else
               f"{len(o)} outage(s)")
    if open_:
        summary += f"; {open_} never ended"
    return (f'<p class="note">{_e(summary)}. An outage runs from the first poll that found a job '
            "unavailable to the first that found it available again; anomalous: it broke the "
            "grace-period rule.</p>" + _frame_table(table))


def _jobs(run: RunData) -> str:
    jobs = run.availability.get("jobs") or {}
    if not jobs:
        return '<p class="note">No jobs in the results.</p>'
    keys = sorted({k for j in jobs.values() if isinstance(j, dict) for k in j})
    return _table(["job", *keys], [[job, *[(j or {}).get(k) for k in keys]]
                                   for job, j in jobs.items()])


def _other_anomalies(run: RunData) -> list[str]:
    """Anomalies of the checkers other than availability and exactly-once (finished-once, a
    user's own), as the composed results hold them."""
    others = [a for a in run.results.get("anomalies") or [] if isinstance(a, dict)
              and a.get("checker") not in (None, "availability", "exactly-once")]
    if not others:
        return []
    rows = [[a.get("checker"), a.get("type"), a.get("job"),
             json.dumps(a.get("ops"))[:600] if a.get("ops") else ""] for a in others[:MAX_ROWS]]
    return [f"<p>{len(others)} anomal{'y' if len(others) == 1 else 'ies'} of other checkers:</p>",
            _table(["checker", "type", "job", "ops"], rows)]


def _anomalies(run: RunData) -> str:
    anomalies = run.availability.get("anomalies") or []
    parts = _other_anomalies(run)
    eo = exactly_once.counts(run.results) if exactly_once.section(run.results) else None
    if eo is not None and eo["count"].sum():
        found = eo[eo["count"] > 0]
        parts.append("<p>Exactly-once: " + ", ".join(
            f"{_e(c)} {n}" for c, n in zip(found["category"], found["count"]))
            + " (see Exactly-once below).</p>")
    if not anomalies:
        parts.append("<p>No availability anomalies.</p>" if run.availability else
                     "<p>No availability checker in this run.</p>")
        return "\n".join(parts)
    types = run.availability.get("anomaly_types") or {}
    keys = list(dict.fromkeys(k for a in anomalies if isinstance(a, dict) for k in a))
    rows = [[a.get(k) for k in keys] for a in anomalies[:MAX_ROWS] if isinstance(a, dict)]
    more = (f'<p class="note">{len(anomalies) - MAX_ROWS} more not shown (see results.json).</p>'
            if len(anomalies) > MAX_ROWS else "")
    parts += [_table(["type", "count"], sorted(types.items())), _table(keys, rows), more]
    return "\n".join(parts)


def _exactly_once(run: RunData) -> str:
    parts = [_frame_table(exactly_once.counts(run.results))]
    section = exactly_once.section(run.results) or {}
    if section.get("reason"):
        parts.insert(0, f'<div class="error">{_e(section["reason"])}</div>')
    totals = exactly_once.totals(run.results)
    if len(totals):
        parts.append("<h3>Totals (checker)</h3>" + _frame_table(totals))
    sent = exactly_once.send_outcomes(run.history)
    if len(sent):
        parts.append("<h3>Sends and polls (history)</h3>" + _frame_table(sent))
    for category, frame in exactly_once.examples(run.results).items():
        parts.append(f"<h3>Examples: {_e(category)}</h3>" + _frame_table(frame))
    return "\n".join(parts)


def _history(run: RunData) -> str:
    parts = [f"<p>{len(run.history)} ops.</p>"]
    if run.bad_lines:
        parts.append(f'<div class="error">{len(run.bad_lines)} line(s) of history.jsonl could '
                     "not be read and were skipped.</div>")
        parts.append(_table(["line", "reason"], run.bad_lines[:MAX_ROWS]))
    if not run.history.empty:
        counts = (run.history.groupby(["f", "type"], observed=True).size()
                  .rename("ops").reset_index())
        parts.append(_frame_table(counts))
    return "\n".join(parts)


def _link(run_dir: Path, path: Path) -> str:
    rel = path.relative_to(run_dir).as_posix()
    size = path.stat().st_size
    return f'<a href="{quote(rel)}">{_e(rel)}</a> <span class="note">({size:,} bytes)</span>'


def _files(run_dir: Path) -> str:
    top = [run_dir / name for name in RUN_FILES if (run_dir / name).is_file()]
    parts = ["<ul>" + "".join(f"<li>{_link(run_dir, p)}</li>" for p in top) + "</ul>"]
    nodes = run_dir / "nodes"
    if nodes.is_dir():
        for node in sorted(p for p in nodes.iterdir() if p.is_dir()):
            files = sorted(p for p in node.rglob("*") if p.is_file())
            items = "".join(f"<li>{_link(run_dir, p)}</li>" for p in files) or "<li>none</li>"
            parts.append(f"<h3>{_e(node.name)}</h3><ul>{items}</ul>")
    else:
        parts.append('<p class="note">No nodes/ directory: no node logs were collected.</p>')
    return "\n".join(parts)


def _job_lines(run: RunData) -> str:
    """What the JobManagers logged about the jobs' lifecycle: state switches of the job (not
    its tasks), terminal states, leadership granted and revoked, recoveries; each line with the
    log it came from, so a verdict's evidence is one click away."""
    nodes = run.path / "nodes"
    ids = [j for j in run.jobs if j]
    if not nodes.is_dir():
        return '<p class="note">No nodes/ directory: no node logs were collected.</p>'
    rows = []
    logs = [p for p in nodes.rglob("*.log*") if LOG_NAME.search(p.name)]
    for log_file in sorted(logs):
        try:
            lines = log_file.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, start=1):
            if _job_event(line, ids):
                rows.append((log_file, number, line))
    if not rows:
        return '<p class="note">No job lifecycle lines in the collected logs.</p>'
    rows.sort(key=lambda r: r[2][:23])  # log4j lines start with their time stamp
    shown = rows[:MAX_JOB_LINES]
    body = "\n".join(f'<a href="{quote(f.relative_to(run.path).as_posix())}">'
                      f"{_e(f.relative_to(nodes).as_posix())}:{n}</a>  {_e(text[:400])}"
                      for f, n, text in shown)
    more = (f'<p class="note">{len(rows) - len(shown)} more lines not shown.</p>'
            if len(rows) > len(shown) else "")
    return f"<pre>{body}</pre>{more}"


JOB_EVENTS = ("reached terminal state", "was granted leadership", "was revoked leadership",
              "Recovered", "recover", "Submitting job", "Job was recovered",
              "already reached a globally terminal state", "Application")


def _job_event(line: str, ids: list[str]) -> bool:
    if "switched from state" in line:
        # The job's own switches ("Job <name> (<id>) switched"), not its tasks'.
        return any(f"({j}) switched" in line for j in ids) or (
            not ids and line.find("Job ") < line.find("switched"))
    return any(j in line for j in ids) and any(e in line for e in JOB_EVENTS)


def _log_tail(run: RunData) -> str:
    log = run.path / "jepsen.log"
    if not log.is_file():
        return '<p class="note">No jepsen.log.</p>'
    with log.open("rb") as f:
        f.seek(max(0, log.stat().st_size - 200_000))
        lines = f.read().decode("utf-8", "replace").splitlines()[-LOG_TAIL:]
    opened = "" if run.valid is True else " open"
    return (f"<details{opened}><summary>last {len(lines)} lines</summary><pre>"
            f"{_e(chr(10).join(lines))}</pre></details>")


def _section(title: str, render: Callable[[], str]) -> str:
    """A section of the report; if drawing it fails, the report says so and goes on."""
    try:
        body = render()
    except Exception as e:  # noqa: BLE001 - one broken section must not lose the report
        body = (f'<div class="error">This section could not be drawn: {_e(type(e).__name__)}: '
                f"{_e(e)}\n{_e(traceback.format_exc(limit=3))}</div>")
    return f"<h2>{_e(title)}</h2>\n{body}"


def render_report(run: RunData, plots_dir: Path | None = None) -> str:
    """The report page as HTML text; plots are also written to ``plots_dir`` when given."""
    name = _e(run.name)
    sections = [
        _section("Verdict", lambda: _verdict(run)),
        _section("Availability", lambda: _timeline(run, plots_dir)),
        _section("Faults and recovery", lambda: _recovery(run, plots_dir)),
        _section("Outages", lambda: _outages(run)),
        _section("Jobs", lambda: _jobs(run)),
        _section("Anomalies", lambda: _anomalies(run)),
        _section("Job lifecycle in the JobManager logs", lambda: _job_lines(run)),
    ]
    if exactly_once.section(run.results) is not None:
        sections.append(_section("Exactly-once", lambda: _exactly_once(run)))
    sections += [
        _section("Parameters", lambda: _parameters(run)),
        _section("History", lambda: _history(run)),
        _section("Files", lambda: _files(run.path)),
        _section("jepsen.log", lambda: _log_tail(run)),
    ]
    jobs = ", ".join(short_job(j) for j in run.jobs)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{name}: {_e(VERDICT_STYLE[run.valid][0])}</title>{CSS}</head><body>\n"
            f"<h1>{name}</h1>\n<p class=\"note\">{_e(run.path)}"
            f"{' &middot; jobs ' + _e(jobs) if jobs else ''}</p>\n"
            + "\n".join(sections) + "\n</body></html>\n")


def write_report(run_dir: str | os.PathLike, *, plots: bool = True) -> Path:
    """Writes ``report.html`` into the run's directory (with ``timeline.png``,
    ``timeline.html`` and ``recovery.png`` beside it unless ``plots`` is False) and returns its
    path. Works for runs that failed in setup: the report then shows the error."""
    run = load_run(run_dir)
    page = render_report(run, run.path if plots else None)
    out = run.path / "report.html"
    tmp = out.with_name(".report.html.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)
    return out
