"""The HTML of the store's web UI (`flink-jepsen serve`), as plain functions returning strings.

Everything shown comes from files a run wrote, and those hold whatever Flink, the JVM or a job
printed (and test names anyone can choose), so every piece of text goes through html.escape
and every link through quote(): the pages must never run what a log happens to contain.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime
from html import escape
from pathlib import Path
from urllib.parse import quote, urlencode

from flink_jepsen.store.view import VERDICTS, RunSummary, read_json

HISTORY_PAGE = 100          # ops per page of the history table
JSON_PREVIEW = 200_000      # characters of results.json shown inline (the rest: raw link)
LOG_TAIL_LINES = 40

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#1f2328}
a{color:#0969da} table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa} pre{background:#f6f8fa;padding:.6em;overflow:auto;max-height:40em}
.verdict{display:inline-block;padding:.1em .6em;border-radius:.8em;font-weight:600;color:#fff}
.v-valid{background-color:rgb(26,127,55)} .v-invalid{background-color:rgb(207,34,46)}
.v-unknown{background-color:rgb(217,119,6)}
tr.run.v-valid,tr.run.v-invalid,tr.run.v-unknown{background-color:transparent}
.muted{color:#656d76} .error{color:rgb(207,34,46);white-space:pre-wrap}
.op-fail{color:rgb(207,34,46)} .op-info{color:rgb(217,119,6)} .op-ok{color:rgb(26,127,55)}
iframe.report{width:100%;height:48em;border:1px solid #d0d7de}
form.filters{margin:.8em 0} form.filters *{margin-right:.4em}
table#runs td:nth-child(2){white-space:nowrap}
"""


def e(value: object) -> str:
    """Escapes anything for HTML text and attribute values."""
    return escape("" if value is None else str(value), quote=True)


def url(*parts: str, query: dict[str, str] | None = None) -> str:
    """/runs/<parts...>, every segment percent-encoded (names may contain anything but '/')."""
    path = "/runs/" + "/".join(quote(p, safe="") for p in parts)
    return path + ("?" + urlencode(query) if query else "")


def page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{e(title)}</title><style>{CSS}</style></head>"
            f"<body><p class=\"muted\"><a href=\"/\">flink-jepsen store</a></p>{body}"
            f"</body></html>\n")


def badge(verdict: str) -> str:
    return f"<span class=\"verdict v-{e(verdict)}\">{e(verdict)}</span>"


