"""Node groups: the hosts file's format, and claims between processes (flocks, as separate runs
take them), including a holder killed with kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from flink_jepsen.errors import UsageError
from flink_jepsen.nodes.groups import SINGLE, claim, claim_path, parse_groups
from flink_jepsen.run.lock import RunLock, lock_path

FILE = """\
# two clusters' worth of hosts
[a]
10.0.0.1
10.0.0.2   # a comment
10.0.0.3
[b]
10.0.0.4
10.0.0.5
10.0.0.6
"""


def test_groups_in_the_files_order() -> None:
    g = parse_groups(FILE, "hosts")
    assert list(g) == ["a", "b"]
    assert g["a"] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]


def test_a_file_without_sections_is_one_group() -> None:
    assert parse_groups("h1\nh2\n# c\nh3\n", "hosts") == {SINGLE: ["h1", "h2", "h3"]}


@pytest.mark.parametrize(("text", "message"), [
    ("[a]\nh1\n[b]\nh1\n", "hosts:4: host h1 is already in group a"),
    ("[a]\nh1\n[a]\nh2\n", "hosts:3: group a is named twice"),
    ("[a]\n[b]\nh1\n", "group a lists no host"),
    ("h0\n[a]\nh1\n", "hosts before the first"),
    ("[a b]\nh1\n", "hosts:1: '[a b]' is not a group line"),
    ("# nothing\n", "hosts: no hosts"),
])
def test_bad_files_are_refused_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("[", r"\[")):
        parse_groups(text, "hosts")


def run_locks(home: Path):
    return lambda hosts: lock_path(home, "ssh", "", hosts)


HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from flink_jepsen.nodes.groups import claim, parse_groups
    from flink_jepsen.run.lock import lock_path
    home = Path(sys.argv[1])
    groups = parse_groups(Path(sys.argv[2]).read_text(), "hosts")
    c = claim(groups, home, lambda h: lock_path(home, "ssh", "", h), {"run": "holder-run"})
    print(c.name, flush=True)
    time.sleep(float(sys.argv[3]))
""")


def hold(home: Path, hosts_file: Path, seconds: float) -> tuple[subprocess.Popen, str]:
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(home), str(hosts_file),
                          str(seconds)], stdout=subprocess.PIPE, text=True)
    name = p.stdout.readline().strip()
    return p, name


def test_each_run_gets_a_free_group_and_none_is_shared(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text(FILE)
    groups = parse_groups(FILE, "hosts")
    other, taken = hold(tmp_path, hosts, 60)
    try:
        assert taken == "a"
        with claim(groups, tmp_path, run_locks(tmp_path), {"run": "mine"}) as mine:
            assert mine.name == "b" and mine.hosts == groups["b"]
            with pytest.raises(UsageError, match="no free node group among 2.*holder-run"):
                claim(groups, tmp_path, run_locks(tmp_path), {"run": "third"})
        # released: b is free again
        with claim(groups, tmp_path, run_locks(tmp_path), {"run": "again"}) as again:
            assert again.name == "b"
    finally:
        other.kill()
        other.wait()


def test_a_holder_killed_with_kill_9_frees_its_group(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("[only]\nh1\nh2\nh3\n")
    other, taken = hold(tmp_path, hosts, 60)
    assert taken == "only"
    os.kill(other.pid, signal.SIGKILL)
    other.wait()
    groups = parse_groups(hosts.read_text(), "hosts")
    with claim(groups, tmp_path, run_locks(tmp_path), {"run": "next"}) as c:
        assert c.name == "only"


def test_a_claim_waits_for_a_group_to_come_free(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("[only]\nh1\nh2\nh3\n")
    other, _ = hold(tmp_path, hosts, 1.5)
    groups = parse_groups(hosts.read_text(), "hosts")
    started = time.monotonic()
    with claim(groups, tmp_path, run_locks(tmp_path), {"run": "patient"}, wait_s=30,
               poll_s=0.2) as c:
        assert c.name == "only"
        assert time.monotonic() - started >= 0.5
    other.wait()


def test_a_group_a_run_holds_without_a_claim_is_skipped(tmp_path: Path) -> None:
    # `flink-jepsen test --nodes 10.0.0.1,...` takes only the run lock of its hosts.
    groups = parse_groups(FILE, "hosts")
    run = RunLock(lock_path(tmp_path, "ssh", "", groups["a"]))
    run.acquire({"run": "by hand"})
    try:
        with claim(groups, tmp_path, run_locks(tmp_path), {"run": "matrix"}) as c:
            assert c.name == "b"
    finally:
        run.release()
    assert claim_path(tmp_path, groups["a"]).exists()
