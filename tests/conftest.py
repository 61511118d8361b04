"""Shared fixtures. Integration tests run against real local nodes (network namespaces with
sshd) under a private home and name prefix, so they never touch a user's own nodes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flink_jepsen.api.pytest_plugin import worker_nodes

pytest_plugins = ["pytester"]

# Suites running side by side on one machine choose their own (FJ_TEST_PREFIX=fjm
# FJ_TEST_SUBNET=10.213.11.0/24): namespaces, links and routes must not collide. Under
# pytest-xdist each worker (gw0, gw1, ...) derives its own from them (fjtw0 in 10.213.25.0/24,
# fjtw1 in 10.213.41.0/24, ...), as the plugin does for a user's runs.
TEST_PREFIX, TEST_SUBNET = worker_nodes(os.environ.get("PYTEST_XDIST_WORKER", ""),
                                        os.environ.get("FJ_TEST_PREFIX", "fjt"),
                                        os.environ.get("FJ_TEST_SUBNET", "10.213.9.0/24"))


def is_root() -> bool:
    return os.geteuid() == 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Long tests (many minutes each: the original's slow schedules) run by hand, as the long
    # controls do: FJ_LONG=1 or `-m long`. The default run stays within CI's time.
    if not os.environ.get("FJ_LONG") and "long" not in (config.getoption("-m") or ""):
        long = pytest.mark.skip(reason="long test: run with FJ_LONG=1 (or -m long)")
        for item in items:
            if "long" in item.keywords:
                item.add_marker(long)
    if is_root():
        return
    skip = pytest.mark.skip(reason="integration tests need root (namespaces, iptables, sshd)")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def fj_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("fjhome")
    os.environ["FLINK_JEPSEN_HOME"] = str(home)
    os.environ["FLINK_JEPSEN_PREFIX"] = TEST_PREFIX
    # Downloads and built jobs are shared with the user's runs: they are checksummed and keyed.
    os.environ.setdefault("FLINK_JEPSEN_CACHE", "/var/lib/flink-jepsen/cache")
    return home


@pytest.fixture(scope="session")
def local_nodes(fj_home: Path):
    """Five local nodes with sshd, shared by the integration tests of a session."""
    from flink_jepsen import log as fjlog
    from flink_jepsen.nodes.local import LocalNodes

    fjlog.setup("warn")
    ln = LocalNodes(home=fj_home, prefix=TEST_PREFIX)
    ln.up(5, TEST_SUBNET, sshd=True)
    yield ln
    ln.down()


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300,
        ) -> subprocess.CompletedProcess[str]:
    """Runs the installed command line in a subprocess (the way users run it)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "flink_jepsen", *args], capture_output=True,
                          text=True, env=full_env, timeout=timeout)
