"""Local nodes see files as hosts do: each has its own /tmp (not the host's, not another
node's), uploads to a node's /tmp land in that node's /tmp, another node's tree is invisible,
and only the run's shared directory (and the read-only cache) is the same for all. Both remotes
agree: sshd was started inside the node, so its sessions have the node's mounts."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from flink_jepsen import paths

pytestmark = pytest.mark.integration


def test_tmp_is_each_nodes_own_and_the_shared_dir_is_everyones(local_nodes, tmp_path) -> None:
    nodes = local_nodes.nodes()
    netns = local_nodes.remotes("netns")
    ssh = local_nodes.remotes("ssh")
    n1, n2 = nodes[0], nodes[1]
    name = f"fjm-{uuid.uuid4().hex[:8]}"
    netns[n1.name].check(f"echo {n1.name} > /tmp/{name}")
    assert netns[n1.name].check(f"cat /tmp/{name}").out == f"{n1.name}\n"
    assert ssh[n1.name].check(f"cat /tmp/{name}").out == f"{n1.name}\n"
    for remote in (netns[n2.name], ssh[n2.name]):
        assert remote.exec(f"test -e /tmp/{name}").exit_status == 1
    assert not Path("/tmp", name).exists()
    assert Path(n1.root, "fs", "tmp", name).read_text() == f"{n1.name}\n"

    shared = local_nodes.shared_dir(name)
    shared.mkdir(parents=True)
    try:
        netns[n1.name].check(f"echo from-n1 > {shared}/f")
        assert netns[n2.name].check(f"cat {shared}/f").out == "from-n1\n"
        assert ssh[n2.name].check(f"cat {shared}/f").out == "from-n1\n"
        assert (shared / "f").read_text() == "from-n1\n"
    finally:
        shutil.rmtree(shared)


def test_uploads_land_in_the_nodes_own_tmp(local_nodes, tmp_path) -> None:
    nodes = local_nodes.nodes()
    netns = local_nodes.remotes("netns")
    ssh = local_nodes.remotes("ssh")
    src = tmp_path / "payload"
    src.write_text("payload\n")
    name = f"fjm-{uuid.uuid4().hex[:8]}"
    for kind, remotes, node, other in (("netns", netns, nodes[2], nodes[3]),
                                       ("ssh", ssh, nodes[3], nodes[2])):
        remotes[node.name].upload(str(src), f"/tmp/{name}/{kind}")
        assert netns[node.name].check(f"cat /tmp/{name}/{kind}").out == "payload\n", kind
        assert netns[other.name].exec(f"test -e /tmp/{name}/{kind}").exit_status == 1, kind
        assert not Path("/tmp", name).exists(), kind
        back = tmp_path / f"back-{kind}"
        remotes[node.name].download(f"/tmp/{name}/{kind}", str(back))
        assert back.read_text() == "payload\n", kind


def test_another_nodes_tree_is_not_seen_and_the_cache_is_read_only(local_nodes, tmp_path) -> None:
    nodes = local_nodes.nodes()
    netns = local_nodes.remotes("netns")
    n1, n2 = nodes[0], nodes[1]
    Path(n2.root, "data", "secret").write_text("n2's\n")
    for remote in (netns[n1.name], local_nodes.remotes("ssh")[n1.name]):
        assert remote.exec(f"cat {n2.path('data', 'secret')}").exit_status == 1
        # (n2's directories may exist on n1: provisioning makes every node's on every node, as
        # a YARN container on one host uses another's paths; they are n1's own, empty of n2's.)
        assert "secret" not in remote.exec(f"ls {n2.path('data')}").out
        assert remote.check(f"ls {n1.root}/data >/dev/null && echo mine").out == "mine\n"
    # What n1 writes under n2's path stays on n1, as on a real host; uploads land there too.
    (tmp_path / "x").write_text("x\n")
    netns[n1.name].upload(str(tmp_path / "x"), n2.path("data", "x"))
    netns[n1.name].check(f"echo y > {n2.path('data', 'y')}")
    assert netns[n1.name].check(f"cat {n2.path('data', 'x')} {n2.path('data', 'y')}").out == (
        "x\ny\n")
    assert not Path(n2.root, "data", "x").exists() and not Path(n2.root, "data", "y").exists()
    assert netns[n2.name].exec(f"cat {n2.path('data', 'y')}").exit_status == 1
    cache = paths.cache()
    assert netns[n1.name].check(f"test -d {cache} && echo seen").out == "seen\n"
    r = netns[n1.name].exec(f"touch {cache}/.fjm-write-probe")
    assert r.exit_status == 1 and "Read-only file system" in r.err
