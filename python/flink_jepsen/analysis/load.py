"""Loading a stored run (``store/<test>/<time>/``) into pandas: the history as a data frame read
by the C++ reader, the availability polls, and what the availability checker found (faults
with their recovery, outages) that every plot, recovery figure and report is built from. The
faults and outages are the checker's own output, never re-derived here."""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from flink_jepsen import _core
from flink_jepsen.analysis.events import (
    cancels_from_history,
    faults_frame,
    outages_frame,
    polls_from_history,
)
from flink_jepsen.errors import UsageError


class NotARunError(UsageError, ValueError):
    """The path given is not a run's directory in the store (or it cannot be read)."""


@dataclass
class RunData:
    """One run, loaded. ``history`` keeps every op's value as its JSON text: parse only the rows
    you need (``parse_values``), a million json.loads calls would dominate loading."""

    path: Path
    test: dict
    results: dict
    history: pd.DataFrame
    faults: pd.DataFrame
    polls: pd.DataFrame
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    cancels: pd.DataFrame = field(default_factory=pd.DataFrame)
    availability: dict = field(default_factory=dict)   # the availability checker's result
    outages: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def name(self) -> str:
        """The test's name and the run's time stamp, as the store lays them out."""
        return f"{self.path.parent.name}/{self.path.name}"

    @property
    def valid(self) -> bool | str:
        """results.json's ``valid?``: True, False or "unknown" (also when there are no results)."""
        v = self.results.get("valid?", "unknown")
        return v if v in (True, False) else "unknown"

    @property
    def options(self) -> dict:
        return dict(self.test.get("options") or {})

    @property
    def jobs(self) -> list[str]:
        """Every job polled, or named in the results, in a stable order."""
        seen = dict.fromkeys(self.polls["job"].unique() if len(self.polls) else [])
        seen.update(dict.fromkeys(self.availability.get("jobs") or {}))
        return [j for j in seen if isinstance(j, str)]


def resolve_run_dir(path: str | os.PathLike) -> Path:
    """The run directory `path` names: the directory itself, or what its ``latest`` link points
    at (``store/`` or ``store/<test>/``). Refuses anything else, naming what is missing."""
    p = Path(path).expanduser()
    if not p.exists():
        raise NotARunError(f"{p}: no such directory (expected a run's directory in the store, "
                           "store/<test>/<time>/)")
    if not p.is_dir():
        raise NotARunError(f"{p} is a file, not a run's directory (expected store/<test>/<time>/ "
                           "holding test.json, history.jsonl, results.json)")
    if not (p / "test.json").is_file() and (p / "latest" / "test.json").is_file():
        p = p / "latest"
    if not (p / "test.json").is_file():
        raise NotARunError(f"{p} is not a flink-jepsen run: it has no test.json (a run's directory "
                           "holds test.json, history.jsonl, results.json and jepsen.log)")
    return p.resolve()


def _read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise NotARunError(f"{path}: cannot read the run's {what}: {e}") from e
    if not isinstance(data, dict):
        raise NotARunError(f"{path}: the run's {what} is not a JSON object")
    return data


def _categorical(column: tuple[np.ndarray, list[str]]) -> pd.Categorical:
    """A text column of the reader (codes, distinct texts) as a categorical, without a Python
    object per row."""
    codes, texts = column
    return pd.Categorical.from_codes(codes, categories=pd.Index(texts, dtype=object))


def _texts(column: tuple[np.ndarray, list[str]]) -> np.ndarray:
    """A text column of the reader as an object array of its texts (code -1: None). Each row
    refers to one str per distinct text: nothing is made per row."""
    codes, texts = column
    distinct = np.empty(len(texts) + 1, dtype=object)
    distinct[:-1] = texts
    return distinct[codes]   # -1 picks the None at the end


def empty_history() -> pd.DataFrame:
    return pd.DataFrame({
        "index": pd.Series(dtype="int64"), "time": pd.Series(dtype="int64"),
        "time_s": pd.Series(dtype="float64"), "process": pd.Categorical([]),
        "type": pd.Categorical([]), "f": pd.Categorical([]),
        "value": pd.Series(dtype=object), "error": pd.Series(dtype=object)})


