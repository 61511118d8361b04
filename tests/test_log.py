"""Python's logging and the C++ core write to the same run log, in order."""

from __future__ import annotations

import logging

from flink_jepsen import _core
from flink_jepsen import log as fjlog
from flink_jepsen.store import Run


def test_python_and_cpp_lines_share_the_run_log(tmp_path) -> None:
    fjlog.setup("off")
    run = Run(tmp_path / "store", "log-test")
    logging.getLogger("flink_jepsen.test").info("hello from python")
    remote = _core.LocalRemote("control")
    part = _core.Partitioner({"control": remote}, {"control": "127.0.0.1"})
    part.drop({})  # logs from C++ ("partition: cutting 0 node(s)") without touching iptables
    logging.getLogger("flink_jepsen.test").warning("bye from python")
    run.close()
    text = (tmp_path / "store" / "log-test" / "latest" / "jepsen.log").read_text()
    lines = text.splitlines()
    py1 = next(i for i, ln in enumerate(lines) if "hello from python" in ln)
    cpp = next(i for i, ln in enumerate(lines) if "partition: cutting 0 node(s)" in ln)
    py2 = next(i for i, ln in enumerate(lines) if "bye from python" in ln)
    assert py1 < cpp < py2
    assert "[flink_jepsen.test]" in lines[py1] and "info" in lines[py1]
    assert (tmp_path / "store" / "latest").resolve() == run.dir
