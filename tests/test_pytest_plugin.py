"""The pytest plugin's plumbing, without clusters: command-line defaults reach the tests it
builds, a test's own parameters win, and bad parameters fail the user's test naming them. (A
real run through the plugin, failing with its anomalies, is in test_flink.py.)"""

from __future__ import annotations


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
                             "--flink-version", "1.20.5", "--fj-store", "mystore")
    out.assert_outcomes(passed=2)


def test_real_hosts_option_switches_to_ssh(pytester) -> None:
    pytester.makepyfile("""
        def test_ssh(flink_jepsen_defaults):
            assert flink_jepsen_defaults["remote"] == "ssh"
            assert flink_jepsen_defaults["nodes"] == "h1,h2,h3"
            assert flink_jepsen_defaults["ssh"] == {"username": "admin"}
    """)
    out = pytester.runpytest("--nodes", "h1,h2,h3",
                             "--username", "admin")
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