def fmt_time(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S UTC") if t else ""


def fmt_duration(s: float | None) -> str:
    if s is None:
        return ""
    m, sec = divmod(int(round(s)), 60)
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m {sec:02d}s" if h else (f"{m}m {sec:02d}s" if m else f"{sec}s")


def fmt_size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def index_page(runs: list[RunSummary], all_tests: list[str], test_filter: str,
               verdict_filter: str) -> str:
    """Every run, newest first, with the filter form; the list is already filtered."""
    counts = {v: sum(1 for r in runs if r.verdict == v) for v in VERDICTS}
    options = "".join(f"<option value=\"{e(v)}\"{' selected' if v == verdict_filter else ''}>"
                      f"{e(v)}</option>" for v in ("",) + VERDICTS)
    datalist = "".join(f"<option value=\"{e(t)}\">" for t in all_tests)
    form = (f"<form class=\"filters\" method=\"get\" action=\"/\">"
            f"<label>test <input name=\"test\" list=\"tests\" value=\"{e(test_filter)}\">"
            f"</label><datalist id=\"tests\">{datalist}</datalist>"
            f"<label>verdict <select name=\"verdict\">{options}</select></label>"
            f"<button type=\"submit\">filter</button><a href=\"/\">all runs</a></form>")
    rows = []
    for r in runs:
        run_link = url(r.test, r.stamp) + "/"
        report = (f"<a href=\"{e(url(r.test, r.stamp, 'report.html'))}\">report</a>"
                  if r.has_report else "")
        note = " <span class=\"muted\">running</span>" if r.running else ""
        rows.append(
            f"<tr class=\"run v-{e(r.verdict)}\" data-verdict=\"{e(r.verdict)}\" "
            f"data-test=\"{e(r.test)}\">"
            f"<td><a href=\"/?{e(urlencode({'test': r.test}))}\">{e(r.test)}</a></td>"
            f"<td><a class=\"run-link\" href=\"{e(run_link)}\">{e(fmt_time(r.started) or r.stamp)}"
            f"</a></td><td>{badge(r.verdict)}{note}</td><td>{e(r.nemesis or '')}</td>"
            f"<td>{e(r.mode or '')}</td><td>{e(r.workload or '')}</td>"
            f"<td>{e(fmt_duration(r.duration_s))}</td><td>{report}</td></tr>")
    summary = (f"<p>{len(runs)} runs: {counts['valid']} valid, {counts['invalid']} invalid, "
               f"{counts['unknown']} unknown</p>")
    table = ("<table id=\"runs\"><thead><tr><th>test</th><th>started</th><th>verdict</th>"
             "<th>nemesis</th><th>deployment mode</th><th>workload</th><th>duration</th>"
             "<th></th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
             if rows else "<p class=\"muted\">no runs match.</p>")
    return page("flink-jepsen store", f"<h1>Runs</h1>{form}{summary}{table}")


def run_page(s: RunSummary, history_start: int) -> str:
    """One run: verdict, parameters, report, results, history, logs."""
    d = s.dir
    facts = [("test", f"<a href=\"/?{e(urlencode({'test': s.test}))}\">{e(s.test)}</a>"),
             ("started", e(fmt_time(s.started) or s.stamp)),
             ("duration", e(fmt_duration(s.duration_s))),
             ("nemesis", e(s.nemesis or "")), ("deployment mode", e(s.mode or "")),
             ("workload", e(s.workload or ""))]
    parts = [f"<h1>{e(s.test)} <span class=\"muted\">{e(s.stamp)}</span></h1>",
             f"<p id=\"verdict\">verdict: {badge(s.verdict)}"
             + (" <span class=\"muted\">(still running?)</span>" if s.running else "") + "</p>"]
    if s.error:
        parts.append(f"<pre class=\"error\" id=\"error\">{e(s.error)}</pre>")
    for p in s.problems:
        parts.append(f"<p class=\"muted\">{e(p)}</p>")
    parts.append(_table(facts))
    parts.append("<p class=\"toc\">" + " | ".join(
        f"<a href=\"#{a}\">{t}</a>" for a, t in (
            ("files", "files"), ("report", "report"), ("results", "results"),
            ("parameters", "parameters"), ("history", "history"), ("jepsen-log", "jepsen.log"),
            ("node-logs", "node logs"))) + "</p>")
    parts.append(_files_section(s, d))
    parts.append(_report_section(s))
    parts.append(_plots_section(s, d))
    parts.append(_results_section(s))
    parts.append(_parameters_section(s))
    parts.append(_history_section(s, history_start))
    parts.append(_log_section(s))
    parts.append(_nodes_section(s))
    return page(f"{s.test} {s.stamp}", "".join(parts))


def _table(rows: Iterable[tuple[str, str]], cls: str = "facts") -> str:
    """Rows of (label, already-escaped html)."""
    body = "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table class=\"{e(cls)}\">{body}</table>"


def _file_link(s: RunSummary, rel: Path, label: str | None = None) -> str:
    href = url(s.test, s.stamp, *rel.parts)
    try:
        size = f" <span class=\"muted\">{e(fmt_size((s.dir / rel).stat().st_size))}</span>"
    except OSError:
        size = ""
    return f"<a href=\"{e(href)}\">{e(label or rel.as_posix())}</a>{size}"


def _files_section(s: RunSummary, d: Path) -> str:
    try:
        names = sorted(p.name for p in d.iterdir() if p.is_file())
    except OSError:
        names = []
    items = "".join(f"<li>{_file_link(s, Path(n))}</li>" for n in names)
    return f"<h2>Files</h2><ul id=\"files\">{items}</ul>"


def _plots_section(s: RunSummary, d: Path) -> str:
    """Images the analysis left beside the run (plots), shown inline: an <img> cannot script."""
    try:
        images = sorted(p.name for p in d.iterdir()
                        if p.is_file() and p.suffix.lower() in (".png", ".svg"))
    except OSError:
        images = []
    if not images:
        return ""
    imgs = "".join(f"<figure><img src=\"{e(url(s.test, s.stamp, n))}\" alt=\"{e(n)}\" "
                   f"style=\"max-width:100%\"><figcaption>{e(n)}</figcaption></figure>"
                   for n in images)
    return f"<h2>Plots</h2><div id=\"plots\">{imgs}</div>"


def _report_section(s: RunSummary) -> str:
    if not s.has_report:
        return ("<h2>Report</h2><p class=\"muted\" id=\"report\">no report.html for this run "
                "(the analysis makes one)</p>")
    href = e(url(s.test, s.stamp, "report.html"))
    return (f"<h2>Report</h2><p id=\"report\"><a href=\"{href}\">open report.html</a></p>"
            f"<iframe class=\"report\" sandbox=\"allow-scripts allow-popups\" "
            f"src=\"{href}\" title=\"report\"></iframe>")


def _json_block(path: Path, anchor: str, s: RunSummary) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        return f"<p class=\"muted\" id=\"{anchor}\">{e(path.name)}: {e(err.strerror)}</p>"
    try:
        text = json.dumps(json.loads(text), indent=2, sort_keys=True)
    except ValueError:
        pass  # shown as it is: a truncated file is still worth reading
    more = ""
    if len(text) > JSON_PREVIEW:
        text = text[:JSON_PREVIEW]
        more = f"<p>truncated: {_file_link(s, Path(path.name), 'the whole file')}</p>"
    return f"<pre id=\"{anchor}\">{e(text)}</pre>{more}"


def _results_section(s: RunSummary) -> str:
    out = ["<h2>Results</h2>"]
    for name, anchor in (("results.json", "results"),
                         ("results-reanalyzed.json", "results-reanalyzed")):
        p = s.dir / name
        if p.exists():
            out.append(f"<h3>{_file_link(s, Path(name))}</h3>{_json_block(p, anchor, s)}")
    if len(out) == 1:
        out.append("<p class=\"muted\" id=\"results\">no results.json (the run is going on, "
                   "or was cut short)</p>")
    return "".join(out)


def _parameters_section(s: RunSummary) -> str:
    data, problem = read_json(s.dir / "test.json")
    if data is None:
        return f"<h2 id=\"parameters\">Parameters</h2><p class=\"muted\">{e(problem)}</p>"
    rows: list[tuple[str, str]] = []
    options = data.get("options")
    if isinstance(options, dict):
        for k in sorted(options):
            v = options[k]
            rows.append((k, e(json.dumps(v, sort_keys=True) if isinstance(v, (dict, list))
                              else v)))
    for k in ("seed", "run_id"):
        if k in data:
            rows.append((k, e(data[k])))
    versions = data.get("versions")
    if isinstance(versions, dict):
        for k in sorted(versions):
            v = versions[k]
            shown = v.get("version", v.get("source")) if isinstance(v, dict) else v
            rows.append((f"version: {k}", e(shown)))
    spec = data.get("spec")
    spec_html = (f"<h3>test spec</h3><pre>{e(json.dumps(spec, indent=2, sort_keys=True))}</pre>"
                 if spec else "")
    return f"<h2 id=\"parameters\">Parameters</h2>{_table(rows, 'parameters')}{spec_html}"


def _history_section(s: RunSummary, start: int) -> str:
    path = s.dir / "history.jsonl"
    head = "<h2 id=\"history\">History</h2>"
    if not path.is_file():
        return head + "<p class=\"muted\">no history.jsonl</p>"
    start = max(0, start)
    lines: list[str] = []
    more = False
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for i, line in enumerate(f):
                if i < start:
                    continue
                if len(lines) == HISTORY_PAGE:
                    more = True
                    break
                lines.append(line.rstrip("\n"))
    except OSError as err:
        return head + f"<p class=\"muted\">{e(err.strerror)}</p>"
    rows = [_history_row(line) for line in lines]
    nav = [f"ops {start} to {start + len(lines) - 1}" if lines else "no ops here",
           _file_link(s, Path("history.jsonl"), "raw history.jsonl")]
    base = url(s.test, s.stamp) + "/"
    if start > 0:
        prev = max(0, start - HISTORY_PAGE)
        nav.append(f"<a href=\"{e(base)}?{e(urlencode({'history': prev}))}#history\">"
                   f"previous</a>")
    if more:
        nav.append(f"<a class=\"history-next\" href=\"{e(base)}?"
                   f"{e(urlencode({'history': start + HISTORY_PAGE}))}#history\">next</a>")
    table = ("<table id=\"history-table\"><thead><tr><th>index</th><th>time (s)</th>"
             "<th>process</th><th>type</th><th>f</th><th>value</th></tr></thead><tbody>"
             + "".join(rows) + "</tbody></table>")
    return head + "<p>" + " | ".join(nav) + "</p>" + table


def _history_row(line: str) -> str:
    try:
        op = json.loads(line)
    except ValueError:
        op = None
    if not isinstance(op, dict):
        return f"<tr><td colspan=\"6\"><code>{e(line[:500])}</code></td></tr>"
    t = op.get("time")
    secs = f"{t / 1e9:.3f}" if isinstance(t, (int, float)) else ""
    value = json.dumps(op.get("value"), separators=(",", ":"), sort_keys=True)
    if len(value) > 200:
        value = value[:200] + "..."
    typ = str(op.get("type", ""))
    return (f"<tr class=\"op-{e(typ)}\"><td>{e(op.get('index', ''))}</td><td>{e(secs)}</td>"
            f"<td>{e(op.get('process', ''))}</td><td>{e(typ)}</td><td>{e(op.get('f', ''))}</td>"
            f"<td><code>{e(value)}</code></td></tr>")


def _log_section(s: RunSummary) -> str:
    path = s.dir / "jepsen.log"
    if not path.is_file():
        return "<h2>jepsen.log</h2><p class=\"muted\">no jepsen.log</p>"
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - 32768))
            tail = f.read().decode("utf-8", errors="replace").splitlines()[-LOG_TAIL_LINES:]
    except OSError:
        tail = []
    return (f"<h2>jepsen.log</h2><p id=\"jepsen-log\">{_file_link(s, Path('jepsen.log'))}"
            f" (the last {len(tail)} lines:)</p><pre>{e(chr(10).join(tail))}</pre>")


