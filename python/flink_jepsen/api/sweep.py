"""Parameter sweeps: every combination of a grid of test parameters (Flink versions, deployment
modes, nemesis schedules, ...), each repeated, one row per run appended to a JSON Lines file as
soon as the run ends. Running the same sweep again resumes it: rows already in the file are not
run again. The whole grid is validated before the first run starts."""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import os
import time
from pathlib import Path

from flink_jepsen.api import PARAMETERS, Test, options
from flink_jepsen.errors import FlinkJepsenError, UsageError
from flink_jepsen.nodes import workers
from flink_jepsen.run.options import TestOptions

log = logging.getLogger("flink_jepsen.api.sweep")

RESULT_COLUMNS = ("valid", "store", "error", "duration_s", "faults", "recovery_median_s",
                  "recovery_max_s", "anomalies")


def _key(point: dict, repetition: int) -> str:
    return json.dumps({"point": point, "repetition": repetition}, sort_keys=True)


def points(grid: dict[str, list]) -> list[dict]:
    """The grid's combinations, in a stable order (the grid's key order, then value order)."""
    if not grid:
        raise UsageError("a sweep needs a grid: at least one parameter with a list of values")
    unknown = sorted(set(grid) - set(PARAMETERS))
    if unknown:
        raise UsageError(f"sweep grid: unknown parameter(s) {', '.join(unknown)}; known: "
                         f"{', '.join(PARAMETERS)}")
    for k, values in grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise UsageError(f"sweep grid: {k} needs a non-empty list of values, not {values!r}")
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def plan(grid: dict[str, list], base: dict | None = None, repetitions: int = 1
         ) -> list[tuple[dict, int, Test]]:
    """(grid point, repetition, test) for every run; bad values are refused naming the
    parameter and value, before anything runs."""
    if repetitions < 1:
        raise UsageError(f"a sweep's repetitions must be at least 1, not {repetitions}")
    base = dict(base or {})
    runs = []
    for point in points(grid):
        try:
            test = Test(options(**{**base, **point}))
        except (FlinkJepsenError, TypeError, ValueError) as e:
            where = ", ".join(f"{k}={v!r}" for k, v in point.items())
            raise UsageError(f"sweep grid point {where}: {e}") from e
        runs += [(point, r, test) for r in range(1, repetitions + 1)]
    return runs


def read_rows(path: Path) -> list[dict]:
    """The rows written so far; a torn last line (an interrupted write) is ignored."""
    if not path.exists():
        return []
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            log.warning("%s:%d: not a JSON row, ignored", path, n)
    return rows


def _drop_torn_tail(path: Path) -> None:
    """A write cut short (the sweep was killed) leaves a last line without its newline: it is
    cut off, so the next row starts on a line of its own."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        log.warning("%s: dropping a torn last line (%d bytes)", path, len(data) - keep)
        with path.open("r+b") as f:
            f.truncate(keep)


# A matrix's outcomes, best first, and the exit status of each: a matrix (a sweep, `test
# --test-count N`, bin/run-tests.sh) exits with the worst of its runs', as Jepsen's test-all:
# crashed beats unknown beats invalid beats valid.
OUTCOMES = ("valid", "invalid", "unknown", "crashed")
EXIT_STATUS = {"valid": 0, "invalid": 1, "unknown": 2, "crashed": 255}


def outcome(valid: object, crashed: bool = False) -> str:
    """valid, invalid, unknown or crashed, from a verdict (True, False, "unknown") or a row's
    "true"/"false"/"unknown"."""
    if crashed:
        return "crashed"
    if valid is True or valid == "true":
        return "valid"
    if valid is False or valid == "false":
        return "invalid"
    return "unknown"


def worst_exit_status(valids: list) -> int:
    """The exit status of several runs' verdicts: the worst one's (none: 0)."""
    outcomes = [outcome(v) for v in valids] or ["valid"]
    return EXIT_STATUS[max(outcomes, key=OUTCOMES.index)]


def _outcomes(frame) -> list[str]:
    if frame.empty:
        return []
    crashed = frame["crashed"] if "crashed" in frame else [False] * len(frame)
    return [outcome(v, c is True) for v, c in zip(frame["valid"], crashed)]


def counts(frame) -> dict[str, int]:
    """How many runs were valid, invalid, unknown, crashed."""
    found = _outcomes(frame)
    return {o: found.count(o) for o in OUTCOMES}


def exit_status(frame) -> int:
    """The sweep's exit status: its worst run's (an empty sweep: 0)."""
    found = _outcomes(frame) or ["valid"]
    return EXIT_STATUS[max(found, key=OUTCOMES.index)]


def outcome_summary(frame) -> str:
    """Jepsen's test-all summary: the runs that were not valid, by outcome, with where their
    evidence is (or why they crashed), then the count of each outcome."""
    lines: list[str] = []
    found = _outcomes(frame)
    for name, title in (("invalid", "Invalid runs"), ("unknown", "Unknown runs"),
                        ("crashed", "Crashed runs")):
        rows = [row for o, (_, row) in zip(found, frame.iterrows()) if o == name]
        if not rows:
            continue
        lines += [f"# {title}", ""]
        for row in rows:
            where = row.get("store") if isinstance(row.get("store"), str) else None
            error = row.get("error") if isinstance(row.get("error"), str) else ""
            lines.append(where or error or row.get("key", "?"))
            if where and error and name != "invalid":
                lines.append(f"  {error.splitlines()[0][:200]}")
        lines.append("")
    n = counts(frame)
    lines += [f"{n['valid']} valid", f"{n['invalid']} invalid", f"{n['unknown']} unknown",
              f"{n['crashed']} crashed"]
    return "\n".join(lines)


def crash_row(point: dict, repetition: int, error: BaseException, duration_s: float) -> dict:
    """A run whose harness crashed (it raised instead of ending with a verdict): recorded, and
    the sweep goes on, as Jepsen's test-all does."""
    return {**point, "repetition": repetition, "key": _key(point, repetition),
            "valid": "unknown", "crashed": True, "store": None,
            "error": f"harness crash: {type(error).__name__}: {error}",
            "duration_s": round(duration_s, 3), "faults": 0, "recovery_median_s": None,
            "recovery_max_s": None, "anomalies": 0, "anomaly_types": ""}


