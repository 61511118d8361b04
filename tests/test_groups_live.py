"""Node groups for real: six local nodes with sshd, reached only over SSH, listed as two groups
of three in a hosts file; a sweep of two runs with --parallel 2 runs one Flink cluster on each
group at the same time, and both end valid. Long (two clusters side by side on this machine)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from flink_jepsen.api.sweep import run_sweep
from flink_jepsen.nodes.groups import read_groups

pytestmark = [pytest.mark.integration, pytest.mark.long]

PREFIX = os.environ.get("FJ_GROUPS_PREFIX", "fjg")
SUBNET = os.environ.get("FJ_GROUPS_SUBNET", "10.213.14.0/24")


@pytest.fixture
def six_nodes(fj_home: Path, monkeypatch: pytest.MonkeyPatch):
    from flink_jepsen.nodes.local import LocalNodes

    monkeypatch.setenv("FLINK_JEPSEN_PREFIX", PREFIX)
    ln = LocalNodes(home=fj_home, prefix=PREFIX)
    ln.up(6, SUBNET, sshd=True)
    yield ln
    ln.down()


def test_a_parallel_sweep_runs_one_cluster_per_group_over_ssh(six_nodes, fj_home, tmp_path):
    addresses = [n.address for n in six_nodes.nodes()]
    hosts = tmp_path / "hosts"
    hosts.write_text("[g1]\n" + "\n".join(addresses[:3]) + "\n[g2]\n"
                     + "\n".join(addresses[3:]) + "\n")
    groups = read_groups(hosts)
    shared = fj_home / "shared" / PREFIX  # what every local node sees at the same path
    base = {"remote": "ssh", "node_groups": groups, "time_limit": 20,
            "ssh": {"username": "root",
                    "private_key": str(six_nodes.ssh_dir / "id_ed25519")},
            "ha_storage_dir": f"file://{shared}/ha", "store": str(tmp_path / "store")}
    frame = run_sweep({"seed": [1, 2]}, tmp_path / "sweep.jsonl", base, parallel=2)
    assert list(frame["valid"]) == ["true", "true"], frame.to_dict("records")
    spans = []
    for store in frame["store"]:
        nodes = json.loads((Path(store) / "test.json").read_text())["options"]["nodes"]
        born = datetime.strptime(Path(store).name, "%Y%m%dT%H%M%S.%f").replace(
            tzinfo=timezone.utc).timestamp()
        spans.append((born, (Path(store) / "results.json").stat().st_mtime, tuple(nodes)))
    (a0, a1, ga), (b0, b1, gb) = spans
    assert {ga, gb} == {tuple(g) for g in groups.values()}
    assert a0 < b1 and b0 < a1, f"the two runs did not overlap: {spans}"
