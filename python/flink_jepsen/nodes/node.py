"""A node of the cluster under test, as the rest of the harness sees it: a name, an address its
peers reach it at, and a root directory that is its disk (every file a process on it writes)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Node names and roots reach shell commands on the nodes (every path is built from them), so
# they are limited to characters no shell reads specially: paths are safe by construction.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
SAFE_PATH = re.compile(r"/[A-Za-z0-9._/+@=-]*")


def check_root(root: str, what: str = "a node's root") -> None:
    if not SAFE_PATH.fullmatch(root) or "/../" in f"{root}/":
        raise ValueError(f"{what} {root!r} must be an absolute path of letters, digits and "
                         "._/+@=- (no spaces, quotes, $, `, ..)")


def check_name(name: str, what: str = "a node's name") -> None:
    if not SAFE_NAME.fullmatch(name):
        raise ValueError(f"{what} {name!r} must be a host name or address (letters, digits, "
                         "'.', '-', ':')")


@dataclass(frozen=True)
class Node:
    name: str
    address: str
    root: str

    def __post_init__(self) -> None:
        check_name(self.name)
        check_name(self.address, "a node's address")
        check_root(self.root)

    def path(self, *parts: str) -> str:
        """A path on this node's disk: node.path("flink", "log") -> <root>/flink/log."""
        return "/".join([self.root.rstrip("/"), *parts])