def row_of(point: dict, repetition: int, result, duration_s: float) -> dict:
    recovery = result.recovery
    medians = [r.get("median_s") for r in recovery.values() if r.get("median_s") is not None]
    maxima = [r.get("max_s") for r in recovery.values() if r.get("max_s") is not None]
    return {**point, "repetition": repetition, "key": _key(point, repetition),
            "valid": {True: "true", False: "false"}.get(result.valid, "unknown"),
            "store": str(result.store), "error": result.error,
            "duration_s": round(duration_s, 3),
            "faults": sum(int(r.get("count", 0)) for r in recovery.values()),
            "recovery_median_s": max(medians) if medians else None,
            "recovery_max_s": max(maxima) if maxima else None,
            "anomalies": len(result.anomalies),
            "anomaly_types": anomaly_types(result.anomalies)}


def anomaly_types(anomalies: list[dict]) -> str:
    """'Job is not running. x3, lost x1': what kinds were found, for a table cell."""
    counts: dict[str, int] = {}
    for a in anomalies:
        kind = str(a.get("type") or a.get("message") or "anomaly")
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{k} x{n}" for k, n in counts.items())


def summary(frame, grid: list[str]) -> str:
    """The sweep's table: one row per point of the grid (repetitions merged) with the verdicts
    seen, the median recovery (s), and the anomalies; with two parameters (e.g. flink-version x
    nemesis-gen) also as a grid, the first down and the second across."""
    import pandas as pd

    if frame.empty:
        return "(no runs)"
    cols = [g.replace("-", "_") if g.replace("-", "_") in frame else g for g in grid]

    rows_out = []
    for point, rows in frame.groupby(cols, sort=False):
        point = point if isinstance(point, tuple) else (point,)
        med = pd.to_numeric(rows["recovery_median_s"], errors="coerce").median()
        kinds = rows["anomaly_types"].fillna("") if "anomaly_types" in rows else []
        rows_out.append({**dict(zip(cols, point)), "runs": len(rows),
                         "verdict": "/".join(sorted(set(rows["valid"]))),
                         "recovery_median_s": None if pd.isna(med) else round(float(med), 1),
                         "anomalies": int(pd.to_numeric(rows["anomalies"]).sum()),
                         "anomaly_types": "; ".join(sorted({k for k in kinds if k}))})
    table = pd.DataFrame(rows_out)
    text = table.to_string(index=False)
    if len(cols) == 2:
        table["cell"] = [f"{v} {'-' if m is None or pd.isna(m) else f'{m:g}s'} {a}"
                         for v, m, a in zip(table["verdict"], table["recovery_median_s"],
                                            table["anomalies"])]
        grid_text = table.pivot(index=cols[0], columns=cols[1], values="cell").fillna(
            "(not run)").to_string()
        text += ("\n\nverdict, median recovery, anomalies:\n" + grid_text)
    return text


