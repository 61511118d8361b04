"""The layout of a local node's mount namespace (nodes/mountns.py), as data: which node paths are
the node's own tree, which are hidden, which are shared; and the script that lays it out."""

from __future__ import annotations

import pytest

from flink_jepsen import _core
from flink_jepsen.nodes.local import LocalNodes, LocalNodeSpec
from flink_jepsen.nodes.mountns import MountPlan

ROOT = "/tmp/h/nodes/fj/n1"
PLAN = MountPlan(root=ROOT, nodes_base="/tmp/h/nodes/fj", netns="fj-n1",
                 shared=("/tmp/h/shared/fj",), read_only=("/var/lib/flink-jepsen/cache",))


def host(plan: MountPlan, path: str) -> str:
    """The core's answer for the plan's map (what uploads and staging use)."""
    return _core.NetnsRemote("n1", plan.netns, "/proc/self/ns/uts", "/x",
                             plan.path_map()).host_path(path)


def test_the_nodes_own_directories_are_in_its_tree() -> None:
    assert host(PLAN, "/tmp/ha/job") == f"{ROOT}/fs/tmp/ha/job"
    assert host(PLAN, "/var/tmp/x") == f"{ROOT}/fs/var-tmp/x"
    assert host(PLAN, "/opt/flink/conf/config.yaml") == f"{ROOT}/fs/opt/flink/conf/config.yaml"
    assert host(PLAN, "/etc/hosts") == "/etc/netns/fj-n1/hosts"


def test_its_root_and_the_shared_storage_keep_their_paths_under_a_bound_tmp() -> None:
    assert host(PLAN, f"{ROOT}/log/flink/jm.log") == f"{ROOT}/log/flink/jm.log"
    assert host(PLAN, "/tmp/h/shared/fj/run-1/ha") == "/tmp/h/shared/fj/run-1/ha"
    assert host(PLAN, "/var/lib/flink-jepsen/cache/flink") == "/var/lib/flink-jepsen/cache/flink"
    assert host(PLAN, "/usr/lib/jvm") == "/usr/lib/jvm"


def test_other_nodes_trees_are_covered_by_a_directory_of_the_nodes_own() -> None:
    # As on a real host: nothing of n2's there, and what is written there stays on n1.
    assert host(PLAN, "/tmp/h/nodes/fj/n2/x") == f"{ROOT}/fs/others/n2/x"
    assert host(PLAN, f"{ROOT}/../n3") == f"{ROOT}/fs/others/n3"
    with pytest.raises(_core.RemoteConnectionError, match="not an absolute path"):
        host(PLAN, "tmp/x")


def test_the_script_opens_every_source_before_covering_tmp_and_binds_in_order() -> None:
    script = PLAN.script(hide=("/run/flink-jepsen/fj/mnt",))
    lines = script.splitlines()
    opens = [i for i, line in enumerate(lines) if line.startswith("exec {fd_")]
    first_mount = next(i for i, line in enumerate(lines) if line.startswith("mount"))
    assert len(opens) == 3 and max(opens) < first_mount
    mounts = [line for line in lines if line.startswith(("mount", "umount"))]
    assert mounts == [
        'mount -c --bind "/proc/self/fd/$fd_root/fs/tmp" /tmp',
        'mount -c --bind "/proc/self/fd/$fd_root/fs/var-tmp" /var/tmp',
        'mount -c --bind "/proc/self/fd/$fd_root/fs/opt" /opt',
        'mount -c --bind "/proc/self/fd/$fd_root/fs/others" /tmp/h/nodes/fj',
        f'mount -c --bind "/proc/self/fd/$fd_root" {ROOT}',
        'mount -c --bind "/proc/self/fd/$fd_s0" /tmp/h/shared/fj',
        'mount -c --bind "/proc/self/fd/$fd_r0" /var/lib/flink-jepsen/cache',
        "mount -c -o remount,bind,ro /var/lib/flink-jepsen/cache",
        "umount -l /run/flink-jepsen/fj/mnt",
    ]
    assert lines[0] == "set -euo pipefail"


def test_paths_with_spaces_are_quoted() -> None:
    plan = MountPlan(root="/srv/a b/n1", nodes_base="/srv/a b")
    assert "mount -c --bind \"/proc/self/fd/$fd_root/fs/others\" '/srv/a b'" in plan.script()
    assert "exec {fd_root}<'/srv/a b/n1'" in plan.script()


def test_local_nodes_give_each_node_its_plan_from_the_state(tmp_path) -> None:
    ln = LocalNodes(home=tmp_path, prefix="fjq")
    spec = LocalNodeSpec(name="n2", netns="fjq-n2", veth="v", address="10.0.0.2",
                         uts="/run/u", root=str(tmp_path / "nodes" / "fjq" / "n2"),
                         mnt="/run/flink-jepsen/fjq/mnt/n2")
    plan = ln.mount_plan(spec, {"shared": "/s/fjq", "cache": "/c"})
    assert plan == MountPlan(root=spec.root, nodes_base=str(tmp_path / "nodes" / "fjq"),
                             netns="fjq-n2", shared=("/s/fjq",), read_only=("/c",))
    assert ln.shared_dir("r1") == tmp_path / "shared" / "fjq" / "r1"
    assert ln.remote(spec, {"shared": "/s/fjq", "cache": "/c"}).host_path("/tmp/x") == (
        f"{spec.root}/fs/tmp/x")
    # A node made before nodes had a mount namespace: the host's paths, as before.
    old = LocalNodeSpec(**{k: v for k, v in spec.__dict__.items() if k != "mnt"})
    assert ln.remote(old, {}).host_path("/tmp/x") == "/tmp/x"
