"""Local nodes are real network namespaces: own address, own hostname, resolvable names, own
disk; `up` is idempotent and bad requests name what is wrong."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import TEST_PREFIX, TEST_SUBNET, cli
from flink_jepsen import _core
from flink_jepsen.errors import SetupError, UsageError
from flink_jepsen.nodes.local import LocalNodes
from flink_jepsen.nodes.remotes import SshOptions, shell_builtin, ssh_remote

pytestmark = pytest.mark.integration


def test_each_node_has_its_own_name_address_and_resolves_every_other(local_nodes) -> None:
    nodes = local_nodes.nodes()
    remotes = local_nodes.remotes("netns")
    script = "hostname; ip -4 -o addr show eth0 | awk '{print $4}'; " + "; ".join(
        f"getent hosts {n.name} | awk '{{print $1}}'" for n in nodes)
    results = _core.fan_out_check([remotes[n.name] for n in nodes], script, timeout=30)
    for n, r in zip(nodes, results):
        lines = r.out.split()
        assert lines[0] == n.name
        assert lines[1] == f"{n.address}/24"
        assert lines[2:] == [m.address for m in nodes]
    assert len({n.address for n in nodes}) == len(nodes)


def test_namespaces_and_links_exist_on_the_host(local_nodes) -> None:
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for i in range(1, 6):
        assert f"{TEST_PREFIX}-n{i}" in netns
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f"{TEST_PREFIX}br0" in links


def test_each_node_writes_to_its_own_disk(local_nodes) -> None:
    nodes = local_nodes.nodes()
    remotes = local_nodes.remotes("netns")
    for n in nodes:
        remotes[n.name].check(f"hostname > {n.path('data', 'whoami')}")
    for n in nodes:
        with open(n.path("data", "whoami")) as f:
            assert f.read().strip() == n.name


def test_ssh_shells_load_the_persistent_shell_builtin(local_nodes) -> None:
    # Each node's sshd gets its own copy of the persistent shell's builtin (the package may be
    # under the host's /tmp, which a node does not see), and its SSH remote's shells load it.
    remotes = local_nodes.remotes("ssh")
    for n in local_nodes.nodes():
        r = remotes[n.name].check("type -t fj_holders")
        assert r.out == "builtin\n", n.name


def test_ssh_remotes_to_hosts_put_the_builtin_there_first(local_nodes) -> None:
    # A node reached as a real host is (--remote ssh): its remote puts this install's builtin
    # in the login's ~/.cache/flink-jepsen before the first command, and its shells load it.
    key = str(local_nodes.ssh_dir / "id_ed25519")
    node = local_nodes.nodes()[0]
    remote = ssh_remote(node, SshOptions(private_key=key, host_key_policy="no"))
    assert remote.shell_builtin_path.startswith(".cache/flink-jepsen/fj_shell_builtin-")
    assert remote.check("type -t fj_holders").out == "builtin\n"
    put = remote.check(f"cat {remote.shell_builtin_path} | md5sum").out
    assert put == subprocess.run(["md5sum"], input=shell_builtin().read_bytes(),
                                 capture_output=True).stdout.decode()


def test_up_is_idempotent_and_refuses_a_different_shape(local_nodes) -> None:
    before = local_nodes.nodes()
    again = local_nodes.up(5, TEST_SUBNET, sshd=True)
    assert again == before
    with pytest.raises(UsageError, match="already up with 5 nodes"):
        local_nodes.up(3, TEST_SUBNET)


def test_status_reports_every_node_reachable(local_nodes) -> None:
    r = cli("nodes", "status", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["node"] for row in rows] == [f"n{i}" for i in range(1, 6)]
    assert all(row["reachable"] and row["sshd"] and row["netns"] for row in rows)


def test_exec_cli_on_one_some_and_all_nodes(local_nodes) -> None:
    r = cli("nodes", "exec", "n2", "--", "hostname")
    assert (r.returncode, r.stdout) == (0, "n2: n2\n")
    r = cli("nodes", "exec", "n1,n3", "--", "hostname")
    assert r.stdout.splitlines() == ["n1: n1", "n3: n3"]
    r = cli("nodes", "exec", "--remote", "ssh", "all", "--", "hostname")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"n{i}: n{i}" for i in range(1, 6)]
    r = cli("nodes", "exec", "all", "--", "test $(hostname) != n4")
    assert r.returncode == 1
    assert "n4: exit status 1" in r.stderr


def test_exec_on_an_unknown_node_names_it(local_nodes) -> None:
    r = cli("nodes", "exec", "n1,n9", "--", "true")
    assert r.returncode == 254
    assert "unknown node 'n9'" in r.stderr
    assert "n1, n2, n3, n4, n5" in r.stderr


def test_a_subnet_overlapping_an_existing_route_is_refused(local_nodes, fj_home) -> None:
    # Another prefix asking for the subnet the test nodes already route.
    other = LocalNodes(home=fj_home, prefix="fjo")
    with pytest.raises(UsageError, match=f"overlaps the existing route to {TEST_SUBNET}"):
        other.up(2, TEST_SUBNET)
    assert not any(ns.startswith("fjo-") for ns in
                   subprocess.run(["ip", "netns", "list"], capture_output=True,
                                  text=True).stdout.split())


def test_missing_root_is_a_clear_error(monkeypatch, fj_home) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(SetupError, match="local nodes need root"):
        LocalNodes(home=fj_home, prefix="fjr").up(2, "10.213.11.0/24")


def test_exec_timeout_kills_the_command_on_the_node(local_nodes) -> None:
    remote = local_nodes.remotes("netns")["n1"]
    r = remote.exec("sleep 123.5", timeout=0.5)
    assert r.timed_out and r.exit_status == -1
    left = remote.exec("pgrep -f 'sleep 123[.]5' || true", timeout=10)
    assert left.out == ""
    with pytest.raises(_core.RemoteError, match="timed out"):
        remote.check("sleep 123.5", timeout=0.5)
