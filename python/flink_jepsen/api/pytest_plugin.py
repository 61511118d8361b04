"""A pytest plugin (entry point `flink_jepsen`): test matrices over nemeses, deployment modes and
Flink versions as ordinary parametrized pytest tests, each a real run whose failure message
carries the anomalies and where the evidence is.

    @pytest.mark.parametrize("nemesis", ["kill-task-managers", "kill-job-managers"])
    def test_flink_survives(flink_jepsen, nemesis):
        flink_jepsen.run(nemesis_gen=nemesis)

Options, all prefixed --fj- so they clash with no other plugin's: --fj-flink-version,
--fj-tarball, --fj-nodes (real hosts: runs go over SSH), --fj-node-count, --fj-store,
--fj-time-limit, --fj-nemesis, --fj-ha-storage-dir, the SSH options (--fj-username,
--fj-ssh-password, --fj-ssh-private-key) and --fj-subnet. Each is the test option declared
with a pytest flag (run/options.py, nodes/remotes.py), and each may also be set in the ini
file (pytest.ini, or [tool.pytest.ini_options] of pyproject.toml) under its name with
underscores: `fj_flink_version = 1.20.5`. The command line beats the ini file; a test's own
parameters beat both.

Under pytest-xdist every worker (gw0, gw1, ...) drives local nodes of its own: a node prefix
and a subnet derived from the worker's id (`worker_nodes`), so `pytest -n 2` runs two clusters
side by side.

Importing the plugin loads nothing of the harness: the C++ core and the API are imported when
pytest asks for the options and when a test uses the fixture."""

from __future__ import annotations

import functools
import os
import re
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from flink_jepsen import api

PREFIX = "--fj-"
DEFAULT_PREFIX = "fj"               # paths.prefix()'s default
DEFAULT_SUBNET = "10.213.7.0/24"    # nodes/local.py's DEFAULT_SUBNET
WORKER_STRIDE = 16                  # networks of the base's size between two workers' subnets


def fj_flag(declared: str) -> str:
    """The plugin's flag for a declared pytest flag: `--fj-` prefixed (`--flink-version` is
    `--fj-flink-version`)."""
    return declared if declared.startswith(PREFIX) else PREFIX + declared.lstrip("-")


def ini_name(flag: str) -> str:
    """`--fj-flink-version` -> `fj_flink_version`, its name in the ini file."""
    return flag.lstrip("-").replace("-", "_")


@functools.cache
def declared_options() -> tuple[tuple[str, str, type, str], ...]:
    """(pytest flag, test parameter, type, help) for every test option declared with a pytest
    flag (run/options.py): the plugin offers nothing the declaration does not."""
    from flink_jepsen.run import options

    out = []
    for f in options.declared():
        flag = f.metadata.get("pytest")
        if flag:
            out.append((fj_flag(flag), f.name, f.metadata.get("kind") or str,
                        f.metadata.get("help") or ""))
    return tuple(out)


@functools.cache
def declared_ssh_options() -> tuple[tuple[str, str, str], ...]:
    """(pytest flag, SSH setting, help) for the SSH settings declared with a pytest flag."""
    import dataclasses

    from flink_jepsen.nodes.remotes import SshOptions

    return tuple((fj_flag(f.metadata["pytest"]), f.name, f.metadata.get("help") or "")
                 for f in dataclasses.fields(SshOptions) if f.metadata.get("pytest"))


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("flink-jepsen", "Flink fault-injection tests (flink-jepsen)")
    for flag, param, kind, text in declared_options():
        g.addoption(flag, dest=f"fj_{param}", type=kind, default=None,
                    help=f"default {param} of every flink-jepsen run: {text}")
        parser.addini(ini_name(flag), f"default {param} of every flink-jepsen run (the "
                                      f"command line's {flag} beats it)", default="")
    for flag, param, text in declared_ssh_options():
        g.addoption(flag, dest=f"fj_ssh_{param}", default=None,
                    help=f"SSH {param} for --fj-nodes: {text}")
        parser.addini(ini_name(flag), f"SSH {param} for --fj-nodes (the command line's "
                                      f"{flag} beats it)", default="")
    g.addoption("--fj-subnet", dest="fj_subnet", default=None,
                help="IPv4 network of the local nodes the runs bring up (default: the "
                     "harness's, 10.213.7.0/24); under pytest-xdist each worker's is derived "
                     "from it")
    parser.addini("fj_subnet", "IPv4 network of the local nodes (the command line's "
                               "--fj-subnet beats it)", default="")
    g.addoption("--fj-nodes-file", dest="fj_nodes_file", default=None,
                help="real hosts, one per line, or several [group]s of them: each run (each "
                     "pytest-xdist worker's too) takes a group no other run holds (default: "
                     "none: local nodes)")
    parser.addini("fj_nodes_file", "the hosts file (the command line's --fj-nodes-file beats "
                                   "it)", default="")


