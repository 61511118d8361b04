"""The command line: a thin layer that parses, validates and calls the package's API.

Exit statuses follow Jepsen (EXIT_STATUSES below, the end of every --help): 0 valid, 1 invalid,
2 unknown, 130 interrupted, 254 bad arguments, 255 the harness itself crashed; several runs
exit with the worst of theirs (crashed > unknown > invalid > valid, as Jepsen's test-all).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import signal
import sys
from pathlib import Path

from flink_jepsen import __version__, _core, versions
from flink_jepsen import log as fjlog
from flink_jepsen.checks import verdict
from flink_jepsen.errors import FlinkJepsenError, UsageError
from flink_jepsen.nodes.groups import read_groups
from flink_jepsen.nodes.local import DEFAULT_COUNT, DEFAULT_SUBNET, LocalNodes
from flink_jepsen.nodes.remotes import SshOptions, parse_node_list, select
from flink_jepsen.run import options
from flink_jepsen.run.options import TestOptions
from flink_jepsen.web import serve as fjserve

log = logging.getLogger("flink_jepsen.api.cli")


EXIT_STATUSES = """\
exit status:
  0    valid (test, analyze; sweep: every run valid); other commands: done
  1    invalid: a checker found an anomaly; doctor: something is missing; nodes status: a
       node is unreachable (or none is up); nodes exec: the command failed on a node
  2    unknown: the run could not be judged (setup failed, bad input in a test spec, the
       history could not be written; the run is in the store with the reason); other
       commands: the environment could not be set up or reached (no root, a subnet in use, a
       node that does not answer); any command refused before it started anything because
       this machine lacks what it needs (the message names the fix; see doctor)
  130  interrupted (Ctrl-C, SIGTERM, SIGHUP), after the teardown
  254  bad arguments or input (nothing was started)
  255  the harness crashed
several runs (test --test-count N, sweep): the worst of theirs, in the order
  crashed (255) > unknown (2) > invalid (1) > valid (0), as Jepsen's test-all"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every option's help ends with its default (unless the help says it already); the
    epilog (the exit statuses) keeps its lines."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (not action.option_strings or action.default is argparse.SUPPRESS
                or "default" in text.lower() or isinstance(action, (
                    argparse._HelpAction, argparse._VersionAction))):
            return text
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            return f"{text} (default: off)"
        if action.default is None or action.default == "" or action.default == []:
            return f"{text} (default: none)"
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """argparse, but bad arguments are a UsageError (exit 254), as in Jepsen; every command's
    --help shows the defaults and ends with the exit statuses."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("epilog", EXIT_STATUSES)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from e
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _finite_float(text: str) -> float:
    """A number of seconds or a rate: NaN and infinity are refused at once (exit 254)."""
    try:
        value = float(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from e
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def package_version() -> str:
    """The installed distribution's version; in a source checkout that is not installed, the
    package's own __version__, saying so."""
    from importlib import metadata

    try:
        return metadata.version("flink-jepsen")
    except metadata.PackageNotFoundError:
        return f"{__version__} (source checkout, not installed)"


LOG_LEVELS = ("trace", "debug", "info", "warn", "error")


def _log_level(p: argparse.ArgumentParser, top: bool = False) -> None:
    """--log-level before the command (`flink-jepsen --log-level debug test`) or after it
    (`flink-jepsen test --log-level debug`); after it wins."""
    if top:
        p.add_argument("--log-level", default="info", choices=LOG_LEVELS,
                       help="what the console shows (the run's jepsen.log always gets debug)")
    else:
        p.add_argument("--log-level", default=argparse.SUPPRESS, choices=LOG_LEVELS,
                       help="what the console shows, as before the command (default: info)")


