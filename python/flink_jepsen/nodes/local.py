"""Local nodes: n1..nN as Linux network namespaces on a bridge of this machine.

Each node has its own address, its own hostname (a persistent UTS namespace), its own hosts file
(``/etc/netns/<ns>/hosts``, which ``ip netns exec`` mounts over ``/etc/hosts``), its own
directory tree as its disk and its own mount namespace (nodes/mountns.py: its own /tmp, /var/tmp
and /opt, the other nodes' trees hidden, only the shared storage seen by all). Partitions between
nodes are therefore real packet drops, and a node-local path is local as on a host.

Everything ``up`` makes is first written to a state file (an intent log), so ``down`` can remove
it all even after ``up`` or a test was killed with SIGKILL half-way.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from flink_jepsen import _core, paths
from flink_jepsen.errors import SetupError, UsageError
from flink_jepsen.nodes.mountns import MountPlan
from flink_jepsen.nodes.node import Node
from flink_jepsen.nodes.remotes import SHELL_BUILTIN, shell_builtin
from flink_jepsen.nodes.shell import run

log = logging.getLogger("flink_jepsen.nodes")

DEFAULT_SUBNET = "10.213.7.0/24"
DEFAULT_COUNT = 5
MAX_COUNT = 50
FIRST_HOST = 11  # n1 gets .11, as Jepsen's docker nodes did; the bridge gets .1
SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"


@dataclass
class LocalNodeSpec:
    name: str
    netns: str
    veth: str
    address: str
    uts: str
    root: str
    mnt: str = ""  # the mount namespace's file ("" for nodes made before nodes had one)

    def node(self) -> Node:
        return Node(self.name, self.address, self.root)


def validate_count(count: int) -> None:
    if not 1 <= count <= MAX_COUNT:
        raise UsageError(f"node count must be between 1 and {MAX_COUNT}, not {count}")


def parse_subnet(subnet: str, count: int) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.IPv4Network(subnet, strict=True)
    except ValueError as e:
        raise UsageError(f"--subnet {subnet!r} is not an IPv4 network in CIDR form: {e}") from e
    if net.num_addresses < FIRST_HOST + count + 1:
        raise UsageError(
            f"--subnet {subnet} has {net.num_addresses} addresses, too few for {count} nodes "
            f"(nodes start at .{FIRST_HOST}); use a /24 or larger"
        )
    return net


class LocalNodes:
    """The set of local nodes of one prefix, driven by its state file."""

    def __init__(self, home: Path | None = None, prefix: str | None = None) -> None:
        self.home = home or paths.home()
        self.prefix = prefix or paths.prefix()
        self.state_path = self.home / f"nodes-{self.prefix}.json"
        self.bridge = f"{self.prefix}br0"
        self.run_dir = Path("/run/flink-jepsen") / self.prefix
        self.mnt_dir = self.run_dir / "mnt"  # a private bind mount: unshare --mount needs one
        self.ssh_dir = self.home / "ssh"
        self.nodes_base = self.home / "nodes" / self.prefix
        self.shared_base = self.home / "shared" / self.prefix  # every run's shared directory

    def shared_dir(self, run_id: str) -> Path:
        """The directory a run's nodes all see (HA storage, checkpoints) under the same path."""
        return self.shared_base / run_id

    def mount_plan(self, s: LocalNodeSpec, state: dict | None = None) -> MountPlan:
        state = state if state is not None else self.state()
        return MountPlan(root=s.root, nodes_base=str(self.nodes_base), netns=s.netns,
                         shared=(state.get("shared") or str(self.shared_base),),
                         read_only=(state.get("cache") or str(paths.cache()),))

    def remote(self, s: LocalNodeSpec, state: dict | None = None) -> _core.NetnsRemote:
        """The node's own remote: its namespaces, and its paths as the host sees them."""
        if not s.mnt:
            return _core.NetnsRemote(s.name, s.netns, s.uts)
        return _core.NetnsRemote(s.name, s.netns, s.uts, s.mnt,
                                 self.mount_plan(s, state).path_map())

    # ---- state ---------------------------------------------------------------------------
    def _read_state(self) -> dict | None:
        try:
            return json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as e:
            log.warning("state file %s is corrupt (%s); cleaning up by name", self.state_path, e)
            return {"nodes": [], "corrupt": True}

    def _write_state(self, state: dict) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.state_path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / f".nodes-{self.prefix}.lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            yield

    def specs(self) -> list[LocalNodeSpec]:
        state = self._read_state()
        if not state or not state.get("complete"):
            raise SetupError(
                "local nodes are not up: run `flink-jepsen nodes up` first"
                + (" (a previous `nodes up` did not finish; run `nodes down`)" if state else "")
            )
        return [LocalNodeSpec(**n) for n in state["nodes"]]

    def nodes(self) -> list[Node]:
        return [s.node() for s in self.specs()]

    def is_up(self) -> bool:
        state = self._read_state()
        return bool(state and state.get("complete"))

    def state(self) -> dict:
        return self._read_state() or {}

    # ---- remotes -------------------------------------------------------------------------
    def remotes(self, kind: str = "netns") -> dict[str, _core.Remote]:
        """node name -> Remote over the namespace itself, or over SSH to its sshd."""
        specs = self.specs()
        if kind == "netns":
            state = self.state()
            return {s.name: self.remote(s, state) for s in specs}
        if kind == "ssh":
            if not self.state().get("sshd"):
                raise UsageError("the local nodes run no sshd: run `flink-jepsen nodes up --sshd`")
            return {
                s.name: _core.SshRemote(s.name, s.address, port=22, username="root",
                                        private_key=str(self.ssh_dir / "id_ed25519"),
                                        shell_builtin=self._shell_builtin(s))
                for s in specs
            }
        raise UsageError(f"unknown remote {kind!r}: expected netns or ssh")

    @staticmethod
    def _builtin_copy(s: LocalNodeSpec) -> Path:
        """Where the node keeps its copy of the persistent shell's builtin (made when its sshd
        starts: the package may be under the host's /tmp, which the node does not see)."""
        return Path(s.root, "lib", SHELL_BUILTIN)

    def _shell_builtin(self, s: LocalNodeSpec) -> str:
        """The node's copy of the builtin, or "" for nodes brought up without one."""
        path = self._builtin_copy(s)
        return str(path) if path.is_file() else ""

    def ssh_password(self) -> str:
        return (self.ssh_dir / "password").read_text().strip()

    # ---- up ------------------------------------------------------------------------------
    def up(self, count: int = DEFAULT_COUNT, subnet: str = DEFAULT_SUBNET,
           sshd: bool = False) -> list[Node]:
        validate_count(count)
        net = parse_subnet(subnet, count)
        require_root()
        for tool in ("ip", "nsenter", "unshare", "iptables"):
            if shutil.which(tool) is None:
                raise SetupError(f"{tool} is not installed (`flink-jepsen doctor` names "
                                 "what is missing and the command that installs it)")
        with self._locked():
            state = self._read_state()
            if state and not state.get("corrupt") and state.get("nodes"):
                if state.get("subnet") != str(net) or len(state["nodes"]) != count:
                    raise UsageError(
                        f"local nodes are already up with {len(state['nodes'])} nodes in "
                        f"{state.get('subnet')}; run `flink-jepsen nodes down` before asking for "
                        f"{count} nodes in {net}"
                    )
            else:
                self._check_subnet_free(net)
            hosts = list(net.hosts())
            specs = [
                LocalNodeSpec(
                    name=f"n{i}",
                    netns=f"{self.prefix}-n{i}",
                    veth=f"{self.prefix}v-n{i}",
                    address=str(net.network_address + FIRST_HOST + i - 1),
                    uts=str(self.run_dir / "uts" / f"n{i}"),
                    root=str(self.nodes_base / f"n{i}"),
                    mnt=str(self.mnt_dir / f"n{i}"),
                )
                for i in range(1, count + 1)
            ]
            new_state = {
                "version": 1,
                "prefix": self.prefix,
                "subnet": str(net),
                "bridge": self.bridge,
                "bridge_address": str(hosts[0]),
                "nodes": [asdict(s) for s in specs],
                "shared": str(self.shared_base),
                "cache": str(paths.cache()),
                "sshd": bool(sshd or (state or {}).get("sshd")),
                "complete": False,
            }
            self._write_state(new_state)  # intent first: `down` can undo whatever follows
            try:
                self._make_bridge(str(hosts[0]), net.prefixlen)
                hosts_file = self._hosts_file(specs)
                for s in specs:
                    self._make_node(s, net.prefixlen, hosts_file)
                # After every namespace exists: a mount namespace copies /run/netns as it is.
                for s in specs:
                    self._make_mount_ns(s, new_state)
                self._verify(specs, new_state)
                if new_state["sshd"]:
                    self._start_sshd(specs)
            except BaseException:
                log.error("nodes up failed; removing what it made")
                self._down_locked()
                raise
            new_state["complete"] = True
            self._write_state(new_state)
        log.info("%d local nodes up in %s: %s", count, net,
                 ", ".join(f"{s.name}={s.address}" for s in specs))
        return [s.node() for s in specs]

    def _check_subnet_free(self, net: ipaddress.IPv4Network) -> None:
        routes = json.loads(run(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout or "[]")
        for r in routes:
            dst = r.get("dst", "")
            if dst in ("default", "") or r.get("dev") == self.bridge:
                continue
            try:
                other = ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False)
            except ValueError:
                continue
            if not other.is_loopback and other.overlaps(net):
                raise UsageError(
                    f"--subnet {net} overlaps the existing route to {dst} on "
                    f"{r.get('dev', '?')}: choose another subnet"
                )

    def _make_bridge(self, address: str, prefixlen: int) -> None:
        if not _link_exists(self.bridge):
            run(["ip", "link", "add", "name", self.bridge, "type", "bridge"])
        # Bridged packets must not traverse the host's iptables (Docker hosts drop FORWARD).
        nf = Path(f"/sys/class/net/{self.bridge}/bridge/nf_call_iptables")
        if nf.exists():
            with contextlib.suppress(OSError):
                nf.write_text("0")
        addrs = run(["ip", "-j", "addr", "show", "dev", self.bridge]).stdout
        if f'"{address}"' not in addrs:
            run(["ip", "addr", "add", f"{address}/{prefixlen}", "dev", self.bridge])
        run(["ip", "link", "set", self.bridge, "up"])

    def _hosts_file(self, specs: list[LocalNodeSpec]) -> str:
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        lines += [f"{s.address}\t{s.name}" for s in specs]
        return "\n".join(lines) + "\n"

    def _make_node(self, s: LocalNodeSpec, prefixlen: int, hosts_file: str) -> None:
        if s.netns not in _netns_list():
            run(["ip", "netns", "add", s.netns])
        etc = Path("/etc/netns") / s.netns
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "hosts").write_text(hosts_file)
        (etc / "hostname").write_text(s.name + "\n")
        # The node's own passwd: root's home is in the node's tree (its own dotfiles, not the
        # control machine's), as on a real host. `ip netns exec` mounts it over /etc/passwd.
        home = Path(s.root, "root")
        home.mkdir(parents=True, exist_ok=True)
        (home / ".bashrc").touch()
        lines = []
        for line in Path("/etc/passwd").read_text().splitlines():
            f = line.split(":")
            if len(f) == 7 and f[0] == "root":
                f[5] = str(home)
                line = ":".join(f)
            lines.append(line)
        (etc / "passwd").write_text("\n".join(lines) + "\n")
        peer = f"{self.prefix}p-{s.name}"
        if not _link_exists(s.veth):
            run(["ip", "link", "add", s.veth, "type", "veth", "peer", "name", peer,
                 "netns", s.netns])
            run(["ip", "-n", s.netns, "link", "set", peer, "name", "eth0"])
        run(["ip", "link", "set", s.veth, "master", self.bridge, "up"])
        addrs = run(["ip", "-n", s.netns, "-j", "addr", "show", "dev", "eth0"]).stdout
        if f'"{s.address}"' not in addrs:
            run(["ip", "-n", s.netns, "addr", "add", f"{s.address}/{prefixlen}", "dev", "eth0"])
        run(["ip", "-n", s.netns, "link", "set", "eth0", "up"])
        run(["ip", "-n", s.netns, "link", "set", "lo", "up"])
        uts = Path(s.uts)
        if not _is_mountpoint(uts):
            uts.parent.mkdir(parents=True, exist_ok=True)
            uts.touch()
            run(["unshare", f"--uts={uts}", "hostname", s.name])
        for sub in ("run", "log", "tmp", "data", "etc"):
            Path(s.root, sub).mkdir(parents=True, exist_ok=True)

    def _make_mount_ns(self, s: LocalNodeSpec, state: dict) -> None:
        """The node's own mount namespace (nodes/mountns.py), kept by a bind mount of it at
        s.mnt in a private bind mount of its directory."""
        mnt = Path(s.mnt)
        if _is_mountpoint(mnt):
            return
        plan = self.mount_plan(s, state)
        for d in plan.host_dirs():
            Path(d).mkdir(parents=True, exist_ok=True)
        for _, host in plan.own_dirs():
            if host.endswith("tmp"):
                Path(host).chmod(0o1777)  # /tmp and /var/tmp, as on a host
        if not _is_mountpoint(self.mnt_dir):
            self.mnt_dir.mkdir(parents=True, exist_ok=True)
            run(["mount", "--bind", str(self.mnt_dir), str(self.mnt_dir)])
            run(["mount", "--make-private", str(self.mnt_dir)])
        mnt.touch()
        run(["unshare", f"--mount={mnt}", "--propagation", "private", "bash", "-c",
             plan.script(hide=(str(self.mnt_dir),))])

    def _verify(self, specs: list[LocalNodeSpec], state: dict) -> None:
        remotes = [self.remote(s, state) for s in specs]
        # Each node writes its name to its own /tmp and reads it back: one /tmp per node.
        probe = (f"hostname; getent hosts {specs[-1].name}; f=/tmp/.fj-whoami; hostname > $f; "
                 "sleep 0.2; cat $f; rm -f $f")
        results = _core.fan_out_check(remotes, probe, timeout=30)
        for s, r in zip(specs, results):
            got = r.out.split()
            if not got or got[0] != s.name or specs[-1].address not in got or (
                    s.mnt and got[-1] != s.name):
                raise SetupError(f"node {s.name} is not set up right: hostname/hosts/own /tmp: "
                                 f"{r.out!r}")

    # ---- sshd ----------------------------------------------------------------------------
    def _start_sshd(self, specs: list[LocalNodeSpec]) -> None:
        for tool in (SSHD, SFTP_SERVER, "ssh-keygen"):
            if shutil.which(tool) is None and not Path(tool).exists():
                raise SetupError(f"{tool} is missing: install Debian's openssh-server")
        self._ssh_credentials()
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        password_hash = _hash_password(self.ssh_password())
        for s in specs:
            etc = Path(s.root, "etc", "ssh")
            etc.mkdir(parents=True, exist_ok=True)
            key = etc / "ssh_host_ed25519_key"
            if not key.exists():
                run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
            (etc / "sshd_config").write_text(
                "\n".join([
                    f"ListenAddress {s.address}",
                    "Port 22",
                    f"HostKey {key}",
                    "PidFile none",
                    f"AuthorizedKeysFile {etc / 'authorized_keys'}",
                    "StrictModes no",
                    "PermitRootLogin yes",
                    "PasswordAuthentication yes",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    f"Subsystem sftp {SFTP_SERVER}",
                    "MaxSessions 200",
                    "MaxStartups 200:30:400",
                    "LogLevel INFO",
                ]) + "\n"
            )
            # Only this node's mount namespace sees this shadow file (ip netns exec binds it over
            # /etc/shadow): the host's own passwords are never touched.
            shadow = Path("/etc/netns") / s.netns / "shadow"
            shadow.write_text(f"root:{password_hash}:19000:0:99999:7:::\n")
            shadow.chmod(0o600)
            # The node's own copy: the control machine's ssh directory may be hidden from it.
            keys = etc / "authorized_keys"
            keys.write_text((self.ssh_dir / "authorized_keys").read_text())
            keys.chmod(0o600)
            builtin = shell_builtin()
            if builtin is not None:
                copy = self._builtin_copy(s)
                copy.parent.mkdir(exist_ok=True)
                shutil.copyfile(builtin, copy)
            # Started in the node's namespaces: every session inherits them (and its own /tmp).
            remote = self.remote(s)
            _core.start_daemon(remote, f"{SSHD} -D -e -f {etc / 'sshd_config'}",
                               pidfile=f"{s.root}/run/sshd.pid", logfile=f"{s.root}/log/sshd.log")
        for s in specs:
            wait_for_port(s.address, 22, timeout=30, what=f"sshd on {s.name}",
                          log_file=f"{s.root}/log/sshd.log")

    def _ssh_credentials(self) -> None:
        self.ssh_dir.mkdir(parents=True, exist_ok=True)
        self.ssh_dir.chmod(0o700)
        key = self.ssh_dir / "id_ed25519"
        if not key.exists():
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "flink-jepsen", "-f",
                 str(key)])
        auth = self.ssh_dir / "authorized_keys"
        auth.write_text((self.ssh_dir / "id_ed25519.pub").read_text())
        auth.chmod(0o600)
        pw = self.ssh_dir / "password"
        if not pw.exists():
            pw.write_text(secrets.token_urlsafe(18) + "\n")
            pw.chmod(0o600)

    # ---- down ----------------------------------------------------------------------------
    def down(self) -> list[str]:
        """Removes every namespace, link, bridge, mount and process the project made."""
        require_root()
        with self._locked():
            return self._down_locked()

    def _down_locked(self) -> list[str]:
        state = self._read_state() or {"nodes": []}
        removed: list[str] = []
        names = {n["netns"] for n in state.get("nodes", [])}
        names |= {ns for ns in _netns_list() if ns.startswith(f"{self.prefix}-n")}
        for ns, killed in sorted(_kill_netns_processes(names).items()):
            if killed:
                removed.append(f"{killed} process(es) in {ns}")
        stray = _kill_tagged_processes(self.prefix)
        if stray:
            removed.append(f"{stray} stray process(es) tagged {self.prefix}-n*")
        for kind, what in (("uts", "hostname namespace"), ("mnt", "mount namespace")):
            files = {n[kind] for n in state.get("nodes", []) if n.get(kind)}
            ns_dir = self.run_dir / kind
            if ns_dir.is_dir():
                files |= {str(p) for p in ns_dir.iterdir()}
            for f in sorted(files):
                p = Path(f)
                if _is_mountpoint(p):
                    run(["umount", str(p)], check=False)
                if p.exists():
                    p.unlink()
                    removed.append(f"{what} {p.name}")
        if _is_mountpoint(self.mnt_dir):
            run(["umount", str(self.mnt_dir)], check=False)
            removed.append(f"mount {self.mnt_dir}")
        for ns in sorted(names):
            if ns in _netns_list():
                run(["ip", "netns", "del", ns], check=False)
                removed.append(f"namespace {ns}")
            shutil.rmtree(Path("/etc/netns") / ns, ignore_errors=True)
        for link in _links():
            if link.startswith(f"{self.prefix}v-") or link == self.bridge:
                run(["ip", "link", "del", link], check=False)
                removed.append(f"link {link}")
        shutil.rmtree(self.home / "nodes" / self.prefix, ignore_errors=True)
        # HA and checkpoint data of runs that were killed before their teardown removed it.
        shared = self.home / "shared" / self.prefix
        if shared.exists():
            shutil.rmtree(shared, ignore_errors=True)
            removed.append(f"shared storage {shared}")
        # The nodes' host keys go with them: the next nodes' keys are new, not an attack.
        forget_host_keys(self.home / "known_hosts",
                         [n["address"] for n in state.get("nodes", []) if "address" in n])
        with contextlib.suppress(FileNotFoundError):
            self.state_path.unlink()
        for d in (self.run_dir / "uts", self.mnt_dir, self.run_dir):
            with contextlib.suppress(OSError):
                d.rmdir()
        if removed:
            log.info("nodes down: removed %s", "; ".join(removed))
        return removed

    # ---- status --------------------------------------------------------------------------
    def status(self) -> list[dict]:
        state = self._read_state()
        if not state:
            return []
        present = _netns_list()
        rows = []
        for n in state.get("nodes", []):
            s = LocalNodeSpec(**n)
            row = {"node": s.name, "address": s.address, "netns": s.netns in present,
                   "reachable": False, "sshd": False, "processes": 0}
            if row["netns"]:
                pids = run(["ip", "netns", "pids", s.netns], check=False).stdout.split()
                row["processes"] = len(pids)
                r = self.remote(s, state).exec("hostname", timeout=10)
                row["reachable"] = r.ok and r.out.strip() == s.name
                if state.get("sshd"):
                    row["sshd"] = port_open(s.address, 22, 1.0)
            rows.append(row)
        return rows