_PARAMS = pytest.StashKey[dict]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "flink_jepsen: a test that runs real Flink clusters")
    config.stash[_PARAMS] = base_params(config)  # a bad value in the ini file ends it here


def _setting(config: pytest.Config, dest: str, flag: str) -> Any:
    """The command line's value, else the ini file's, else None."""
    value = config.getoption(dest)
    if value is not None:
        return value
    ini = config.getini(ini_name(flag))
    if isinstance(ini, str):
        ini = ini.strip()
    return ini if ini not in ("", None, []) else None


def _typed(value: Any, kind: type, flag: str) -> Any:
    if kind in (int, float) and not isinstance(value, kind):
        try:
            return kind(value)
        except (TypeError, ValueError) as e:
            raise pytest.UsageError(f"{flag} (or {ini_name(flag)} in the ini file): not "
                                    f"{'an integer' if kind is int else 'a number'}: "
                                    f"{value!r}") from e
    return value if kind in (int, float) else str(value)


def base_params(config: pytest.Config) -> dict:
    """The test parameters the command line and the ini file set (the command line wins)."""
    params: dict = {}
    for flag, param, kind, _ in declared_options():
        value = _setting(config, f"fj_{param}", flag)
        if value is not None:
            params[param] = _typed(value, kind, flag)
    ssh = {}
    for flag, param, _ in declared_ssh_options():
        value = _setting(config, f"fj_ssh_{param}", flag)
        if value is not None:
            ssh[param] = str(value)
    nodes_file = _setting(config, "fj_nodes_file", "--fj-nodes-file")
    if nodes_file:
        from flink_jepsen.errors import UsageError
        from flink_jepsen.nodes.groups import read_groups

        try:
            groups = read_groups(str(nodes_file))
        except UsageError as e:
            raise pytest.UsageError(str(e)) from e
        if params.get("nodes"):
            raise pytest.UsageError("give either --fj-nodes or --fj-nodes-file, not both")
        if len(groups) > 1:
            params["node_groups"] = groups
        else:
            params["nodes"] = next(iter(groups.values()))
    if params.get("nodes") or params.get("node_groups"):
        params["remote"] = "ssh"
        if ssh:
            params["ssh"] = ssh
    return params


# ---- pytest-xdist: a node prefix and a subnet per worker -------------------------------------
def worker_number(worker_id: str) -> int | None:
    """gw0 -> 0, gw12 -> 12; None outside xdist ("master", "")."""
    m = re.fullmatch(r"gw(\d+)", worker_id or "")
    return int(m.group(1)) if m else None


def worker_nodes(worker_id: str, prefix: str = DEFAULT_PREFIX,
                 subnet: str = DEFAULT_SUBNET) -> tuple[str, str]:
    """The node prefix and subnet of xdist worker `worker_id` (gw0, gw1, ...), from the ones
    the session would use (FLINK_JEPSEN_PREFIX, --fj-subnet), as nodes/workers.py derives
    them (gw0 of 10.213.7.0/24: 10.213.23.0/24). Outside xdist, the base ones."""
    n = worker_number(worker_id)
    if n is None:
        return prefix, subnet
    from flink_jepsen.errors import UsageError
    from flink_jepsen.nodes import workers

    try:
        return workers.worker_nodes(n, prefix, subnet)
    except UsageError as e:
        raise pytest.UsageError(f"pytest-xdist worker {worker_id}: {e}") from e


