"""`flink-jepsen doctor` names what the machine lacks, each with the one command that installs
it, and every command that starts a cluster refuses before starting anything when a check it
needs fails. The machine is a fake here: nothing is installed or removed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from flink_jepsen.api import cli, doctor
from flink_jepsen.errors import SetupError


class FakeMachine(doctor.Machine):
    """A Debian machine with everything, minus what a test takes away."""

    def __init__(self, lacks: set[str] = frozenset(), uid: int = 0, python=(3, 11, 2),
                 free_gib: float = 50.0, java_version: str = "17.0.15") -> None:
        self.lacks = set(lacks)
        self.uid = uid
        self.version = python
        self.free_gib = free_gib
        self.java_version = java_version

    def which(self, name: str) -> str | None:
        return None if name in self.lacks else f"/usr/bin/{name}"

    def euid(self) -> int:
        return self.uid

    def python(self):
        return self.version

    def has_module(self, name: str) -> bool:
        return name not in self.lacks

    def exists(self, path: Path) -> bool:
        return not any(part in str(path) for part in self.lacks)

    def read(self, path: Path) -> str:
        return f'JAVA_VERSION="{self.java_version}"\n' if path.name == "release" else ""

    def free_bytes(self, path: Path) -> int:
        return int(self.free_gib * 2**30)

    def succeeds(self, argv: list[str]) -> bool:
        if "statistic" in " ".join(argv):
            if "--help" in argv:
                return "statistic-extension" not in self.lacks
            return "statistic-kernel" not in self.lacks
        return True

    def jvms(self) -> dict[str, Path]:
        return {"java-17-openjdk-amd64": Path("/usr/lib/jvm/java-17-openjdk-amd64"),
                "temurin-25-jdk-amd64": Path("/usr/lib/jvm/temurin-25-jdk-amd64")}


@pytest.fixture(autouse=True)
def no_java_override(monkeypatch) -> None:
    monkeypatch.delenv("FLINK_JEPSEN_JAVA17_HOME", raising=False)


def report(m: doctor.Machine) -> tuple[int, str]:
    out = io.StringIO()
    status = doctor.doctor("store", m, out)
    return status, out.getvalue()


def test_a_complete_machine_passes_and_lists_every_check() -> None:
    status, text = report(FakeMachine())
    assert status == 0, text
    for name in ("python", "pip", "root", "ip", "iptables", "iptables statistic", "nsenter",
                 "unshare", "java 17", "mvn", "disk", "sshd", "libfaketime", "java 11"):
        assert f" {name} " in text, name
    assert "MISSING" not in text and text.rstrip().endswith("everything a test needs is here")
    assert "also on this machine: temurin-25-jdk-amd64" in text  # the other JVMs found


@pytest.mark.parametrize(("lacks", "name", "fix"), [
    ({"mvn"}, "mvn", "apt-get install -y maven"),
    ({"ip"}, "ip", "apt-get install -y iproute2"),
    ({"iptables"}, "iptables", "apt-get install -y iptables"),
    ({"nsenter"}, "nsenter", "apt-get install -y util-linux"),
    ({"unshare"}, "unshare", "apt-get install -y util-linux"),
    ({"java-17-openjdk-amd64"}, "java 17", "apt-get install -y openjdk-17-jdk-headless"),
    ({"javac"}, "java 17", "apt-get install -y openjdk-17-jdk-headless"),
    ({"statistic-extension"}, "iptables statistic", "apt-get install -y iptables"),
    ({"statistic-kernel"}, "iptables statistic", "modprobe xt_statistic"),
    ({"pip"}, "pip", "pip"),
])
def test_each_missing_thing_is_named_with_the_command_that_installs_it(lacks, name,
                                                                        fix) -> None:
    status, text = report(FakeMachine(lacks))
    assert status == 1, text
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:1] == ["MISSING"]
              and f" {name} " in line)
    assert lines[at + 1].strip().startswith("fix: ") and fix in lines[at + 1], text
    assert lines[-1].endswith(" missing: " + ", ".join(
        c.name for c in doctor.run_checks(doctor.needs("test"), FakeMachine(lacks))
        if not c.ok)) and name in lines[-1]


def test_root_python_java_version_and_disk() -> None:
    status, text = report(FakeMachine(uid=1000, python=(3, 8, 10), free_gib=0.5,
                                      java_version="11.0.20"))
    assert status == 1
    assert "running as uid 1000" in text and "fix: sudo " in text
    assert "older than 3.9" in text and "apt-get install -y python3" in text
    assert "is Java 11.0.20, not 17" in text
    assert "only 0.5 GiB free" in text
    # Optional things are shown with their fix, but a machine without them still passes.
    status, text = report(FakeMachine({"sshd", "libfaketime"}))
    assert status == 0 and "apt-get install -y openssh-server" in text
    assert "apt-get install -y libfaketime" in text


def test_what_each_command_needs() -> None:
    local = set(doctor.LOCAL_NODES)
    assert local <= set(doctor.needs("test")) and "mvn" in doctor.needs("test")
    assert not local & set(doctor.needs("test", remote="ssh"))  # real hosts: no root here
    assert "libfaketime" in doctor.needs("sweep", clock=True)
    assert "libfaketime" not in doctor.needs("sweep", remote="ssh", clock=True)
    assert set(doctor.needs("nodes-up")) == local
    assert "sshd" in doctor.needs("nodes-up", sshd=True) and "sshd" in doctor.needs("smoke")


def test_require_refuses_with_every_missing_thing_and_its_fix() -> None:
    with pytest.raises(SetupError) as e:
        doctor.require(doctor.needs("test"), "flink-jepsen test", m=FakeMachine({"mvn", "ip"}),
                       argv=["test", "--time-limit", "30"])
    text = str(e.value)
    assert "nothing was started" in text
    assert "apt-get install -y maven" in text and "apt-get install -y iproute2" in text
    assert e.value.exit_status == 2
    with pytest.raises(SetupError, match=r"sudo .*test --time-limit 30"):
        doctor.require(doctor.needs("test"), "flink-jepsen test", m=FakeMachine(uid=1000),
                       argv=["test", "--time-limit", "30"])
    doctor.require(doctor.needs("test"), "flink-jepsen test", m=FakeMachine())  # no error


@pytest.fixture
def quiet_main(monkeypatch):
    """cli.main in this process, without its process-wide settings (signals, log level)."""
    monkeypatch.setattr(cli.signal, "signal", lambda *a: None)
    monkeypatch.setattr(cli.fjlog, "setup", lambda *a: None)
    monkeypatch.setattr(doctor, "Machine", lambda: FakeMachine({"mvn"}, uid=1000))


@pytest.mark.parametrize("argv", [["test"], ["nodes", "up"], ["smoke"],
                                  ["sweep", "--grid", "seed=1,2", "--out", "OUT"]])
def test_commands_that_start_a_cluster_refuse_before_starting_anything(
        quiet_main, monkeypatch, tmp_path, capsys, argv) -> None:
    from flink_jepsen.api import Test
    from flink_jepsen.nodes.local import LocalNodes

    def started(*a, **k):
        raise AssertionError("something was started")

    monkeypatch.setattr(LocalNodes, "up", started)
    monkeypatch.setattr(Test, "run", started)
    monkeypatch.setattr("flink_jepsen.api.smoke.run_smoke", started)
    argv = [a.replace("OUT", str(tmp_path / "sweep.jsonl")) for a in argv]
    store = [] if argv[0] == "nodes" else ["--store", str(tmp_path / "store")]
    assert cli.main([*argv, *store]) == 2
    err = capsys.readouterr().err
    assert "root: running as uid 1000" in err and "fix: sudo " in err
    assert "apt-get install -y maven" in err or argv[0] in ("nodes", "smoke")
    assert not (tmp_path / "store").exists() and not (tmp_path / "sweep.jsonl").exists()


def test_bad_test_input_is_still_a_stored_unknown_run_not_a_refusal(quiet_main, monkeypatch,
                                                                   tmp_path) -> None:
    """The machine is examined for input that could run; bad input is recorded as before
    (a run with verdict unknown, nothing started), whatever the machine lacks."""
    store = tmp_path / "store"
    status = cli.main(["test", "--remote", "ssh", "--nodes", "h1", "--store", str(store)])
    assert status == 2
    assert "needs at least 3 hosts" in (store / "latest" / "results.json").read_text()


def test_the_doctor_command_runs_here() -> None:
    from conftest import cli as run_cli

    r = run_cli("doctor")
    assert r.returncode in (0, 1), r.stderr
    assert "java 17" in r.stdout and "mvn" in r.stdout
    assert r.stdout.rstrip().splitlines()[-1].startswith(
        ("everything a test needs is here", f"{r.stdout.count('MISSING')} missing"))
