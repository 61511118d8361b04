"""Which nodes a test drives and how: local namespaces (the default) or real hosts over SSH,
with Jepsen's option names (--nodes, --nodes-file, --username, --password, --ssh-private-key)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from flink_jepsen import paths
from flink_jepsen.declare import option
from flink_jepsen.errors import UsageError
from flink_jepsen.nodes.node import Node

HOST_KEY_POLICIES = ("no", "accept-new", "strict")
PASSWORD_ENV = "FLINK_JEPSEN_SSH_PASSWORD"


@dataclass(frozen=True)
class SshOptions:
    username: str = option("root", "SSH user on the hosts", flag="--username",
                           pytest="--username")
    password: str = option("", "SSH password (keys are better; on the command line every "
                           "local user sees it: prefer --password-file or "
                           f"${PASSWORD_ENV})", flag="--password", pytest="--ssh-password")
    password_file: str = option("", "file whose first line is the SSH password",
                                flag="--password-file")
    private_key: str = option("", "SSH private key file", flag="--ssh-private-key",
                              pytest="--ssh-private-key")
    port: int = option(22, "SSH port", flag="--ssh-port", kind=int, lo=1, hi=65535)
    host_key_policy: str = option(
        "accept-new", "accept-new (a host's key is learnt on first contact and must never "
        "change), strict (only keys already known) or no", flag="--strict-host-key-checking",
        choices=lambda: HOST_KEY_POLICIES)
    known_hosts: str = option("", cli=False)
    connect_timeout: float = option(10.0, cli=False)

    def validate(self) -> None:
        if self.host_key_policy not in HOST_KEY_POLICIES:
            raise UsageError(
                f"--strict-host-key-checking must be one of {', '.join(HOST_KEY_POLICIES)}, "
                f"not {self.host_key_policy!r}"
            )
        if self.password_file and not Path(self.password_file).is_file():
            raise UsageError(f"--password-file {self.password_file}: no such file")
        if self.private_key and not Path(self.private_key).is_file():
            raise UsageError(f"--ssh-private-key {self.private_key}: no such file")
        if not 0 < self.port < 65536:
            raise UsageError(f"--ssh-port must be a TCP port, not {self.port}")


def password(options: SshOptions) -> str:
    """--password, else the first line of --password-file, else $FLINK_JEPSEN_SSH_PASSWORD."""
    if options.password:
        return options.password
    if options.password_file:
        try:
            lines = Path(options.password_file).read_text().splitlines()
        except OSError as e:
            raise UsageError(f"--password-file {options.password_file}: {e.strerror}") from e
        return lines[0] if lines else ""
    return os.environ.get(PASSWORD_ENV, "")


def known_hosts(options: SshOptions) -> str:
    """The harness's own known_hosts (under FLINK_JEPSEN_HOME) unless one is given: the keys it
    learns (accept-new) are pinned there, and the user's ~/.ssh is never written."""
    return options.known_hosts or str(paths.home() / "known_hosts")


SHELL_BUILTIN = "fj_shell_builtin.so"


def shell_builtin() -> Path | None:
    """The persistent shell's fj_holders builtin (cpp/remote/shell_builtin.c) as installed beside
    the core, or None where this install lacks it (the shell then does its look in bash)."""
    from flink_jepsen import _core

    path = Path(_core.__file__).with_name(SHELL_BUILTIN)
    return path if path.is_file() else None


def ssh_remote(node: Node, options: SshOptions):
    """An SSH remote of the core (imported here: loading this module, which the pytest plugin
    does, must not load the C++ core). It puts this install's shell builtin on the host before
    the first command (under ~/.cache/flink-jepsen, named by its bytes)."""
    from flink_jepsen import _core

    builtin = shell_builtin()
    return _core.SshRemote(
        node.name,
        node.address,
        port=options.port,
        username=options.username,
        password=password(options),
        private_key=options.private_key,
        host_key_policy=options.host_key_policy,
        known_hosts=known_hosts(options),
        connect_timeout=options.connect_timeout,
        shell_builtin_upload=str(builtin) if builtin else "",
    )


def parse_node_list(nodes: str | None, nodes_file: str | None) -> list[str]:
    """--nodes a,b,c or --nodes-file (one host per line, # comments) -> host names."""
    hosts: list[str] = []
    if nodes:
        hosts += [h.strip() for h in nodes.split(",") if h.strip()]
    if nodes_file:
        try:
            text = Path(nodes_file).read_text()
        except OSError as e:
            raise UsageError(f"--nodes-file {nodes_file}: {e.strerror}") from e
        hosts += [ln.split("#")[0].strip() for ln in text.splitlines() if ln.split("#")[0].strip()]
    if len(set(hosts)) != len(hosts):
        raise UsageError(f"--nodes names a host twice: {', '.join(hosts)}")
    return hosts


def select(nodes: list[Node], names: str) -> list[Node]:
    """'all' or a comma-separated list of node names; an unknown name is an error naming it."""
    if names == "all":
        return nodes
    by_name = {n.name: n for n in nodes}
    picked = []
    for name in names.split(","):
        if name not in by_name:
            raise UsageError(
                f"unknown node {name!r}: the nodes are {', '.join(by_name) or '(none)'}"
            )
        picked.append(by_name[name])
    return picked
