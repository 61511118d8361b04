"""A node-local HA storage directory is a misconfiguration a local run now catches, as real
hosts would: with `--ha-storage-dir file:///tmp/ha` each JobManager writes the job's graph and
checkpoints' metadata to its own node's /tmp (nodes have their own mount namespace), so when the
leader dies the standby cannot recover the job. Without supervision the killed leader stays dead
and the standby, failing to read what only the old leader's disk holds, cannot take over: the
verdict is invalid. The control, the same run with the storage every node shares (the default
on local nodes), recovers on the standby and is valid. Were /tmp one directory for both
JobManagers (as before nodes had their own mount namespace), the first run would be the second.

Why not the kill-job-managers schedule: it kills both (supervised) JobManagers again and again,
and the misconfiguration shows only when the JobManager that did not write the HA data wins the
election afterwards; when the writer wins again the run is valid (seen: --ha-storage-dir
file:///tmp/ha --nemesis-gen kill-job-managers --time-limit 30 passed). One kill of the leader
without supervision hands the job to the other JobManager every time."""

from __future__ import annotations

import json

import pytest

from flink_jepsen import api
from flink_jepsen.faults.ops import Kill, Sleep

pytestmark = pytest.mark.integration

# The standby takes over once the dead leader's ZooKeeper session expires (60 s): the grace
# period leaves it room to recover the job when it can.
GRACE = 120


def kill_the_leader_once(schedule):
    yield Sleep(10)
    yield Kill("leader-jm")


def run(tmp_path, name: str, ha_storage_dir: str | None):
    return api.standalone_session(store=str(tmp_path / name), time_limit=15, seed=3,
                                  supervision=False, ha_storage_dir=ha_storage_dir,
                                  job_recovery_grace_period=GRACE).run(
        schedule=kill_the_leader_once)


def kills(result) -> list[dict]:
    ops = [json.loads(line) for line in (result.store / "history.jsonl").read_text().splitlines()]
    return [o for o in ops if o["process"] == "nemesis" and o["type"] == "info"
            and o["f"] == "kill-leader-jm"]


def missing_ha_files(result) -> list[str]:
    """The JobManagers' complaints about files of this run's HA storage (the nodes' log
    directories also hold earlier runs' logs: those name other cluster ids)."""
    cluster_id = json.loads((result.store / "test.json").read_text())["run_id"]
    logs = (result.store / "nodes").glob("*/log/flink/*standalonesession*")
    return [line for p in logs for line in p.read_text(errors="replace").splitlines()
            if "FileNotFoundException" in line and f"/ha/{cluster_id}/" in line]


def test_a_node_local_ha_directory_fails_the_run(local_nodes, tmp_path) -> None:
    result = run(tmp_path, "node-local", "file:///tmp/ha")
    assert len(kills(result)) == 1, result.error
    assert result.valid is False, (result.error, result.anomalies)
    # For the reason above: the new leader could not read what the old one wrote.
    assert any("FileNotFoundException: /tmp/ha/" in line for line in missing_ha_files(result))


@pytest.mark.long  # the control, by hand (CI's time): FJ_LONG=1
def test_the_shared_ha_directory_survives_the_same_kill(local_nodes, tmp_path) -> None:
    result = run(tmp_path, "shared", None)
    assert len(kills(result)) == 1, result.error
    assert result.valid is True, (result.error, result.anomalies)
    assert missing_ha_files(result) == []
