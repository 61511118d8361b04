"""The exactly-once workload's findings as tables: the checker's counts per category (lost,
duplicated, unexpected, order, state) with their examples, from results.json, and what the
history says was sent and read."""

from __future__ import annotations

import pandas as pd

from flink_jepsen.analysis.load import parse_values

CATEGORIES = ("lost", "duplicated", "unexpected", "order", "state")
# The sub-counts each category reports beside its count, as the C++ checker names them.
DETAILS = {"duplicated": ("extra_copies",),
           "unexpected": ("never_sent", "send_failed", "fields_differ"),
           "state": ("count_backwards", "count_skips", "wrong_prev_seq")}
MEANING = {"lost": "acknowledged by Kafka, never read back",
           "duplicated": "read back more than once",
           "unexpected": "read back but never sent, or with other fields than sent",
           "order": "read back out of their key's sequence order",
           "state": "the job's per-key count or prev_seq is wrong"}


def section(results: dict) -> dict | None:
    """results.json's ``exactly-once`` section, or None for other workloads."""
    from flink_jepsen.checks import section as check_section

    s = check_section(results, "exactly-once")
    return s if isinstance(s, dict) and s else None


def counts(results: dict) -> pd.DataFrame:
    """One row per category: count, its sub-counts as text, and what it means."""
    s = section(results) or {}
    rows = []
    for c in CATEGORIES:
        entry = s.get(c) if isinstance(s.get(c), dict) else {}
        detail = ", ".join(f"{k.replace('_', ' ')} {entry[k]}" for k in DETAILS.get(c, ())
                           if k in entry)
        rows.append((c, int(entry.get("count", 0) or 0), detail, MEANING[c]))
    return pd.DataFrame(rows, columns=["category", "count", "detail", "meaning"])


def examples(results: dict) -> dict[str, pd.DataFrame]:
    """The checker's examples per category (only categories that have some)."""
    s = section(results) or {}
    out = {}
    for c in CATEGORIES:
        entry = s.get(c) if isinstance(s.get(c), dict) else {}
        ex = entry.get("examples") or []
        if ex:
            out[c] = pd.json_normalize(ex)
    return out


def totals(results: dict) -> pd.DataFrame:
    """The checker's totals: records sent per outcome, read, distinct read, unknown outcomes."""
    s = section(results) or {}
    sent = s.get("sent") or {}
    polls = s.get("polls") or {}
    rows = [(f"sent {k}", sent.get(k)) for k in ("ok", "info", "fail", "resent") if k in sent]
    rows += [(f"polls {k}", polls.get(k)) for k in ("ok", "failed") if k in polls]
    rows += [(k.replace("_", " "), s.get(k)) for k in ("read", "distinct_read",
                                                       "unknown_delivered", "unknown_missing")
             if k in s]
    return pd.DataFrame(rows, columns=["what", "value"])


def send_outcomes(history: pd.DataFrame) -> pd.DataFrame:
    """From the history: ``send`` completions per type (ok / info / fail) with their records,
    and ``poll`` completions with the records they read."""
    rows = []
    for f in ("send", "poll"):
        sub = history[((history["f"] == f) & (history["type"] != "invoke")).to_numpy()]
        if sub.empty:
            continue
        sizes = parse_values(sub["value"]).map(lambda v: len(v) if isinstance(v, list) else 0)
        for typ, g in sizes.groupby(sub["type"].astype(object)):
            rows.append((f, typ, len(g), int(g.sum())))
    return pd.DataFrame(rows, columns=["f", "type", "ops", "records"])
