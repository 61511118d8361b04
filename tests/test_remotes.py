"""The same commands through both remotes (the namespace itself, and SSH to the node's sshd)
give the same answers; SSH failures are clear errors."""

from __future__ import annotations

import hashlib
import ipaddress
import os

import pytest

from conftest import TEST_SUBNET
from flink_jepsen import _core

pytestmark = pytest.mark.integration

COMMANDS = [
    "hostname",
    "ip -4 -o addr show eth0 | awk '{print $4}'",
    "getent hosts n3 | awk '{print $1}'",
    "echo out; echo err >&2; exit 4",
    "cat /proc/sys/net/ipv4/ip_forward; readlink /proc/self/ns/net | tr -dc 0-9 | wc -c",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_netns_and_ssh_agree(local_nodes, command: str) -> None:
    nodes = local_nodes.nodes()
    netns = local_nodes.remotes("netns")
    ssh = local_nodes.remotes("ssh")
    a = _core.fan_out([netns[n.name] for n in nodes], command, timeout=30)
    b = _core.fan_out([ssh[n.name] for n in nodes], command, timeout=30)
    for x, y in zip(a, b):
        assert (x.node, x.out, x.err, x.exit_status) == (y.node, y.out, y.err, y.exit_status)


def test_env_cwd_and_stdin_over_both_remotes(local_nodes) -> None:
    for kind in ("netns", "ssh"):
        remote = local_nodes.remotes(kind)["n2"]
        r = remote.exec("echo \"$A $B\"; pwd; tr a-z A-Z", env={"A": "x y", "B": "it's"},
                        cwd="/tmp", stdin="shout\n", timeout=30)
        assert r.out == "x y it's\n/tmp\nSHOUT\n", kind


def test_upload_and_download_round_trip_over_both_remotes(local_nodes, tmp_path) -> None:
    payload = os.urandom(3 * 1024 * 1024)
    src = tmp_path / "payload.bin"
    src.write_bytes(payload)
    node = local_nodes.nodes()[3]
    for kind in ("netns", "ssh"):
        remote = local_nodes.remotes(kind)[node.name]
        dest = node.path("tmp", kind, "payload.bin")
        remote.upload(str(src), dest)
        assert remote.check(f"sha256sum < {dest} | cut -c1-16").out.strip() == (
            __import__("hashlib").sha256(payload).hexdigest()[:16])
        back = tmp_path / kind / "back.bin"
        remote.download(dest, str(back))
        assert back.read_bytes() == payload


def test_upload_to_all_copies_every_file_to_every_node_over_both_remotes(local_nodes,
                                                                         tmp_path) -> None:
    files = []
    for i in range(5):
        f = tmp_path / f"f{i}.bin"
        f.write_bytes(os.urandom(1000 * i + 1))
        f.chmod(0o640 if i % 2 else 0o755)
        files.append(f)
    nodes = local_nodes.nodes()
    for kind in ("netns", "ssh"):
        remotes = [local_nodes.remotes(kind)[n.name] for n in nodes]
        dest = f"/tmp/upload-to-all-{kind}"
        pairs = [(str(f), f"{dest}/d{i % 2}/{f.name}") for i, f in enumerate(files)]
        _core.upload_to_all(remotes, pairs)
        want = sorted(f"{hashlib.sha256(f.read_bytes()).hexdigest()} {f.stat().st_mode & 0o777:o}"
                      for f in files)
        for r in _core.fan_out_check(
                remotes, f"for f in {dest}/d*/*; do echo $(sha256sum < $f | cut -c1-64) "
                         f"$(stat -c %a $f); done"):
            assert sorted(r.out.splitlines()) == want, (kind, r.node)
        with pytest.raises(_core.RemoteConnectionError, match="no-such-file"):
            _core.upload_to_all(remotes, [*pairs, (str(tmp_path / "no-such-file"), f"{dest}/x")])


def test_ssh_exec_timeout_is_reported_and_killed(local_nodes) -> None:
    remote = local_nodes.remotes("ssh")["n1"]
    r = remote.exec("sleep 77.25", timeout=1)
    assert r.timed_out
    assert remote.exec("pgrep -f 'sleep 77[.]25' || true", timeout=30).out == ""


def test_wrong_password_is_an_authentication_error(local_nodes) -> None:
    node = local_nodes.nodes()[0]
    remote = _core.SshRemote(node.name, node.address, password="not-the-password",
                             connect_timeout=5)
    with pytest.raises(_core.RemoteConnectionError, match="(?i)authentication"):
        remote.exec("true", timeout=10)


def test_the_right_password_logs_in(local_nodes) -> None:
    node = local_nodes.nodes()[1]
    remote = _core.SshRemote(node.name, node.address, password=local_nodes.ssh_password())
    assert remote.check("hostname", timeout=30).out.strip() == node.name


def test_unreachable_ssh_host_is_a_connection_error_naming_it(local_nodes) -> None:
    # An address in the nodes' subnet (the suite's own: FJ_TEST_SUBNET) where no node lives.
    ghost = str(ipaddress.ip_network(TEST_SUBNET)[250])
    remote = _core.SshRemote("ghost", ghost, connect_timeout=2, retries=1)
    with pytest.raises(_core.RemoteConnectionError, match=ghost.replace(".", "[.]")):
        remote.exec("true", timeout=10)


# The per-connection sshd processes of this node only (all nodes share one PID namespace).
SESSIONS = ("for p in $(pgrep -f '[s]shd: root'); do [ \"$(readlink /proc/$p/ns/net)\" = "
            "\"$(readlink /proc/self/ns/net)\" ] && echo $p; done; true")


def test_ssh_session_is_pooled_and_reconnects_after_a_drop(local_nodes) -> None:
    node = local_nodes.nodes()[2]
    netns = local_nodes.remotes("netns")[node.name]
    remote = local_nodes.remotes("ssh")[node.name]
    remote.check("true")
    sessions = netns.check(SESSIONS).out.split()
    assert sessions, "no sshd session process for the pooled connection"
    for _ in range(5):
        remote.check("true")
    assert netns.check(SESSIONS).out.split() == sessions, "a new session per command"
    # Drop the session from the server side: kill the per-connection sshd processes.
    netns.check(f"kill -9 {' '.join(sessions)}")
    assert remote.check("hostname", timeout=30).out.strip() == node.name
    assert netns.check(SESSIONS).out.split() != sessions


def test_fan_out_check_names_node_command_status_and_stderr(local_nodes) -> None:
    nodes = local_nodes.nodes()
    ssh = local_nodes.remotes("ssh")
    with pytest.raises(_core.RemoteError) as info:
        _core.fan_out_check([ssh[n.name] for n in nodes],
                            "if [ $(hostname) = n3 ]; then echo bad thing >&2; exit 9; fi")
    msg = str(info.value)
    assert "n3" in msg and "status 9" in msg and "bad thing" in msg
    assert info.value.result.node == "n3"
