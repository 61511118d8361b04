"""`nodes down` leaves the machine as it was: also after `nodes up` or a running scenario was
killed with SIGKILL, and after Ctrl-C. Compared: `ip netns list`, `ip link`, and the process
table (no process left in any network namespace but the host's and those other suites name,
none tagged as a node's), and
the mounts (no mount namespace of a node left bound, /run/flink-jepsen/<prefix> gone)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flink_jepsen.api.pytest_plugin import worker_nodes

pytestmark = pytest.mark.integration

# Suites running side by side on one machine choose their own (as FJ_TEST_PREFIX in conftest),
# and so does each pytest-xdist worker.
PREFIX, SUBNET = worker_nodes(os.environ.get("PYTEST_XDIST_WORKER", ""),
                              os.environ.get("FJ_TEARDOWN_PREFIX", "fjd"),
                              os.environ.get("FJ_TEARDOWN_SUBNET", "10.213.10.0/24"))
RUN_DIR = Path("/run/flink-jepsen") / PREFIX


def mounts() -> list[str]:
    """The host's mounts of this prefix (namespace files, the private directory they are in)."""
    out = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True,
                         text=True).stdout
    return [m for m in out.splitlines() if m.startswith(str(RUN_DIR))]


def named_netns(exclude_prefix: str) -> set[str]:
    """The network namespaces other suites have named (`ip netns add`), as /proc shows them:
    their processes come and go while this suite runs beside them."""
    out = set()
    run_netns = Path("/run/netns")
    for f in run_netns.iterdir() if run_netns.is_dir() else []:
        if not f.name.startswith(f"{exclude_prefix}-"):
            with contextlib.suppress(OSError):
                out.add(f"net:[{f.stat().st_ino}]")
    return out


def snapshot() -> dict:
    host_net = os.readlink("/proc/self/ns/net")
    others = named_netns(PREFIX)
    foreign = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            net = os.readlink(entry / "ns" / "net")
            if net != host_net and net not in others:
                foreign.add((int(entry.name), (entry / "comm").read_text().strip()))
        except OSError:
            continue
    return {
        "netns": subprocess.run(["ip", "netns", "list"], capture_output=True,
                                text=True).stdout.split("\n"),
        "links": sorted(line.split(":")[1].strip().split("@")[0] for line in subprocess.run(
            ["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines()),
        "foreign_processes": foreign,
        "mounts": mounts(),
        "run_dir": RUN_DIR.exists(),
    }


def assert_as_before(before: dict) -> None:
    """Same namespaces and links; no process in a foreign namespace that was not there before
    (processes may have ended meanwhile: the session's pooled SSH connections come and go)."""
    after = snapshot()
    assert after["netns"] == before["netns"]
    assert after["links"] == before["links"]
    assert after["foreign_processes"] <= before["foreign_processes"]
    assert (after["mounts"], after["run_dir"]) == (before["mounts"], before["run_dir"])


def env(home: Path) -> dict[str, str]:
    e = dict(os.environ)
    e.update({"FLINK_JEPSEN_HOME": str(home), "FLINK_JEPSEN_PREFIX": PREFIX})
    return e


def start(args: list[str], home: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flink_jepsen", *args], env=env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def down(home: Path) -> str:
    r = subprocess.run([sys.executable, "-m", "flink_jepsen", "nodes", "down"], env=env(home),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def netns_count() -> int:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if line.startswith(f"{PREFIX}-"))


def mount_ns_count() -> int:
    return sum(1 for m in mounts() if m.startswith(f"{RUN_DIR}/mnt/"))


@pytest.mark.parametrize("kill_after", [("network", 1), ("network", 3), ("mount", 1)])
def test_down_after_sigkill_of_nodes_up(tmp_path, kill_after: tuple[str, int]) -> None:
    before = snapshot()
    assert before["mounts"] == [], f"nodes of prefix {PREFIX} are up already"
    kind, count = kill_after
    proc = start(["nodes", "up", "--count", "4", "--subnet", SUBNET, "--sshd"], tmp_path)
    made = netns_count if kind == "network" else mount_ns_count
    wait_for(lambda: made() >= count, 60, f"{kind} namespaces to appear")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert netns_count() >= 1  # it really was killed half-way, with things to clean
    if kind == "mount":
        assert mount_ns_count() >= 1
    down(tmp_path)
    assert_as_before(before)
    assert mounts() == [] and not RUN_DIR.exists()


def test_down_after_sigkill_of_a_running_scenario(tmp_path) -> None:
    before = snapshot()
    proc = start(["smoke", "--count", "3", "--subnet", SUBNET, "--store",
                  str(tmp_path / "store")], tmp_path)
    # Wait until sshd and the probe listeners run on the nodes, then kill the harness.
    wait_for(lambda: any("probe-7777.pid" in str(p) for p in
                         (tmp_path / "nodes" / PREFIX).glob("n*/run/*")), 120, "probe listeners")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert snapshot()["foreign_processes"], "nothing was running on the nodes when killed"
    down(tmp_path)
    assert_as_before(before)


def test_ctrl_c_of_a_running_scenario_cleans_up_and_keeps_the_logs(tmp_path) -> None:
    before = snapshot()
    store = tmp_path / "store"
    proc = start(["smoke", "--count", "3", "--subnet", SUBNET, "--store", str(store)], tmp_path)
    wait_for(lambda: netns_count() == 3, 60, "namespaces to appear")
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert_as_before(before)
    assert (store / "latest" / "jepsen.log").read_text().strip(), "the run's log is empty"
