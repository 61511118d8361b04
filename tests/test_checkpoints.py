"""The checkpoint watcher and the checkpoint-continuity checker: the watcher records what the
leader's REST API says of each job's latest completed and restored checkpoint (a failed read is
a failed op), and the checker flags ids that start again after the HA store was wiped, while a
restore that goes on from the last checkpoint is valid."""

from __future__ import annotations

import json
import time
from pathlib import Path

from flink_jepsen import _core
from flink_jepsen.checks.checkpoints import CheckpointChecker
from flink_jepsen.workloads import Context, checkpoints


class FakeClient:
    """Answers /jobs/<id>/checkpoints from a script of (completed, restored) ids; None: an
    error; after the script, its last answer."""

    def __init__(self, script: list) -> None:
        self.script = list(script)

    def get(self, endpoint: str, path: str, timeout: float = 5) -> dict:
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if step is None:
            raise OSError("connection refused")
        completed, restored = step
        return {"latest": {"completed": None if completed is None else {"id": completed},
                           "restored": None if restored is None else {"id": restored}}}


class FakeFlink:
    def __init__(self, script: list) -> None:
        self.client = FakeClient(script)

    def leader(self) -> str:
        return "10.0.0.1:8081"


def watch(tmp_path: Path, script: list, seconds: float) -> Path:
    path = tmp_path / "history.jsonl"
    history = _core.HistoryRecorder(str(path))
    part = checkpoints.CheckpointWatch(Context(None, history, FakeFlink(script), ["j1"], {}))
    old = checkpoints.INTERVAL_S
    checkpoints.INTERVAL_S = 0.02
    try:
        part.start()
        time.sleep(seconds)
        part.close()
    finally:
        checkpoints.INTERVAL_S = old
    history.close()
    return path


def test_ids_that_go_on_after_a_restore_are_valid(tmp_path) -> None:
    path = watch(tmp_path, [(None, None), (1, None), (2, None), None, (None, 2), (3, 2)], 0.4)
    ops = [json.loads(line) for line in path.read_text().splitlines()]
    done = [o for o in ops if o["type"] != "invoke"]
    assert {o["f"] for o in ops} == {"checkpoints"} and {o["process"] for o in ops} == {500}
    assert [o["value"].get("completed") for o in done][:6] == [None, 1, 2, None, None, 3]
    assert done[3]["type"] == "fail" and "connection refused" in done[3]["error"]
    r = CheckpointChecker(["j1"]).check(path)
    assert r["valid?"] is True and r["jobs"]["j1"]["max_completed"] == 3
    assert r["jobs"]["j1"]["last_restored"] == 2


def test_ids_starting_again_are_flagged_with_the_ops_that_show_it(tmp_path) -> None:
    path = watch(tmp_path, [(18, None), (19, None), (None, None), (1, None), (2, None)], 0.4)
    r = CheckpointChecker(["j1"]).check(path)
    assert r["valid?"] is False and r["anomaly_types"] == ["checkpoint-ids-went-back"]
    shown = [o["value"]["completed"] for o in r["anomalies"][0]["ops"]]
    assert shown[:3] == [19, 1, 2]
