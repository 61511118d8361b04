"""The pytest plugin's plumbing, without clusters: command-line and ini-file defaults reach the
tests it builds (the command line beats the ini file, a test's own parameters beat both), bad
parameters fail the user's test naming them, every flag is --fj- prefixed, pytest-xdist
workers get nodes of their own, importing the plugin loads no C++, and a run started through
the API or pytest writes its Python log lines to its jepsen.log. (A real run through the plugin,
failing with its anomalies, is in test_flink.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from flink_jepsen.api.pytest_plugin import fj_flag, ini_name, worker_nodes, worker_number


def test_command_line_defaults_reach_the_test_and_parameters_override(pytester) -> None:
    pytester.makepyfile("""
        def test_defaults(flink_jepsen):
            t = flink_jepsen.test(nemesis_gen="kill-job-managers")
            assert t.options.time_limit == 12.5
            assert t.options.flink_version == "1.20.5"
            assert t.options.nemesis_gen == "kill-job-managers"
            assert t.options.store.endswith("mystore")

        def test_override(flink_jepsen):
            t = flink_jepsen.test("yarn-session", time_limit=99)
            assert t.options.time_limit == 99
            assert t.options.deployment_mode == "yarn-session"
    """)
    out = pytester.runpytest("--fj-time-limit", "12.5",
                             "--fj-flink-version", "1.20.5", "--fj-store", "mystore")
    out.assert_outcomes(passed=2)


def test_real_hosts_option_switches_to_ssh(pytester) -> None:
    pytester.makepyfile("""
        def test_ssh(flink_jepsen_defaults):
            assert flink_jepsen_defaults["remote"] == "ssh"
            assert flink_jepsen_defaults["nodes"] == "h1,h2,h3"
            assert flink_jepsen_defaults["ssh"] == {"username": "admin"}
    """)
    out = pytester.runpytest("--fj-nodes", "h1,h2,h3",
                             "--fj-username", "admin")
    out.assert_outcomes(passed=1)


def test_bad_parameters_fail_the_users_test_naming_them(pytester) -> None:
    pytester.makepyfile("""
        def test_typo(flink_jepsen):
            flink_jepsen.run(nemesis_generator="kill-task-managers")

        def test_bad_value(flink_jepsen):
            flink_jepsen.run(nemesis_gen="kill-everything")

        def test_bad_template(flink_jepsen):
            flink_jepsen.run(template="mesos-session")
    """)
    out = pytester.runpytest()
    out.assert_outcomes(failed=3)
    text = out.stdout.str()
    assert "unknown test parameter(s) nemesis_generator" in text
    assert "--nemesis-gen 'kill-everything' is unknown" in text
    assert "unknown flink-jepsen template 'mesos-session'" in text


def test_every_flag_is_prefixed_and_the_old_names_are_gone(pytester) -> None:
    assert fj_flag("--flink-version") == "--fj-flink-version"
    assert fj_flag("--fj-store") == "--fj-store"
    assert ini_name("--fj-flink-version") == "fj_flink_version"
    pytester.makepyfile("def test_nothing(): pass")
    text = pytester.runpytest("--help").stdout.str()
    for flag in ("--fj-flink-version", "--fj-tarball", "--fj-nodes", "--fj-node-count",
                 "--fj-ha-storage-dir", "--fj-store", "--fj-time-limit", "--fj-nemesis",
                 "--fj-username", "--fj-ssh-password", "--fj-ssh-private-key", "--fj-subnet",
                 "fj_flink_version", "fj_time_limit", "fj_subnet"):
        assert flag in text, flag
    for old in ("--flink-version", "--tarball", "--nodes", "--node-count", "--username"):
        r = pytester.runpytest(old, "x")
        assert r.ret == pytest.ExitCode.USAGE_ERROR, old


@pytest.mark.parametrize("inifile", ["pytest.ini", "pyproject.toml"])
def test_ini_defaults_the_command_line_beats_them_test_parameters_beat_both(pytester,
                                                                           inifile) -> None:
    if inifile == "pytest.ini":
        pytester.makeini("""
            [pytest]
            fj_flink_version = 1.20.5
            fj_time_limit = 30
            fj_store = inistore
            fj_username = ops
            fj_ha_storage_dir = file:///x
        """)
    else:
        pytester.makepyprojecttoml("""
            [tool.pytest.ini_options]
            fj_flink_version = "1.20.5"
            fj_time_limit = "30"
            fj_store = "inistore"
            fj_username = "ops"
            fj_ha_storage_dir = "file:///x"
        """)
    pytester.makepyfile("""
        def test_ini(flink_jepsen):
            t = flink_jepsen.test()
            assert t.options.flink_version == "1.20.5"       # the ini file
            assert t.options.time_limit == 12.0              # the command line beats it
            assert t.options.store == "inistore"

        def test_parameters_win(flink_jepsen):
            t = flink_jepsen.test(flink_version="2.3.0", time_limit=7)
            assert t.options.flink_version == "2.3.0" and t.options.time_limit == 7

        def test_ssh_from_the_ini(flink_jepsen_defaults):
            assert flink_jepsen_defaults["remote"] == "ssh"
            assert flink_jepsen_defaults["ssh"] == {"username": "ops"}
    """)
    out = pytester.runpytest("--fj-time-limit", "12", "--fj-nodes", "h1,h2,h3")
    out.assert_outcomes(passed=3)


def test_a_bad_ini_value_is_a_usage_error_naming_it(pytester) -> None:
    pytester.makeini("""
        [pytest]
        fj_time_limit = soon
    """)
    pytester.makepyfile("def test_nothing(): pass")
    out = pytester.runpytest()
    assert out.ret == pytest.ExitCode.USAGE_ERROR
    assert "fj_time_limit" in out.stderr.str() and "'soon'" in out.stderr.str()


def test_a_hosts_file_of_groups_hands_each_run_a_free_group(pytester) -> None:
    pytester.makefile("", hosts="[a]\nh1\nh2\nh3\n[b]\nh4\nh5\nh6\n")
    pytester.makeini("""
        [pytest]
        fj_nodes_file = hosts
        fj_ha_storage_dir = file:///x
    """)
    pytester.makepyfile("""
        def test_groups(flink_jepsen):
            t = flink_jepsen.test()
            assert t.options.remote == "ssh" and t.options.nodes == []
            assert t.options.node_groups == {"a": ["h1", "h2", "h3"], "b": ["h4", "h5", "h6"]}
            t.options.validate()
    """)
    pytester.runpytest().assert_outcomes(passed=1)
    out = pytester.runpytest("--fj-nodes", "h1,h2,h3")
    assert out.ret == pytest.ExitCode.USAGE_ERROR and "not both" in out.stderr.str()


def test_xdist_workers_get_a_node_prefix_and_subnet_of_their_own() -> None:
    assert worker_number("gw0") == 0 and worker_number("gw12") == 12
    assert worker_number("") is None and worker_number("master") is None
    assert worker_nodes("", "fj", "10.213.7.0/24") == ("fj", "10.213.7.0/24")
    assert worker_nodes("gw0") == ("fjw0", "10.213.23.0/24")
    assert worker_nodes("gw1") == ("fjw1", "10.213.39.0/24")
    assert worker_nodes("gw0", "fjt", "10.213.9.0/24") == ("fjtw0", "10.213.25.0/24")
    assert worker_nodes("gw10", "fjt", "10.213.9.0/24") == ("fjw10", "10.213.185.0/24")
    assert worker_nodes("gw0", "fjtw0", "10.213.9.0/24")[0] == "fjtw0"  # derived once only
    bases = [("fj", "10.213.7.0/24"), ("fjt", "10.213.9.0/24"), ("fjk", "10.213.10.0/24"),
             ("fjm", "10.213.11.0/24")]
    seen = {prefix: subnet for prefix, subnet in bases}
    for prefix, subnet in bases:
        for n in range(8):
            p, s = worker_nodes(f"gw{n}", prefix, subnet)
            assert len(p) <= 5 and p.isalnum()
            assert p not in seen and s not in seen.values(), (prefix, n, p, s)
            seen[p] = s
    with pytest.raises(pytest.UsageError, match="not a private network"):
        worker_nodes("gw40", "fj", "10.250.0.0/16")


def test_the_fixture_uses_the_workers_prefix_and_subnet(pytester, monkeypatch) -> None:
    monkeypatch.setenv("FLINK_JEPSEN_PREFIX", "fj")  # restored after the test
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    pytester.makepyfile("""
        import os

        def test_worker(flink_jepsen, flink_jepsen_nodes):
            assert flink_jepsen_nodes == ("fjw1", "10.213.39.0/24")
            assert os.environ["FLINK_JEPSEN_PREFIX"] == "fjw1"
            assert flink_jepsen.subnet == "10.213.39.0/24"
    """)
    pytester.runpytest().assert_outcomes(passed=1)
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    monkeypatch.setenv("FLINK_JEPSEN_PREFIX", "fj")
    pytester.makepyfile("""
        import os

        def test_no_worker(flink_jepsen, flink_jepsen_nodes):
            expected = os.environ.get("EXPECTED_SUBNET") or None
            assert flink_jepsen_nodes == ("fj", expected)
            assert flink_jepsen.subnet == expected   # None: the harness's default subnet
    """)
    pytester.runpytest().assert_outcomes(passed=1)
    monkeypatch.setenv("EXPECTED_SUBNET", "10.213.50.0/24")
    pytester.runpytest("--fj-subnet", "10.213.50.0/24").assert_outcomes(passed=1)
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    monkeypatch.setenv("EXPECTED_SUBNET", "10.213.66.0/24")  # --fj-subnet is gw0's base
    pytester.makepyfile("""
        import os

        def test_worker_from_chosen(flink_jepsen_nodes):
            assert flink_jepsen_nodes == ("fjw0", os.environ["EXPECTED_SUBNET"])
    """)
    pytester.runpytest("--fj-subnet", "10.213.50.0/24").assert_outcomes(passed=1)


def _python(code: str, tmp_path, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "FLINK_JEPSEN_HOME": str(tmp_path / "home"),
                               **env})


def test_importing_the_plugin_loads_no_cpp(tmp_path) -> None:
    r = _python("""
        import sys
        import flink_jepsen.api.pytest_plugin as plugin
        plugin.declared_options(), plugin.declared_ssh_options()   # what pytest_addoption reads
        assert "flink_jepsen._core" not in sys.modules, "the core was loaded"
    """, tmp_path)
    assert r.returncode == 0, r.stderr


def test_the_plugin_module_itself_imports_nothing_of_the_harness() -> None:
    """What the plugin module can keep lazy, it does: no API, no runner, no core of its own
    (the package's __init__ is another matter: see the test above)."""
    import ast
    from pathlib import Path

    from flink_jepsen.api import pytest_plugin

    tree = ast.parse(Path(pytest_plugin.__file__).read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = [a.name for n in top for a in n.names] + [
        n.module for n in top if isinstance(n, ast.ImportFrom) and n.module]
    assert not [m for m in names if "flink_jepsen" in m or m == "_core"], names


LOG_CHECK = """
    import json, logging
    from pathlib import Path
    run_dir = Path(RUN_DIR)
    log = (run_dir / "jepsen.log").read_text()
    assert "[flink_jepsen.run.runner] phase validate" in log, log
    assert "run failed in phase validate" in log and "at least 3 hosts" in log, log
    assert json.loads((run_dir / "results.json").read_text())["valid?"] == "unknown"
    package = logging.getLogger("flink_jepsen")
    assert package.handlers == [] and package.level == logging.NOTSET and package.propagate
"""


def test_a_run_started_through_the_api_writes_its_python_log_lines_to_jepsen_log(
        tmp_path) -> None:
    """No CLI, nobody configured logging: the runner routes Python's log lines into the run's
    jepsen.log itself (a run that fails at once, as unknown: bad nodes) and leaves logging as
    it found it."""
    store = tmp_path / "store"
    r = _python(textwrap.dedent(f"""
        from flink_jepsen import api
        result = api.Test(api.options(remote="ssh", nodes=["h1"], store={str(store)!r}),
                          validate=False).run()
        assert result.valid == "unknown", result
        RUN_DIR = str(result.store)
    """) + textwrap.dedent(LOG_CHECK), tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]


def test_a_run_started_by_pytest_writes_its_python_log_lines_to_jepsen_log(pytester,
                                                                          tmp_path) -> None:
    """(A tarball that is not there: the run ends unknown in its validate phase, before any
    node is asked for anything.)"""
    store = tmp_path / "store"
    pytester.makepyfile(f"""
        def test_run(flink_jepsen):
            result = flink_jepsen.run(store={str(store)!r}, check=False,
                                      tarball="file:///nonexistent/flink-9.9.9.tgz",
                                      remote="ssh", nodes="127.0.0.2,127.0.0.3,127.0.0.4",
                                      ssh={{"port": 1}}, ha_storage_dir="file:///x")
            assert result.valid == "unknown"
    """)
    out = pytester.runpytest_subprocess()
    out.assert_outcomes(passed=1)
    run_dir = (store / "latest").resolve()
    log = (run_dir / "jepsen.log").read_text()
    assert "[flink_jepsen.run.runner] phase validate" in log
    assert "flink-9.9.9.tgz: no such file" in log
    assert json.loads((run_dir / "results.json").read_text())["valid?"] == "unknown"
