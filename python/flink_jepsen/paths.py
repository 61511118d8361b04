"""Where the harness keeps its state on the control machine.

Everything lives under one home directory (``FLINK_JEPSEN_HOME``, default
``/var/lib/flink-jepsen``) so that tests can use a private one and ``nodes down`` knows exactly
what is the project's. ``FLINK_JEPSEN_PREFIX`` (default ``fj``) prefixes every kernel object the
project names (namespaces, links, the bridge), so a test suite can run beside a user's nodes.
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    return Path(os.environ.get("FLINK_JEPSEN_HOME", "/var/lib/flink-jepsen"))


def prefix() -> str:
    p = os.environ.get("FLINK_JEPSEN_PREFIX", "fj")
    if not p.isalnum() or len(p) > 5:
        raise ValueError(f"FLINK_JEPSEN_PREFIX must be 1-5 letters or digits, not {p!r}")
    return p


def cache() -> Path:
    """Downloads (distributions, jars), checksummed and shared by all runs."""
    return Path(os.environ.get("FLINK_JEPSEN_CACHE", str(home() / "cache")))
