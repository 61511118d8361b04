"""The command line: a thin layer that parses, validates and calls the package's API.

Exit statuses follow Jepsen: 0 valid, 1 invalid, 2 unknown, 254 bad arguments, 255 the harness
itself crashed.
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

from flink_jepsen import _core, versions
from flink_jepsen import log as fjlog
from flink_jepsen.checks import verdict
from flink_jepsen.errors import FlinkJepsenError, UsageError
from flink_jepsen.nodes.local import DEFAULT_COUNT, DEFAULT_SUBNET, LocalNodes
from flink_jepsen.nodes.remotes import SshOptions, parse_node_list, select
from flink_jepsen.run import options
from flink_jepsen.run.options import TestOptions
from flink_jepsen.web import serve as fjserve

log = logging.getLogger("flink_jepsen.api.cli")


class Parser(argparse.ArgumentParser):
    """argparse, but bad arguments are a UsageError (exit 254), as in Jepsen."""

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


def build_parser() -> Parser:
    p = Parser(prog="flink-jepsen", description=__doc__.splitlines()[0])
    p.add_argument("--log-level", default="info",
                   choices=["trace", "debug", "info", "warn", "error"],
                   help="what the console shows (the run's jepsen.log always gets debug)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    nodes = sub.add_parser("nodes", help="local nodes: network namespaces on this machine")
    nsub = nodes.add_subparsers(dest="nodes_command", required=True, parser_class=Parser)
    up = nsub.add_parser("up", help="create the nodes (idempotent)")
    up.add_argument("--count", type=_positive_int, default=DEFAULT_COUNT,
                    help=f"number of nodes, 1-50 (default {DEFAULT_COUNT})")
    up.add_argument("--subnet", default=DEFAULT_SUBNET,
                    help=f"IPv4 network for the nodes (default {DEFAULT_SUBNET})")
    up.add_argument("--sshd", action="store_true", help="run an OpenSSH server on every node")
    nsub.add_parser("down", help="remove every namespace, link, rule and process the nodes made")
    st = nsub.add_parser("status", help="show the nodes and their health")
    st.add_argument("--json", action="store_true")
    fa = nsub.add_parser("faults", help="which fault kinds the nodes can carry out (packet "
                                        "loss, duplication, delay; clocks...), asked of them")
    fa.add_argument("--json", action="store_true")
    ex = nsub.add_parser("exec", help="run a command on one node, some, or all")
    ex.add_argument("--remote", choices=["netns", "ssh"], default="netns")
    ex.add_argument("--timeout", type=_finite_float, default=60.0)
    ex.add_argument("target", help="a node name, a comma-separated list, or 'all'")
    ex.add_argument("cmd", nargs=argparse.REMAINDER, help="-- COMMAND...")

    test = sub.add_parser("test", help="run a test (default: the main scenario, a standalone "
                                       "Flink HA cluster with TaskManager kills)")
    add_test_options(test)
    sw = sub.add_parser("sweep", help="run every combination of a grid of test parameters, "
                                      "one row per run in a JSON Lines file (resumable)")
    sw.add_argument("--grid", action="append", required=True, metavar="NAME=V1,V2",
                    help="a parameter (a test option, e.g. nemesis-gen) and its values; "
                         "repeat for more parameters")
    sw.add_argument("--repetitions", type=_positive_int, default=1)
    sw.add_argument("--out", required=True, help="the sweep's file (rows already there are "
                                                 "not run again)")
    add_test_options(sw)
    analyze = sub.add_parser("analyze", help="re-check a stored run")
    analyze.add_argument("store_dir", help="a run's directory in the store")
    d = sub.add_parser("dist", help="fetch, check and cache a Flink distribution")
    d.add_argument("--flink-version", default=versions.FLINK_DEFAULT)
    d.add_argument("--tarball", help="file://, http(s):// or a path of a Flink binary tarball")

    srv = sub.add_parser("serve", help="browse the store in a web browser (127.0.0.1 by "
                                       "default)")
    fjserve.add_arguments(srv)

    smoke = sub.add_parser("smoke", help="nodes smoke scenario: exec over netns and ssh, "
                                         "partition, heal (a run in the store with a verdict)")
    smoke.add_argument("--count", type=_positive_int, default=DEFAULT_COUNT)
    smoke.add_argument("--subnet", default=DEFAULT_SUBNET)
    smoke.add_argument("--store", default="store")
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
    p.add_argument("--nodes-file", help="real hosts, one per line (with --remote ssh)")
    for f in dataclasses.fields(SshOptions):
        if f.metadata.get("cli", True):
            kw = {"default": f.default, "help": f.metadata["help"], "dest": f"ssh_{f.name}"}
            if f.metadata.get("kind") is int:
                kw["type"] = _positive_int
            p.add_argument(options.flag(f), **kw)


def options_from_args(args: argparse.Namespace) -> TestOptions:
    hosts = parse_node_list(args.nodes, args.nodes_file)
    if hosts and args.remote == "netns":
        raise UsageError("--nodes/--nodes-file name real hosts: add --remote ssh")
    values = {f.name: getattr(args, f.name) for f in options.declared()}
    values["nodes"] = hosts
    ssh = SshOptions(**{f.name: getattr(args, f"ssh_{f.name}")
                        for f in dataclasses.fields(SshOptions) if f.metadata.get("cli", True)})
    return TestOptions(ssh=ssh, **values)


def cmd_test(args: argparse.Namespace) -> int:
    from flink_jepsen.api import Test

    test = Test(options_from_args(args), validate=False)
    statuses = []
    for i, result in enumerate(test.runs()):
        if test.options.test_count > 1:
            log.info("run %d of %d done", i + 1, test.options.test_count)
        statuses.append(result.valid)
        print(verdict.line(result.valid), flush=True)
    return verdict.exit_status(verdict.merge(*statuses))


def cmd_sweep(args: argparse.Namespace) -> int:
    import dataclasses

    from flink_jepsen.api.sweep import parse_grid_arg, run_sweep

    base_options = options_from_args(args)
    base = {f.name: getattr(base_options, f.name) for f in dataclasses.fields(TestOptions)}
    grid = dict(parse_grid_arg(g) for g in args.grid)
    frame = run_sweep(grid, args.out, base, args.repetitions)
    from flink_jepsen.api.sweep import summary

    columns = [c for c in (*grid, "repetition", "valid", "recovery_median_s", "anomalies",
                           "store") if c in frame]
    print(frame[columns].to_string(index=False))
    print()
    print(summary(frame, list(grid)))
    valids = [{"true": True, "false": False}.get(v, "unknown") for v in frame["valid"]]
    return verdict.exit_status(verdict.merge(*valids))


def cmd_analyze(args: argparse.Namespace) -> int:
    from flink_jepsen.run.runner import analyze

    run_dir = Path(args.store_dir)
    test_json = run_dir / "test.json"
    history = run_dir / "history.jsonl"
    if not test_json.is_file() or not history.is_file():
        raise UsageError(f"{run_dir} is not a run directory (no test.json and history.jsonl)")
    test = json.loads(test_json.read_text())
    options = TestOptions.from_json(test["options"])
    results = analyze(history, options, test.get("jobs") or [])
    (run_dir / "results-reanalyzed.json").write_text(json.dumps(results, indent=2) + "\n")
    for a in results.get("anomalies", [])[:20]:
        print(json.dumps(a))
    valid = results.get("valid?", "unknown")
    print(verdict.line(valid if valid in (True, False) else "unknown"))
    return verdict.exit_status(valid if valid in (True, False) else "unknown")


def cmd_dist(args: argparse.Namespace) -> int:
    from flink_jepsen.systems import dist, java

    d = dist.resolve(None if args.tarball else args.flink_version, args.tarball)
    java.java_home(java.java_for(d.major_minor))  # its JVM, fetched and cached beside it
    print(json.dumps(d.describe(), indent=2))
    return 0


def cmd_nodes(args: argparse.Namespace) -> int:
    local = LocalNodes()
    if args.nodes_command == "up":
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
    try:
        args = build_parser().parse_args(argv)
    except UsageError as e:
        print(e, file=sys.stderr)
        return e.exit_status
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
        if args.command == "smoke":
            from flink_jepsen.api.smoke import run_smoke

            return run_smoke(Path(args.store), args.count, args.subnet, args.leave_running)
        raise UsageError(f"unknown command {args.command}")
    except FlinkJepsenError as e:
        log.error("%s", e)
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
