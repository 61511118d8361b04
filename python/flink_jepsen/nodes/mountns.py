"""A local node's own mount namespace, so that it sees files as a host would.

Inside it, the node's own tree is bound over ``/tmp``, ``/var/tmp`` and ``/opt`` (a file one node
writes to ``/tmp`` is in no other node's ``/tmp``, nor in the host's), every other node's tree is
hidden (the directory of the nodes' trees is covered by a directory of the node's own,
``<root>/fs/others``, with the node's own tree bound back at its path), and only the declared
shared storage is seen by all: the run's shared directories (read-write) and the cache of
distributions (read-only). Everything else is the host's.

Another node's path is then what it is on a real host: nothing there, and what a process
writes there stays on this node (Flink's YARN client ships its own io.tmp.dirs to containers on
other nodes, which create it on their own disks).

The namespace is made once, at ``nodes up``, by ``unshare --mount=FILE --propagation private``
running the script below (FILE, a bind mount of the namespace, keeps it alive without a
process); commands enter it with ``nsenter --mount=FILE`` (cpp/remote/process_remote.cpp).
Copies made from the host's side (uploads, downloads, staging) go through the path map, the same
layout seen from the host."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

# Node directory -> the subdirectory of <root>/fs that is bound over it.
OWN_DIRS = (("/tmp", "tmp"), ("/var/tmp", "var-tmp"), ("/opt", "opt"))
# The subdirectory of <root>/fs bound over the directory of every node's tree.
OTHERS = "others"
# Files `ip netns exec` binds from /etc/netns/<netns>/ over /etc/ that every node has (sshd adds
# a shadow file only on nodes that run it).
ETC_FILES = ("hosts", "hostname", "passwd")


@dataclass(frozen=True)
class MountPlan:
    root: str                        # the node's tree: visible at its own path
    nodes_base: str                  # where every node's tree is: the node's own, the rest hidden
    netns: str = ""                  # the node's network namespace (its /etc/netns files)
    shared: tuple[str, ...] = ()     # the same directories, read-write, on every node
    read_only: tuple[str, ...] = ()  # the same directories, read-only, on every node

    def own_dirs(self) -> list[tuple[str, str]]:
        """(node directory, host directory of the node's tree bound over it)."""
        return [(d, f"{self.root}/fs/{sub}") for d, sub in OWN_DIRS]

    def others_dir(self) -> str:
        """The host directory the node sees in place of the directory of every node's tree."""
        return f"{self.root}/fs/{OTHERS}"

    def path_map(self) -> list[tuple[str, str]]:
        """(node prefix, host prefix) pairs for the core's PathMap: the longest prefix wins, a
        path no pair covers is the host's own."""
        pairs = list(self.own_dirs())
        if self.netns:
            pairs += [(f"/etc/{f}", f"/etc/netns/{self.netns}/{f}") for f in ETC_FILES]
        pairs.append((self.nodes_base, self.others_dir()))
        pairs += [(p, p) for p in (self.root, *self.shared, *self.read_only)]
        return pairs

    def host_dirs(self) -> list[str]:
        """Directories that must exist on the host before the namespace is made."""
        return [h for _, h in self.own_dirs()] + [self.others_dir(), self.root, *self.shared,
                                                  *self.read_only]

    def script(self, hide: tuple[str, ...] = ()) -> str:
        """The bash script that lays the namespace out, run inside it by `unshare`. Every
        directory the binds come from is opened first: once /tmp (or /opt) is covered, a tree
        that lived under it is reached through its descriptor (`mount -c` keeps /proc/self/fd/N
        as it is, instead of resolving it to a path that is covered by then). `hide`: mounts to
        detach inside the namespace (the directory of the namespace files, so that no node holds
        another's namespace)."""
        q = shlex.quote
        sources = {"root": self.root}
        sources.update({f"s{i}": p for i, p in enumerate(self.shared)})
        sources.update({f"r{i}": p for i, p in enumerate(self.read_only)})
        lines = ["set -euo pipefail"]
        lines += [f"exec {{fd_{k}}}<{q(p)}" for k, p in sources.items()]

        def bind(key: str, target: str, sub: str = "") -> None:
            lines.append(f"mkdir -p {q(target)}")
            lines.append(f'mount -c --bind "/proc/self/fd/$fd_{key}{sub}" {q(target)}')

        for d, host in self.own_dirs():
            bind("root", d, host[len(self.root):])
        bind("root", self.nodes_base, self.others_dir()[len(self.root):])
        bind("root", self.root)
        for i, p in enumerate(self.shared):
            bind(f"s{i}", p)
        for i, p in enumerate(self.read_only):
            bind(f"r{i}", p)
            lines.append(f"mount -c -o remount,bind,ro {q(p)}")
        lines += [f"umount -l {q(h)}" for h in hide]
        return "\n".join(lines) + "\n"