# ---- helpers ---------------------------------------------------------------------------------
def forget_host_keys(known_hosts: Path, addresses: list[str]) -> None:
    """Removes these hosts' lines from the harness's known_hosts (plain host names only: the
    harness writes them unhashed)."""
    try:
        lines = known_hosts.read_text().splitlines()
    except FileNotFoundError:
        return
    gone = set(addresses) | {f"[{a}]:22" for a in addresses}
    kept = [ln for ln in lines if not set(ln.split(" ", 1)[0].split(",")) & gone]
    if len(kept) != len(lines):
        known_hosts.write_text("".join(f"{ln}\n" for ln in kept))


def require_root() -> None:
    if os.geteuid() != 0:
        raise SetupError(
            "local nodes need root (network namespaces, veth links and iptables need "
            "CAP_NET_ADMIN and CAP_SYS_ADMIN): run as root, or use --remote ssh with real hosts"
        )


def _netns_list() -> set[str]:
    out = run(["ip", "netns", "list"], check=False).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def _links() -> list[str]:
    out = run(["ip", "-j", "link", "show"], check=False).stdout or "[]"
    return [link["ifname"] for link in json.loads(out)]


def _link_exists(name: str) -> bool:
    return name in _links()


def _is_mountpoint(path: Path) -> bool:
    target = str(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == target for line in f)


