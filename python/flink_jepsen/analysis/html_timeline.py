"""The availability timeline as self-contained interactive HTML: inline SVG (readable without
JavaScript) and a few lines of inline script for hover tooltips, wheel zoom, drag to pan and
double-click to reset. No network, no library: a report stays readable anywhere, forever."""

from __future__ import annotations

import html
import json
import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from flink_jepsen.analysis.events import STATUSES
from flink_jepsen.analysis.load import RunData
from flink_jepsen.analysis.timeline import COLOURS, fault_colours, segments, short_job

WIDTH = 1000  # the outer SVG's user units; it scales to the page's width
LEFT, RIGHT, TOP, ROW, AXIS = 120, 10, 8, 30, 34

STYLE = """<style>
.fjtl{position:relative;font:13px system-ui,sans-serif;margin:0.5em 0 1em}
.fjtl svg{display:block;user-select:none}
.fjtl .fjtl-plot{cursor:grab}
.fjtl .fjtl-tip{position:absolute;pointer-events:none;background:#222;color:#fff;padding:4px 7px;
 border-radius:4px;font-size:12px;white-space:pre;display:none;z-index:2}
.fjtl .fjtl-legend span{display:inline-block;margin-right:1.2em}
.fjtl .fjtl-legend i{display:inline-block;width:12px;height:12px;margin-right:4px;
 vertical-align:-1px}
.fjtl .fjtl-help{color:#666;font-size:12px}
</style>"""

SCRIPT = """<script>(function(){
var root=document.getElementById(%(id)s),plot=root.querySelector('.fjtl-plot'),
axis=root.querySelector('.fjtl-axis'),tip=root.querySelector('.fjtl-tip'),
T0=%(t0)s,T1=%(t1)s,ROWS=%(rows)s,X=%(left)s,W=%(width)s,Y=%(axis_y)s,v0=T0,v1=T1,drag=null;
var NS='http://www.w3.org/2000/svg';
function el(n,a,t){var e=document.createElementNS(NS,n);for(var k in a)e.setAttribute(k,a[k]);
 if(t!==undefined)e.textContent=t;return e;}
function fmt(x,s){return s>=1?x.toFixed(0):x.toFixed(Math.min(6,Math.ceil(-Math.log10(s))));}
function render(){plot.setAttribute('viewBox',v0+' 0 '+(v1-v0)+' '+ROWS);
 while(axis.firstChild)axis.removeChild(axis.firstChild);
 var span=v1-v0,raw=span/8,p=Math.pow(10,Math.floor(Math.log10(raw))),s=p;
 [1,2,5,10].some(function(m){s=m*p;return raw<=s;});
 for(var t=Math.ceil(v0/s)*s;t<=v1+1e-12;t+=s){var x=X+(t-v0)/span*W;
  axis.appendChild(el('line',{x1:x,x2:x,y1:Y,y2:Y+5,stroke:'#333'}));
  axis.appendChild(el('line',{x1:x,x2:x,y1:%(top)s,y2:Y,stroke:'#000','stroke-opacity':0.08}));
  axis.appendChild(el('text',{x:x,y:Y+17,'text-anchor':'middle','font-size':11},fmt(t,s)));}}
function at(e){var r=plot.getBoundingClientRect();return [(e.clientX-r.left)/r.width,r];}
plot.addEventListener('wheel',function(e){e.preventDefault();var a=at(e),f=a[0],
 span=v1-v0,t=v0+f*span;span=Math.min(T1-T0,Math.max((T1-T0)/1e5,span*(e.deltaY<0?0.8:1.25)));
 v0=Math.max(T0,Math.min(T1-span,t-f*span));v1=v0+span;render();},{passive:false});
plot.addEventListener('mousedown',function(e){drag={x:e.clientX,v0:v0,
 w:plot.getBoundingClientRect().width};plot.style.cursor='grabbing';});
window.addEventListener('mouseup',function(){drag=null;plot.style.cursor='';});
window.addEventListener('mousemove',function(e){if(!drag)return;var span=v1-v0,
 d=-(e.clientX-drag.x)/drag.w*span;v0=Math.max(T0,Math.min(T1-span,drag.v0+d));v1=v0+span;
 render();});
plot.addEventListener('dblclick',function(){v0=T0;v1=T1;render();});
root.addEventListener('mousemove',function(e){var m=e.target.getAttribute&&
 e.target.getAttribute('data-tip');var rr=root.getBoundingClientRect();
 if(!m||drag){tip.style.display='none';return;}
 var a=at(e),t=v0+a[0]*(v1-v0);tip.textContent=m+'\\nt = '+t.toFixed(3)+' s';
 tip.style.display='block';var x=e.clientX-rr.left+12;
 if(x+tip.offsetWidth>rr.width)x=e.clientX-rr.left-tip.offsetWidth-12;
 tip.style.left=Math.max(0,x)+'px';tip.style.top=(e.clientY-rr.top+14)+'px';});
root.addEventListener('mouseleave',function(){tip.style.display='none';});
render();})();</script>"""


