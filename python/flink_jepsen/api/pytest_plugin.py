"""A pytest plugin (entry point `flink_jepsen`): test matrices over nemeses, deployment modes and
Flink versions as ordinary parametrized pytest tests, each a real run whose failure message
carries the anomalies and where the evidence is.

    @pytest.mark.parametrize("nemesis", ["kill-task-managers", "kill-job-managers"])
    def test_flink_survives(flink_jepsen, nemesis):
        flink_jepsen.run(nemesis_gen=nemesis)

Command-line options: --flink-version, --tarball, --nodes (real hosts: runs go over SSH),
--node-count, --fj-store, --fj-time-limit and the SSH options; each is a default that a test's
own parameters override."""

from __future__ import annotations

import dataclasses
import os

import pytest

from flink_jepsen import api
from flink_jepsen.nodes.remotes import SshOptions
from flink_jepsen.run import options


def _declared() -> list[tuple[str, str, type]]:
    """(pytest option, test parameter, type) for every test option declared with a pytest
    flag (run/options.py): the plugin offers nothing the declaration does not."""
    out = []
    for f in options.declared():
        flag = f.metadata.get("pytest")
        if flag:
            kind = f.metadata.get("kind") or str
            out.append((flag, f.name, kind))
    return out


_OPTIONS = tuple(_declared())
_SSH_OPTIONS = tuple((f.metadata["pytest"], f.name) for f in dataclasses.fields(SshOptions)
                     if f.metadata.get("pytest"))


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("flink-jepsen", "Flink fault-injection tests (flink-jepsen)")
    for opt, param, kind in _OPTIONS:
        g.addoption(opt, dest=f"fj_{param}", type=kind, default=None,
                    help=f"default {param} of every flink-jepsen run")
    for opt, param in _SSH_OPTIONS:
        g.addoption(opt, dest=f"fj_ssh_{param}", default=None,
                    help=f"SSH {param} for --nodes")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "flink_jepsen: a test that runs real Flink clusters")


def base_params(config: pytest.Config) -> dict:
    """The test parameters the command line set."""
    params: dict = {}
    for _, param, _ in _OPTIONS:
        value = config.getoption(f"fj_{param}")
        if value is not None:
            params[param] = value
    ssh = {p: config.getoption(f"fj_ssh_{p}") for _, p in _SSH_OPTIONS}
    ssh = {k: v for k, v in ssh.items() if v is not None}
    if params.get("nodes"):
        params["remote"] = "ssh"
        if ssh:
            params["ssh"] = ssh
    return params


class FlinkJepsen:
    """What a test gets: builds tests from the templates with the session's defaults, runs
    them, and fails the test with the anomalies when a run is not valid."""

    def __init__(self, request: pytest.FixtureRequest, defaults: dict) -> None:
        self.request = request
        self.defaults = defaults
        self.results: list[api.RunResult] = []

    def test(self, template: str = "standalone-session", **params) -> api.Test:
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
        result = test.run()
        self.results.append(result)
        self.request.node.user_properties.append(("flink-jepsen-store", str(result.store)))
        if check and result.valid is not True:
            pytest.fail(f"flink-jepsen: {result.describe()}", pytrace=False)
        return result


@pytest.fixture(scope="session")
def flink_jepsen_defaults(request: pytest.FixtureRequest) -> dict:
    """The run parameters given on pytest's command line."""
    return base_params(request.config)


@pytest.fixture
def flink_jepsen(request: pytest.FixtureRequest, flink_jepsen_defaults: dict) -> FlinkJepsen:
    return FlinkJepsen(request, flink_jepsen_defaults)
