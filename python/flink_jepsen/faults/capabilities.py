"""What faults the nodes can carry out, asked of the nodes themselves: kills, pauses and
partitions need only signals and iptables; packet faults need iptables' statistic match (loss),
its TEE target (duplication) and the netem qdisc (delay, reordering); clock faults need
libfaketime. A user reads it with `flink-jepsen nodes faults` before asking for a fault."""

from __future__ import annotations

from flink_jepsen import _core

KINDS = ("kill", "pause", "partition", "packet-loss", "packet-duplicate", "packet-delay",
         "packet-reorder", "clock")


def probe(remotes: dict[str, _core.Remote]) -> dict[str, dict[str, bool]]:
    """node -> {fault kind: can it}, all nodes at once."""
    names = sorted(remotes)
    command = (f"{_core.PACKET_PROBE}; command -v iptables-restore >/dev/null && echo partition; "
               f"test -r {_core.FAKETIME_LIBRARY} && echo clock; true")
    results = _core.fan_out([remotes[n] for n in names], command, timeout=60)
    out: dict[str, dict[str, bool]] = {}
    for name, r in zip(names, results):
        words = set(r.out.split())
        packets = set(_core.parse_packet_capabilities(r.out))
        out[name] = {"kill": r.ok, "pause": r.ok, "partition": "partition" in words,
                     **{f"packet-{k}": k in packets
                        for k in ("loss", "duplicate", "delay", "reorder")},
                     "clock": "clock" in words}
    return out


def table(caps: dict[str, dict[str, bool]]) -> str:
    """One line per node, then what no node can do and why that usually is."""
    lines = []
    for node, kinds in caps.items():
        lines.append(f"{node}: " + " ".join(k if ok else f"-{k}" for k, ok in kinds.items()))
    missing = [k for k in KINDS if not any(c.get(k) for c in caps.values())]
    why = {"packet-delay": "no tc netem qdisc", "packet-reorder": "no tc netem qdisc",
           "packet-duplicate": "no iptables TEE target", "packet-loss": "no iptables statistic "
           "match", "clock": f"no {_core.FAKETIME_LIBRARY} (apt-get install libfaketime)",
           "partition": "no iptables-restore"}
    for k in missing:
        lines.append(f"no node can do {k}: {why.get(k, 'the node did not answer')}")
    return "\n".join(lines)