def _num(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".")


def _attr(text: str) -> str:
    return html.escape(text, quote=True)


def _fault_shapes(faults: pd.DataFrame, rows: int, colours: dict[str, str]) -> list[str]:
    out = []
    for f in faults.itertuples(index=False):
        healed = "" if f.healed else " (never healed)"
        tip = _attr(f"{f.kind}{healed}\n{_num(f.start_s)} s to {_num(f.end_s)} s "
                    f"({f.end_s - f.start_s:.3f} s)" + (f"\n{f.detail}" if f.detail else ""))
        c = colours[f.kind]
        if f.instant:
            x = _num(f.start_s)
            common = f'x1="{x}" x2="{x}" y1="0" y2="{rows}" vector-effect="non-scaling-stroke"'
            out.append(f'<line {common} stroke="{c}" stroke-width="1.5"/>')
            out.append(f'<line {common} stroke="transparent" stroke-width="8" data-tip="{tip}"/>')
        else:
            out.append(f'<rect x="{_num(f.start_s)}" y="0" width="{_num(f.end_s - f.start_s)}" '
                       f'height="{rows}" fill="{c}" fill-opacity="0.2" data-tip="{tip}"/>')
    return out


def _segment_shapes(seg: pd.DataFrame, row: dict[str, int]) -> list[str]:
    out = []
    width = (seg["end_s"] - seg["start_s"]).to_numpy()
    for s, w in zip(seg.itertuples(index=False), width):
        more = " (downsampled: worst status shown)" if s.downsampled else ""
        tip = _attr(f"job {s.job}\n{s.status}{more}\n{_num(s.start_s)} s to {_num(s.end_s)} s "
                    f"({w:.3f} s, {s.polls} poll{'s' if s.polls != 1 else ''})")
        # A span of one poll has no width: give it a sliver so it stays visible and hoverable.
        shown = w if w > 0 else 1e-3
        out.append(f'<rect x="{_num(s.start_s)}" y="{row[s.job] + 0.2}" width="{_num(shown)}" '
                   f'height="0.6" fill="{COLOURS[s.status]}" data-tip="{tip}"/>')
    return out


def _static_ticks(t0: float, t1: float, axis_y: float) -> list[str]:
    """The axis for the whole run, so the timeline reads without JavaScript too."""
    span = t1 - t0
    raw = span / 8
    p = 10 ** np.floor(np.log10(raw))
    step = next(m * p for m in (1, 2, 5, 10) if raw <= m * p)
    out = []
    for t in np.arange(np.ceil(t0 / step) * step, t1 + 1e-12, step):
        x = LEFT + (t - t0) / span * (WIDTH - LEFT - RIGHT)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{axis_y}" y2="{axis_y + 5}" '
                   'stroke="#333"/>')
        label = f"{t:.0f}" if step >= 1 else f"{t:.{int(-np.floor(np.log10(step)))}f}"
        out.append(f'<text x="{x:.1f}" y="{axis_y + 17}" text-anchor="middle" '
                   f'font-size="11">{label}</text>')
    return out


