"""The command line: a thin layer that parses, validates and calls the package's API.

Exit statuses follow Jepsen: 0 valid, 1 invalid, 2 unknown, 254 bad arguments, 255 the harness
itself crashed.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path

from flink_jepsen import _core
from flink_jepsen import log as fjlog
from flink_jepsen.errors import FlinkJepsenError, UsageError
from flink_jepsen.localnodes import DEFAULT_COUNT, DEFAULT_SUBNET, LocalNodes
from flink_jepsen.remotes import select

log = logging.getLogger("flink_jepsen.cli")


class Parser(argparse.ArgumentParser):
    """argparse, but bad arguments are a UsageError (exit 254), as in Jepsen."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _positive_int(text: str) -> int:
    try:
        return int(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from e


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
    ex = nsub.add_parser("exec", help="run a command on one node, some, or all")
    ex.add_argument("--remote", choices=["netns", "ssh"], default="netns")
    ex.add_argument("--timeout", type=float, default=60.0)
    ex.add_argument("target", help="a node name, a comma-separated list, or 'all'")
    ex.add_argument("cmd", nargs=argparse.REMAINDER, help="-- COMMAND...")

    smoke = sub.add_parser("smoke", help="nodes smoke scenario: exec over netns and ssh, "
                                         "partition, heal (a run in the store with a verdict)")
    smoke.add_argument("--count", type=_positive_int, default=DEFAULT_COUNT)
    smoke.add_argument("--subnet", default=DEFAULT_SUBNET)
    smoke.add_argument("--store", default="store")
    smoke.add_argument("--leave-running", action="store_true",
                       help="keep the nodes up afterwards")
    return p


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
    try:
        if args.command == "nodes":
            return cmd_nodes(args)
        if args.command == "smoke":
            from flink_jepsen.smoke import run_smoke

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