def _kill_netns_processes(namespaces: set[str]) -> dict[str, int]:
    """SIGTERM everything in the namespaces, then SIGKILL what is left after a short grace; all
    namespaces at once (one after another, each wait was a fifth of a second per node).
    Returns how many processes each namespace had."""
    killed: dict[str, set[int]] = {ns: set() for ns in namespaces}
    deadline = time.monotonic() + 5
    sig = signal.SIGTERM
    while True:
        alive = {}
        for ns in namespaces:
            pids = [int(p) for p in run(["ip", "netns", "pids", ns], check=False).stdout.split()]
            pids = [p for p in pids if p != os.getpid()]
            if pids:
                alive[ns] = pids
        if not alive:
            return {ns: len(pids) for ns, pids in killed.items()}
        if time.monotonic() > deadline:
            sig = signal.SIGKILL
        for ns, pids in alive.items():
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
                killed[ns].add(pid)
        if time.monotonic() > deadline + 10:
            raise SetupError(f"processes {alive} in namespaces survive SIGKILL")
        time.sleep(0.05)


def _kill_tagged_processes(prefix: str) -> int:
    """Processes that carry a node tag but left (or lost) their namespace."""
    tag = f"FJ_NODE={prefix}-n".encode()
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if any(var.startswith(tag) for var in env.split(b"\0")):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), signal.SIGKILL)
                count += 1
    return count


def _hash_password(password: str) -> str:
    if shutil.which("openssl"):
        return run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n").stdout.strip()
    import crypt  # noqa: PLC0415 - deprecated, only a fallback where openssl is missing

    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float, what: str, log_file: str = "") -> None:
    """Waits until a TCP port accepts connections; the error names what and where its log is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port, 1.0):
            return
        time.sleep(0.2)
    hint = f"; see {log_file}" if log_file else ""
    raise SetupError(f"{what} did not open {host}:{port} within {timeout:.0f} s{hint}")


def uts_subprocess(spec: LocalNodeSpec, argv: list[str]) -> list[str]:
    """argv run inside a node as NetnsRemote does (for tools that want a real subprocess)."""
    mnt = [f"--mount={spec.mnt}"] if spec.mnt else []
    return ["nsenter", *mnt, f"--uts={spec.uts}", "ip", "netns", "exec", spec.netns, *argv]