def build_parser() -> Parser:
    p = Parser(prog="flink-jepsen", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"flink-jepsen {package_version()}",
                   help="print the version and exit")
    _log_level(p, top=True)
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    def command(parent, name: str, help: str) -> Parser:
        c = parent.add_parser(name, help=help, description=help)
        _log_level(c)
        return c

    nodes = command(sub, "nodes", "local nodes: network namespaces on this machine")
    nsub = nodes.add_subparsers(dest="nodes_command", required=True, parser_class=Parser)
    up = command(nsub, "up", "create the nodes (idempotent)")
    up.add_argument("--count", type=_positive_int, default=DEFAULT_COUNT,
                    help="number of nodes, 1-50")
    up.add_argument("--subnet", default=DEFAULT_SUBNET, help="IPv4 network for the nodes")
    up.add_argument("--sshd", action="store_true", help="run an OpenSSH server on every node")
    command(nsub, "down", "remove every namespace, link, rule and process the nodes made")
    st = command(nsub, "status", "show the nodes and their health")
    st.add_argument("--json", action="store_true", help="as JSON")
    fa = command(nsub, "faults", "which fault kinds the nodes can carry out (packet loss, "
                                 "duplication, delay; clocks...), asked of them")
    fa.add_argument("--json", action="store_true", help="as JSON")
    ex = command(nsub, "exec", "run a command on one node, some, or all")
    ex.add_argument("--remote", choices=["netns", "ssh"], default="netns",
                    help="through the node's namespaces, or over SSH to its sshd")
    ex.add_argument("--timeout", type=_finite_float, default=60.0,
                    help="seconds the command may take")
    ex.add_argument("target", help="a node name, a comma-separated list, or 'all'")
    ex.add_argument("cmd", nargs=argparse.REMAINDER, help="-- COMMAND...")

    test = command(sub, "test", "run a test (default: the main scenario, a standalone Flink "
                                "HA cluster with TaskManager kills)")
    add_test_options(test)
    sw = command(sub, "sweep", "run every combination of a grid of test parameters, one row "
                               "per run in a JSON Lines file (resumable); ends with the counts "
                               "of valid, invalid, unknown and crashed runs")
    sw.add_argument("--grid", action="append", required=True, metavar="NAME=V1,V2",
                    help="a parameter (a test option, e.g. nemesis-gen) and its values; "
                         "repeat for more parameters (required)")
    sw.add_argument("--repetitions", type=_positive_int, default=1,
                    help="runs of each combination")
    sw.add_argument("--out", required=True, help="the sweep's file (rows already there are "
                                                 "not run again; required)")
    sw.add_argument("--parallel", type=_positive_int, default=1,
                    help="runs at once, each in a worker process: on local nodes each worker "
                         "has nodes of its own (a prefix and subnet derived from the base's); "
                         "with a --nodes-file of [group]s each run takes a free group")
    sw.add_argument("--subnet", default=DEFAULT_SUBNET,
                    help="with --parallel: the local nodes' network the workers' own are "
                         "derived from")
    add_test_options(sw)
    analyze = command(sub, "analyze", "re-check a stored run (default: the newest)")
    analyze.add_argument("store_dir", nargs="?", default=None,
                         help="a run's directory in the store (default: the store's latest "
                              "link, the newest run)")
    analyze.add_argument("--store", default="store",
                         help="the store whose latest run is analysed when no directory is "
                              "given")
    d = command(sub, "dist", "fetch, check and cache a Flink distribution (and its JVM)")
    d.add_argument("--flink-version", default=versions.FLINK_DEFAULT,
                   help="the Apache release, from PyPI's official binaries")
    d.add_argument("--tarball", help="file://, http(s):// or a path of a Flink binary tarball")
    doc = command(sub, "doctor", "what this machine lacks for the harness, each with the "
                                 "command that installs it (exit 1 if anything is missing)")
    doc.add_argument("--store", default="store", help="the store whose free space is checked")

    srv = command(sub, "serve", "browse the store in a web browser (127.0.0.1 by default)")
    fjserve.add_arguments(srv)

    smoke = command(sub, "smoke", "nodes smoke scenario: exec over netns and ssh, partition, "
                                  "heal (a run in the store with a verdict)")
    smoke.add_argument("--count", type=_positive_int, default=DEFAULT_COUNT,
                       help="number of nodes")
    smoke.add_argument("--subnet", default=DEFAULT_SUBNET, help="IPv4 network for the nodes")
    smoke.add_argument("--store", default="store", help="where the run is kept")
    smoke.add_argument("--leave-running", action="store_true",
                       help="keep the nodes up afterwards")
    return p


def add_test_options(p: argparse.ArgumentParser) -> None:
    """Every test option, from its one declaration (run/options.py), plus the ways the command
    line gives the hosts and the SSH settings."""
    for f in options.declared():
        m, default = f.metadata, TestOptions.__dataclass_fields__[f.name]
        value = default.default if default.default is not dataclasses.MISSING else None
        kw: dict = {"help": m["help"] or None, "dest": f.name}
        if f.type in ("bool", bool) or isinstance(value, bool):
            kw["action"] = "store_false" if value else "store_true"
        elif f.name == "nodes":
            kw["default"] = None
        else:
            kw["default"] = value
            kind = m.get("kind")
            if kind is int:
                kw["type"] = _positive_int if (m.get("lo") or 0) >= 1 else int
            elif kind is float:
                kw["type"] = _finite_float
            allowed = options.choices(f)
            if allowed is not None and m.get("refuse_at_parse"):
                kw["choices"] = allowed
            elif allowed is not None:
                kw["help"] = f"{kw['help']}: {', '.join(allowed)}"
        p.add_argument(options.flag(f), **kw)
    p.add_argument("--nodes-file", help="real hosts, one per line (with --remote ssh); with "
                   "[group] lines, several groups: each run takes a free one (default: none)")
    for f in dataclasses.fields(SshOptions):
        if f.metadata.get("cli", True):
            kw = {"default": f.default, "help": f.metadata["help"], "dest": f"ssh_{f.name}"}
            if f.metadata.get("kind") is int:
                kw["type"] = _positive_int
            p.add_argument(options.flag(f), **kw)


