"""A node of the cluster under test, as the rest of the harness sees it: a name, an address its
peers reach it at, and a root directory that is its disk (every file a process on it writes)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Node:
    name: str
    address: str
    root: str

    def path(self, *parts: str) -> str:
        """A path on this node's disk: node.path("flink", "log") -> <root>/flink/log."""
        return "/".join([self.root.rstrip("/"), *parts])