def _worker_id(config: pytest.Config) -> str:
    workerinput = getattr(config, "workerinput", None)
    if workerinput:
        return str(workerinput.get("workerid", ""))
    return os.environ.get("PYTEST_XDIST_WORKER", "")


class FlinkJepsen:
    """What a test gets: builds tests from the templates with the session's defaults, runs
    them, and fails the test with the anomalies when a run is not valid."""

    def __init__(self, request: pytest.FixtureRequest, defaults: dict,
                 subnet: str | None = None) -> None:
        self.request = request
        self.defaults = defaults
        self.subnet = subnet  # the local nodes' subnet, when this session chooses it
        self.results: list[api.RunResult] = []

    def test(self, template: str = "standalone-session", **params) -> api.Test:
        from flink_jepsen import api

        if template not in api.TEMPLATES:
            raise pytest.UsageError(f"unknown flink-jepsen template {template!r}; known: "
                                    f"{', '.join(api.TEMPLATES)}")
        return api.TEMPLATES[template](**{**self.defaults, **params})

    def run(self, template: str = "standalone-session", check: bool = True,
            **params) -> api.RunResult:
        """Runs one test; with check (the default) an invalid or unknown verdict fails the
        calling test, its message listing the anomalies and the run's directory."""
        test = self.test(template, **params)
        if test.options.remote == "netns" and os.geteuid() != 0:
            pytest.skip("flink-jepsen's local nodes need root (network namespaces, iptables)")
        made = self._nodes_up(test)
        try:
            result = test.run()
        finally:
            if made is not None:
                made.down()
        self.results.append(result)
        self.request.node.user_properties.append(("flink-jepsen-store", str(result.store)))
        if check and result.valid is not True:
            pytest.fail(f"flink-jepsen: {result.describe()}", pytrace=False)
        return result

    def _nodes_up(self, test: api.Test):
        """With a subnet of the session's (--fj-subnet, a pytest-xdist worker's), the local
        nodes are brought up in it before the run (which then uses them) and removed after,
        as the run itself would have done in the harness's default subnet."""
        if self.subnet is None:
            return None
        from flink_jepsen.errors import FlinkJepsenError
        from flink_jepsen.nodes import workers

        try:
            return workers.up_for_run(test.options, self.subnet)
        except FlinkJepsenError as e:
            pytest.fail(f"flink-jepsen: local nodes in {self.subnet}: {e}", pytrace=False)


@pytest.fixture(scope="session")
def flink_jepsen_defaults(request: pytest.FixtureRequest) -> dict:
    """The run parameters given on pytest's command line or in its ini file."""
    return dict(request.config.stash[_PARAMS])


@pytest.fixture(scope="session")
def flink_jepsen_nodes(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """The node prefix and subnet of this session's local nodes: a pytest-xdist worker's own
    (FLINK_JEPSEN_PREFIX is set to its prefix for the session), else the session's. The
    subnet is None when the harness's default applies."""
    config = request.config
    chosen = _setting(config, "fj_subnet", "--fj-subnet")
    worker = _worker_id(config)
    prefix = os.environ.get("FLINK_JEPSEN_PREFIX", DEFAULT_PREFIX)
    if worker_number(worker) is None:
        return prefix, (str(chosen) if chosen else None)
    prefix, subnet = worker_nodes(worker, prefix, str(chosen or DEFAULT_SUBNET))
    os.environ["FLINK_JEPSEN_PREFIX"] = prefix
    return prefix, subnet


@pytest.fixture
def flink_jepsen(request: pytest.FixtureRequest, flink_jepsen_defaults: dict,
                 flink_jepsen_nodes: tuple[str, str | None]) -> FlinkJepsen:
    return FlinkJepsen(request, flink_jepsen_defaults, flink_jepsen_nodes[1])