def options_from_args(args: argparse.Namespace) -> TestOptions:
    groups = read_groups(args.nodes_file) if args.nodes_file else {}
    if len(groups) > 1:  # [group] sections: each run claims a free group
        if args.nodes:
            raise UsageError("give either --nodes or a --nodes-file of [group]s, not both")
        hosts: list[str] = []
    else:  # one group: the file's hosts, after any --nodes
        hosts = parse_node_list(args.nodes, None) + next(iter(groups.values()), [])
        if len(set(hosts)) != len(hosts):
            raise UsageError(f"--nodes names a host twice: {', '.join(hosts)}")
        groups = {}
    if (hosts or groups) and args.remote == "netns":
        raise UsageError("--nodes/--nodes-file name real hosts: add --remote ssh")
    values = {f.name: getattr(args, f.name) for f in options.declared()}
    values["nodes"] = hosts
    values["node_groups"] = groups
    ssh = SshOptions(**{f.name: getattr(args, f"ssh_{f.name}")
                        for f in dataclasses.fields(SshOptions) if f.metadata.get("cli", True)})
    return TestOptions(ssh=ssh, **values)


def _preflight(names: tuple[str, ...], what: str, args: argparse.Namespace,
               store: str = "store") -> None:
    """The doctor's checks a command needs, before it starts anything: a machine that lacks
    one is refused (SetupError, exit 2) with the command that installs it."""
    from flink_jepsen.api import doctor

    doctor.require(names, what, store, getattr(args, "argv", None))


def _preflight_run(options: TestOptions, command: str, args: argparse.Namespace) -> None:
    from flink_jepsen.api import doctor

    _preflight(doctor.needs(command, options.remote, clock=options.clock_faults),
               f"flink-jepsen {command}", args, options.store)


def cmd_test(args: argparse.Namespace) -> int:
    from flink_jepsen.api import Test
    from flink_jepsen.api.sweep import worst_exit_status

    test = Test(options_from_args(args), validate=False)
    try:
        test.validate()  # the input alone: nothing starts
    except FlinkJepsenError:
        pass  # bad input is a stored run with verdict unknown (the run records why)
    else:
        _preflight_run(test.options, "test", args)
    outcomes = []
    for i, result in enumerate(test.runs()):
        if test.options.test_count > 1:
            log.info("run %d of %d done", i + 1, test.options.test_count)
        outcomes.append(result.valid)
        print(verdict.line(result.valid), flush=True)
    return worst_exit_status(outcomes)


def cmd_sweep(args: argparse.Namespace) -> int:
    from flink_jepsen.api import sweep

    base_options = options_from_args(args)
    base = {f.name: getattr(base_options, f.name) for f in dataclasses.fields(TestOptions)}
    grid = dict(sweep.parse_grid_arg(g) for g in args.grid)
    runs = sweep.plan(grid, base, args.repetitions)  # every point's input, before any run
    for opts in {(t.options.remote, t.options.clock_faults): t.options
                    for _, _, t in runs}.values():
        _preflight_run(opts, "sweep", args)
    frame = sweep.run_sweep(grid, args.out, base, args.repetitions, args.parallel,
                            args.subnet)
    columns = [c for c in (*grid, "repetition", "valid", "recovery_median_s", "anomalies",
                           "store") if c in frame]
    print(frame[columns].to_string(index=False))
    print()
    print(sweep.summary(frame, list(grid)))
    print()
    print(sweep.outcome_summary(frame))
    return sweep.exit_status(frame)


def _run_dir(args: argparse.Namespace) -> Path:
    """The run `analyze` re-checks: the one named, else the store's latest (Jepsen's
    store/latest); a test's directory stands for its latest run."""
    if args.store_dir is None:
        latest = Path(args.store) / "latest"
        if not latest.exists():
            raise UsageError(f"analyze: no run to analyze: {latest} does not exist (no run has "
                             f"been stored in {args.store} yet; give a run's directory, or "
                             f"--store DIR)")
        return latest.resolve()
    run_dir = Path(args.store_dir)
    if not (run_dir / "test.json").is_file() and (run_dir / "latest" / "test.json").is_file():
        return (run_dir / "latest").resolve()
    return run_dir