def _nodes_section(s: RunSummary) -> str:
    nodes_dir = s.dir / "nodes"
    out = ["<h2>Node logs</h2>"]
    try:
        nodes = sorted(p for p in nodes_dir.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        nodes = []
    if not nodes:
        out.append("<p class=\"muted\" id=\"node-logs\">no node logs were collected</p>")
        return "".join(out)
    out.append("<div id=\"node-logs\">")
    for node in nodes:
        files = sorted(_walk_files(node))
        items = "".join(f"<li>{_file_link(s, f.relative_to(s.dir), f.relative_to(node).as_posix())}"
                        f"</li>" for f in files)
        out.append(f"<h3 class=\"node\">{e(node.name)}</h3><ul class=\"node-files\">{items}</ul>")
    out.append("</div>")
    return "".join(out)


def _walk_files(d: Path) -> list[Path]:
    """Files below d, not following symlinks (a log directory may hold links to anywhere)."""
    found = []
    for root, dirs, files in os.walk(d, followlinks=False):
        dirs.sort()
        found += [Path(root) / f for f in files if not (Path(root) / f).is_symlink()]
    return found


def dir_page(rel_parts: list[str], d: Path) -> str:
    """A plain listing of a directory inside a run (nodes/, nodes/n1/log/...)."""
    try:
        entries = sorted(d.iterdir(), key=lambda p: (not p.is_dir(), p.name))
    except OSError:
        entries = []
    items = []
    for p in entries:
        href = url(*rel_parts, p.name) + ("/" if p.is_dir() else "")
        items.append(f"<li><a href=\"{e(href)}\">{e(p.name)}{'/' if p.is_dir() else ''}</a></li>")
    title = "/".join(rel_parts)
    return page(title, f"<h1>{e(title)}/</h1><ul>{''.join(items)}</ul>")


def error_page(code: int, message: str) -> str:
    return page(f"{code}", f"<h1>{code}</h1><p>{e(message)}</p>")
