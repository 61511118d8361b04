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


def test_the_pytest_plugin_offers_only_declared_options_all_prefixed() -> None:
    from flink_jepsen.api import pytest_plugin
    from flink_jepsen.run import options as declared_options

    names = {f.name for f in declared_options.declared()}
    offered = pytest_plugin.declared_options()
    assert {param for _, param, _, _ in offered} <= names
    assert ("--fj-time-limit", "time_limit", float) in [o[:3] for o in offered]
    flags = [o[0] for o in offered] + [o[0] for o in pytest_plugin.declared_ssh_options()]
    assert "--fj-flink-version" in flags and "--fj-username" in flags
    assert all(f.startswith("--fj-") for f in flags), flags


def test_log_level_is_accepted_before_and_after_the_command() -> None:
    from flink_jepsen.api.cli import build_parser

    p = build_parser()
    assert p.parse_args(["test"]).log_level == "info"
    assert p.parse_args(["--log-level", "warn", "test"]).log_level == "warn"
    assert p.parse_args(["test", "--log-level", "debug"]).log_level == "debug"
    assert p.parse_args(["--log-level", "warn", "nodes", "up", "--log-level", "error"]
                        ).log_level == "error"
    r = cli("test", "--log-level", "loud")
    assert r.returncode == 254 and "invalid choice: 'loud'" in r.stderr


def test_version() -> None:
    from importlib import metadata

    r = cli("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"flink-jepsen {metadata.version('flink-jepsen')}"


def test_every_option_says_its_default_and_every_help_ends_with_the_exit_statuses() -> None:
    import argparse

    from flink_jepsen.api.cli import EXIT_STATUSES, build_parser

    def parsers(p, path):
        yield path, p
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sp in a.choices.items():
                    yield from parsers(sp, [*path, name])

    for path, p in parsers(build_parser(), []):
        text = p.format_help()
        assert text.rstrip().endswith(EXIT_STATUSES.splitlines()[-1]), path
        formatter = p._get_formatter()
        for a in p._actions:
            if not a.option_strings or isinstance(a, (argparse._HelpAction,
                                                      argparse._VersionAction)):
                continue
            assert a.help, (path, a.option_strings)
            shown = formatter._get_help_string(a)
            assert "default" in shown.lower(), (path, a.option_strings, shown)
    top = build_parser().format_help()
    for status in ("0    valid", "1    invalid", "2    unknown", "130  interrupted",
                   "254  bad arguments", "255  the harness crashed",
                   "crashed (255) > unknown (2) > invalid (1) > valid (0)"):
        assert status in top, status


def test_analyze_without_a_directory_reads_the_stores_latest_run(tmp_path) -> None:
    import shutil
    from pathlib import Path

    run = (Path(__file__).parent / "data" / "runs" / "flink-standalone-session-kill-task-"
           "managers" / "20261126T003401.316")
    store = tmp_path / "store"
    shutil.copytree(run, store / run.parent.name / run.name)
    (store / "latest").symlink_to(Path(run.parent.name) / run.name)
    r = cli("analyze", "--store", str(store))
    assert r.returncode == 0, r.stderr
    assert f"analyzing {(store / run.parent.name / run.name).resolve()}" in r.stderr
    assert r.stdout.strip().splitlines()[-1] == verdict.line(True)
    assert (store / run.parent.name / run.name / "results-reanalyzed.json").is_file()
    empty = cli("analyze", "--store", str(tmp_path / "nothing"))
    assert empty.returncode == 254
    assert f"{tmp_path / 'nothing' / 'latest'} does not exist" in empty.stderr


def _terminal(rows: int, cols: int):
    import fcntl
    import os
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return leader, os.fdopen(follower, "w")


def _read_all(fd: int) -> str:
    """Everything written to the terminal so far (a pty hands it over in pieces)."""
    import os
    import select

    data = b""
    while select.select([fd], [], [], 0.5)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    return data.decode()


def test_the_status_line_keeps_to_the_last_row_of_a_terminal(monkeypatch) -> None:
    """The rows above the status line scroll (a scrolling region), so log lines, written by
    anyone to the same terminal, never land on it; the terminal is given back at the end."""
    import os
    import time

    from flink_jepsen.run.progress import Progress

    monkeypatch.setenv("TERM", "xterm")
    leader, stream = _terminal(24, 40)
    p = Progress(lambda: "faults=3 " + "x" * 80, interval=0.02, stream=stream)
    p.start()
    time.sleep(0.15)
    p.stop()
    out = _read_all(leader)
    assert out.startswith("\r\n\0337\033[1;23r\0338\033[1A")   # rows 1-23 scroll
    draws = out.split("\0337\033[24;1H\033[2K")[1:]
    assert len(draws) >= 2
    first = draws[0].split("\0338")[0]
    assert first.startswith("[start] 00:00 faults=3") and len(first) == 39  # cut to the width
    assert out.endswith("\0337\033[r\0338\0337\033[24;1H\033[2K\0338")  # given back
    stream.close()
    os.close(leader)


def test_without_a_terminal_the_status_is_plain_lines(monkeypatch) -> None:
    import io
    import time

    from flink_jepsen.run.progress import Progress

    for term, stream in (("xterm", io.StringIO()), ("dumb", None)):
        monkeypatch.setenv("TERM", term)
        if stream is None:  # a terminal that cannot move the cursor: plain lines too
            leader, stream = _terminal(24, 80)
        p = Progress(lambda: "faults=1", interval=0.02, stream=stream)
        p.start()
        time.sleep(0.1)
        p.stop()
        if isinstance(stream, io.StringIO):
            text = stream.getvalue()
        else:
            import os

            stream.flush()
            text = _read_all(leader).replace("\r\n", "\n")
            stream.close()
            os.close(leader)
        lines = text.splitlines()
        assert lines and all(line.startswith("[start] 00:00 faults=1") for line in lines)
        assert "\033" not in text and "\r" not in text


def test_a_nodes_file_of_groups_becomes_node_groups(tmp_path) -> None:
    from flink_jepsen.api.cli import build_parser, options_from_args

    groups = tmp_path / "hosts"
    groups.write_text("[a]\nh1\nh2\nh3\n[b]\nh4\nh5\nh6\n")
    args = build_parser().parse_args(["test", "--remote", "ssh", "--nodes-file", str(groups)])
    o = options_from_args(args)
    assert o.nodes == [] and o.node_groups == {"a": ["h1", "h2", "h3"], "b": ["h4", "h5", "h6"]}
    o.validate()
    one = tmp_path / "one"
    one.write_text("[only]\nh1\nh2\nh3\n")  # one group: its hosts are the nodes
    args = build_parser().parse_args(["test", "--remote", "ssh", "--nodes-file", str(one)])
    assert options_from_args(args).nodes == ["h1", "h2", "h3"]
    r = cli("test", "--remote", "ssh", "--nodes", "h1", "--nodes-file", str(groups))
    assert r.returncode == 254 and "either --nodes or a --nodes-file of [group]s" in r.stderr
    groups.write_text("[a]\nh1\nh2\n[b]\nh1\n")
    r = cli("test", "--remote", "ssh", "--nodes-file", str(groups))
    assert r.returncode == 254 and "host h1 is already in group a" in r.stderr