def run_sweep(grid: dict[str, list], path: str | Path, base: dict | None = None,
              repetitions: int = 1, parallel: int = 1, subnet: str | None = None):
    """Runs what is not yet in `path` and returns every row as a pandas DataFrame. With
    `parallel` > 1, that many runs at once, each in a worker process: on local nodes every
    worker drives nodes of its own (nodes/workers.py); on real hosts given as [group]s each run
    claims a free group (nodes/groups.py). `subnet`: the local nodes' base network the
    workers' own are derived from (default: the harness's)."""
    import pandas as pd

    if parallel < 1:
        raise UsageError(f"a sweep's parallel runs must be at least 1, not {parallel}")
    out = Path(path)
    runs = plan(grid, base, repetitions)
    done = {r.get("key") for r in read_rows(out)}
    todo = [(p, r, t) for p, r, t in runs if _key(p, r) not in done]
    log.info("sweep %s: %d runs, %d done before, %d to go", out, len(runs), len(runs) - len(todo),
             len(todo))
    out.parent.mkdir(parents=True, exist_ok=True)
    _drop_torn_tail(out)
    if parallel == 1:
        for i, (point, repetition, test) in enumerate(todo, start=1):
            log.info("sweep run %d of %d: %s (repetition %d)", i, len(todo), point, repetition)
            _append(out, _run_one(point, repetition, test))
    else:
        _run_parallel(todo, base or {}, parallel, out, subnet or workers.DEFAULT_SUBNET)
    rows = read_rows(out)
    wanted = {_key(p, r) for p, r, _ in runs}
    return pd.DataFrame([r for r in rows if r.get("key") in wanted])


def _append(out: Path, row: dict) -> None:
    """One row, on disk before the next run starts (a killed sweep resumes after it)."""
    with out.open("a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _run_one(point: dict, repetition: int, test) -> dict:
    started = time.monotonic()
    try:
        return row_of(point, repetition, test.run(), time.monotonic() - started)
    except Exception as e:  # noqa: BLE001 - one crash does not end the sweep
        log.exception("sweep run %s (repetition %d) crashed", point, repetition)
        return crash_row(point, repetition, e, time.monotonic() - started)


# ---- parallel runs: worker processes -------------------------------------------------------
_worker: dict = {}


def _worker_init(numbers, subnet: str) -> None:
    """Each worker takes a number, and with it local nodes of its own; no status line (the
    workers share the terminal)."""
    n = numbers.get()
    prefix, mine = workers.worker_nodes(n, os.environ.get("FLINK_JEPSEN_PREFIX", "fj"), subnet)
    os.environ["FLINK_JEPSEN_PREFIX"] = prefix
    os.environ["TERM"] = "dumb"
    _worker.update(number=n, subnet=mine)


def _worker_run(params: dict, point: dict, repetition: int) -> dict:
    from flink_jepsen.api import Test

    test = Test(options(**params))
    made = None
    started = time.monotonic()
    try:
        made = workers.up_for_run(test.options, _worker["subnet"])
        log.info("worker %d: %s (repetition %d)", _worker["number"], point, repetition)
        return _run_one(point, repetition, test)
    except Exception as e:  # noqa: BLE001 - the nodes could not be made: a crashed run
        return crash_row(point, repetition, e, time.monotonic() - started)
    finally:
        if made is not None:
            made.down()


def _run_parallel(todo: list, base: dict, parallel: int, out: Path, subnet: str) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = multiprocessing.get_context("spawn")  # no thread or lock of the parent's inherited
    numbers = ctx.Manager().Queue()
    for n in range(parallel):
        numbers.put(n)
    with ProcessPoolExecutor(max_workers=parallel, mp_context=ctx, initializer=_worker_init,
                             initargs=(numbers, subnet)) as pool:
        futures = {pool.submit(_worker_run, {**base, **point}, point, repetition):
                   (point, repetition) for point, repetition, _ in todo}
        for i, future in enumerate(as_completed(futures), start=1):
            point, repetition = futures[future]
            try:
                row = future.result()
            except Exception as e:  # noqa: BLE001 - a worker died (kill -9, out of memory)
                row = crash_row(point, repetition, e, 0.0)
            log.info("sweep: %d of %d done: %s (repetition %d): %s", i, len(todo), point,
                     repetition, row.get("valid"))
            _append(out, row)


def parse_grid_arg(arg: str) -> tuple[str, list]:
    """`name=v1,v2` from the command line, values converted to the parameter's type."""
    if "=" not in arg:
        raise UsageError(f"--grid {arg!r}: expected NAME=VALUE[,VALUE...]")
    name, raw = arg.split("=", 1)
    name = name.strip().replace("-", "_")
    fields = {f.name: f for f in dataclasses.fields(TestOptions)}
    if name not in fields:
        raise UsageError(f"--grid {arg!r}: unknown parameter {name}; known: "
                         f"{', '.join(PARAMETERS)}")
    default = getattr(TestOptions(), name)
    if default is None:  # an optional parameter: its annotation says what it holds
        annotation = str(fields[name].type)
        default = 0 if annotation.startswith("int") else 0.0 if annotation.startswith(
            "float") else ""
    values = []
    for v in (x.strip() for x in raw.split(",")):
        try:
            if isinstance(default, bool):
                if v.lower() not in ("true", "false"):
                    raise ValueError(v)
                values.append(v.lower() == "true")
            elif isinstance(default, int):
                values.append(int(v))
            elif isinstance(default, float):
                values.append(float(v))
            else:
                values.append(v)
        except ValueError as e:
            raise UsageError(f"--grid {arg!r}: {v!r} is not a valid {name} "
                             f"({type(default).__name__})") from e
    return name, values