def timeline_html(run: RunData, *, max_segments: int = 3000) -> str:
    """An HTML fragment (style, SVG, script) showing every job's availability and the faults;
    several fragments can share a page."""
    if run.polls.empty:
        return '<p class="fjtl-empty">No availability polls in this run\'s history.</p>'
    jobs = run.jobs
    rows = len(jobs)
    row = {j: i for i, j in enumerate(jobs)}
    seg = segments(run.polls, max_per_job=max_segments)
    faults = run.faults
    t0 = float(min(run.polls["time_s"].min(), faults["start_s"].min() if len(faults) else np.inf))
    t1 = float(max(run.polls["time_s"].max(), faults["end_s"].max() if len(faults) else 0))
    pad = (t1 - t0) * 0.01 or 1.0
    t0, t1 = t0 - pad, t1 + pad
    colours = fault_colours(faults["kind"])
    ident = f"fjtl-{uuid.uuid4().hex[:10]}"
    plot_h = ROW * rows
    axis_y = TOP + plot_h
    height = axis_y + AXIS
    plot_w = WIDTH - LEFT - RIGHT
    labels = [f'<text x="{LEFT - 8}" y="{TOP + ROW * (i + 0.5) + 4}" text-anchor="end" '
              f'font-size="12"><title>{_attr(j)}</title>job {_attr(short_job(j))}</text>'
              for i, j in enumerate(jobs)]
    legend = "".join(f'<span><i style="background:{COLOURS[s]}"></i>{s}</span>'
                     for s in STATUSES)
    for kind, c in colours.items():
        n = int((faults["kind"] == kind).sum())
        instant = bool(faults.loc[faults["kind"] == kind, "instant"].all())
        swatch = (f"width:3px;background:{c}" if instant else f"background:{c};opacity:0.35")
        legend += f'<span><i style="{swatch}"></i>{_attr(kind)} ({n})</span>'
    parts = [
        STYLE,
        f'<div class="fjtl" id="{ident}">',
        f'<div class="fjtl-legend">{legend}</div>',
        f'<svg viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-label="availability timeline of {_attr(run.name)}">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#ccc"/>',
        *labels,
        f'<g class="fjtl-axis">{"".join(_static_ticks(t0, t1, axis_y))}</g>',
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{axis_y}" y2="{axis_y}" stroke="#333"/>',
        f'<text x="{LEFT + plot_w / 2}" y="{height - 2}" text-anchor="middle" font-size="11">'
        "seconds since the run started</text>",
        f'<svg class="fjtl-plot" x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" '
        f'viewBox="{_num(t0)} 0 {_num(t1 - t0)} {rows}" preserveAspectRatio="none" '
        'shape-rendering="crispEdges">',
        f'<rect x="{_num(t0)}" y="0" width="{_num(t1 - t0)}" height="{rows}" fill="transparent"/>',
        *_fault_shapes(faults, rows, colours),
        *_segment_shapes(seg, row),
        "</svg></svg>",
        '<div class="fjtl-tip"></div>',
        '<div class="fjtl-help">wheel: zoom &middot; drag: pan &middot; double-click: whole run'
        " &middot; hover: details</div>",
        "</div>",
        SCRIPT % {"id": json.dumps(ident), "t0": repr(t0), "t1": repr(t1), "rows": rows,
                  "left": LEFT, "width": plot_w, "axis_y": axis_y, "top": TOP},
    ]
    return "\n".join(parts)


def write_timeline_html(run: RunData, path: str | os.PathLike) -> Path:
    """A standalone page with the run's interactive timeline."""
    out = Path(path)
    title = html.escape(f"{run.name}: availability")
    out.write_text(f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>"
                   f"</head><body><h2 style=\"font-family:system-ui,sans-serif\">{title}</h2>\n"
                   f"{timeline_html(run)}\n</body></html>\n", encoding="utf-8")
    return out
