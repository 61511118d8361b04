"""Bad input is refused before anything starts, with exit 254 and a message naming the problem."""

from __future__ import annotations

import pytest

from conftest import cli
from flink_jepsen.checks import verdict


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["nodes", "up", "--count", "0"], "must be at least 1, not 0"),
        (["nodes", "up", "--count", "51"], "between 1 and 50, not 51"),
        (["nodes", "up", "--count", "three"], "not an integer"),
        (["nodes", "up", "--subnet", "10.0.0.300/24"], "not an IPv4 network"),
        (["nodes", "up", "--subnet", "10.213.7.0/29"], "too few for 5 nodes"),
        (["nodes", "frobnicate"], "invalid choice"),
        (["nodes", "exec", "--remote", "telnet", "all", "--", "true"], "invalid choice"),
        (["launch-missiles"], "invalid choice"),
        (["test", "--test-count", "0"], "--test-count: must be at least 1, not 0"),
        (["test", "--time-limit", "nan"], "--time-limit: not a finite number: 'nan'"),
        (["test", "--job-recovery-grace-period", "inf"], "not a finite number: 'inf'"),
        (["test", "--nemesis-interval=-inf"], "not a finite number: '-inf'"),
        (["sweep", "--grid", "time_limit=30", "--out", "/tmp/x.jsonl", "--poll-rate", "NaN"],
         "--poll-rate: not a finite number"),
    ],
)
def test_bad_arguments_exit_254_naming_the_problem(args: list[str], needle: str) -> None:
    r = cli(*args, env={"FLINK_JEPSEN_HOME": "/nonexistent/fj-home-for-arg-tests"})
    assert r.returncode == 254, r.stderr
    assert needle in r.stderr


def test_verdict_lines_are_jepsens_exact_code_points() -> None:
    assert verdict.line(True) == "Everything looks good! \u30fd(\u2018\u30fc`)\u30ce"
    assert verdict.line(False) == (
        "Analysis invalid! (\uff89\u0ca5\u76ca\u0ca5\uff09\uff89 \u253b\u2501\u253b")
    assert verdict.line("unknown").startswith("Errors occurred during analysis")
    assert verdict.merge(True, "unknown") == "unknown"
    assert verdict.merge("unknown", False, True) is False
    assert verdict.merge(True, True) is True
    assert [verdict.exit_status(v) for v in (True, False, "unknown")] == [0, 1, 2]


@pytest.mark.parametrize(("param", "value"), [("time_limit", float("nan")),
                                              ("job_recovery_grace_period", float("inf")),
                                              ("test_count", 0), ("poll_rate", "10")])
def test_the_api_refuses_the_same_numbers(param: str, value: object) -> None:
    from flink_jepsen import api
    from flink_jepsen.errors import UsageError

    with pytest.raises(UsageError, match=param.replace("_", "-")):
        api.standalone_session(**{param: value})


def test_every_declared_option_is_a_flag_of_test_and_sweep_and_round_trips() -> None:
    """Options are declared once (run/options.py): the command line offers each, with its
    declared default, and what it parses is the TestOptions the API would build."""
    import dataclasses

    from flink_jepsen.api import options as api_options
    from flink_jepsen.api.cli import build_parser, options_from_args
    from flink_jepsen.run import options as declared_options
    from flink_jepsen.run.options import TestOptions

    parser = build_parser()
    for command in ("test", "sweep"):
        extra = ["--grid", "time_limit=1", "--out", "x.jsonl"] if command == "sweep" else []
        args = parser.parse_args([command, *extra])
        assert options_from_args(args) == TestOptions()
        for f in declared_options.declared():
            assert hasattr(args, f.name), (command, f.name)
    changed = {"nemesis_gen": "kill-job-managers", "time_limit": 42.0, "keys": 7,
               "supervision": False, "leave_running": True, "seed": 3,
               "client_gen": "cancel-jobs", "poll_rate": 2.5}
    flags = {f.name: declared_options.flag(f) for f in declared_options.declared()}
    argv = ["test"]
    for name, value in changed.items():
        if isinstance(value, bool):
            argv.append(flags[name])
        else:
            argv += [flags[name], str(value)]
    parsed = options_from_args(parser.parse_args(argv))
    assert parsed == dataclasses.replace(api_options(**changed))


def test_the_pytest_plugin_offers_only_declared_options() -> None:
    from flink_jepsen.api import pytest_plugin
    from flink_jepsen.run import options as declared_options

    names = {f.name for f in declared_options.declared()}
    assert {param for _, param, _ in pytest_plugin._OPTIONS} <= names
    assert ("--fj-time-limit", "time_limit", float) in pytest_plugin._OPTIONS