def cmd_analyze(args: argparse.Namespace) -> int:
    from flink_jepsen.run.runner import analyze

    run_dir = _run_dir(args)
    test_json = run_dir / "test.json"
    history = run_dir / "history.jsonl"
    if not test_json.is_file() or not history.is_file():
        raise UsageError(f"{run_dir} is not a run directory (no test.json and history.jsonl)")
    print(f"analyzing {run_dir}", file=sys.stderr)
    test = json.loads(test_json.read_text())
    options = TestOptions.from_json(test["options"])
    results = analyze(history, options, test.get("jobs") or [])
    (run_dir / "results-reanalyzed.json").write_text(json.dumps(results, indent=2) + "\n")
    for a in results.get("anomalies", [])[:20]:
        print(json.dumps(a))
    valid = results.get("valid?", "unknown")
    print(verdict.line(valid if valid in (True, False) else "unknown"))
    return verdict.exit_status(valid if valid in (True, False) else "unknown")


def cmd_doctor(args: argparse.Namespace) -> int:
    from flink_jepsen.api import doctor

    return doctor.doctor(args.store)


def cmd_dist(args: argparse.Namespace) -> int:
    from flink_jepsen.systems import dist, java

    d = dist.resolve(None if args.tarball else args.flink_version, args.tarball)
    java.java_home(java.java_for(d.major_minor))  # its JVM, fetched and cached beside it
    print(json.dumps(d.describe(), indent=2))
    return 0


def cmd_nodes(args: argparse.Namespace) -> int:
    local = LocalNodes()
    if args.nodes_command == "up":
        from flink_jepsen.api import doctor

        _preflight(doctor.needs("nodes-up", sshd=args.sshd), "flink-jepsen nodes up", args)
        nodes = local.up(args.count, args.subnet, sshd=args.sshd)
        for n in nodes:
            print(f"{n.name}\t{n.address}\t{n.root}")
        return 0
    if args.nodes_command == "down":
        removed = local.down()
        print("removed: " + ("; ".join(removed) if removed else "nothing (no nodes were up)"))
        return 0
    if args.nodes_command == "status":
        rows = local.status()
        if args.json:
            print(json.dumps(rows, indent=2))
        elif not rows:
            print("no local nodes (run `flink-jepsen nodes up`)")
        else:
            print("node\taddress\t\tnetns\treachable\tsshd\tprocesses")
            for r in rows:
                print(f"{r['node']}\t{r['address']}\t{r['netns']}\t{r['reachable']}\t\t"
                      f"{r['sshd']}\t{r['processes']}")
        return 0 if rows and all(r["reachable"] for r in rows) else 1
    if args.nodes_command == "faults":
        from flink_jepsen.faults import capabilities

        caps = capabilities.probe(local.remotes("netns"))
        print(json.dumps(caps, indent=2) if args.json else capabilities.table(caps))
        return 0
    if args.nodes_command == "exec":
        cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not cmd:
            raise UsageError("nodes exec: no command given (usage: nodes exec NODE|all -- CMD)")
        targets = select(local.nodes(), args.target)
        remotes = local.remotes(args.remote)
        results = _core.fan_out([remotes[n.name] for n in targets], " ".join(cmd),
                                timeout=args.timeout)
        status = 0
        for r in results:
            for line in r.out.splitlines():
                print(f"{r.node}: {line}")
            for line in r.err.splitlines():
                print(f"{r.node}! {line}", file=sys.stderr)
            if not r.ok:
                what = "timed out" if r.timed_out else f"exit status {r.exit_status}"
                print(f"{r.node}: {what}", file=sys.stderr)
                status = 1
        return status
    raise UsageError(f"unknown nodes command {args.nodes_command}")


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
    except UsageError as e:
        print(e, file=sys.stderr)
        return e.exit_status
    args.argv = argv  # to say how to run it again (as root)
    fjlog.setup(args.log_level)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)   # a closed terminal: stop as on Ctrl-C
    try:
        if args.command == "nodes":
            return cmd_nodes(args)
        if args.command == "test":
            return cmd_test(args)
        if args.command == "analyze":
            return cmd_analyze(args)
        if args.command == "sweep":
            return cmd_sweep(args)
        if args.command == "serve":
            return fjserve.run(args)
        if args.command == "dist":
            return cmd_dist(args)
        if args.command == "doctor":
            return cmd_doctor(args)
        if args.command == "smoke":
            from flink_jepsen.api import doctor
            from flink_jepsen.api.smoke import run_smoke

            _preflight(doctor.needs("smoke"), "flink-jepsen smoke", args, args.store)
            return run_smoke(Path(args.store), args.count, args.subnet, args.leave_running)
        raise UsageError(f"unknown command {args.command}")
    except FlinkJepsenError as e:
        log.debug("%s", e)  # the console has it below; no run log is open any more
        print(f"error: {e}", file=sys.stderr)
        return e.exit_status
    except (_core.RemoteError, _core.RemoteConnectionError) as e:
        log.error("%s", e)
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        log.warning("interrupted")
        return 130
    except Exception:
        log.exception("the harness crashed")
        return 255
    finally:
        _core.log_flush()


if __name__ == "__main__":
    raise SystemExit(main())
