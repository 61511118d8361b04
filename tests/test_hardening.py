"""Hardening: a run never loses or falsifies its evidence because of a bad name or a failing
disk (issue 14). Each test fails on the code before the fix."""

from __future__ import annotations

import json
import os

import pytest

from flink_jepsen import _core
from flink_jepsen.errors import UsageError
from flink_jepsen.run import runner as runner_module
from flink_jepsen.run.options import TestOptions
from flink_jepsen.run.runner import TestRun
from flink_jepsen.store import Run


def test_a_test_named_like_the_stores_own_links_is_refused(tmp_path) -> None:
    store = tmp_path / "store"
    with pytest.raises(UsageError, match="not latest"):
        TestRun(TestOptions(store=str(store), name="latest")).run()
    assert not (store / "latest").exists()       # nothing half-made that breaks later runs
    with pytest.raises(ValueError):
        Run(store, "latest")


_OPEN_RUNS = """
import sys, time
from pathlib import Path
from flink_jepsen.store import Run
store, start = Path(sys.argv[1]), float(sys.argv[2])
while time.time() < start:
    pass
for _ in range(20):
    run = Run(store, "t")
    print(run.dir.name)
    run.close()
"""


def test_runs_side_by_side_each_get_their_own_directory_and_a_whole_latest_link(
        tmp_path) -> None:
    # Parallel sweeps and pytest-xdist workers open runs in one store at once: every run gets
    # a directory of its own (never "exists" nor another's), and the latest links stay whole.
    import subprocess
    import sys
    import time

    store = tmp_path / "store"
    start = time.time() + 1.5
    procs = [subprocess.Popen([sys.executable, "-c", _OPEN_RUNS, str(store), str(start)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    names = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        names += out.split()
    assert len(names) == 120 and len(set(names)) == 120
    assert (store / "t" / "latest").resolve().name in names
    assert (store / "latest").resolve().parent.name == "t"
    assert not [p for p in (store / "t").iterdir() if p.name.endswith(".tmp")]


def test_results_are_replaced_whole_or_not_at_all(tmp_path, monkeypatch) -> None:
    run = Run(tmp_path / "store", "t")
    run.write_json("results.json", {"valid?": True})

    def failing_sync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_sync)
    with pytest.raises(OSError):
        run.write_json("results.json", {"valid?": False, "anomalies": ["x" * 1000]})
    monkeypatch.undo()
    assert json.loads(run.path("results.json").read_text()) == {"valid?": True}
    assert [p.name for p in run.dir.iterdir() if p.name.endswith(".tmp")] in ([], [
        ".results.json.tmp"])
    run.close()


def test_a_history_that_cannot_be_written_ends_the_run_unknown(tmp_path, monkeypatch) -> None:
    real = _core.HistoryRecorder

    def on_a_full_disk(path: str, keep: bool):
        h = real("/dev/full", keep)
        h.record("harness", "info", "started", None)   # something to write
        return h

    monkeypatch.setattr(runner_module._core, "HistoryRecorder", on_a_full_disk)
    result = TestRun(TestOptions(store=str(tmp_path / "store"), time_limit=30)).run()
    assert result.valid == "unknown"
    assert "the history cannot be written" in result.error
    assert "No space left on device" in result.error
    saved = json.loads((result.store / "results.json").read_text())
    assert saved["valid?"] == "unknown" and saved["phase"] == "validate"


@pytest.mark.integration
def test_a_run_starts_without_the_rules_and_clocks_a_killed_run_left(local_nodes) -> None:
    from flink_jepsen.nodes.cluster import Cluster
    from flink_jepsen.nodes.provision import provision

    nodes = local_nodes.nodes()
    remotes = local_nodes.remotes("netns")
    n1, n2 = nodes[0], nodes[1]
    # What a run killed with kill -9 in the middle of a partition and a clock fault leaves.
    injector = _core.FaultInjector(remotes, {n.name: n.address for n in nodes},
                                   _core.HistoryRecorder("/dev/null", False))
    injector.setup()
    injector.partition("start-partition", {"shape": "grudge", "grudge": {n1.name: [n2.name]}})
    injector.packets("start-packet", [n2.name], {"loss": 0.5})
    clock = Cluster.clock_file(n1, "flink")
    remotes[n1.name].check(f"mkdir -p {os.path.dirname(clock)} && echo -300s > {clock}")
    assert "DROP" in remotes[n1.name].exec("iptables -w -S FJ-PARTITION").out

    provision(TestOptions(), "scrub-test")

    assert "DROP" not in remotes[n1.name].exec("iptables -w -S FJ-PARTITION").out
    assert "DROP" not in remotes[n2.name].exec("iptables -w -S FJ-PACKET-IN").out
    assert remotes[n1.name].exec(f"test -e {clock}").exit_status != 0
    injector.teardown()


@pytest.mark.parametrize("job, named", [
    ('{:job-jar "builtin:allround" :parallelism "x"}', ":parallelism must be a whole number"),
    ('{:job-jar "builtin:allround" :job-args 5}', ":job-args must be a string or a list"),
    ('{:job-jar "builtin:allround" :main-clas "A"}', "unknown key 'main-clas' (did you mean "
                                                      ":main-class?)"),
    ('{:job-jar 7}', ":job-jar must be a path"),
    ('{{:a 1} "x" :job-jar "builtin:allround"}', "a map key must be"),
])
def test_a_spec_value_of_the_wrong_type_is_refused_with_the_key_named(tmp_path, job, named):
    from flink_jepsen.run import spec as testspec

    p = tmp_path / "bad.edn"
    p.write_text(f'{{:dbs [:zookeeper :flink-standalone-session] :jobs [{job}]}}')
    with pytest.raises(UsageError) as e:
        testspec.load(p)
    assert named in str(e.value)


def test_a_bad_spec_ends_as_a_stored_unknown_run_with_exit_2(tmp_path) -> None:
    from conftest import cli

    p = tmp_path / "bad.edn"
    p.write_text('{:dbs [:zookeeper :flink-standalone-session] :jobs [{:job-jar '
                 '"builtin:allround" :parallelism "x"}]}')
    r = cli("test", "--test-spec", str(p), "--store", str(tmp_path / "store"), timeout=120)
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    results = json.loads((tmp_path / "store" / "latest" / "results.json").read_text())
    assert results["valid?"] == "unknown" and ":parallelism" in results["error"]


def test_values_that_would_reach_a_shell_unquoted_are_refused(tmp_path) -> None:
    from flink_jepsen.nodes.node import Node

    marker = tmp_path / "pwned"
    bad_root = f"/opt/$(touch {marker})"
    o = TestOptions(remote="ssh", nodes=["h1", "h2", "h3"], node_root=bad_root)
    with pytest.raises(UsageError, match="--node-root"):
        o.validate()
    with pytest.raises(UsageError, match="--nodes: host"):
        TestOptions(remote="ssh", nodes=["h1", "h2", "h3;reboot"]).validate()
    for root in (bad_root, "/opt/a b", "relative", "/opt/`id`", "/opt/../etc"):
        with pytest.raises(ValueError):
            Node("n1", "10.0.0.1", root)
    with pytest.raises(ValueError):
        Node("n1;id", "10.0.0.1", "/opt/x")
    assert not marker.exists()


def test_a_yarn_job_jar_named_to_run_a_command_runs_nothing(tmp_path) -> None:
    """The submission command line of a yarn-application job whose jar is called
    `$(touch X).jar`: the name reaches the node only with safe characters, quoted."""
    import shlex
    from pathlib import Path

    from flink_jepsen.nodes.node import Node
    from flink_jepsen.systems.flink_yarn import FlinkYarn

    jar = tmp_path / "$(touch fjpwned).jar"
    jar.write_text("x")
    commands: list[str] = []

    class Remote:
        def upload(self, src, dst):
            commands.append(f"upload {dst}")

        def exec(self, cmd, **kw):
            commands.append(cmd)
            raise RuntimeError("stop here")

    y = FlinkYarn.__new__(FlinkYarn)
    y.mode = "yarn-application"
    y.hadoop = type("H", (), {"resourcemanager": Node("n1", "10.0.0.1", str(tmp_path / "n1"))})()
    y.cluster = type("C", (), {"remote": lambda self, n: Remote()})()
    y.dist = type("D", (), {"major_minor": (2, 3)})()
    y.home = lambda: "/opt/flink"
    y.env = lambda: {}
    y.running_apps = lambda: []
    with pytest.raises(RuntimeError, match="stop here"):
        y.submit_application(Path(jar), None, ["$(id)"], 10)
    cmd = commands[-1]
    remote_jar = shlex.split(cmd)[-2]
    assert "$(" not in remote_jar and "touch" in remote_jar     # the name, made harmless
    assert shlex.split(cmd)[-1] == "$(id)"                      # an argument stays literal


def test_a_second_interrupt_during_teardown_does_not_abandon_it(tmp_path, monkeypatch) -> None:
    import signal

    done: list[str] = []

    def collect_logs_then_ctrl_c(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)      # Ctrl-C while the teardown runs
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGHUP)
        done.append("collect logs")

    monkeypatch.setattr(TestRun, "_collect_logs", collect_logs_then_ctrl_c)
    monkeypatch.setattr(TestRun, "_stop_systems", lambda self: done.append("stop systems"))
    monkeypatch.setattr(TestRun, "_remove_nodes", lambda self: done.append("remove nodes"))
    monkeypatch.setattr(TestRun, "validate", lambda self: (_ for _ in ()).throw(
        UsageError("stop before the nodes")))
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        TestRun(TestOptions(store=str(tmp_path / "store"))).run()
    assert done == ["collect logs", "stop systems", "remove nodes"]   # every step still ran
    assert signal.getsignal(signal.SIGINT) is before
    results = json.loads((tmp_path / "store" / "latest" / "results.json").read_text())
    assert results["valid?"] == "unknown"


def test_a_second_interrupt_right_after_the_first_does_not_skip_the_teardown(
        tmp_path, monkeypatch) -> None:
    # `timeout` passes a SIGINT on to its child, so `pkill -INT -f` of both delivers two at
    # once: the second used to land before the teardown held signals, and aborted it.
    import signal

    done: list[str] = []
    phase = TestRun._phase

    def ctrl_c_again_on_teardown(self, name: str) -> None:
        if name == "teardown":
            os.kill(os.getpid(), signal.SIGINT)
        phase(self, name)

    def interrupted_validation(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(TestRun, "_phase", ctrl_c_again_on_teardown)
    monkeypatch.setattr(TestRun, "validate", interrupted_validation)
    monkeypatch.setattr(TestRun, "_collect_logs", lambda self: done.append("collect logs"))
    monkeypatch.setattr(TestRun, "_stop_systems", lambda self: done.append("stop systems"))
    monkeypatch.setattr(TestRun, "_remove_nodes", lambda self: done.append("remove nodes"))
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        TestRun(TestOptions(store=str(tmp_path / "store"))).run()
    assert done == ["collect logs", "stop systems", "remove nodes"]
    assert signal.getsignal(signal.SIGINT) is before
    results = json.loads((tmp_path / "store" / "latest" / "results.json").read_text())
    assert results["valid?"] == "unknown" and results["error"] == "interrupted"


def test_a_second_run_on_nodes_in_use_is_refused_naming_the_holder(tmp_path, monkeypatch) -> None:
    import subprocess
    import sys

    from flink_jepsen import paths
    from flink_jepsen.run.lock import lock_path

    monkeypatch.setenv("FLINK_JEPSEN_HOME", str(tmp_path / "home"))
    path = lock_path(paths.home(), "netns", paths.prefix(), [])
    # Another run, in another process, holds the nodes.
    holder = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
from pathlib import Path
from flink_jepsen.run.lock import RunLock
RunLock(Path({str(path)!r})).acquire({{"run": "store/first/1", "test": "first"}})
print("held", flush=True)
time.sleep(60)
"""], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = TestRun(TestOptions(store=str(tmp_path / "store"))).run()
        assert result.valid == "unknown" and result.results["phase"] == "nodes"
        assert "another run is using these nodes" in result.error
        assert "store/first/1" in result.error and f"pid {holder.pid}" in result.error
    finally:
        holder.kill()
        holder.wait()
    # Its holder killed with SIGKILL: the lock is free again (the kernel released it).
    from flink_jepsen.run.lock import RunLock

    lock = RunLock(path)
    lock.acquire({"run": "second"})
    lock.release()


@pytest.mark.integration
def test_a_run_stops_what_a_killed_run_left_instead_of_adopting_it(local_nodes) -> None:
    import time

    from flink_jepsen import systems
    from flink_jepsen.nodes.cluster import Cluster
    from flink_jepsen.systems.base import Process, System

    nodes = local_nodes.nodes()
    remotes = local_nodes.remotes("netns")
    n1 = nodes[0]
    marker = "fjleftover-StandaloneSessionClusterEntrypoint"
    cluster = Cluster(nodes, remotes, True)
    # Under a supervisor, as a killed run leaves its Flink processes: the supervisor would
    # start the process again a second after it was killed, unless it goes first.
    sup = cluster.install_supervisor(n1)
    _core.start_daemon(remotes[n1.name], f"{sup} leftover -- bash -c 'exec -a {marker} sleep 600'",
                       pidfile=n1.path("run", "leftover-jm.pid"),
                       logfile=n1.path("log", "leftover.log"))
    # The daemon is started in the background: it is there once pgrep sees it.
    remotes[n1.name].check(f"for i in $(seq 100); do pgrep -f {marker} && exit 0; sleep 0.1; "
                           "done; exit 1", timeout=30)

    class Leftover(System):
        name = "leftover"

        def nodes(self):
            return [n1]

        def install(self) -> None: ...

        def start(self) -> None: ...

        def wait_ready(self, timeout: float) -> None: ...

        def pidfiles(self, node):
            return [node.path("run", "leftover-jm.pid")]

        def processes(self):
            return {"job-manager": Process(lambda: [n1], (marker,))}

    supervisors = systems.stop_leftover_supervisors(cluster)
    assert len(supervisors) == 1 and supervisors[0].startswith("n1: supervisor [")
    stopped = systems.stop_leftovers(Leftover(cluster))
    assert len(stopped) == 1 and stopped[0].startswith("n1: job-manager [")
    time.sleep(2.5)   # a supervisor restarts its process after 1 s
    assert not remotes[n1.name].exec(f"pgrep -f {marker}").out.strip()
    assert remotes[n1.name].exec(f"test -e {n1.path('run', 'leftover-jm.pid')}").exit_status != 0


@pytest.mark.integration
def test_an_earlier_runs_logs_are_not_copied_into_a_later_runs_store(local_nodes,
                                                                     tmp_path) -> None:
    import time

    from flink_jepsen.nodes.provision import provision, run_started
    from flink_jepsen.store import collect_node_logs

    nodes = local_nodes.nodes()
    remotes = local_nodes.remotes("netns")
    n1 = nodes[0]
    remotes[n1.name].check(f"mkdir -p {n1.path('log', 'flink')} && "
                           f"echo earlier > {n1.path('log', 'flink', 'earlier.log')}")
    time.sleep(0.05)
    provision(TestOptions(), "logs-test")               # this run starts
    remotes[n1.name].check(f"echo mine > {n1.path('log', 'flink', 'mine.log')}")
    run = Run(tmp_path / "store", "t")
    copied = collect_node_logs(run, remotes, [n1], ("log",), since=run_started)
    run.close()
    names = {os.path.basename(p) for p in copied}
    assert "mine.log" in names and "earlier.log" not in names


def test_ssh_learns_a_host_key_once_and_passwords_stay_off_the_command_line(tmp_path,
                                                                             monkeypatch):
    from flink_jepsen import paths
    from flink_jepsen.nodes import remotes
    from flink_jepsen.nodes.local import forget_host_keys
    from flink_jepsen.nodes.remotes import SshOptions

    monkeypatch.setenv("FLINK_JEPSEN_HOME", str(tmp_path))
    o = SshOptions()
    assert o.host_key_policy == "accept-new"        # learn once, refuse a changed key
    assert remotes.known_hosts(o) == str(paths.home() / "known_hosts")
    secret = tmp_path / "pw"
    secret.write_text("s3cret\nignored\n")
    assert remotes.password(SshOptions(password_file=str(secret))) == "s3cret"
    monkeypatch.setenv(remotes.PASSWORD_ENV, "from-env")
    assert remotes.password(SshOptions()) == "from-env"
    assert remotes.password(SshOptions(password="given")) == "given"
    with pytest.raises(UsageError, match="--password-file"):
        SshOptions(password_file=str(tmp_path / "none")).validate()
    kh = tmp_path / "known_hosts"
    kh.write_text("10.0.0.11 ssh-ed25519 AAAA1\n[10.0.0.12]:22 ssh-ed25519 AAAA2\n"
                  "example.org ssh-ed25519 AAAA3\n")
    forget_host_keys(kh, ["10.0.0.11", "10.0.0.12"])
    assert kh.read_text() == "example.org ssh-ed25519 AAAA3\n"


@pytest.mark.integration
def test_nodes_down_removes_the_storage_of_runs_killed_before_their_teardown(tmp_path) -> None:
    from flink_jepsen.nodes.local import LocalNodes

    ln = LocalNodes(home=tmp_path, prefix="fjz")
    left = tmp_path / "shared" / "fjz" / "run-killed" / "ha" / "job-graph"
    left.parent.mkdir(parents=True)
    left.write_text("x")
    other = tmp_path / "shared" / "fjy" / "run" / "ha"
    other.mkdir(parents=True)                    # another prefix's storage stays
    removed = ln.down()
    assert not (tmp_path / "shared" / "fjz").exists() and other.exists()
    assert any("shared storage" in r for r in removed)