def read_history_frame(path: str | os.PathLike) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """A history file as a data frame (columns: index, time in ns, time_s, process as text,
    type, f, value as JSON text, error or None), in index order, and the lines that could not
    be read as (1-based line number, reason): a corrupt line is skipped, the rest still loads."""
    frame, bad, _ = _read_history(path)
    return frame, bad


def _read_history(path: str | os.PathLike
                  ) -> tuple[pd.DataFrame, list[tuple[int, str]], np.ndarray]:
    """read_history_frame's answer and the reader's code of each row's value (equal texts,
    equal codes), which spares polls_from_history hashing every value again."""
    errors: list[tuple[int, str]] = []
    try:
        cols = _core.read_history_columns(str(path), errors)
    except RuntimeError as e:
        raise NotARunError(f"{path}: cannot read the history: {e}") from e
    n = len(cols["index"])
    value_codes = cols["value"][0]
    if n == 0:
        frame = empty_history()
    else:
        time_ns = cols["time"]
        frame = pd.DataFrame({
            "index": cols["index"],
            "time": time_ns,
            "time_s": time_ns / 1e9,
            "process": _categorical(cols["process"]),
            "type": _categorical(cols["type"]),
            "f": _categorical(cols["f"]),
            "value": pd.Series(_texts(cols["value"]), dtype=object, copy=False),
            "error": pd.Series(_texts(cols["error"]), dtype=object, copy=False),
        })
        if not frame["index"].is_monotonic_increasing:
            order = np.argsort(frame["index"].to_numpy(), kind="stable")
            frame = frame.take(order).reset_index(drop=True)
            value_codes = value_codes[order]
    bad = [(int(line), str(why)) for line, why in errors]
    if bad:
        shown = "; ".join(f"line {line}: {why}" for line, why in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        warnings.warn(f"{path}: {len(bad)} line(s) could not be read and were skipped: "
                      f"{shown}{more}", stacklevel=3)
    return frame, bad, value_codes


def parse_values(values: pd.Series) -> pd.Series:
    """The JSON values of some history rows as Python objects. Values repeat a lot (polls of
    one job), so each distinct text is parsed once."""
    if values.empty:
        return pd.Series([], index=values.index, dtype=object)
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    parsed = np.empty(len(uniques), dtype=object)
    parsed[:] = [json.loads(u) for u in uniques]
    return pd.Series(parsed[codes], index=values.index, dtype=object)


def availability_of(test: dict, results: dict, history_path: Path) -> dict:
    """The availability checker's result for a run: results.json's when it is in today's shape
    (faults and outages), otherwise the checker (C++) run over the stored history with the
    run's own parameters. Empty when there is no history."""
    from flink_jepsen.checks import section

    availability = section(results, "availability")
    if isinstance(availability.get("faults"), list) and isinstance(availability.get("outages"),
                                                                   list):
        return availability
    if not history_path.is_file():
        return {}
    from flink_jepsen.run.options import TestOptions

    try:
        options = TestOptions.from_json(test.get("options") or {})
    except TypeError:
        options = TestOptions()
    try:
        return _core.check_availability(str(history_path),
                                        **options.checker_parameters(test.get("jobs")))
    except RuntimeError as e:
        raise NotARunError(f"{history_path}: cannot check the history: {e}") from e


def load_run(path: str | os.PathLike) -> RunData:
    """Loads a stored run. A run that failed in setup (no history, results with an error) or
    has not been analysed yet (no results.json) still loads, with empty frames or results."""
    run_dir = resolve_run_dir(path)
    test = _read_json(run_dir / "test.json", "parameters (test.json)")
    results_path = run_dir / "results.json"
    results = _read_json(results_path, "results (results.json)") if results_path.is_file() else {}
    history_path = run_dir / "history.jsonl"
    if history_path.is_file():
        history, bad, value_codes = _read_history(history_path)
    else:
        history, bad, value_codes = empty_history(), [], None
    availability = availability_of(test, results, history_path)
    return RunData(path=run_dir, test=test, results=results, history=history,
                   faults=faults_frame(availability.get("faults") or []),
                   polls=polls_from_history(history, value_codes), bad_lines=bad,
                   cancels=cancels_from_history(history), availability=availability,
                   outages=outages_frame(availability.get("outages") or []))
