"""Analysis of stored runs and sweeps: histories as pandas data frames, recovery times, plots
(PNG and self-contained interactive HTML) and a per-run report. Everything here reads the
store; nothing starts a process.

    from flink_jepsen.analysis import load_run, write_report
    run = load_run("store/latest")      # run.history, run.faults, run.polls, run.results
    write_report(run.path)              # store/<test>/<time>/report.html
"""

from __future__ import annotations

from flink_jepsen.analysis.load import NotARunError, RunData, load_run, parse_values

__all__ = ["NotARunError", "RunData", "load_run", "load_sweep", "parse_values", "write_report"]


def __getattr__(name: str) -> object:
    """The report and the sweeps draw with Matplotlib: imported when first asked for, so that
    loading a run stays light."""
    if name == "write_report":
        from flink_jepsen.analysis.report import write_report

        return write_report
    if name == "load_sweep":
        from flink_jepsen.analysis.sweep import load_sweep

        return load_sweep
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
